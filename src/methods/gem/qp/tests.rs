//! Tests of the GEM dual QP solver. Tolerances are relative to the scale
//! S = max|Q| * max(1, max|v*|) + max|c|, the size of the terms of Q v + c.

use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn max_abs(xs: &[f64]) -> f64 {
    xs.iter().fold(0.0, |m: f64, x| m.max(x.abs()))
}

fn scale(q: &[f64], c: &[f64], v: &[f64]) -> f64 {
    max_abs(q) * max_abs(v).max(1.0) + max_abs(c)
}

/// Q = G G^T + eps I and c = G g for G n x p row-major.
fn gem_problem(g_rows: &[f64], g: &[f64], n: usize, p: usize, eps: f64) -> (Vec<f64>, Vec<f64>) {
    let row = |i: usize| &g_rows[i * p..(i + 1) * p];
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut q = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            q[i * n + j] = dot(row(i), row(j)) + if i == j { eps } else { 0.0 };
        }
    }
    let c = (0..n).map(|i| dot(row(i), g)).collect();
    (q, c)
}

/// Random G (n x p), entries uniform in [-1, 1], with degenerate rows by `kind`: 0 none,
/// 1 copies of row 0 plus 1e-9 noise, 2 zero rows, 3 negatives of row 0, 4 a mix of all three.
fn random_rows(rng: &mut ChaCha8Rng, n: usize, p: usize, kind: u32) -> Vec<f64> {
    let mut g: Vec<f64> = (0..n * p).map(|_| rng.gen_range(-1.0..1.0)).collect();
    for i in 1..n {
        let k = if kind == 4 { rng.gen_range(0..4) } else { kind };
        if k == 0 || rng.gen_bool(0.3) {
            continue;
        }
        for j in 0..p {
            g[i * p + j] = match k {
                1 => g[j] + 1e-9 * rng.gen_range(-1.0..1.0),
                2 => 0.0,
                _ => -g[j],
            };
        }
    }
    g
}

/// Brute force: every one of the 2^n active sets A, solving Q_FF v_F = -(c_F + Q_FA lower) by
/// Gaussian elimination with partial pivoting; keeps the primal and dual feasible ones (to
/// 1e-9 S) and returns the one with the lowest objective.
fn brute_force(q: &[f64], c: &[f64], lower: f64) -> Vec<f64> {
    let n = c.len();
    let tol = 1e-9 * scale(q, c, &[lower]);
    let (mut best_f, mut best_v) = (f64::INFINITY, Vec::new());
    for mask in 0u32..1 << n {
        let is_active = |i: usize| mask & (1 << i) != 0;
        let free: Vec<usize> = (0..n).filter(|&i| !is_active(i)).collect();
        let m = free.len();
        // Augmented system [Q_FF | rhs], m x (m + 1).
        let mut a: Vec<f64> = Vec::with_capacity(m * (m + 1));
        for &i in &free {
            a.extend(free.iter().map(|&j| q[i * n + j]));
            let fixed: f64 = (0..n)
                .filter(|&j| is_active(j))
                .map(|j| q[i * n + j] * lower)
                .sum();
            a.push(-(c[i] + fixed));
        }
        let w = m + 1;
        for col in 0..m {
            let piv =
                (col..m).max_by(|&x, &y| a[x * w + col].abs().total_cmp(&a[y * w + col].abs()));
            let piv = piv.unwrap();
            for k in 0..w {
                a.swap(col * w + k, piv * w + k);
            }
            for r in col + 1..m {
                let f = a[r * w + col] / a[col * w + col];
                for k in col..w {
                    a[r * w + k] -= f * a[col * w + k];
                }
            }
        }
        let mut x = vec![0.0; m];
        for r in (0..m).rev() {
            let s: f64 = (r + 1..m).map(|k| a[r * w + k] * x[k]).sum();
            x[r] = (a[r * w + m] - s) / a[r * w + r];
        }
        let mut v = vec![lower; n];
        for (&i, &xi) in free.iter().zip(&x) {
            v[i] = xi;
        }
        let primal = v.iter().all(|&vi| vi >= lower - tol);
        let dual = (0..n)
            .filter(|&i| is_active(i))
            .all(|i| gradient(q, c, &v, i) >= -tol);
        if primal && dual {
            let f = objective(q, c, &v);
            if f < best_f {
                (best_f, best_v) = (f, v);
            }
        }
    }
    assert!(best_f.is_finite(), "a strictly convex QP has a KKT point");
    best_v
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

#[test]
fn one_dimensional() {
    for (q, c, lower) in [
        (2.0, -3.0, 0.5),
        (2.0, 1.0, 0.5),
        (1e-3, -1.0, 0.0),
        (4.0, 2.0, 0.0),
    ] {
        let s = solve(&[q], &[c], lower).unwrap();
        let want = lower.max(-c / q);
        assert!(
            (s.v[0] - want).abs() <= 1e-12 * want.abs().max(1.0),
            "{q} {c} {lower}: {s:?}"
        );
        assert_eq!(s.active[0], -c / q <= lower);
        assert!(s.kkt_residual() <= 1e-12 * scale(&[q], &[c], &s.v));
    }
}

#[test]
fn two_by_two_by_hand() {
    let q = [2.0, 1.0, 1.0, 2.0];
    // Q^{-1} = 1/3 [[2, -1], [-1, 2]].
    // c = (-1, 2), lower 0: the unconstrained minimiser -Q^{-1} c = (4/3, -5/3) breaks v_2 >= 0; fix
    // v_2 = 0, then v_1 = -c_1 / q_11 = 1/2, mu_2 = q_21 v_1 + c_2 = 5/2 >= 0.
    let s = solve(&q, &[-1.0, 2.0], 0.0).unwrap();
    assert!(
        close(&s.v, &[0.5, 0.0], 1e-15) && s.active == [false, true],
        "{s:?}"
    );
    assert!(close(&s.mu, &[0.0, 2.5], 1e-15));
    // Same c, lower 1/2: v_2 = 1/2 gives v_1 = (1 - 1/2) / 2 = 1/4 < 1/2, so both bounds hold:
    // v = (1/2, 1/2), mu = Q v + c = (1/2, 7/2).
    let s = solve(&q, &[-1.0, 2.0], 0.5).unwrap();
    assert!(
        close(&s.v, &[0.5, 0.5], 1e-15) && s.active == [true, true],
        "{s:?}"
    );
    assert!(close(&s.mu, &[0.5, 3.5], 1e-15));
    // c = (-3, -3), lower 0: -Q^{-1} c = (1, 1) is feasible, both free, mu = 0.
    let s = solve(&q, &[-3.0, -3.0], 0.0).unwrap();
    assert!(
        close(&s.v, &[1.0, 1.0], 1e-15) && s.active == [false, false],
        "{s:?}"
    );
    assert!(s.kkt_residual() <= 1e-14);
}

#[test]
fn random_problems_match_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x9e3_2017);
    let (mut worst_kkt, mut worst_v, mut count, mut iters) = (0.0f64, 0.0f64, 0, 0);
    let mut mixed = 0; // problems with both active and free bounds
    for trial in 0..400 {
        let n = 1 + trial % 10;
        let p = rng.gen_range(1..=30);
        let rows = random_rows(&mut rng, n, p, (trial / 10 % 5) as u32);
        let g: Vec<f64> = (0..p).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let (q, c) = gem_problem(&rows, &g, n, p, EPS);
        for lower in [MARGIN, 0.0] {
            let s = solve(&q, &c, lower).unwrap();
            let sc = scale(&q, &c, &s.v);
            let active = s.active.clone();
            let kkt = kkt_residuals(&q, &c, lower, &s.v, &active).unwrap().worst() / sc;
            assert!(
                kkt <= 1e-12 && s.kkt_residual() / sc <= 1e-12,
                "trial {trial}: {kkt:e}"
            );
            let bf = brute_force(&q, &c, lower);
            let vs = max_abs(&s.v).max(1.0);
            let dv =
                s.v.iter()
                    .zip(&bf)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max)
                    / vs;
            assert!(dv <= 1e-9, "trial {trial} n {n} p {p}: {:?} vs {bf:?}", s.v);
            let (fs, fb) = (objective(&q, &c, &s.v), objective(&q, &c, &bf));
            assert!(
                (fs - fb).abs() <= 1e-9 * sc * vs,
                "trial {trial}: f {fs} vs {fb}"
            );
            assert!(s.iterations <= 10 * n + 50);
            (worst_kkt, worst_v, count) = (worst_kkt.max(kkt), worst_v.max(dv), count + 1);
            iters = iters.max(s.iterations);
            mixed += usize::from(s.active.contains(&true) && s.active.contains(&false));
        }
    }
    eprintln!(
        "{count} problems: worst KKT/S {worst_kkt:e}, worst |v - v_bf|/max(1,|v|) {worst_v:e}, \
         most iterations {iters}, {mixed} with a mixed active set"
    );
}

/// GEM's guarantee: G g~ = (Q - eps I) v* + c = mu - eps v*. With eps = 0 (full-row-rank G so Q
/// is SPD) and margin 0 every row has G g~ >= 0; with eps > 0 only G g~ >= -eps v*.
#[test]
fn projected_gradient_does_not_increase_memory_losses() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for trial in 0..200 {
        let n = 1 + trial % 10;
        let p = rng.gen_range(n + 2..=30);
        let eps = if trial % 2 == 0 { 0.0 } else { EPS };
        let rows = random_rows(
            &mut rng,
            n,
            p,
            if eps == 0.0 { 0 } else { (trial % 5) as u32 },
        );
        let g: Vec<f64> = (0..p).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let (q, c) = gem_problem(&rows, &g, n, p, eps);
        let s = solve(&q, &c, 0.0).unwrap();
        let g_tilde: Vec<f64> = (0..p)
            .map(|k| g[k] + (0..n).map(|i| s.v[i] * rows[i * p + k]).sum::<f64>())
            .collect();
        let sc = scale(&q, &c, &s.v);
        for i in 0..n {
            let gi: f64 = (0..p).map(|k| rows[i * p + k] * g_tilde[k]).sum();
            assert!(
                gi >= -eps * s.v[i] - 1e-12 * sc,
                "trial {trial} row {i}: {gi:e}"
            );
            assert!(eps > 0.0 || gi >= -1e-9, "trial {trial} row {i}: {gi:e}");
        }
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let dim = solve(&[1.0, 0.0, 0.0], &[1.0, 1.0], 0.0);
    assert!(matches!(
        dim,
        Err(QpError::DimensionMismatch { q_len: 3, n: 2 })
    ));
    let nan_q = solve(&[1.0, f64::NAN, f64::NAN, 1.0], &[1.0, 1.0], 0.0);
    assert!(matches!(
        nan_q,
        Err(QpError::NonFinite {
            what: "Q",
            index: 1,
            ..
        })
    ));
    let inf_c = solve(&[1.0], &[f64::INFINITY], 0.0);
    assert!(matches!(inf_c, Err(QpError::NonFinite { what: "c", .. })));
    assert!(matches!(
        solve(&[1.0], &[1.0], f64::NAN),
        Err(QpError::NonFinite { .. })
    ));
    // Indefinite (eigenvalues 3 and -1): the answer would sit at the bounds, yet it is refused.
    let indefinite = solve(&[1.0, 2.0, 2.0, 1.0], &[1.0, 1.0], 0.5);
    assert!(matches!(
        indefinite,
        Err(QpError::NotPositiveDefinite { index: 1, .. })
    ));
    assert!(matches!(
        solve(&[0.0], &[-1.0], 0.0),
        Err(QpError::NotPositiveDefinite { .. })
    ));
    let asym = solve(&[1.0, 0.0, 5.0, 1.0], &[1.0, 1.0], 0.0);
    assert!(matches!(asym, Err(QpError::NotSymmetric { .. })));
    let kkt = kkt_residuals(&[1.0], &[1.0], 0.0, &[1.0, 2.0], &[true]);
    assert!(matches!(kkt, Err(QpError::DimensionMismatch { .. })));
    let empty = solve(&[], &[], MARGIN).unwrap();
    assert!(empty.v.is_empty() && empty.kkt_residual() == 0.0);
}
