//! Correlation statistics of paired values (e.g. update norm U against forgetting F over the runs
//! of one regime): Pearson's r with its Fisher-z 95% interval, Spearman's rho and Kendall's tau-b.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering::Equal;

/// Two-sided 97.5% quantile of the standard normal distribution (for 95% intervals).
pub const Z_975: f64 = 1.959_963_984_540_054;

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
            vec![1.0, 2.5, 2.5, 4.0]
        );
        // unsorted input, a three-way tie: ranks 2, 3, 4 share 3 (values differ from the ranks,
        // so returning the input would fail)
        assert_eq!(
            average_ranks(&[30.0, -1.0, 30.0, 30.0]),
            vec![3.0, 1.0, 3.0, 3.0]
        );
        // NaN ranks above every number, NaNs tied with each other
        assert_eq!(
            average_ranks(&[f64::NAN, 5.0, f64::NAN, -2.0]),
            vec![3.5, 2.0, 3.5, 1.0]
        );
        assert_eq!(average_ranks(&[7.0]), vec![1.0]);
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
}
