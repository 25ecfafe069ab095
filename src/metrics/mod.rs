//! Metrics of PROTOCOL section 6, computed from the accuracy matrix and parameter snapshots.
//!
//! Everything here is a pure function of its arguments and works in `f64`. Quantities that the
//! protocol leaves undefined for a given input (forgetting and BWT with one task, a correlation of a
//! constant series, a confidence interval from three points) are `None`, never `NaN`, so that a run
//! JSON written from these structs says `null` where there is no number.
//!
//! Indexing: the protocol numbers tasks 1..T; the code stores them 0-based, so protocol task `t` is
//! index `t - 1` here. Each formula is written both ways where the two differ.
//!
//! The submodules are private; everything public is re-exported here, so paths are
//! `crate::metrics::X`:
//!
//! - `accuracy`: the accuracy matrix and its ACC, forgetting and BWT;
//! - `norms`: update norms from parameter snapshots, whole and per layer group;
//! - `correlation`: Pearson (with its Fisher-z interval), Spearman and Kendall tau-b;
//! - `ranking`: rankings of methods by score and the rank flips between two rankings.

/// `assert_close!(a, b)` / `assert_close!(a, b, tol)`: `|a - b| <= tol` (default `1e-12`), for
/// the tests of every submodule (defined before the `mod` lines so that they see it).
#[cfg(test)]
macro_rules! assert_close {
    ($a:expr, $b:expr) => {
        assert_close!($a, $b, 1e-12)
    };
    ($a:expr, $b:expr, $tol:expr) => {{
        let (a, b): (f64, f64) = ($a, $b);
        assert!((a - b).abs() <= $tol, "{a} != {b} (tol {})", $tol);
    }};
}

mod accuracy;
mod correlation;
mod norms;
mod ranking;

pub use accuracy::{AccuracyMatrix, AccuracySummary, Forgetting};
pub use correlation::{
    average_ranks, correlation, kendall_tau_b, pearson, pearson_ci95, spearman, Correlation, Z_975,
};
pub use norms::{l2_distance, update_norms, update_norms_groups, GroupUpdateNorms, UpdateNorms};
pub use ranking::{rank_flips, ranks_by_score_desc};
