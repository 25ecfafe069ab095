//! Batch norm and global average pooling against `reference` (f64), PyTorch's running-statistics
//! rule on a hand case, and bit identity across rayon thread counts.

mod common;
use common::{bits, in_threads, signed_values};
use regimebench_kernels::{
    batch_norm_bwd, batch_norm_bwd_param_squares, batch_norm_fwd, batch_norm_inv_std,
    batch_norm_stats, batch_norm_update_running, global_avg_pool_bwd, global_avg_pool_fwd,
    reference, BnShape, BN_EPS,
};

/// Everything the training-mode kernels compute: `(y, mean, var, dx, dgamma, dbeta)`.
fn train(s: &BnShape, x: &[f32], g: &[f32], b: &[f32], dy: &[f32]) -> [Vec<f32>; 6] {
    let (mut mean, mut var) = (vec![f32::NAN; s.c], vec![f32::NAN; s.c]);
    batch_norm_stats(s, x, &mut mean, &mut var);
    let inv = batch_norm_inv_std(&var, BN_EPS);
    let mut y = vec![f32::NAN; s.len()];
    batch_norm_fwd(s, x, &mean, &inv, g, b, &mut y);
    let (mut dx, mut dg, mut db) = (
        vec![f32::NAN; s.len()],
        vec![f32::NAN; s.c],
        vec![f32::NAN; s.c],
    );
    batch_norm_bwd(
        s,
        true,
        x,
        dy,
        &mean,
        &inv,
        g,
        Some((&mut dg, &mut db)),
        Some(&mut dx),
    );
    [y, mean, var, dx, dg, db]
}

fn close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

const SHAPES: [BnShape; 4] = [
    BnShape { n: 1, c: 3, hw: 5 },
    BnShape { n: 4, c: 2, hw: 9 },
    BnShape { n: 8, c: 5, hw: 16 },
    BnShape { n: 3, c: 7, hw: 1 },
];

#[test]
fn training_mode_matches_the_chain_rule_reference() {
    for (k, s) in SHAPES.iter().enumerate() {
        let seed = 10 * k as u64;
        // Offset and scaled so that the mean and the variance are far from 0 and 1.
        let x: Vec<f32> = signed_values(s.len(), seed)
            .iter()
            .map(|v| 3.0 * v + 1.5)
            .collect();
        let g = signed_values(s.c, seed + 1);
        let b = signed_values(s.c, seed + 2);
        let dy = signed_values(s.len(), seed + 3);
        let [y, mean, var, dx, dg, db] = train(s, &x, &g, &b, &dy);
        let (ry, rmean, rvar) =
            reference::batch_norm_train_fwd(s.c, s.hw, &x, &g, &b, BN_EPS as f64);
        let (rdx, rdg, rdb) =
            reference::batch_norm_train_bwd(s.c, s.hw, &x, &dy, &g, BN_EPS as f64);
        let tol = 1e-5;
        close("y", &y, &ry, tol);
        close("mean", &mean, &rmean, tol);
        close("var", &var, &rvar, tol);
        close("dx", &dx, &rdx, 1e-4);
        close("dgamma", &dg, &rdg, 1e-4);
        close("dbeta", &db, &rdb, 1e-5);
    }
}

/// The training-mode dx sums to 0 over each channel, and Σ dx·x̂ = γ s Σ(dy x̂) · ε / (σ² + ε)
/// (0 but for ε: Σ x̂² = M σ² / (σ² + ε)), the two constraints normalisation puts on it.
#[test]
fn training_mode_dx_respects_the_normalisation() {
    let s = BnShape { n: 6, c: 3, hw: 4 };
    let x = signed_values(s.len(), 7);
    let (g, b, dy) = (
        signed_values(3, 8),
        signed_values(3, 9),
        signed_values(s.len(), 10),
    );
    let [_, mean, var, dx, ..] = train(&s, &x, &g, &b, &dy);
    let inv = batch_norm_inv_std(&var, BN_EPS);
    for c in 0..3 {
        let idx: Vec<usize> = (0..6)
            .flat_map(|n| (0..4).map(move |p| (n * 3 + c) * 4 + p))
            .collect();
        let xhat = |i: usize| ((x[i] - mean[c]) * inv[c]) as f64;
        let sum: f64 = idx.iter().map(|&i| dx[i] as f64).sum();
        let dot: f64 = idx.iter().map(|&i| dx[i] as f64 * xhat(i)).sum();
        let dyx: f64 = idx.iter().map(|&i| dy[i] as f64 * xhat(i)).sum();
        let eps = BN_EPS as f64;
        let want = (g[c] * inv[c]) as f64 * dyx * eps / (var[c] as f64 + eps);
        assert!(want.abs() > 1e-6, "the ε term is visible here");
        assert!(
            sum.abs() < 1e-5 && (dot - want).abs() < 1e-6,
            "channel {c}: Σdx {sum}, Σdx·x̂ {dot} (want {want})"
        );
    }
}

#[test]
fn evaluation_mode_is_an_affine_map_of_the_running_statistics() {
    let s = BnShape { n: 2, c: 2, hw: 3 };
    let x = signed_values(s.len(), 20);
    let (rm, rv) = ([0.25f32, -1.0], [4.0f32, 0.5]);
    let (g, b) = ([2.0f32, -0.5], [0.125f32, 1.0]);
    let inv = batch_norm_inv_std(&rv, BN_EPS);
    let mut y = vec![0.0; s.len()];
    batch_norm_fwd(&s, &x, &rm, &inv, &g, &b, &mut y);
    let dy = signed_values(s.len(), 21);
    let (mut dx, mut dg, mut db) = (vec![0.0; s.len()], [0.0f32; 2], [0.0f32; 2]);
    batch_norm_bwd(
        &s,
        false,
        &x,
        &dy,
        &rm,
        &inv,
        &g,
        Some((&mut dg, &mut db)),
        Some(&mut dx),
    );
    let (mut qg, mut qb) = ([0.0f32; 2], [0.0f32; 2]);
    batch_norm_bwd_param_squares(&s, &x, &dy, &rm, &inv, &mut qg, &mut qb);
    for c in 0..2 {
        let sd = (rv[c] as f64 + BN_EPS as f64).sqrt();
        let (mut wg, mut wb, mut sqg, mut sqb) = (0.0, 0.0, 0.0, 0.0);
        for n in 0..2 {
            let (mut ng, mut nb) = (0.0, 0.0);
            for p in 0..3 {
                let i = (n * 2 + c) * 3 + p;
                let xhat = (x[i] as f64 - rm[c] as f64) / sd;
                close("y", &y[i..=i], &[g[c] as f64 * xhat + b[c] as f64], 1e-6);
                close("dx", &dx[i..=i], &[dy[i] as f64 * g[c] as f64 / sd], 1e-6);
                (ng, nb) = (ng + dy[i] as f64 * xhat, nb + dy[i] as f64);
            }
            (wg, wb, sqg, sqb) = (wg + ng, wb + nb, sqg + ng * ng, sqb + nb * nb);
        }
        close("dgamma", &dg[c..=c], &[wg], 1e-6);
        close("dbeta", &db[c..=c], &[wb], 1e-6);
        close("dgamma squares", &qg[c..=c], &[sqg], 1e-6);
        close("dbeta squares", &qb[c..=c], &[sqb], 1e-6);
    }
}

/// PyTorch's rule: r ← 0.9 r + 0.1 v, with the variance unbiased by M / (M − 1).
#[test]
fn running_statistics_follow_pytorch() {
    let s = BnShape { n: 2, c: 1, hw: 2 };
    // One channel of M = 4 values 1, 2, 3, 6: mean 3, biased variance 3.5, unbiased 14/3.
    let x = [1.0f32, 2.0, 3.0, 6.0];
    let (mut mean, mut var) = ([0.0f32], [0.0f32]);
    batch_norm_stats(&s, &x, &mut mean, &mut var);
    assert_eq!((mean[0], var[0]), (3.0, 3.5));
    let (mut rm, mut rv) = ([1.0f32], [1.0f32]);
    batch_norm_update_running(&s, &mean, &var, 0.1, &mut rm, &mut rv);
    assert_eq!(rm[0], (0.9f64 + 0.3) as f32);
    assert_eq!(rv[0], (0.9f64 + 0.1 * 14.0 / 3.0) as f32);
}

#[test]
fn global_average_pool_and_its_backward() {
    let (planes, hw) = (6, 10);
    let x = signed_values(planes * hw, 30);
    let mut y = vec![f32::NAN; planes];
    global_avg_pool_fwd(hw, &x, &mut y);
    let want: Vec<f64> = x
        .chunks(hw)
        .map(|p| p.iter().map(|&v| v as f64).sum::<f64>() / hw as f64)
        .collect();
    close("gap", &y, &want, 1e-7);
    let dy = signed_values(planes, 31);
    let mut dx = vec![f32::NAN; planes * hw];
    global_avg_pool_bwd(hw, &dy, &mut dx);
    for (i, d) in dx.iter().enumerate() {
        assert_eq!(*d, dy[i / hw] * (1.0 / hw as f32));
    }
}

#[test]
fn bit_identical_for_one_and_two_threads() {
    let s = BnShape {
        n: 16,
        c: 33,
        hw: 64,
    };
    let x = signed_values(s.len(), 40);
    let (g, b, dy) = (
        signed_values(s.c, 41),
        signed_values(s.c, 42),
        signed_values(s.len(), 43),
    );
    let run = |t| in_threads(t, || train(&s, &x, &g, &b, &dy).map(|v| bits(&v)));
    assert_eq!(run(1), run(2));
}
