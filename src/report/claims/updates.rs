//! The claims about update norms and depth: U grows with depth and roughly doubles, r(U, F)
//! rises with depth, and grayscale sets are less depth-sensitive than CIFAR-100.

use super::{
    enough, row, runs, study_name, ClaimRow, Inputs, Verdict, DOUBLING_BAND, GRAYSCALE,
    MIN_REPLICATES,
};
use crate::data::DatasetId;
use crate::report::analysis::{Depth, UfCorrelation};
use crate::report::keys::{Pool, RegimeKey, Scope};
use crate::report::stats::Cell;

/// Primary cells of a scope in R1..R5 (naive included: updates are not a comparison of methods).
fn depth_cells<'a>(x: &'a Inputs, scope: Scope, d: u8) -> Vec<&'a Cell> {
    let key = RegimeKey::depth(d);
    x.cells
        .iter()
        .filter(|c| {
            c.key.scope == scope
                && c.key.regime == key
                && c.key.variant.primary
                && c.drift.is_some()
        })
        .collect()
}

pub(super) fn larger_updates(x: &Inputs, scope: Scope) -> ClaimRow {
    let mut r = row(
        "deeper regimes make larger updates (U grows with depth)",
        scope,
        "U grows with depth",
    );
    let levels: Vec<(u8, Vec<&Cell>)> = (1..=5)
        .map(|d| (d, depth_cells(x, scope, d)))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    let all: Vec<&Cell> = levels.iter().flat_map(|l| l.1.iter().copied()).collect();
    r.runs = runs(&all);
    if levels.len() < 2 {
        r.why = "needs runs in two of R1..R5".into();
        return r;
    }
    if let Err(why) = enough(&all) {
        r.why = why;
        return r;
    }
    let mean_u = |cs: &[&Cell]| {
        let (s, n) = cs.iter().fold((0.0, 0), |(s, n), c| {
            let u = c.drift.expect("kept");
            (s + u.mean * u.n as f64, n + u.n)
        });
        s / n as f64
    };
    let us: Vec<(u8, f64)> = levels.iter().map(|(d, c)| (*d, mean_u(c))).collect();
    r.measured = us
        .iter()
        .map(|(d, u)| format!("R{d} {u:.3}"))
        .collect::<Vec<_>>()
        .join(", ");
    match us.windows(2).find(|w| w[1].1 <= w[0].1) {
        None => {
            r.verdict = Verdict::Confirmed;
            r.why = "mean U rises at every step of depth".into();
        }
        Some(w) => {
            r.verdict = Verdict::Contradicted;
            r.why = format!("mean U does not rise from R{} to R{}", w[0].0, w[1].0);
        }
    }
    r
}

pub(super) fn doubling(x: &Inputs, scope: Scope) -> ClaimRow {
    let mut r = row(
        "update norm roughly doubles from head-only to full network",
        scope,
        "U(R5)/U(R1) about 2",
    );
    let cells: Vec<&Cell> = [1, 5]
        .iter()
        .flat_map(|&d| depth_cells(x, scope, d))
        .collect();
    r.runs = runs(&cells);
    let Some(f) = x
        .factors
        .iter()
        .find(|f| f.scope == scope && f.method.is_none())
    else {
        r.why = "needs runs in R1 and in R5".into();
        return r;
    };
    if let Err(why) = enough(&cells) {
        r.why = why;
        return r;
    }
    r.measured = format!(
        "U(R5)/U(R1) = {:.2} ({:.3} / {:.3})",
        f.ratio, f.r5.mean, f.r1.mean
    );
    let (lo, hi) = DOUBLING_BAND;
    if (lo..=hi).contains(&f.ratio) {
        r.verdict = Verdict::Confirmed;
        r.why = format!("the ratio is within [{lo}, {hi}]");
    } else {
        r.verdict = Verdict::Contradicted;
        r.why = format!("the ratio is outside [{lo}, {hi}]");
    }
    r
}

fn corr_of<'a>(x: &'a Inputs, scope: Scope, d: u8) -> Option<&'a UfCorrelation> {
    let key = RegimeKey::depth(d);
    x.correlations
        .iter()
        .find(|c| c.scope == scope && c.regime == key)
}

fn show_r(c: &UfCorrelation) -> String {
    match (c.corr.pearson, c.corr.pearson_ci95) {
        (Some(r), Some((lo, hi))) => format!("{r:.2} [{lo:.2}, {hi:.2}] (n {})", c.corr.n),
        (Some(r), None) => format!("{r:.2} (n {})", c.corr.n),
        _ => format!("undefined (n {})", c.corr.n),
    }
}

/// `Err(why)` unless r and its interval exist and the runs have enough (order, seed) pairs.
fn usable(c: Option<&UfCorrelation>, d: u8) -> Result<(&UfCorrelation, f64, (f64, f64)), String> {
    let c = c.ok_or(format!("no runs with U and forgetting in R{d}"))?;
    if c.replicates < MIN_REPLICATES {
        return Err(format!(
            "R{d} has {} order x seed pair(s); at least {MIN_REPLICATES} needed",
            c.replicates
        ));
    }
    match (c.corr.pearson, c.corr.pearson_ci95) {
        (Some(r), Some(ci)) => Ok((c, r, ci)),
        _ => Err(format!(
            "r or its interval undefined in R{d} (n {}: needs 4 runs, neither series constant)",
            c.corr.n
        )),
    }
}

pub(super) fn r_rises(x: &Inputs, scope: Scope) -> ClaimRow {
    let mut r = row(
        "forgetting correlates with U more strongly in deeper regimes: r(R5) > r(R1)",
        scope,
        "r 0.3 -> 0.7",
    );
    let (c1, c5) = (corr_of(x, scope, 1), corr_of(x, scope, 5));
    r.runs = c1.map_or(0, |c| c.corr.n) + c5.map_or(0, |c| c.corr.n);
    let (a, b) = match (usable(c1, 1), usable(c5, 5)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(why), _) | (_, Err(why)) => {
            r.why = why;
            return r;
        }
    };
    r.measured = format!("r(R1) {}; r(R5) {}", show_r(a.0), show_r(b.0));
    if b.1 <= a.1 {
        r.verdict = Verdict::Contradicted;
        r.why = "r(R5) <= r(R1)".into();
    } else if b.2 .0 > 0.0 {
        r.verdict = Verdict::Confirmed;
        r.why = "r(R5) > r(R1) and r(R5)'s interval lies above 0".into();
    } else {
        r.why = "r(R5) > r(R1) but r(R5)'s interval reaches 0: too few runs to tell".into();
    }
    r
}

pub(super) fn r_level(x: &Inputs, scope: Scope, d: u8, study: f64) -> ClaimRow {
    let claim = format!("r(U, F) in {} (R{d})", study_name(d));
    let mut r = row(&claim, scope, &format!("about {study}"));
    let c = corr_of(x, scope, d);
    r.runs = c.map_or(0, |c| c.corr.n);
    match usable(c, d) {
        Err(why) => r.why = why,
        Ok((c, _, (lo, hi))) => {
            r.measured = format!("r {}", show_r(c));
            if !(lo..=hi).contains(&study) {
                r.verdict = Verdict::Contradicted;
                r.why = format!("{study} lies outside the 95% interval");
            } else if lo > 0.0 {
                r.verdict = Verdict::Confirmed;
                r.why = format!("{study} lies in the 95% interval, which lies above 0");
            } else {
                r.why = format!(
                    "{study} lies in the 95% interval, but so does 0: too few runs to tell"
                );
            }
        }
    }
    r
}

pub(super) fn grayscale(x: &Inputs, setup: usize) -> ClaimRow {
    let scope = Scope {
        setup,
        pool: Pool::All,
    };
    let mut r = row(
        "grayscale sets are less depth-sensitive than CIFAR-100 (deeper costs more accuracy there)",
        scope,
        "|ACC R5 - R1| smaller on grayscale; CIFAR-100 loses with depth",
    );
    let here: Vec<&Depth> = x.depth.iter().filter(|d| d.setup == setup).collect();
    r.runs = here.iter().map(|d| d.runs).sum();
    let cifar = here.iter().find(|d| d.dataset == DatasetId::Cifar100);
    let gray: Vec<&&Depth> = here
        .iter()
        .filter(|d| GRAYSCALE.contains(&d.dataset))
        .collect();
    let (Some(cifar), false) = (cifar, gray.is_empty()) else {
        r.why = "needs CIFAR-100 and a grayscale set, each run in R1 and R5".into();
        return r;
    };
    if let Some(d) = here.iter().find(|d| d.replicates < MIN_REPLICATES) {
        r.why = format!(
            "{} has {} order x seed pair(s) in R1 or R5",
            d.dataset, d.replicates
        );
        return r;
    }
    let dc = cifar.delta.expect("kept").mean;
    let show = |d: &Depth| format!("{} {:+.1}", d.dataset, 100.0 * d.delta.expect("kept").mean);
    r.measured = format!(
        "ACC R5 - R1 (points): {}; {}",
        show(cifar),
        gray.iter().map(|d| show(d)).collect::<Vec<_>>().join(", ")
    );
    let worse = gray
        .iter()
        .find(|d| d.delta.expect("kept").mean.abs() >= dc.abs());
    if dc < 0.0 && worse.is_none() {
        r.verdict = Verdict::Confirmed;
        r.why = "CIFAR-100 loses accuracy with depth, by more than any grayscale set moves".into();
    } else if dc >= 0.0 {
        r.verdict = Verdict::Contradicted;
        r.why = "CIFAR-100 does not lose accuracy from R1 to R5".into();
    } else {
        r.verdict = Verdict::Contradicted;
        r.why = format!(
            "{} moves at least as much as CIFAR-100",
            worse.expect("some").dataset
        );
    }
    r
}
