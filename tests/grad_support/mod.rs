//! The finite-difference checker shared by the op and network gradient tests (see
//! tests/grad_check.rs for the method).

#![allow(dead_code)] // each test file uses a part of it

use rand::Rng;
use regimebench::params::{Group, ParamStore};
use regimebench::tape::{NodeId, Tape};
use regimebench::tensor::Tensor;

/// Relative tolerance of a finite-difference derivative, with an absolute floor for tiny ones.
pub const REL_TOL: f64 = 1e-3;
pub const ABS_TOL: f64 = 1e-4;
/// Step of the whole-network checks, taken on the f64 forward: small enough to cross no kink.
pub const NET_STEP: f32 = 1e-5;
/// Coordinates checked per tensor: this many largest gradients and this many spread out.
pub const OP_COORDS: usize = 8;
pub const NET_COORDS: usize = 3;

pub fn randn(rng: &mut impl Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|_| (rng.gen::<f32>() * 2.0 - 1.0) * scale)
        .collect()
}

/// Values with magnitude in [0.05, 1] and a random sign: at least 0.05 from ReLU's kink.
pub fn away_from_zero(rng: &mut impl Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| (0.05 + 0.95 * rng.gen::<f32>()) * if rng.gen() { 1.0 } else { -1.0 })
        .collect()
}

/// A random permutation of `n` values spaced 0.05 apart: max-pool windows never tie.
pub fn distinct(rng: &mut impl Rng, n: usize) -> Vec<f32> {
    use rand::seq::SliceRandom;
    let mut v: Vec<f32> = (0..n).map(|i| i as f32 * 0.05 - n as f32 * 0.025).collect();
    v.shuffle(rng);
    v
}

/// Checks `analytic` against central differences of `loss` at `v` on `coords` entries (the largest
/// gradients and a spread of others) and on two random directions.
pub fn check(
    what: &str,
    v: &[f32],
    analytic: &[f32],
    h: f32,
    n_coords: usize,
    loss: impl Fn(&[f32]) -> f64,
) {
    assert_eq!(v.len(), analytic.len());
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| analytic[b].abs().total_cmp(&analytic[a].abs()));
    let mut coords: Vec<usize> = order.iter().take(n_coords).copied().collect();
    coords.extend((0..v.len()).step_by(v.len().div_ceil(n_coords)));
    let mut worst = 0f64;
    for &i in &coords {
        let (mut p, mut m) = (v.to_vec(), v.to_vec());
        p[i] += h;
        m[i] -= h;
        let fd = (loss(&p) - loss(&m)) / (p[i] as f64 - m[i] as f64);
        let an = analytic[i] as f64;
        let err = (fd - an).abs();
        assert!(
            err <= REL_TOL * an.abs() + ABS_TOL,
            "{what}[{i}]: analytic {an:e}, finite difference {fd:e}"
        );
        worst = worst.max(err / (an.abs() + ABS_TOL));
    }
    let mut rng = regimebench::rng::stream("gradcheck-dir", &[v.len() as u64]);
    for _ in 0..2 {
        let d = randn(&mut rng, v.len(), 1.0);
        let norm = d.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt() as f32;
        let step: Vec<f32> = d.iter().map(|x| x / norm * h).collect();
        let p: Vec<f32> = v.iter().zip(&step).map(|(a, s)| a + s).collect();
        let m: Vec<f32> = v.iter().zip(&step).map(|(a, s)| a - s).collect();
        let dist: f64 = p
            .iter()
            .zip(&m)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        let fd = (loss(&p) - loss(&m)) / dist;
        // The step actually taken, after rounding to f32, not the one intended.
        let an: f64 = analytic
            .iter()
            .zip(p.iter().zip(&m))
            .map(|(g, (a, b))| *g as f64 * (a - b) as f64)
            .sum::<f64>()
            / dist;
        assert!(
            (fd - an).abs() <= REL_TOL * an.abs() + ABS_TOL,
            "{what} along a random direction: analytic {an:e}, fd {fd:e}"
        );
    }
    eprintln!(
        "{what}: {} coordinates, worst relative error {worst:.2e}",
        coords.len()
    );
}

pub fn dot(r: &[f32], y: &[f32]) -> f64 {
    r.iter().zip(y).map(|(a, b)| *a as f64 * *b as f64).sum()
}

/// One op applied to an input node; the parameters live in `p`, all trainable.
pub type OpFn = dyn Fn(&mut Tape, &ParamStore, NodeId) -> NodeId;

/// Gradient check of one op with respect to its input and every parameter in `p`.
pub fn check_op(what: &str, p: &ParamStore, x: Tensor, h: f32, op: &OpFn) {
    let run = |p: &ParamStore, x: &Tensor| {
        let mut tape = Tape::new(p, &Group::ALL);
        let xi = tape.input_with_grad(x.clone());
        let y = op(&mut tape, p, xi);
        (tape, xi, y)
    };
    let (tape, xi, y) = run(p, &x);
    let mut rng = regimebench::rng::stream("gradcheck-r", &[tape.value(y).len() as u64]);
    let r = randn(&mut rng, tape.value(y).len(), 1.0);
    let mut grads = vec![0.0; p.len()];
    let node_grads = tape.backward_with(vec![(y, r.clone())], p, &mut grads);
    let loss_x = |v: &[f32]| {
        let (t, _, y) = run(p, &Tensor::new(x.shape(), v.to_vec()));
        dot(&r, t.value(y))
    };
    check(
        &format!("{what} d/dx"),
        x.data(),
        node_grads.get(xi).expect("input gradient"),
        h,
        OP_COORDS,
        loss_x,
    );
    for id in p.ids() {
        let range = p.info(id).range.clone();
        let loss_p = |v: &[f32]| {
            let mut q = p.clone();
            q.get_mut(id).copy_from_slice(v);
            let (t, _, y) = run(&q, &x);
            dot(&r, t.value(y))
        };
        check(
            &format!("{what} d/d{}", p.info(id).name),
            p.get(id),
            &grads[range],
            h,
            OP_COORDS,
            loss_p,
        );
    }
}
