//! The report's plots, each as PNG and SVG: ACC per method across regimes, forgetting against U
//! per regime with its least-squares line, U by regime, and each method's rank across regimes.
//! Text uses DejaVu Sans, compiled in (assets/DejaVuSans.ttf), so no system font is needed.

use super::keys::{Pool, RegimeKey, Scope};
use super::stats::Cell;
use super::Report;
use crate::error::{Error, Result};
use crate::metrics;
use crate::run::MethodKind;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod draw;

use draw::{padded, LinePanel, Lines, Scatter, ScatterPanel};

static FONT_BYTES: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");
const FONT: &str = "sans-serif";
const PANEL: (u32, u32) = (720, 480);

/// One figure as the report links it.
#[derive(Clone, Debug)]
pub struct Plot {
    pub title: String,
    pub caption: String,
    /// The PNG's file name (relative to the report).
    pub png: String,
    pub files: Vec<PathBuf>,
}

/// Okabe-Ito colours, one per method (readable by colour-blind readers).
fn color(m: MethodKind) -> RGBColor {
    match m {
        MethodKind::Naive => RGBColor(90, 90, 90),
        MethodKind::Ewc => RGBColor(0, 114, 178),
        MethodKind::Lwf => RGBColor(230, 159, 0),
        MethodKind::Si => RGBColor(0, 158, 115),
        MethodKind::Gem => RGBColor(213, 94, 0),
    }
}

fn ensure_font() -> Result<()> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| "the embedded DejaVu Sans font does not parse".to_string())
    })
    .clone()
    .map_err(Error::Report)
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A figure of panels that can draw itself on any backend.
trait Figure {
    fn panels(&self) -> usize;
    fn draw_panel<DB: DrawingBackend>(
        &self,
        i: usize,
        area: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String>;
}

fn grid(n: usize) -> (usize, usize) {
    let cols = n.clamp(1, 3);
    (n.div_ceil(cols).max(1), cols)
}

fn draw_on<DB: DrawingBackend, F: Figure>(
    fig: &F,
    root: DrawingArea<DB, Shift>,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(err)?;
    let (rows, cols) = grid(fig.panels());
    let areas = root.split_evenly((rows, cols));
    for (i, a) in areas.iter().enumerate().take(fig.panels()) {
        fig.draw_panel(i, a)?;
    }
    root.present().map_err(err)
}

fn save<F: Figure>(fig: &F, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
    ensure_font()?;
    let (rows, cols) = grid(fig.panels());
    let size = (PANEL.0 * cols as u32, PANEL.1 * rows as u32);
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    let fail = |p: &Path, e: String| Error::Report(format!("drawing {}: {e}", p.display()));
    draw_on(fig, BitMapBackend::new(&png, size).into_drawing_area()).map_err(|e| fail(&png, e))?;
    draw_on(fig, SVGBackend::new(&svg, size).into_drawing_area()).map_err(|e| fail(&svg, e))?;
    Ok(vec![png, svg])
}

/// How a legend entry is marked.
#[derive(Clone, Copy)]
enum Mark {
    Line,
    Dot,
    /// A continuation line of the entry above: no mark.
    None,
}

/// Width of the strip right of each panel that holds its legend.
const LEGEND_W: u32 = 165;

/// Draws `title` centred across the top of a panel, in the largest size from 20 down to 11 px
/// that fits its width (a long setup label at 20 px was cut at both ends), and returns the area
/// below it.
fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
) -> std::result::Result<DrawingArea<DB, Shift>, String> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let width = area.dim_in_pixel().0.saturating_sub(16);
    let style = |size: f64| {
        TextStyle::from((FONT, size).into_font()).pos(Pos::new(HPos::Center, VPos::Top))
    };
    let mut size = 20.0;
    while size > 11.0 && area.estimate_text_size(title, &style(size)).map_err(err)?.0 > width {
        size -= 1.0;
    }
    let style = style(size);
    let centre = area.dim_in_pixel().0 as i32 / 2;
    area.draw(&Text::new(title.to_string(), (centre, 8), style))
        .map_err(err)?;
    Ok(area.split_vertically(TITLE_H).1)
}

/// Pixels above a panel's chart for its title.
const TITLE_H: u32 = 34;

/// The panel split into the chart and, right of it, the legend strip with `entries` drawn in it.
fn with_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor, Mark)],
) -> std::result::Result<DrawingArea<DB, Shift>, String> {
    let (chart, strip) = area.split_horizontally(area.dim_in_pixel().0 - LEGEND_W);
    for (i, (label, c, mark)) in entries.iter().enumerate() {
        let y = 26 + 22 * i as i32;
        match mark {
            Mark::Line => strip
                .draw(&PathElement::new(vec![(4, y), (28, y)], c.stroke_width(3)))
                .map_err(err)?,
            Mark::Dot => strip
                .draw(&Circle::new((16, y), 5, c.filled()))
                .map_err(err)?,
            Mark::None => {}
        }
        strip
            .draw(&Text::new(label.clone(), (36, y - 8), (FONT, 14)))
            .map_err(err)?;
    }
    Ok(chart)
}

/// A tick label: at most 3 decimals, trailing zeros dropped.
fn tidy(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Every plot of the report, written into `dir`.
pub fn draw_all(r: &Report, dir: &Path) -> Result<Vec<Plot>> {
    let mut out = Vec::new();
    for setup in 0..r.labels.setups.len() {
        let sfx = if r.labels.setups.len() > 1 {
            format!("_setup{}", setup + 1)
        } else {
            String::new()
        };
        let tag = if sfx.is_empty() {
            String::new()
        } else {
            format!(" [{}]", r.labels.setups[setup])
        };
        let datasets: Vec<Scope> = r
            .datasets(setup)
            .into_iter()
            .map(|d| Scope {
                setup,
                pool: Pool::Dataset(d),
            })
            .collect();
        if datasets.is_empty() {
            continue;
        }
        let figs: [(&str, &str, Lines); 3] = [
            (
                "acc_by_regime",
                "ACC (mean ± std over orders and seeds) per method across regimes",
                lines(r, &datasets, Metric::Acc),
            ),
            (
                "u_by_regime",
                "U, the drift after the first task (mean ± std), per method across regimes",
                lines(r, &datasets, Metric::U),
            ),
            (
                "rank_by_regime",
                "Rank of each method by mean ACC in each regime (1 = best)",
                lines(r, &datasets, Metric::Rank),
            ),
        ];
        for (stem, what, fig) in figs {
            if fig.0.is_empty() {
                continue;
            }
            let name = format!("{stem}{sfx}");
            out.push(Plot {
                files: save(&fig, dir, &name)?,
                title: format!("{what}{tag}"),
                caption: format!("{what}; one panel per dataset, its run count in the title.{tag}"),
                png: format!("{name}.png"),
            });
        }
        let mut scopes = datasets.clone();
        scopes.push(Scope {
            setup,
            pool: Pool::All,
        });
        for s in scopes {
            let fig = scatter(r, s);
            if fig.0.is_empty() {
                continue;
            }
            let name = format!("forgetting_vs_u_{}{sfx}", s.pool.name());
            let what = format!("Forgetting against U per regime, {}", r.scope_name(s));
            out.push(Plot {
                files: save(&fig, dir, &name)?,
                caption: format!(
                    "{what}: one point per run, least-squares line, Pearson r and n in the legend."
                ),
                title: what,
                png: format!("{name}.png"),
            });
        }
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq)]
enum Metric {
    Acc,
    U,
    Rank,
}

fn lines(r: &Report, scopes: &[Scope], metric: Metric) -> Lines {
    let mut panels = Vec::new();
    for &s in scopes {
        let cells: Vec<&Cell> = r
            .cells
            .iter()
            .filter(|c| c.key.scope == s && c.key.variant.primary && c.n > 0)
            .collect();
        let regimes: Vec<RegimeKey> = cells
            .iter()
            .map(|c| c.key.regime.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let kinds: BTreeSet<usize> = cells.iter().map(|c| c.key.variant.kind as usize).collect();
        let mut series = Vec::new();
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for k in kinds {
            let m = MethodKind::ALL[k];
            let mut pts = Vec::new();
            for (x, reg) in regimes.iter().enumerate() {
                let Some(c) = cells
                    .iter()
                    .find(|c| c.key.variant.kind == m && &c.key.regime == reg)
                else {
                    continue;
                };
                let (v, bar) = match metric {
                    Metric::Acc => {
                        let a = c.acc.expect("n > 0");
                        (
                            100.0 * a.mean,
                            a.std.map(|d| (100.0 * (a.mean - d), 100.0 * (a.mean + d))),
                        )
                    }
                    Metric::U => match c.drift {
                        Some(u) => (u.mean, u.std.map(|d| (u.mean - d, u.mean + d))),
                        None => continue,
                    },
                    Metric::Rank => {
                        let here: Vec<&&Cell> =
                            cells.iter().filter(|d| &d.key.regime == reg).collect();
                        let accs: Vec<f64> =
                            here.iter().map(|d| d.acc.expect("n > 0").mean).collect();
                        let pos = here
                            .iter()
                            .position(|d| d.key.variant.kind == m)
                            .expect("present");
                        (1.0 + metrics::ranks_by_score_desc(&accs)[pos] as f64, None)
                    }
                };
                let (a, b) = bar.unwrap_or((v, v));
                lo = lo.min(a);
                hi = hi.max(b);
                pts.push((x, v, bar));
            }
            series.push((m, pts));
        }
        if series.is_empty() {
            continue;
        }
        let n: usize = cells.iter().map(|c| c.n).sum();
        let (y, y_desc, integer_y) = match metric {
            Metric::Acc => (
                (lo - 5.0).max(0.0).floor(),
                "ACC after the last task (%)",
                false,
            ),
            Metric::U => (0.0, "U (L2 norm)", false),
            Metric::Rank => (0.5, "rank by mean ACC (1 = best)", true),
        };
        let top = match metric {
            Metric::Rank => hi + 0.5,
            Metric::Acc => hi.min(100.0) + 2.0,
            Metric::U => padded(y, hi).1,
        };
        panels.push(LinePanel {
            title: match metric {
                Metric::Rank => format!("{} ({n} runs)", r.scope_name(s)),
                _ => format!("{} ({n} runs; bars ± 1 std)", r.scope_name(s)),
            },
            regimes: regimes.iter().map(|g| g.name.clone()).collect(),
            y_desc: y_desc.into(),
            series,
            y: (y, top),
            integer_y,
            y_cap: (metric == Metric::Acc).then_some(100.0),
        });
    }
    Lines(panels)
}

fn scatter(r: &Report, s: Scope) -> Scatter {
    let panels = r
        .correlations
        .iter()
        .filter(|c| c.scope == s && !c.points.is_empty())
        .map(|c| ScatterPanel {
            title: format!("{}, {} ({} runs)", r.scope_name(s), c.regime.name, c.corr.n),
            points: c
                .points
                .iter()
                .map(|&i| {
                    let p = &r.points[i];
                    (
                        p.tag.variant.kind,
                        p.drift.expect("kept"),
                        100.0 * p.forgetting.expect("kept"),
                    )
                })
                .collect(),
            fit_label: Some(match c.corr.pearson {
                Some(v) => format!("least squares\nPearson r = {v:.2}\nn = {}", c.corr.n),
                None => format!("least squares\nr undefined\nn = {}", c.corr.n),
            }),
        })
        .collect();
    Scatter(panels)
}
