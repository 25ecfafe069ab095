//! The study's claims (PROTOCOL sections 1 and 8) beside what the results measured, each with a
//! verdict and the number of runs behind it.
//!
//! Verdict rules. Every claim reads some cells (setup, dataset or pooled, regime, method); only the
//! primary variant of each method counts, and naive fine-tuning is left out of the method
//! comparisons (ranking, best method, winner: the study compares online EWC, LwF, SI and GEM) but
//! counts in the norm, correlation and depth claims. A claim is **not testable** when a
//! cell it needs has no runs, or fewer than 2 distinct (order, seed) pairs: one order or one seed
//! never confirms anything. Otherwise:
//!
//! - *The ranking changes from regime to regime* (per dataset and pooled): confirmed when at least
//!   one pair of regimes has a rank flip (two methods ordered one way by mean ACC in one regime
//!   and the other way in the other), contradicted when no pair has one. Needs two regimes with two
//!   methods in common.
//! - *Best method by average accuracy* (head-only LwF on the MNIST family, shallow SI on CIFAR-100,
//!   mid-depth GEM on QMNIST, deep online EWC on CIFAR-100): confirmed when the study's method has
//!   the highest mean ACC (a tie counts as highest) among the methods run in that regime on that
//!   dataset, contradicted when another method's is higher. Needs the study's method and one other.
//!   The study's accuracy level is shown beside ours but not judged: network and budget differ.
//! - *Full network: no clear winner*: the best method by mean ACC against the runner-up, run by
//!   run: the differences of their ACC over the (dataset, order, seed) triples both have (the same
//!   class orders on the same data), confirmed when the 95% t interval of the mean difference
//!   holds 0, contradicted when it lies above 0. Needs 2 such triples. (Pairing leaves out what an
//!   order does to every method alike: two methods whose intervals overlap can still be told apart
//!   when one leads in every order.)
//! - *Deeper regimes make larger updates*: confirmed when mean U rises strictly with depth over the
//!   regimes R1..R5 present (at least two), contradicted at the first regime where it does not.
//! - *U roughly doubles from head-only to full network*: confirmed when mean U(R5) / mean U(R1)
//!   over every primary run is within [1.5, 3], contradicted outside.
//! - *r(U, F) is larger in the full network than head-only*: confirmed when r(R5) > r(R1) and the
//!   Fisher-z 95% interval of r(R5) lies above 0, contradicted when r(R5) <= r(R1); with r(R5) above
//!   r(R1) but its interval reaching 0, not testable (too few runs to tell r(R5) from 0). Needs r
//!   and its interval (at least 4 runs, neither series constant) in both regimes.
//! - *r(U, F) about 0.3 head-only / about 0.7 full network*: confirmed when the study's value lies
//!   in our Fisher-z 95% interval of r and the interval lies above 0, contradicted when the value
//!   lies outside; with the value inside but the interval reaching 0, not testable (too few runs
//!   to tell a correlation from none).
//! - *Grayscale sets are less depth-sensitive than CIFAR-100, where deeper regimes cost more
//!   accuracy*: with d = mean over methods of ACC(R5) - ACC(R1) per dataset, confirmed when
//!   d(cifar100) < 0 and |d(cifar100)| > |d(g)| for every grayscale set g measured, contradicted
//!   otherwise. Needs CIFAR-100 and one grayscale set, each with R1 and R5.

mod methods;
mod updates;

use super::analysis::{Depth, NormFactor, Ranking, UfCorrelation};
use super::keys::{Pool, RegimeKey, Scope};
use super::stats::{Cell, Point};
use crate::data::DatasetId;
use crate::run::MethodKind;
use methods::{best_method, no_clear_winner, ranking_changes};
use std::collections::BTreeSet;
use std::fmt;
use updates::{doubling, grayscale, larger_updates, r_level, r_rises};

/// The verdict rules in one line each, for report.md and `--help` (the module docs say the same).
pub const RULES: [&str; 9] = [
    "every claim: not testable when a cell it reads has no runs or fewer than 2 distinct (order, seed) pairs",
    "ranking changes: confirmed when some pair of regimes has a rank flip by mean ACC (naive left out), contradicted when none has",
    "best method of a regime: confirmed when the study's method has the highest mean ACC there (ties count), contradicted otherwise; the accuracy level is shown, not judged",
    "full network, no clear winner: confirmed when the 95% interval of the best method's lead over the runner-up, paired run by run (same dataset, order, seed), holds 0; contradicted when it lies above 0",
    "deeper regimes, larger updates: confirmed when mean U rises strictly with depth over the regimes R1..R5 present",
    "U roughly doubles: confirmed when mean U(R5) / mean U(R1) is within [1.5, 3]",
    "r rises with depth: confirmed when r(R5) > r(R1) and r(R5)'s Fisher-z interval lies above 0, contradicted when r(R5) <= r(R1), else not testable",
    "r about 0.3 (R1) / 0.7 (R5): confirmed when the study's value lies in the Fisher-z 95% interval of r and the interval lies above 0; not testable when it holds 0 too",
    "grayscale less depth-sensitive: with d = mean over methods of ACC(R5) - ACC(R1), confirmed when d(cifar100) < 0 and |d(cifar100)| > |d| of every grayscale set",
];

/// Fewest distinct (order, seed) pairs a cell needs before a claim can be judged on it.
pub const MIN_REPLICATES: usize = 2;
/// The band of U(R5) / U(R1) that "roughly doubles" allows.
pub const DOUBLING_BAND: (f64, f64) = (1.5, 3.0);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Confirmed,
    Contradicted,
    NotTestable,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Contradicted => "contradicted",
            Verdict::NotTestable => "not testable",
        })
    }
}

/// One claim on one scope, with the study's value beside ours.
#[derive(Clone, Debug)]
pub struct ClaimRow {
    pub claim: String,
    pub scope: Scope,
    pub study: String,
    pub measured: String,
    pub verdict: Verdict,
    pub why: String,
    /// Runs the measurement reads.
    pub runs: usize,
}

/// What the claims read.
pub struct Inputs<'a> {
    pub setups: usize,
    pub cells: &'a [Cell],
    /// The runs the cells index ([`Cell::points`]).
    pub points: &'a [Point],
    pub rankings: &'a [Ranking],
    pub factors: &'a [NormFactor],
    pub correlations: &'a [UfCorrelation],
    pub depth: &'a [Depth],
}

/// The study's headline rows: regime, its name in the study, best method, accuracy, dataset(s).
const HEADLINE: [(u8, &str, MethodKind, &str, &[DatasetId]); 4] = [
    (1, "head-only", MethodKind::Lwf, "about 92%", &GRAYSCALE),
    (
        2,
        "shallow",
        MethodKind::Si,
        "about 88%",
        &[DatasetId::Cifar100],
    ),
    (
        3,
        "mid-depth",
        MethodKind::Gem,
        "about 84%",
        &[DatasetId::Qmnist],
    ),
    (
        4,
        "deep",
        MethodKind::Ewc,
        "about 78%",
        &[DatasetId::Cifar100],
    ),
];

pub const GRAYSCALE: [DatasetId; 4] = [
    DatasetId::Mnist,
    DatasetId::FashionMnist,
    DatasetId::Kmnist,
    DatasetId::Qmnist,
];

/// The study's name of regime Rd.
pub fn study_name(depth: u8) -> &'static str {
    ["head-only", "shallow", "mid-depth", "deep", "full network"][usize::from(depth) - 1]
}

/// Every claim on every scope that can hold it. A claim about a dataset is listed in the setups
/// that ran that dataset; one about a dataset that no setup ran is listed once, in the setup with
/// the most runs, as not testable (so that the table says what is missing without repeating it
/// for every setup). The grayscale claim likewise appears in the setups that hold CIFAR-100 and a
/// grayscale set, else once in the setup with the most runs.
pub fn claims(x: &Inputs) -> Vec<ClaimRow> {
    let ran: Vec<BTreeSet<DatasetId>> = (0..x.setups)
        .map(|s| super::stats::datasets(x.cells, s))
        .collect();
    let runs_in = |setup: usize| -> usize {
        x.cells
            .iter()
            .filter(|c| c.key.scope.setup == setup && c.key.scope.pool != Pool::All)
            .map(|c| c.n)
            .sum()
    };
    let main = (0..x.setups).max_by_key(|&s| (runs_in(s), std::cmp::Reverse(s)));
    let mut out = Vec::new();
    for setup in 0..x.setups {
        let scopes: BTreeSet<Scope> = x
            .cells
            .iter()
            .map(|c| c.key.scope)
            .filter(|s| s.setup == setup)
            .collect();
        let ds = |p: Pool| Scope { setup, pool: p };
        let listed = |d: DatasetId| {
            ran[setup].contains(&d) || (main == Some(setup) && !ran.iter().any(|r| r.contains(&d)))
        };
        for &scope in &scopes {
            out.push(ranking_changes(x, scope));
        }
        for (d, name, method, level, sets) in HEADLINE {
            for &set in sets.iter().filter(|&&s| listed(s)) {
                out.push(best_method(
                    x,
                    ds(Pool::Dataset(set)),
                    d,
                    name,
                    method,
                    level,
                ));
            }
        }
        for &scope in scopes.iter().filter(|s| s.pool != Pool::All) {
            out.push(no_clear_winner(x, scope));
        }
        for &scope in &scopes {
            out.push(larger_updates(x, scope));
            out.push(doubling(x, scope));
        }
        for &scope in &scopes {
            out.push(r_rises(x, scope));
            out.push(r_level(x, scope, 1, 0.3));
            out.push(r_level(x, scope, 5, 0.7));
        }
        let both = ran[setup].contains(&DatasetId::Cifar100)
            && GRAYSCALE.iter().any(|g| ran[setup].contains(g));
        if both || main == Some(setup) {
            out.push(grayscale(x, setup));
        }
    }
    out
}

fn row(claim: &str, scope: Scope, study: &str) -> ClaimRow {
    ClaimRow {
        claim: claim.to_string(),
        scope,
        study: study.to_string(),
        measured: String::new(),
        verdict: Verdict::NotTestable,
        why: String::new(),
        runs: 0,
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// The CL methods' cells (naive left out) of one scope and regime.
fn cl_cells<'a>(x: &'a Inputs, scope: Scope, regime: &RegimeKey) -> Vec<&'a Cell> {
    x.cells
        .iter()
        .filter(|c| c.key.scope == scope && &c.key.regime == regime && c.key.variant.primary)
        .filter(|c| c.key.variant.kind != MethodKind::Naive && c.acc.is_some())
        .collect()
}

/// `Err(why)` when a cell has fewer than [`MIN_REPLICATES`] (order, seed) pairs, naming the runs
/// it excludes (diverged or failed) when it has any.
fn enough(cells: &[&Cell]) -> Result<(), String> {
    match cells.iter().find(|c| c.replicates < MIN_REPLICATES) {
        Some(c) => {
            let excluded = match (c.diverged, c.failed) {
                (0, 0) => String::new(),
                (d, 0) => format!(" ({d} more diverged)"),
                (0, f) => format!(" ({f} more failed)"),
                (d, f) => format!(" ({d} more diverged, {f} failed)"),
            };
            Err(format!(
                "{} {} has {} order x seed pair(s){excluded}; at least {MIN_REPLICATES} needed",
                c.key.regime.name, c.key.variant.label, c.replicates
            ))
        }
        None => Ok(()),
    }
}

fn runs(cells: &[&Cell]) -> usize {
    cells.iter().map(|c| c.n).sum()
}
