//! Tests of the report: statistics on hand-computed numbers, labels of swept strengths, and loading
//! a directory with files that are not run results; and the synthetic runs and report lookups that
//! the claim verdicts' tests (`verdict_tests.rs`, `setup_tests.rs`) share.

use super::fixtures;
use super::keys::{natural_cmp, Pool};
use super::load::{load_dir, Loaded, LoadedRun};
use super::stats::{summarize, t_975};
use super::{ClaimRow, Report};
use crate::data::DatasetId::{self, Mnist};
use crate::methods::EwcConfig;
use crate::run::{MethodConfig, MethodKind, RunResult};
use MethodKind::{Ewc, Gem, Lwf};

pub(super) fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} != {b} (tol {tol})");
}

/// One synthetic run: ACC `acc`, forgetting `f`, drift U = `u`, 5 tasks, seed 0.
pub(super) fn run(
    ds: DatasetId,
    regime: &str,
    m: MethodKind,
    order: u64,
    acc: f64,
    f: f64,
    u: f64,
) -> RunResult {
    fixtures::run_result(
        fixtures::config(ds, regime, m, order, 0),
        fixtures::matrix(5, acc, f),
        &fixtures::snapshots(5, u),
    )
}

pub(super) fn report(runs: Vec<RunResult>) -> Report {
    Report::build(Loaded {
        runs: runs
            .into_iter()
            .enumerate()
            .map(|(i, result)| LoadedRun {
                path: format!("{i:03}.json").into(),
                result,
            })
            .collect(),
        ..Loaded::default()
    })
}

/// The claim row whose text starts with `claim` on `pool` (the only setup).
pub(super) fn claim<'a>(r: &'a Report, claim: &str, pool: Pool) -> &'a ClaimRow {
    r.claims
        .iter()
        .find(|c| c.claim.starts_with(claim) && c.scope.pool == pool)
        .unwrap_or_else(|| panic!("no claim `{claim}` on {pool:?}: {:#?}", r.claims))
}

#[test]
fn mean_std_and_t_interval_by_hand() {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 40/8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32,
    // sample variance 32/7, std sqrt(32/7) = 2.138089935...; t(0.975, 7) = 2.364624251592785,
    // half width = t * std / sqrt(8) = t * sqrt(4/7) = 1.787488...
    let s = summarize(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
    assert_eq!(s.n, 8);
    close(s.mean, 5.0, 1e-15);
    close(s.std.unwrap(), (32.0f64 / 7.0).sqrt(), 1e-15);
    let half = 2.364_624_251_592_785_3 * (4.0f64 / 7.0).sqrt();
    close(half, 1.787_488, 1e-6);
    let (lo, hi) = s.ci95.unwrap();
    close(lo, 5.0 - half, 1e-14);
    close(hi, 5.0 + half, 1e-14);
    // two values 1 and 3: mean 2, std sqrt(2), half width 12.706... * sqrt(2) / sqrt(2)
    let two = summarize(&[1.0, 3.0]).unwrap();
    close(two.ci95.unwrap().1, 2.0 + 12.706_204_736_174_707, 1e-12);
    // one value: a mean, no spread; none: nothing
    let one = summarize(&[0.7]).unwrap();
    assert_eq!((one.std, one.ci95), (None, None));
    assert!(summarize(&[]).is_none());
}

#[test]
fn t_quantiles_table_and_expansion() {
    close(t_975(1), 12.706_204_736_174_707, 0.0);
    close(t_975(30), 2.042_272_456_301_238, 0.0);
    // beyond the table: the expansion continues it smoothly and tends to z
    // scipy.stats.t.ppf(0.975, 31) = 2.0395134464
    close(t_975(31), 2.039_513_446, 5e-8);
    close(t_975(100), 1.983_971_518_8, 1e-8);
    assert!(t_975(30) > t_975(31) && t_975(31) > t_975(1000));
    close(t_975(100_000), crate::metrics::Z_975, 1e-4);
}

#[test]
fn natural_order_of_strength_labels() {
    use std::cmp::Ordering::*;
    assert_eq!(natural_cmp("ewc lambda=20.0", "ewc lambda=100.0"), Less);
    assert_eq!(
        natural_cmp("ewc lambda=5000.0", "ewc lambda=1000.0"),
        Greater
    );
    assert_eq!(natural_cmp("si c=0.5", "si c=0.5"), Equal);
    assert_eq!(natural_cmp("gem", "lwf"), Less);
}

/// Runs of three methods in R1 and R5 on one dataset, over `orders` orders, with the given ACC
/// per (regime, method).
pub(super) fn grid(
    ds: DatasetId,
    orders: u64,
    acc: &dyn Fn(&str, MethodKind) -> f64,
) -> Vec<RunResult> {
    let mut out = Vec::new();
    for o in 0..orders {
        for reg in ["R1", "R5"] {
            for m in [Lwf, Ewc, Gem] {
                // a small order-dependent wobble, so the spread is not zero
                let a = acc(reg, m) + 0.002 * o as f64;
                out.push(run(ds, reg, m, o, a, 0.05, 1.0));
            }
        }
    }
    out
}

#[test]
fn swept_strengths_are_variants_and_the_default_is_primary() {
    let mut runs = Vec::new();
    for o in 0..2 {
        for lambda in [10.0, 5000.0] {
            let mut c = fixtures::config(Mnist, "R1", Ewc, o, 0);
            c.method = MethodConfig::Ewc(EwcConfig {
                lambda,
                ..EwcConfig::default()
            });
            let f = if lambda > 100.0 { 0.01 } else { 0.2 };
            runs.push(fixtures::run_result(
                c,
                fixtures::matrix(5, 0.8, f),
                &fixtures::snapshots(5, 1.0),
            ));
        }
        runs.push(run(Mnist, "R1", Lwf, o, 0.7, 0.1, 1.0));
    }
    let r = report(runs);
    let ewc: Vec<(&str, bool, usize)> = r
        .cells
        .iter()
        .filter(|c| c.key.scope.pool == Pool::Dataset(Mnist) && c.key.variant.kind == Ewc)
        .map(|c| (c.key.variant.label.as_str(), c.key.variant.primary, c.n))
        .collect();
    assert_eq!(
        ewc,
        vec![
            ("ewc lambda=10.0", false, 2),
            ("ewc lambda=5000.0", true, 2)
        ]
    );
    // lwf has one variant: its plain name; the ranking holds one ewc only
    let rank = r
        .rankings
        .iter()
        .find(|k| k.scope.pool == Pool::Dataset(Mnist))
        .unwrap();
    assert_eq!(
        rank.by_acc.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![Ewc, Lwf]
    );
    let strength = super::markdown::strength_cells(&r);
    assert_eq!(strength.len(), 2);
    close(strength[0].forgetting.unwrap().mean, 0.2, 1e-12);
}

#[test]
fn a_directory_with_other_files_loads_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let ok = run(Mnist, "R1", Lwf, 0, 0.8, 0.1, 1.0);
    std::fs::write(sub.join("a.json"), serde_json::to_vec(&ok).unwrap()).unwrap();
    // the same run again, in a later file
    std::fs::write(sub.join("b.json"), serde_json::to_vec(&ok).unwrap()).unwrap();
    std::fs::write(dir.path().join("broken.json"), b"{\"config\": ").unwrap();
    std::fs::write(dir.path().join("hash.json"), b"{\"inputs\": [1, 2]}").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not json, not read").unwrap();
    let mut cfg = ok.config.clone();
    cfg.order = 3;
    let failure = serde_json::json!({ "config": cfg, "error": { "kind": "diverged", "message": "training diverged: loss NaN at task 2" } });
    std::fs::write(dir.path().join("fail.json"), failure.to_string()).unwrap();
    let mut other = serde_json::to_value(&ok).unwrap();
    other["accuracy"] = serde_json::json!("not a matrix");
    std::fs::write(dir.path().join("bad-run.json"), other.to_string()).unwrap();

    let l = load_dir(dir.path()).unwrap();
    assert_eq!(l.files, 6);
    assert_eq!((l.runs.len(), l.failures.len(), l.ignored.len()), (1, 1, 1));
    assert!(l.failures[0].diverged);
    assert_eq!(
        l.failures[0].message,
        "training diverged: loss NaN at task 2"
    );
    let w = l.warnings.join("\n");
    assert!(w.contains("broken.json: skipped, not valid JSON"), "{w}");
    assert!(
        w.contains("bad-run.json: skipped, not a valid run result"),
        "{w}"
    );
    assert!(w.contains("b.json: skipped, repeats the run"), "{w}");
    assert_eq!(l.warnings.len(), 3, "{w}");
    // the failure is counted in its cell, never averaged
    let r = Report::build(l);
    let cell = r
        .cells
        .iter()
        .find(|c| c.key.scope.pool == Pool::Dataset(Mnist))
        .unwrap();
    assert_eq!((cell.n, cell.diverged, cell.failed), (1, 1, 0));
    // a missing directory is an error naming it
    let e = load_dir(&dir.path().join("nope")).unwrap_err().to_string();
    assert!(e.contains("nope"), "{e}");
}
