//! Metrics of PROTOCOL section 6, computed from the accuracy matrix and parameter snapshots.
//!
//! Everything here is a pure function of its arguments and works in `f64`. Quantities that the
//! protocol leaves undefined for a given input (forgetting and BWT with one task, a correlation of a
//! constant series, a confidence interval from three points) are `None`, never `NaN`, so that a run
//! JSON written from these structs says `null` where there is no number.
//!
//! Indexing: the protocol numbers tasks 1..T; the code stores them 0-based, so protocol task `t` is
//! index `t - 1` here. Each formula below is written both ways where the two differ.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering::Equal;
use std::ops::Range;

/// Two-sided 97.5% quantile of the standard normal distribution (for 95% intervals).
pub const Z_975: f64 = 1.959_963_984_540_054;

// ---------------------------------------------------------------------------------------------
// Accuracy matrix, ACC, forgetting, BWT
// ---------------------------------------------------------------------------------------------

/// The T x T accuracy matrix: `get(i, j)` is the test accuracy on task `j` after training task `i`.
///
/// Storage is 0-based: protocol entry `A[i][j]` (i, j = 1..T) is `get(i - 1, j - 1)`. Entries above
/// the diagonal (tasks not yet trained) are stored like any other and are used by none of the
/// metrics below. Serialises as `{"rows": [[...], ...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracyMatrix {
    rows: Vec<Vec<f64>>,
}

/// Forgetting (Chaudhry et al. 2018): one value per task but the last, and their mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forgetting {
    /// `f_j` for 0-based `j = 0 .. T-2` (protocol tasks `1 .. T-1`).
    pub per_task: Vec<f64>,
    /// `F`, the mean of `per_task`.
    pub mean: f64,
}

/// ACC, forgetting and BWT of one accuracy matrix, ready to be written into a run's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracySummary {
    /// Number of tasks T.
    pub tasks: usize,
    /// Average final accuracy.
    pub acc: f64,
    /// `None` when T = 1.
    pub forgetting: Option<Forgetting>,
    /// `None` when T = 1.
    pub bwt: Option<f64>,
}

impl AccuracyMatrix {
    /// A T x T matrix of zeros. Panics if `t == 0`.
    pub fn new(t: usize) -> Self {
        assert!(t > 0, "an accuracy matrix needs at least one task");
        Self {
            rows: vec![vec![0.0; t]; t],
        }
    }

    /// Builds the matrix from its rows (`rows[i][j]` = accuracy on task j after task i).
    /// Errors unless the rows form a non-empty square matrix.
    pub fn from_rows(rows: Vec<Vec<f64>>) -> Result<Self, String> {
        let t = rows.len();
        if t == 0 {
            return Err("an accuracy matrix needs at least one task".into());
        }
        if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != t) {
            return Err(format!(
                "accuracy matrix is not square: row {i} has {} entries, expected {t}",
                r.len()
            ));
        }
        Ok(Self { rows })
    }

    /// Number of tasks T.
    pub fn tasks(&self) -> usize {
        self.rows.len()
    }

    /// Accuracy on task `j` after training task `i` (0-based).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.rows[i][j]
    }

    /// Sets the accuracy on task `j` after training task `i` (0-based).
    pub fn set(&mut self, i: usize, j: usize, value: f64) {
        self.rows[i][j] = value;
    }

    /// Row `i`: the accuracies on every task after training task `i` (0-based).
    pub fn row(&self, i: usize) -> &[f64] {
        &self.rows[i]
    }

    /// All rows.
    pub fn rows(&self) -> &[Vec<f64>] {
        &self.rows
    }

    /// Average accuracy after the last task: `ACC = (1/T) sum_{j=1..T} A[T][j]`
    /// (0-based: the mean of row `T-1`).
    pub fn acc(&self) -> f64 {
        let last = &self.rows[self.tasks() - 1];
        last.iter().sum::<f64>() / last.len() as f64
    }

    /// Forgetting (Chaudhry et al. 2018), protocol form: for `j = 1..T-1`,
    /// `f_j = max_{l in j..T-1} A[l][j] - A[T][j]`, and `F` = mean of `f_j`.
    ///
    /// 0-based: for `j = 0..=T-2`, `f_j = max_{l = j..=T-2} A[l][j] - A[T-1][j]`: the best accuracy
    /// task `j` ever had before the last task was trained, minus its final accuracy. It is negative
    /// when the final accuracy beats every earlier one. `None` when `T = 1` (no task precedes the last).
    pub fn forgetting(&self) -> Option<Forgetting> {
        let t = self.tasks();
        if t < 2 {
            return None;
        }
        let last = &self.rows[t - 1];
        let per_task: Vec<f64> = (0..t - 1)
            .map(|j| {
                let best = (j..t - 1)
                    .map(|l| self.rows[l][j])
                    .fold(f64::NEG_INFINITY, f64::max);
                best - last[j]
            })
            .collect();
        let mean = per_task.iter().sum::<f64>() / per_task.len() as f64;
        Some(Forgetting { per_task, mean })
    }

    /// Backward transfer: `BWT = (1/(T-1)) sum_{j=1..T-1} (A[T][j] - A[j][j])`
    /// (0-based: `j = 0..=T-2`, `A[T-1][j] - A[j][j]`). `None` when `T = 1`.
    pub fn bwt(&self) -> Option<f64> {
        let t = self.tasks();
        if t < 2 {
            return None;
        }
        let last = &self.rows[t - 1];
        let sum: f64 = (0..t - 1).map(|j| last[j] - self.rows[j][j]).sum();
        Some(sum / (t - 1) as f64)
    }

    /// ACC, forgetting and BWT together.
    pub fn summary(&self) -> AccuracySummary {
        AccuracySummary {
            tasks: self.tasks(),
            acc: self.acc(),
            forgetting: self.forgetting(),
            bwt: self.bwt(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Update norms
// ---------------------------------------------------------------------------------------------

/// Euclidean distance `||a - b||_2`, each difference and the running sum of squares in `f64`.
/// Panics if the lengths differ.
pub fn l2_distance(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "l2_distance: length mismatch");
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

/// The distance restricted to one named group of the flat parameter vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupNorm {
    pub name: String,
    pub norm: f64,
}

/// `||a[r] - b[r]||_2` for each named range `r` of the flat parameter vector (e.g. one entry per
/// layer group G1..G5). Panics if the lengths differ or a range is out of bounds.
pub fn l2_distance_groups<S: AsRef<str>>(
    a: &[f32],
    b: &[f32],
    groups: &[(S, Range<usize>)],
) -> Vec<GroupNorm> {
    assert_eq!(a.len(), b.len(), "l2_distance_groups: length mismatch");
    groups
        .iter()
        .map(|(name, r)| GroupNorm {
            name: name.as_ref().to_owned(),
            norm: l2_distance(&a[r.clone()], &b[r.clone()]),
        })
        .collect()
}

/// Update magnitudes of one run (PROTOCOL section 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateNorms {
    /// `u_t = ||theta*_t - theta*_{t-1}||_2` for protocol tasks `t = 1..T` (0-based index `t-1`);
    /// `u_1` is measured from `theta*_0`, the state before task 1.
    pub per_task: Vec<f64>,
    /// `U = ||theta*_T - theta*_1||_2`, the drift after the first task (0 when T = 1);
    /// `None` when there are no trained tasks.
    pub drift: Option<f64>,
}

/// Update magnitudes of one named group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupUpdateNorms {
    pub name: String,
    pub norms: UpdateNorms,
}

/// Update norms from the snapshots `[theta*_0, theta*_1, ..., theta*_T]`, where `theta*_0` is the
/// state before task 1 and `theta*_t` the state after task t. With fewer than two snapshots there is
/// no update: `per_task` is empty and `drift` is `None`. Panics if the snapshot lengths differ.
pub fn update_norms(snapshots: &[Vec<f32>]) -> UpdateNorms {
    update_norms_in(snapshots, 0..snapshots.first().map_or(0, Vec::len))
}

/// [`update_norms`] for each named range of the flat parameter vector.
pub fn update_norms_groups<S: AsRef<str>>(
    snapshots: &[Vec<f32>],
    groups: &[(S, Range<usize>)],
) -> Vec<GroupUpdateNorms> {
    groups
        .iter()
        .map(|(name, r)| GroupUpdateNorms {
            name: name.as_ref().to_owned(),
            norms: update_norms_in(snapshots, r.clone()),
        })
        .collect()
}

fn update_norms_in(snapshots: &[Vec<f32>], r: Range<usize>) -> UpdateNorms {
    if let Some(first) = snapshots.first() {
        assert!(
            snapshots.iter().all(|s| s.len() == first.len()),
            "update_norms: snapshots differ in length"
        );
    }
    if snapshots.len() < 2 {
        return UpdateNorms {
            per_task: Vec::new(),
            drift: None,
        };
    }
    let per_task = snapshots
        .windows(2)
        .map(|w| l2_distance(&w[1][r.clone()], &w[0][r.clone()]))
        .collect();
    let last = &snapshots[snapshots.len() - 1];
    let drift = l2_distance(&last[r.clone()], &snapshots[1][r]);
    UpdateNorms {
        per_task,
        drift: Some(drift),
    }
}

// ---------------------------------------------------------------------------------------------
// Correlation and rank agreement
// ---------------------------------------------------------------------------------------------

/// Pearson's sample correlation `r = sum (x-mx)(y-my) / sqrt(sum (x-mx)^2 sum (y-my)^2)`
/// (two-pass, `f64`), clamped to [-1, 1] against rounding.
///
/// `None` when `n < 2`, when either series has zero variance, or when an input is not finite.
/// Panics if the lengths differ.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "pearson: length mismatch");
    let n = x.len();
    if n < 2 || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let mx = x.iter().sum::<f64>() / n as f64;
    let my = y.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    let r = sxy / (sxx * syy).sqrt();
    r.is_finite().then(|| r.clamp(-1.0, 1.0))
}

/// 95% confidence interval for a Pearson `r` from `n` pairs, by the Fisher z transform:
/// `z = atanh(r)`, `se = 1/sqrt(n-3)`, interval `tanh(z -+ 1.959963984540054 * se)`.
///
/// `None` when `n <= 3` or `r` is not in [-1, 1]. For `|r| = 1` the interval is `(r, r)`.
pub fn pearson_ci95(r: f64, n: usize) -> Option<(f64, f64)> {
    if n <= 3 || !(-1.0..=1.0).contains(&r) {
        return None;
    }
    let z = r.atanh();
    let se = 1.0 / ((n - 3) as f64).sqrt();
    Some(((z - Z_975 * se).tanh(), (z + Z_975 * se).tanh()))
}

/// Ranks `1..=n` of the values (1 = smallest), ties sharing the mean of the ranks they span
/// ("fractional" ranking; `[10, 20, 20, 30]` gives `[1, 2.5, 2.5, 4]`). NaN inputs are ranked as
/// larger than every number, equal to each other.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut k = i + 1;
        while k < n && same(x[idx[k]], x[idx[i]]) {
            k += 1;
        }
        // positions i..k (0-based) hold ranks i+1..=k; their mean is (i + 1 + k) / 2
        let r = (i + 1 + k) as f64 / 2.0;
        for &p in &idx[i..k] {
            ranks[p] = r;
        }
        i = k;
    }
    ranks
}

/// Spearman's rho: the Pearson correlation of the average ranks (ties get the mean rank).
/// `None` in the cases where [`pearson`] is `None` (n < 2, a constant series, non-finite input).
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "spearman: length mismatch");
    if x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    pearson(&average_ranks(x), &average_ranks(y))
}

/// Kendall's tau-b, which corrects for ties:
/// `tau_b = (n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2))`, with `n_0 = n(n-1)/2` pairs, `n_c` / `n_d`
/// the concordant / discordant pairs, `n_1` the pairs tied in x and `n_2` the pairs tied in y (a pair
/// tied in both counts in `n_1` and `n_2` and is neither concordant nor discordant). O(n^2).
///
/// `None` when `n < 2`, when either series is constant, or when an input is not finite.
/// Panics if the lengths differ.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "kendall_tau_b: length mismatch");
    let n = x.len();
    if n < 2 || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let (mut conc, mut disc, mut tie_x, mut tie_y) = (0u64, 0u64, 0u64, 0u64);
    for i in 0..n {
        for k in i + 1..n {
            let dx = x[i].partial_cmp(&x[k]).expect("finite");
            let dy = y[i].partial_cmp(&y[k]).expect("finite");
            match (dx, dy) {
                (Equal, Equal) => {
                    tie_x += 1;
                    tie_y += 1;
                }
                (Equal, _) => tie_x += 1,
                (_, Equal) => tie_y += 1,
                (a, b) if a == b => conc += 1,
                _ => disc += 1,
            }
        }
    }
    let n0 = (n * (n - 1) / 2) as u64;
    let denom = ((n0 - tie_x) as f64 * (n0 - tie_y) as f64).sqrt();
    if denom == 0.0 {
        return None;
    }
    Some(((conc as f64 - disc as f64) / denom).clamp(-1.0, 1.0))
}

/// Number of rank flips between two rankings of the same methods.
///
/// `a[m]` and `b[m]` are the ranks of method `m` (any order-preserving numbering, e.g. 0 = best;
/// equal ranks mean a tie). A rank flip is an unordered pair of methods `{m, m'}` that one ranking
/// puts strictly in one order and the other strictly in the opposite order; a pair tied in either
/// ranking is not a flip. This is the number of discordant pairs `n_d` of Kendall's tau, between 0
/// and `n(n-1)/2`. Panics if the lengths differ.
pub fn rank_flips(a: &[usize], b: &[usize]) -> usize {
    assert_eq!(a.len(), b.len(), "rank_flips: length mismatch");
    let n = a.len();
    let mut flips = 0;
    for i in 0..n {
        for k in i + 1..n {
            let da = a[i].cmp(&a[k]);
            let db = b[i].cmp(&b[k]);
            if da != Equal && db != Equal && da != db {
                flips += 1;
            }
        }
    }
    flips
}

/// Ranks of methods by a score where higher is better: `0` for the best, equal scores sharing the
/// best rank of their block ("competition" ranking: scores `[0.9, 0.7, 0.9, 0.5]` give
/// `[0, 2, 0, 3]`). Non-finite scores rank after every finite one. Suited to [`rank_flips`].
pub fn ranks_by_score_desc(scores: &[f64]) -> Vec<usize> {
    let key = |v: f64| if v.is_finite() { v } else { f64::NEG_INFINITY };
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| key(scores[b]).total_cmp(&key(scores[a])));
    let mut ranks = vec![0; scores.len()];
    for (pos, &m) in idx.iter().enumerate() {
        ranks[m] = if pos > 0 && key(scores[m]) == key(scores[idx[pos - 1]]) {
            ranks[idx[pos - 1]]
        } else {
            pos
        };
    }
    ranks
}

/// Pearson r with its 95% interval and Spearman rho of one set of paired values (e.g. U against F
/// over the runs of one regime), with the number of pairs it covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    pub n: usize,
    pub pearson: Option<f64>,
    pub pearson_ci95: Option<(f64, f64)>,
    pub spearman: Option<f64>,
}

/// [`pearson`], [`pearson_ci95`] and [`spearman`] of `x` against `y` in one struct.
pub fn correlation(x: &[f64], y: &[f64]) -> Correlation {
    let pearson = pearson(x, y);
    Correlation {
        n: x.len(),
        pearson,
        pearson_ci95: pearson.and_then(|r| pearson_ci95(r, x.len())),
        spearman: spearman(x, y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    macro_rules! assert_close {
        ($a:expr, $b:expr) => {
            assert_close!($a, $b, 1e-12)
        };
        ($a:expr, $b:expr, $tol:expr) => {{
            let (a, b): (f64, f64) = ($a, $b);
            assert!(close(a, b, $tol), "{a} != {b} (tol {})", $tol);
        }};
    }

    /// A 4-task matrix where task 0's best accuracy is not its diagonal entry, so F != -BWT.
    ///
    /// ```text
    ///          task0 task1 task2 task3
    /// after 0   0.80  0.10  0.10  0.10
    /// after 1   0.90  0.70  0.20  0.10
    /// after 2   0.85  0.75  0.60  0.30
    /// after 3   0.50  0.72  0.40  0.90
    /// ```
    /// By hand: ACC = (0.50 + 0.72 + 0.40 + 0.90) / 4 = 2.52 / 4 = 0.63.
    /// f_0 = max(0.80, 0.90, 0.85) - 0.50 = 0.40; f_1 = max(0.70, 0.75) - 0.72 = 0.03;
    /// f_2 = 0.60 - 0.40 = 0.20; F = 0.63 / 3 = 0.21.
    /// BWT = ((0.50 - 0.80) + (0.72 - 0.70) + (0.40 - 0.60)) / 3 = -0.48 / 3 = -0.16.
    fn matrix4() -> AccuracyMatrix {
        AccuracyMatrix::from_rows(vec![
            vec![0.80, 0.10, 0.10, 0.10],
            vec![0.90, 0.70, 0.20, 0.10],
            vec![0.85, 0.75, 0.60, 0.30],
            vec![0.50, 0.72, 0.40, 0.90],
        ])
        .unwrap()
    }

    #[test]
    fn acc_forgetting_bwt_by_hand_4x4() {
        let a = matrix4();
        assert_eq!(a.tasks(), 4);
        assert_close!(a.acc(), 0.63);
        let f = a.forgetting().unwrap();
        assert_eq!(f.per_task.len(), 3);
        for (got, want) in f.per_task.iter().zip([0.40, 0.03, 0.20]) {
            assert_close!(*got, want);
        }
        assert_close!(f.mean, 0.21);
        assert_close!(a.bwt().unwrap(), -0.16);
    }

    /// 3 tasks, with a negative forgetting entry (the final accuracy beats every earlier one):
    /// ```text
    /// after 0   0.9  0.0  0.0
    /// after 1   0.6  0.8  0.0
    /// after 2   0.7  0.9  0.5
    /// ```
    /// ACC = (0.7 + 0.9 + 0.5) / 3 = 0.7. f_0 = max(0.9, 0.6) - 0.7 = 0.2; f_1 = 0.8 - 0.9 = -0.1;
    /// F = 0.05. BWT = ((0.7 - 0.9) + (0.9 - 0.8)) / 2 = -0.05.
    #[test]
    fn acc_forgetting_bwt_by_hand_3x3() {
        let mut a = AccuracyMatrix::new(3);
        let rows = [[0.9, 0.0, 0.0], [0.6, 0.8, 0.0], [0.7, 0.9, 0.5]];
        for (i, r) in rows.iter().enumerate() {
            for (j, &v) in r.iter().enumerate() {
                a.set(i, j, v);
            }
        }
        assert_close!(a.get(1, 0), 0.6, 0.0);
        assert_close!(a.acc(), 0.7);
        let f = a.forgetting().unwrap();
        assert_close!(f.per_task[0], 0.2);
        assert_close!(f.per_task[1], -0.1);
        assert_close!(f.mean, 0.05);
        assert_close!(a.bwt().unwrap(), -0.05);
    }

    #[test]
    fn one_task_has_no_forgetting_or_bwt() {
        let a = AccuracyMatrix::from_rows(vec![vec![0.93]]).unwrap();
        assert_close!(a.acc(), 0.93, 0.0);
        assert_eq!(a.forgetting(), None);
        assert_eq!(a.bwt(), None);
        let s = a.summary();
        let json = serde_json::to_value(&s).unwrap();
        assert!(json["forgetting"].is_null());
        assert!(json["bwt"].is_null());
        assert_eq!(json["tasks"], 1);
    }

    #[test]
    fn matrix_must_be_square_and_non_empty() {
        assert!(AccuracyMatrix::from_rows(vec![]).is_err());
        assert!(AccuracyMatrix::from_rows(vec![vec![1.0, 0.0], vec![1.0]]).is_err());
        assert!(AccuracyMatrix::from_rows(vec![vec![1.0, 0.0]]).is_err());
    }

    #[test]
    fn summary_serialises_and_round_trips() {
        let a = matrix4();
        let s = a.summary();
        let text = serde_json::to_string(&s).unwrap();
        let back: AccuracySummary = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
        let m: AccuracyMatrix = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(m, a);
    }

    #[test]
    fn l2_distance_accumulates_in_f64() {
        // 3-4-5 triangle
        assert_close!(l2_distance(&[0.0, 0.0], &[3.0, 4.0]), 5.0, 0.0);
        assert_close!(l2_distance(&[], &[]), 0.0, 0.0);
        // differences in f64: 2^24 - (-1) = 16777217 is exact in f64 but rounds to 2^24 in f32
        assert_close!(l2_distance(&[16_777_216.0], &[-1.0]), 16_777_217.0, 0.0);
        // squares in f64: (2^24)^2 + 1 is exact in f64 (lost in f32), so the norm exceeds 2^24
        assert!(l2_distance(&[16_777_216.0, 1.0], &[0.0, 0.0]) > 16_777_216.0);
        // 1e6 differences of 1e-4: sqrt(1e6 * d^2) with d the f32 value of 1e-4; the f64 running
        // sum is off by ~1e-11 relative.
        let n = 1_000_000;
        let a = vec![1e-4f32; n];
        let b = vec![0.0f32; n];
        let d = f64::from(1e-4f32);
        assert_close!(l2_distance(&a, &b), (n as f64 * d * d).sqrt(), 1e-10);
    }

    #[test]
    fn group_distances() {
        let a = [1.0f32, 2.0, 3.0, 4.0, 5.0];
        let b = [1.0f32, 0.0, 3.0, 0.0, 2.0];
        let groups = [("G1", 0..2), ("G2", 2..3), ("G3", 3..5)];
        let g = l2_distance_groups(&a, &b, &groups);
        assert_eq!(g.len(), 3);
        assert_eq!(g[0].name, "G1");
        assert_close!(g[0].norm, 2.0, 0.0);
        assert_close!(g[1].norm, 0.0, 0.0);
        assert_close!(g[2].norm, 5.0, 0.0); // (4, 3)
        let owned = vec![("all".to_string(), 0..5)];
        let all = l2_distance_groups(&a, &b, &owned);
        assert_close!(all[0].norm, 29f64.sqrt()); // 4 + 16 + 9
    }

    #[test]
    fn update_norms_by_hand() {
        // theta*_0 .. theta*_3 in R^2
        let s = vec![
            vec![0.0f32, 0.0],
            vec![3.0, 4.0], // u_1 = 5
            vec![3.0, 4.0], // u_2 = 0
            vec![6.0, 8.0], // u_3 = 5
        ];
        let u = update_norms(&s);
        assert_eq!(u.per_task, vec![5.0, 0.0, 5.0]);
        assert_eq!(u.drift, Some(5.0)); // ||(6,8) - (3,4)||
        let g = update_norms_groups(&s, &[("x", 0..1), ("y", 1..2)]);
        assert_eq!(g[0].name, "x");
        assert_eq!(g[0].norms.per_task, vec![3.0, 0.0, 3.0]);
        assert_eq!(g[0].norms.drift, Some(3.0));
        assert_eq!(g[1].norms.per_task, vec![4.0, 0.0, 4.0]);
        assert_eq!(g[1].norms.drift, Some(4.0));
        serde_json::to_string(&g).unwrap();
    }

    #[test]
    fn update_norms_edge_cases() {
        let none = update_norms(&[]);
        assert!(none.per_task.is_empty());
        assert_eq!(none.drift, None);
        let one = update_norms(&[vec![1.0f32, 2.0]]);
        assert!(one.per_task.is_empty());
        assert_eq!(one.drift, None);
        // one task: u_1 measured, drift after the first task is zero
        let t1 = update_norms(&[vec![0.0f32], vec![2.0]]);
        assert_eq!(t1.per_task, vec![2.0]);
        assert_eq!(t1.drift, Some(0.0));
    }

    #[test]
    fn pearson_textbook() {
        // x = 1..5, y = (2,4,5,4,5): sxy = 6, sxx = 10, syy = 6, r = 6/sqrt(60) = sqrt(0.6);
        // scipy.stats.pearsonr gives 0.7745966692414834.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [2.0, 4.0, 5.0, 4.0, 5.0];
        assert_close!(pearson(&x, &y).unwrap(), 0.6f64.sqrt(), 1e-15);
        assert_close!(pearson(&x, &y).unwrap(), 0.774_596_669_241_483_4, 1e-15);
        // perfect and anti-perfect
        assert_close!(pearson(&x, &x).unwrap(), 1.0, 0.0);
        let neg: Vec<f64> = x.iter().map(|v| -2.0 * v + 1.0).collect();
        assert_close!(pearson(&x, &neg).unwrap(), -1.0, 0.0);
    }

    #[test]
    fn pearson_undefined_cases() {
        assert_eq!(pearson(&[], &[]), None);
        assert_eq!(pearson(&[1.0], &[2.0]), None);
        assert_eq!(pearson(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0]), None);
        assert_eq!(pearson(&[7.0, 7.0], &[1.0, 2.0]), None);
        assert_eq!(pearson(&[1.0, f64::NAN], &[1.0, 2.0]), None);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[5.0, 5.0, 5.0]), None);
        assert_eq!(kendall_tau_b(&[1.0, 2.0, 3.0], &[5.0, 5.0, 5.0]), None);
        assert_eq!(kendall_tau_b(&[1.0], &[5.0]), None);
        let c = correlation(&[1.0, 2.0, 3.0, 4.0], &[2.0; 4]);
        assert_eq!(c.n, 4);
        assert_eq!((c.pearson, c.pearson_ci95, c.spearman), (None, None, None));
    }

    #[test]
    fn fisher_z_interval() {
        // r = 0.5, n = 28: z = atanh(0.5) = 0.5493061443340549, se = 1/5; numpy:
        // tanh(z - 1.959963984540054/5) = 0.15602836252908597, tanh(z + ...) = 0.7358184794439375.
        let (lo, hi) = pearson_ci95(0.5, 28).unwrap();
        assert_close!(lo, 0.156_028_362_529_085_97, 1e-14);
        assert_close!(hi, 0.735_818_479_443_937_5, 1e-14);
        // Against scipy 1.17.1: pearsonr(x, y).confidence_interval(0.95) on the data below gives
        // r = 0.8345275505013018, (0.4317714588080601, 0.9598236420641177).
        let x = [0.3, 1.2, 0.8, 2.5, 1.9, 0.4, 3.1, 2.2, 1.0, 0.7];
        let y = [0.05, 0.10, 0.02, 0.30, 0.12, 0.08, 0.25, 0.33, 0.04, 0.11];
        let c = correlation(&x, &y);
        assert_eq!(c.n, 10);
        assert_close!(c.pearson.unwrap(), 0.834_527_550_501_301_8, 1e-14);
        let (lo, hi) = c.pearson_ci95.unwrap();
        assert_close!(lo, 0.431_771_458_808_060_1, 1e-13);
        assert_close!(hi, 0.959_823_642_064_117_7, 1e-13);
        // scipy.stats.spearmanr: 0.7333333333333332; scipy.stats.kendalltau (tau-b): 0.5555555555555555
        assert_close!(c.spearman.unwrap(), 0.733_333_333_333_333_2, 1e-14);
        assert_close!(kendall_tau_b(&x, &y).unwrap(), 5.0 / 9.0, 1e-15);
        // undefined cases
        assert_eq!(pearson_ci95(0.5, 3), None);
        assert_eq!(pearson_ci95(0.5, 0), None);
        assert_eq!(pearson_ci95(1.5, 30), None);
        assert_eq!(pearson_ci95(f64::NAN, 30), None);
        assert_eq!(pearson_ci95(1.0, 30), Some((1.0, 1.0)));
        assert_eq!(pearson_ci95(-1.0, 30), Some((-1.0, -1.0)));
        assert!(serde_json::to_string(&c).unwrap().contains("pearson_ci95"));
    }

    #[test]
    fn average_ranks_with_ties() {
        assert_eq!(
            average_ranks(&[10.0, 20.0, 20.0, 30.0]),
            vec![1.0, 2.0 + 0.5, 2.5, 4.0]
        );
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 3.0]),
            vec![3.0, 1.0, 3.0, 3.0]
        );
        assert!(average_ranks(&[]).is_empty());
    }

    #[test]
    fn spearman_and_kendall_with_ties() {
        // x = 1..5, y = (2,4,5,4,5). Ranks of y: (1, 2.5, 4.5, 2.5, 4.5); with those ranks
        // sxy = 7, sxx = 10, syy = 9, rho = 7/sqrt(90) (scipy.stats.spearmanr: 0.7378647873726218).
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [2.0, 4.0, 5.0, 4.0, 5.0];
        assert_close!(spearman(&x, &y).unwrap(), 7.0 / 90f64.sqrt(), 1e-15);
        assert_close!(spearman(&x, &y).unwrap(), 0.737_864_787_372_621_8, 1e-15);
        // Kendall: of the 10 pairs, 7 concordant, 1 discordant ((3,5) vs (4,4)), 2 tied in y only;
        // tau_b = 6 / sqrt(10 * 8) (scipy.stats.kendalltau: 0.6708203932499368).
        assert_close!(kendall_tau_b(&x, &y).unwrap(), 6.0 / 80f64.sqrt(), 1e-15);
        assert_close!(
            kendall_tau_b(&x, &y).unwrap(),
            0.670_820_393_249_936_8,
            1e-15
        );
        // ties in both series, scipy 1.17.1: kendalltau 0.27272727272727276,
        // spearmanr 0.28333333333333344, pearsonr 0.31526414437773154.
        let a = [1.0, 1.0, 2.0, 3.0, 3.0, 3.0];
        let b = [1.0, 2.0, 2.0, 2.0, 3.0, 1.0];
        assert_close!(
            kendall_tau_b(&a, &b).unwrap(),
            0.272_727_272_727_272_76,
            1e-15
        );
        assert_close!(spearman(&a, &b).unwrap(), 0.283_333_333_333_333_44, 1e-14);
        assert_close!(pearson(&a, &b).unwrap(), 0.315_264_144_377_731_54, 1e-14);
        // tau and rho of a reversed order
        let rev = [5.0, 4.0, 3.0, 2.0, 1.0];
        assert_close!(kendall_tau_b(&x, &rev).unwrap(), -1.0, 0.0);
        assert_close!(spearman(&x, &rev).unwrap(), -1.0, 0.0);
    }

    #[test]
    fn rank_flip_counts() {
        // identical rankings: no flips; a full reversal of 4 methods flips all 6 pairs
        assert_eq!(rank_flips(&[0, 1, 2, 3], &[0, 1, 2, 3]), 0);
        assert_eq!(rank_flips(&[0, 1, 2, 3], &[3, 2, 1, 0]), 6);
        // one adjacent swap (methods 1 and 2): one flip
        assert_eq!(rank_flips(&[0, 1, 2, 3], &[0, 2, 1, 3]), 1);
        // method 0 moves from first to last: pairs (0,1), (0,2), (0,3) flip
        assert_eq!(rank_flips(&[0, 1, 2, 3], &[3, 0, 1, 2]), 3);
        // a tie in one ranking is not a flip
        // (0,1): a puts 0 first, b ties them -> no flip; (0,2) and (1,2): a puts 2 last, b first -> flips
        assert_eq!(rank_flips(&[0, 1, 2], &[1, 1, 0]), 2);
        assert_eq!(rank_flips(&[0, 1, 2], &[0, 0, 1]), 0);
        assert_eq!(rank_flips(&[], &[]), 0);
    }

    #[test]
    fn competition_ranks() {
        assert_eq!(ranks_by_score_desc(&[0.9, 0.7, 0.9, 0.5]), vec![0, 2, 0, 3]);
        assert_eq!(ranks_by_score_desc(&[0.1, f64::NAN, 0.3]), vec![1, 2, 0]);
        assert!(ranks_by_score_desc(&[]).is_empty());
        // flips between two score vectors
        let a = ranks_by_score_desc(&[0.9, 0.8, 0.7]);
        let b = ranks_by_score_desc(&[0.7, 0.8, 0.9]);
        assert_eq!(rank_flips(&a, &b), 3);
    }
}
