//! Claim verdicts on synthetic runs of one dataset, each made to go both ways: the best method in
//! head-only, ranking changes and the methods that flip, the update norm doubling and growing with
//! depth, and forgetting correlating with U.

use super::claims::Verdict;
use super::fixtures;
use super::keys::Pool;
use super::tests::{claim, close, grid, report, run};
use super::Report;
use crate::data::DatasetId::{self, Mnist};
use crate::run::{MethodKind, RunResult};
use MethodKind::{Ewc, Gem, Lwf};

#[test]
fn best_method_verdicts() {
    let lwf_best = |reg: &str, m| match (reg, m) {
        ("R1", Lwf) => 0.90,
        ("R1", _) => 0.80,
        (_, Gem) => 0.70,
        _ => 0.60,
    };
    let r = report(grid(Mnist, 2, &lwf_best));
    let c = claim(&r, "head-only (R1): best method", Pool::Dataset(Mnist));
    assert_eq!(c.verdict, Verdict::Confirmed, "{c:?}");
    assert_eq!(c.runs, 6);
    assert!(c.measured.starts_with("best lwf 90.1%"), "{}", c.measured);
    // a dataset without runs is not testable, and says so
    let k = claim(
        &r,
        "head-only (R1): best method",
        Pool::Dataset(DatasetId::Kmnist),
    );
    assert_eq!(k.verdict, Verdict::NotTestable);
    assert_eq!(k.why, "no runs on this dataset");
    // gem ahead in R1: contradicted
    let gem_best = |reg: &str, m| {
        if reg == "R1" && m == Gem {
            0.95
        } else {
            lwf_best(reg, m)
        }
    };
    let r = report(grid(Mnist, 2, &gem_best));
    let c = claim(&r, "head-only (R1): best method", Pool::Dataset(Mnist));
    assert_eq!(c.verdict, Verdict::Contradicted, "{c:?}");
    assert!(c.measured.contains("rank 2 of 3"), "{}", c.measured);
    // one order: never confirmed, and a second order that diverged is named, not counted
    let runs = grid(Mnist, 1, &lwf_best);
    let mut loaded = report(runs.clone()).loaded;
    loaded.failures.push(super::load::LoadedFailure {
        path: "failed.json".into(),
        config: fixtures::config(Mnist, "R1", Ewc, 1, 0),
        diverged: true,
        message: "training diverged: loss NaN at task 3".into(),
    });
    for r in [report(runs), Report::build(loaded)] {
        let c = claim(&r, "head-only (R1): best method", Pool::Dataset(Mnist));
        assert_eq!(c.verdict, Verdict::NotTestable, "{c:?}");
        assert!(c.why.contains("1 order x seed pair"), "{}", c.why);
        let diverged = r.failures.len();
        assert_eq!(
            c.why.contains("(1 more diverged)"),
            diverged == 1,
            "{}",
            c.why
        );
    }
}

#[test]
fn ranking_changes_and_named_flips() {
    // R1: lwf > ewc > gem; R5: gem > ewc > lwf (a full reversal: 3 flips, tau -1)
    let acc = |reg: &str, m| match (reg, m) {
        ("R1", Lwf) | ("R5", Gem) => 0.9,
        (_, Ewc) => 0.8,
        _ => 0.7,
    };
    let r = report(grid(Mnist, 2, &acc));
    let p = r
        .pairs
        .iter()
        .find(|p| p.scope.pool == Pool::Dataset(Mnist))
        .unwrap();
    assert_eq!(
        (p.a.name.as_str(), p.b.name.as_str(), p.flips),
        ("R1", "R5", 3)
    );
    close(p.tau.unwrap(), -1.0, 1e-15);
    assert!(p.flipped.contains(&(Lwf, Gem)), "{:?}", p.flipped);
    let c = claim(&r, "ranking of methods changes", Pool::Dataset(Mnist));
    assert_eq!(c.verdict, Verdict::Confirmed);
    // the same order in both regimes: contradicted
    let same = |_: &str, m| match m {
        Lwf => 0.9,
        Ewc => 0.8,
        _ => 0.7,
    };
    let r = report(grid(Mnist, 2, &same));
    assert_eq!(
        claim(&r, "ranking of methods changes", Pool::Dataset(Mnist)).verdict,
        Verdict::Contradicted
    );
}

/// Runs of lwf and gem in R1 and R5 over 3 orders with drift `u(regime)` and forgetting
/// `f(regime, u)`.
fn norm_runs(u: &dyn Fn(&str, u64) -> f64, f: &dyn Fn(&str, f64) -> f64) -> Vec<RunResult> {
    let mut out = Vec::new();
    for o in 0..3 {
        for reg in ["R1", "R5"] {
            for (i, m) in [Lwf, Gem].into_iter().enumerate() {
                let uu = u(reg, o) + 0.1 * i as f64;
                out.push(run(Mnist, reg, m, o, 0.8, f(reg, uu), uu));
            }
        }
    }
    out
}

#[test]
fn norm_doubling_and_growth_verdicts() {
    let flat_f = |_: &str, _: f64| 0.05;
    let doubles = |reg: &str, o: u64| if reg == "R1" { 1.0 } else { 2.0 } + 0.01 * o as f64;
    let r = report(norm_runs(&doubles, &flat_f));
    let c = claim(&r, "update norm roughly doubles", Pool::Dataset(Mnist));
    assert_eq!(c.verdict, Verdict::Confirmed, "{c:?}");
    assert_eq!(c.runs, 12);
    assert_eq!(
        claim(
            &r,
            "deeper regimes make larger updates",
            Pool::Dataset(Mnist)
        )
        .verdict,
        Verdict::Confirmed
    );
    let fivefold = |reg: &str, o: u64| if reg == "R1" { 1.0 } else { 5.0 } + 0.01 * o as f64;
    let r = report(norm_runs(&fivefold, &flat_f));
    assert_eq!(
        claim(&r, "update norm roughly doubles", Pool::Dataset(Mnist)).verdict,
        Verdict::Contradicted
    );
    let shrinks = |reg: &str, o: u64| if reg == "R1" { 2.0 } else { 1.0 } + 0.01 * o as f64;
    let r = report(norm_runs(&shrinks, &flat_f));
    let c = claim(
        &r,
        "deeper regimes make larger updates",
        Pool::Dataset(Mnist),
    );
    assert_eq!(c.verdict, Verdict::Contradicted);
    assert!(c.why.contains("R1 to R5"), "{}", c.why);
}

#[test]
fn correlation_rises_verdicts() {
    let u = |reg: &str, o: u64| if reg == "R1" { 1.0 } else { 2.0 } + 0.3 * o as f64;
    // R5: forgetting rises with U (r = 1); R1: falls with U (r = -1)
    let rising = |reg: &str, u: f64| if reg == "R5" { 0.1 * u } else { 0.5 - 0.1 * u };
    let r = report(norm_runs(&u, &rising));
    let c = claim(&r, "forgetting correlates with U", Pool::Dataset(Mnist));
    assert_eq!(c.verdict, Verdict::Confirmed, "{c:?}");
    assert_eq!(c.runs, 12);
    // r = -1 head-only: 0.3 is outside its interval
    assert_eq!(
        claim(&r, "r(U, F) in head-only", Pool::Dataset(Mnist)).verdict,
        Verdict::Contradicted
    );
    // R1 noisy, n 6: r 0.849 [0.119, 0.983] holds 0.3 above 0 (confirmed); r 0.683
    // [-0.288, 0.962] holds 0.3 and 0 (not testable)
    let noisy = |e: f64| {
        move |reg: &str, u: f64| {
            let k = ((u - 1.0) * 10.0).round() as u32;
            let s = if [0, 4, 6].contains(&k) { 1.0 } else { -1.0 };
            if reg == "R1" {
                0.1 * u + 0.1 * e * s
            } else {
                0.1 * u
            }
        }
    };
    for (e, r_want, want) in [
        (0.15, 0.849, Verdict::Confirmed),
        (0.25, 0.683, Verdict::NotTestable),
    ] {
        let r = report(norm_runs(&u, &noisy(e)));
        let c = claim(&r, "r(U, F) in head-only", Pool::Dataset(Mnist));
        assert_eq!(c.verdict, want, "{c:?}");
        assert!(c.measured.starts_with(&format!("r {r_want:.2} [")), "{c:?}");
    }
    // the other way round: contradicted
    let falling = |reg: &str, u: f64| rising(if reg == "R5" { "R1" } else { "R5" }, u);
    let r = report(norm_runs(&u, &falling));
    assert_eq!(
        claim(&r, "forgetting correlates with U", Pool::Dataset(Mnist)).verdict,
        Verdict::Contradicted
    );
    // constant forgetting: r undefined, not testable
    let r = report(norm_runs(&u, &|_, _| 0.05));
    let c = claim(&r, "forgetting correlates with U", Pool::Dataset(Mnist));
    assert_eq!(c.verdict, Verdict::NotTestable);
    assert!(c.why.contains("undefined"), "{}", c.why);
}

/// R5 runs of gem, ewc and lwf, ACC by method and order.
fn r5_runs(acc: &dyn Fn(MethodKind, u64) -> Option<f64>) -> Vec<RunResult> {
    let mut out = Vec::new();
    for o in 0..4 {
        for m in [Gem, Ewc, Lwf] {
            if let Some(a) = acc(m, o) {
                out.push(run(Mnist, "R5", m, o, a, 0.05, 1.0));
            }
        }
    }
    out
}

#[test]
fn no_clear_winner_pairs_the_runs_by_order() {
    const NAME: &str = "full network (R5): no clear winner";
    // The order moves every method alike (0.95, 0.80, 0.88); gem leads ewc by 2.0-2.2 points in
    // each. Unpaired, the intervals overlap widely; paired, the lead is 2.1 points with
    // std 0.1 point, half width t(0.975, 2) * 0.1 / sqrt(3) = 4.303 * 0.0577 = 0.248: [1.852, 2.348],
    // above 0.
    let level = |o: u64| [0.95, 0.80, 0.88][o as usize];
    let leads = |m, o: u64| match (m, o) {
        (_, 3) => None,
        (Gem, _) => Some(level(o)),
        (Ewc, _) => Some(level(o) - 0.02 - 0.001 * o as f64),
        _ => Some(0.5 + 0.01 * o as f64),
    };
    let r = report(r5_runs(&leads));
    let c = claim(&r, NAME, Pool::Dataset(Mnist));
    assert_eq!(c.verdict, Verdict::Contradicted, "{c:?}");
    assert!(c.measured.starts_with("best gem 87.7% ["), "{}", c.measured);
    assert!(
        c.measured.contains("runner-up ewc 85.6% ["),
        "{}",
        c.measured
    );
    assert!(
        c.measured
            .ends_with("gem - ewc paired over 3 runs each: 2.1 points [1.9, 2.3]"),
        "{}",
        c.measured
    );
    let cell = |m| {
        (r.cells.iter())
            .find(|c| c.key.scope.pool == Pool::Dataset(Mnist) && c.key.variant.kind == m)
            .and_then(|c| c.acc?.ci95)
            .unwrap()
    };
    assert!(cell(Gem).0 < cell(Ewc).1, "the unpaired intervals overlap");
    // The lead changes sign from order to order (3, -2, 1 points): the interval holds 0.
    let mixed = |m, o: u64| match (m, o) {
        (Ewc, 0..=2) => Some(level(o) - [0.03, -0.02, 0.01][o as usize]),
        _ => leads(m, o),
    };
    let c = claim(&report(r5_runs(&mixed)), NAME, Pool::Dataset(Mnist)).clone();
    assert_eq!(c.verdict, Verdict::Confirmed, "{c:?}");
    assert!(
        c.measured
            .contains("gem - ewc paired over 3 runs each: 0.7 points"),
        "{}",
        c.measured
    );
    // gem in orders 0 and 1, ewc in 2 and 3: two orders each but none in common.
    let apart = |m, o: u64| match (m, o) {
        (Gem, 0 | 1) | (Ewc, 2 | 3) => Some(0.9 - 0.01 * o as f64),
        (Lwf, _) => Some(0.5),
        _ => None,
    };
    let c = claim(&report(r5_runs(&apart)), NAME, Pool::Dataset(Mnist)).clone();
    assert_eq!(c.verdict, Verdict::NotTestable, "{c:?}");
    assert_eq!(
        c.why,
        "gem and ewc share fewer than 2 (dataset, order, seed) triples"
    );
}
