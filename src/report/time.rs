//! Run time against the sweep's cost model ([`crate::sweep::cost`]): per dataset cell and kernel
//! path, the wall seconds of its runs and the seconds per modelled multiply-add. Where the model is
//! right that is the host's speed, the same in every cell; how far the cells' means stray from
//! their dataset's median says how right it is, and whether `--emit-slurm`'s time estimate
//! ([`SECONDS_PER_MAC`]) holds on another machine. Runs whose task 1 was copied from another run
//! of the sweep leave it out of their time, so they are left out here.

use super::csv::{four, header, line, num, scope_fields, stat_names};
use super::keys::{Pool, Scope};
use super::markdown::table;
use super::stats::{summarize, Cell, CellKey, Point, Summary};
use super::Report;
use crate::data::DatasetId;
use crate::sweep::slurm::SECONDS_PER_MAC;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The runs of one dataset cell on one kernel path.
#[derive(Clone, Debug)]
pub struct TimeRow {
    pub key: CellKey,
    pub isa: String,
    /// Wall seconds per run (`n`: the runs).
    pub seconds: Summary,
    /// The model's multiply-adds per run (the mean, in units of 10^9).
    pub giga_macs: f64,
    /// Nanoseconds per modelled multiply-add, per run.
    pub ns_per_mac: Summary,
}

/// Nanoseconds per modelled multiply-add of a run whose time holds all of it (`None` when task 1
/// was copied, or the model has nothing to count).
fn ns_per_mac(p: &Point) -> Option<f64> {
    (!p.first_task_copied && p.modelled > 0).then(|| 1e9 * p.seconds / p.modelled as f64)
}

/// One row per (dataset cell, kernel path) with timed runs, in cell order.
pub fn rows(cells: &[Cell], points: &[Point]) -> Vec<TimeRow> {
    let mut out = Vec::new();
    for c in cells.iter().filter(|c| c.key.scope.pool != Pool::All) {
        let mut by_isa: BTreeMap<&str, Vec<(&Point, f64)>> = BTreeMap::new();
        for p in c.points.iter().map(|&i| &points[i]) {
            if let Some(ns) = ns_per_mac(p) {
                by_isa.entry(&p.isa).or_default().push((p, ns));
            }
        }
        for (isa, ps) in by_isa {
            let of = |f: &dyn Fn(&(&Point, f64)) -> f64| {
                summarize(&ps.iter().map(f).collect::<Vec<_>>()).expect("one run at least")
            };
            out.push(TimeRow {
                key: c.key.clone(),
                isa: isa.to_string(),
                seconds: of(&|(p, _)| p.seconds),
                giga_macs: of(&|(p, _)| p.modelled as f64).mean / 1e9,
                ns_per_mac: of(&|&(_, ns)| ns),
            });
        }
    }
    out
}

/// One dataset on one kernel path: the median speed over its runs and its cells' spread.
struct Speed {
    runs: usize,
    hours: f64,
    median_ns: f64,
    /// The lowest and highest cell mean of ns per multiply-add over `median_ns` (`None` when the
    /// median is 0).
    spread: Option<(f64, f64)>,
}

fn speeds(rows: &[TimeRow], points: &[Point]) -> BTreeMap<(usize, DatasetId, String), Speed> {
    let mut groups: BTreeMap<(usize, DatasetId, String), Vec<&TimeRow>> = BTreeMap::new();
    for r in rows {
        if let Pool::Dataset(d) = r.key.scope.pool {
            let k = (r.key.scope.setup, d, r.isa.clone());
            groups.entry(k).or_default().push(r);
        }
    }
    let mut out = BTreeMap::new();
    for (k, rs) in groups {
        let mut per_run: Vec<f64> = (points.iter())
            .filter(|p| (p.tag.setup, p.tag.dataset, &p.isa) == (k.0, k.1, &k.2))
            .filter_map(ns_per_mac)
            .collect();
        per_run.sort_by(f64::total_cmp);
        let half = per_run.len() / 2;
        let median_ns = match per_run.len() % 2 {
            1 => per_run[half],
            _ => (per_run[half - 1] + per_run[half]) / 2.0,
        };
        let spread = (median_ns > 0.0).then(|| {
            (rs.iter().map(|r| r.ns_per_mac.mean / median_ns))
                .fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
                    (lo.min(x), hi.max(x))
                })
        });
        let runs = rs.iter().map(|r| r.seconds.n).sum();
        let seconds: f64 = rs.iter().map(|r| r.seconds.mean * r.seconds.n as f64).sum();
        let hours = seconds / 3600.0;
        out.insert(
            k,
            Speed {
                runs,
                hours,
                median_ns,
                spread,
            },
        );
    }
    out
}

/// `time.csv`: every row, with the report's usual scope fields.
pub fn csv(r: &Report) -> String {
    let mut h: Vec<String> = ["setup", "pool", "regime", "method", "isa", "runs"]
        .map(String::from)
        .to_vec();
    h.extend(stat_names("seconds"));
    h.extend(stat_names("ns_per_mac"));
    h.push("modelled_gmacs".into());
    let mut out = header(&h.iter().map(String::as_str).collect::<Vec<_>>());
    for t in &r.time {
        let mut f: Vec<String> = scope_fields(r, t.key.scope).to_vec();
        f.extend([
            t.key.regime.name.clone(),
            t.key.variant.label.clone(),
            t.isa.clone(),
            t.seconds.n.to_string(),
        ]);
        f.extend(four(Some(t.seconds)));
        f.extend(four(Some(t.ns_per_mac)));
        f.push(num(Some(t.giga_macs)));
        line(&mut out, &f);
    }
    out
}

/// The report's section: one row per dataset and kernel path (the cells are in `time.csv`).
pub fn markdown(o: &mut String, r: &Report) {
    let speeds = speeds(&r.time, &r.points);
    if speeds.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Run time against the cost model\n");
    let copied = r.points.iter().filter(|p| p.first_task_copied).count();
    let _ = writeln!(
        o,
        "Wall seconds per run over the multiply-adds the sweep's cost model predicts for it \
         (`sweep::cost`): the host's speed where the model is right. The last column is how far \
         the cells (regime x method) stray from the median: a cell's mean over the median, lowest \
         and highest. `--emit-slurm` budgets twice {:.2} ns per multiply-add. Per cell: \
         `time.csv`. Runs that copied task 1 from another run are left out ({copied} here).\n",
        SECONDS_PER_MAC * 1e9
    );
    let rows: Vec<Vec<String>> = speeds
        .iter()
        .map(|((setup, dataset, isa), s)| {
            let scope = Scope {
                setup: *setup,
                pool: Pool::Dataset(*dataset),
            };
            vec![
                r.scope_name(scope),
                isa.clone(),
                s.runs.to_string(),
                format!("{:.1}", s.hours),
                format!("{:.4}", s.median_ns),
                (s.spread).map_or("-".into(), |(lo, hi)| format!("{lo:.2}x - {hi:.2}x")),
            ]
        })
        .collect();
    table(
        o,
        &[
            "dataset",
            "kernel path",
            "runs",
            "run time (h)",
            "ns per modelled multiply-add (median)",
            "cells / median",
        ],
        &rows,
    );
}

#[cfg(test)]
mod tests {
    use super::super::tests::{close, report, run};
    use crate::data::DatasetId::Mnist;
    use crate::run::MethodKind::{Gem, Naive};
    use crate::sweep::cost;

    #[test]
    fn seconds_per_modelled_multiply_add_by_cell_and_kernel_path() {
        let timed = |regime: &str, m, order, isa: &str, seconds: f64, copied: bool| {
            let mut r = run(Mnist, regime, m, order, 0.9, 0.05, 1.0);
            (r.isa, r.wall_seconds, r.first_task_copied) = (isa.into(), seconds, copied);
            r
        };
        let runs = vec![
            timed("R1", Naive, 0, "a", 2.0, false),
            timed("R1", Naive, 1, "a", 3.0, false),
            timed("R1", Naive, 2, "a", 4.0, false),
            // Its time lacks task 1: left out.
            timed("R1", Naive, 3, "a", 0.5, true),
            timed("R1", Naive, 4, "b", 1.0, false),
            timed("R5", Gem, 0, "a", 60.0, false),
        ];
        let naive = cost(&runs[0].config) as f64;
        let gem = cost(&runs[5].config) as f64;
        let r = report(runs);
        let rows: Vec<_> = (r.time.iter())
            .map(|t| (t.key.regime.name.as_str(), t.isa.as_str(), t.seconds.n))
            .collect();
        assert_eq!(rows, [("R1", "a", 3), ("R1", "b", 1), ("R5", "a", 1)]);
        let t = &r.time[0];
        close(t.seconds.mean, 3.0, 1e-12);
        close(t.ns_per_mac.mean, 3e9 / naive, 1e-12);
        close(t.giga_macs, naive / 1e9, 1e-9);
        close(r.time[2].ns_per_mac.mean, 60e9 / gem, 1e-12);
        // Path a: runs at 2, 3, 4 s of naive and 60 s of GEM; the median run (of four: the mean
        // of the middle two) and the cells' spread around it.
        let mut per_run = [2e9 / naive, 3e9 / naive, 4e9 / naive, 60e9 / gem];
        per_run.sort_by(f64::total_cmp);
        let median = (per_run[1] + per_run[2]) / 2.0;
        let (lo, hi) = (3e9 / naive / median, 60e9 / gem / median);
        let (lo, hi) = (lo.min(hi), lo.max(hi));
        let mut md = String::new();
        super::markdown(&mut md, &r);
        let row = format!(
            "| mnist | a | 4 | {:.1} | {median:.4} | {lo:.2}x - {hi:.2}x |",
            69.0 / 3600.0
        );
        assert!(md.contains(&row), "{row}\n{md}");
        assert!(md.contains("left out (1 here)"), "{md}");
        let csv = super::csv(&r);
        assert_eq!(csv.lines().count(), 1 + 3, "{csv}");
    }
}
