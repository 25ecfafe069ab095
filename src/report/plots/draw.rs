//! Drawing the two kinds of panel: lines per method across regimes, and a scatter of forgetting
//! against U with its least-squares line.

use super::{color, err, tidy, titled, with_legend, Figure, Mark, FONT};
use crate::run::MethodKind;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeSet;

/// Points of one method: (regime index, value, optional bar (lo, hi)).
pub(super) type Points = Vec<(usize, f64, Option<(f64, f64)>)>;

/// One line per method over the regimes of the panel.
pub(super) struct LinePanel {
    pub(super) title: String,
    pub(super) regimes: Vec<String>,
    pub(super) y_desc: String,
    /// (method, its points).
    pub(super) series: Vec<(MethodKind, Points)>,
    pub(super) y: (f64, f64),
    pub(super) integer_y: bool,
    /// No tick labels above this value (ACC above 100%, headroom only).
    pub(super) y_cap: Option<f64>,
}

pub(super) struct Lines(pub(super) Vec<LinePanel>);

impl Figure for Lines {
    fn panels(&self) -> usize {
        self.0.len()
    }
    fn draw_panel<DB: DrawingBackend>(
        &self,
        i: usize,
        area: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let p = &self.0[i];
        let n = p.regimes.len();
        let entries: Vec<(String, RGBColor, Mark)> = p
            .series
            .iter()
            .map(|(m, _)| (m.name().to_string(), color(*m), Mark::Line))
            .collect();
        let area = with_legend(&titled(area, &p.title)?, &entries)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(
                -0.4..n as f64 - 0.6,
                if p.integer_y {
                    p.y.1..p.y.0
                } else {
                    p.y.0..p.y.1
                },
            )
            .map_err(err)?;
        let names = p.regimes.clone();
        // ticks at the regimes (and integer ranks) only: any other tick gets no label
        let at_integer = |v: f64| (v - v.round()).abs() < 1e-6;
        let x_label = |x: &f64| {
            let i = x.round();
            match names.get(i as usize) {
                Some(name) if at_integer(*x) && i >= 0.0 => name.clone(),
                _ => String::new(),
            }
        };
        let integer_y = p.integer_y;
        let cap = p.y_cap;
        let y_label = |y: &f64| match () {
            _ if cap.is_some_and(|c| *y > c + 1e-9) => String::new(),
            _ if integer_y && at_integer(*y) => format!("{}", y.round()),
            _ if integer_y => String::new(),
            _ => tidy(*y),
        };
        let mut mesh = chart.configure_mesh();
        mesh.x_desc("regime (trainable depth)")
            .y_desc(p.y_desc.as_str())
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .x_labels(n)
            .x_label_formatter(&x_label)
            .y_labels(if integer_y {
                (p.y.1 - p.y.0).round() as usize + 1
            } else {
                8
            })
            .y_label_formatter(&y_label)
            .light_line_style(WHITE);
        mesh.draw().map_err(err)?;
        let count = p.series.len().max(1) as f64;
        for (k, (m, pts)) in p.series.iter().enumerate() {
            let c = color(*m);
            // spread the methods a little around each regime so bars do not overlap
            let dx = (k as f64 - (count - 1.0) / 2.0) * 0.06;
            let xy: Vec<(f64, f64)> = pts.iter().map(|&(x, y, _)| (x as f64 + dx, y)).collect();
            chart
                .draw_series(LineSeries::new(xy.clone(), c.stroke_width(2)))
                .map_err(err)?;
            chart
                .draw_series(xy.iter().map(|&p| Circle::new(p, 4, c.filled())))
                .map_err(err)?;
            let bars = pts.iter().filter_map(|&(x, _, b)| {
                let (lo, hi) = b?;
                Some(PathElement::new(
                    vec![(x as f64 + dx, lo), (x as f64 + dx, hi)],
                    c.stroke_width(1),
                ))
            });
            chart.draw_series(bars).map_err(err)?;
        }
        Ok(())
    }
}

/// Forgetting against U for the runs of one regime, with the least-squares line.
pub(super) struct ScatterPanel {
    pub(super) title: String,
    pub(super) points: Vec<(MethodKind, f64, f64)>,
    pub(super) fit_label: Option<String>,
}

pub(super) struct Scatter(pub(super) Vec<ScatterPanel>);

/// Least squares y = a + b x; `None` for fewer than two distinct x.
fn least_squares(pts: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (pts.len() >= 2 && sxx > 0.0).then(|| (my - sxy / sxx * mx, sxy / sxx))
}

pub(super) fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = (hi - lo).abs().max(1e-9);
    (lo - 0.08 * span, hi + 0.08 * span)
}

impl Figure for Scatter {
    fn panels(&self) -> usize {
        self.0.len()
    }
    fn draw_panel<DB: DrawingBackend>(
        &self,
        i: usize,
        area: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let p = &self.0[i];
        let fold = |f: fn(&(MethodKind, f64, f64)) -> f64| {
            p.points
                .iter()
                .map(f)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                })
        };
        let (x0, x1) = padded(fold(|q| q.1).0, fold(|q| q.1).1);
        let (y0, y1) = padded(fold(|q| q.2).0, fold(|q| q.2).1);
        let kinds: BTreeSet<usize> = p.points.iter().map(|q| q.0 as usize).collect();
        let mut entries: Vec<(String, RGBColor, Mark)> = kinds
            .iter()
            .map(|&k| {
                (
                    MethodKind::ALL[k].name().to_string(),
                    color(MethodKind::ALL[k]),
                    Mark::Dot,
                )
            })
            .collect();
        if let Some(label) = &p.fit_label {
            for (j, part) in label.split('\n').enumerate() {
                let mark = if j == 0 { Mark::Line } else { Mark::None };
                entries.push((part.to_string(), BLACK, mark));
            }
        }
        let area = with_legend(&titled(area, &p.title)?, &entries)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("U = ‖θ*_T − θ*_1‖ (drift after task 1)")
            .y_desc("forgetting (points)")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .light_line_style(WHITE)
            .draw()
            .map_err(err)?;
        for k in kinds {
            let m = MethodKind::ALL[k];
            let c = color(m);
            chart
                .draw_series(
                    p.points
                        .iter()
                        .filter(|q| q.0 == m)
                        .map(|q| Circle::new((q.1, q.2), 4, c.filled())),
                )
                .map_err(err)?
                .label(m.name())
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
        }
        let xy: Vec<(f64, f64)> = p.points.iter().map(|q| (q.1, q.2)).collect();
        if let (Some((a, b)), Some(_)) = (least_squares(&xy), &p.fit_label) {
            chart
                .draw_series(LineSeries::new(
                    [(x0, a + b * x0), (x1, a + b * x1)],
                    BLACK.stroke_width(2),
                ))
                .map_err(err)?;
        }
        Ok(())
    }
}
