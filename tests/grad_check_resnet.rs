//! Finite-difference gradient checks of the residual network's ops (tests/grad_check.rs has the
//! method): bias-free convolutions (3×3 stride 1 and 2, 1×1 stride 1 and 2), batch norm with the
//! batch's statistics and with running ones, the residual add, global average pooling, and a
//! whole basic block. Plus batch norm's per-sample squares against explicit per-sample gradients.

mod grad_support;

use grad_support::*;
use regimebench::params::{Group, ParamId, ParamStore};
use regimebench::tape::{BnStats, Tape};
use regimebench::tensor::Tensor;

fn filled(p: &mut ParamStore, name: &str, shape: &[usize], v: Vec<f32>) -> ParamId {
    let id = p.add(name, Group::G2, shape);
    p.get_mut(id).copy_from_slice(&v);
    id
}

#[test]
fn bias_free_convolutions_of_every_stride_and_kernel() {
    let mut rng = regimebench::rng::stream("gradcheck-resnet-conv", &[]);
    // (n, c, hw, k, kernel, stride, pad): the ResNet's 3×3 s1/s2 and its 1×1 s2 shortcut.
    for (n, c, hw, k, kk, stride, pad) in [
        (2, 3, 6, 4, 3, 1, 1),
        (2, 2, 8, 3, 3, 2, 1),
        (2, 3, 7, 2, 3, 2, 1),
        (2, 4, 8, 3, 1, 2, 0),
        (1, 3, 5, 2, 1, 1, 0),
    ] {
        let mut p = ParamStore::new();
        let w = filled(
            &mut p,
            "w",
            &[k, c, kk, kk],
            randn(&mut rng, k * c * kk * kk, 0.5),
        );
        let x = Tensor::new(&[n, c, hw, hw], randn(&mut rng, n * c * hw * hw, 1.0));
        check_op(
            &format!("conv2d_no_bias {kk}x{kk} s{stride} p{pad}"),
            &p,
            x,
            0.25,
            &move |t, p, x| t.conv2d_no_bias(p, x, w, stride, pad),
        );
    }
}

/// γ and β of `c` channels, drawn away from 0.
fn gamma_beta(rng: &mut impl rand::Rng, p: &mut ParamStore, c: usize) -> (ParamId, ParamId) {
    let g = away_from_zero(rng, c);
    let b = randn(rng, c, 0.5);
    (filled(p, "gamma", &[c], g), filled(p, "beta", &[c], b))
}

#[test]
fn batch_norm_with_batch_statistics() {
    let mut rng = regimebench::rng::stream("gradcheck-bn-batch", &[]);
    for (n, c, hw) in [(4, 3, 3), (2, 2, 1), (8, 1, 2)] {
        let mut p = ParamStore::new();
        let (g, b) = gamma_beta(&mut rng, &mut p, c);
        let xs: Vec<f32> = randn(&mut rng, n * c * hw * hw, 1.0)
            .iter()
            .map(|v| 2.0 * v + 0.5)
            .collect();
        let x = Tensor::new(&[n, c, hw, hw], xs);
        check_op(
            &format!("batch_norm batch {n}x{c}x{hw}x{hw}"),
            &p,
            x,
            1e-2,
            &move |t, p, x| t.batch_norm(p, x, g, b, BnStats::Batch),
        );
    }
}

#[test]
fn batch_norm_with_running_statistics() {
    let mut rng = regimebench::rng::stream("gradcheck-bn-running", &[]);
    let (n, c, hw) = (3, 4, 3);
    let mut p = ParamStore::new();
    let (g, b) = gamma_beta(&mut rng, &mut p, c);
    let mean = randn(&mut rng, c, 1.0);
    let var: Vec<f32> = randn(&mut rng, c, 1.0)
        .iter()
        .map(|v| 0.5 + v.abs())
        .collect();
    let x = Tensor::new(&[n, c, hw, hw], randn(&mut rng, n * c * hw * hw, 1.0));
    check_op("batch_norm running", &p, x, 0.25, &move |t, p, x| {
        t.batch_norm(
            p,
            x,
            g,
            b,
            BnStats::Running {
                mean: &mean,
                var: &var,
            },
        )
    });
}

#[test]
fn residual_add_and_global_average_pool() {
    let mut rng = regimebench::rng::stream("gradcheck-add-gap", &[]);
    let mut p = ParamStore::new();
    let w = filled(&mut p, "w", &[3, 3, 3, 3], randn(&mut rng, 81, 0.5));
    let x = Tensor::new(&[2, 3, 4, 4], randn(&mut rng, 96, 1.0));
    // x feeds both the convolution and the add: its gradient is the sum of two paths.
    check_op("add(conv(x), x) then pool", &p, x, 0.25, &move |t, p, x| {
        let c = t.conv2d_no_bias(p, x, w, 1, 1);
        let s = t.add(c, x);
        t.global_avg_pool(s)
    });
}

/// A downsampling basic block without its ReLUs (checked alone above; after batch norm many
/// values sit near the kink, so a composed check would cross it): conv s2 + BN, conv + BN, the
/// 1×1 s2 conv + BN shortcut, add, pool. The step is large enough that f32 rounding of the loss
/// stays well inside the tolerance, the composition smooth enough that it is still accurate.
#[test]
fn a_downsampling_basic_block() {
    let mut rng = regimebench::rng::stream("gradcheck-block", &[]);
    let (n, c, k, hw) = (4, 2, 3, 6);
    let mut p = ParamStore::new();
    let w1 = filled(
        &mut p,
        "conv1.w",
        &[k, c, 3, 3],
        randn(&mut rng, k * c * 9, 0.5),
    );
    let (g1, b1) = gamma_beta(&mut rng, &mut p, k);
    let w2 = filled(
        &mut p,
        "conv2.w",
        &[k, k, 3, 3],
        randn(&mut rng, k * k * 9, 0.5),
    );
    let (g2, b2) = gamma_beta(&mut rng, &mut p, k);
    let ws = filled(
        &mut p,
        "short.w",
        &[k, c, 1, 1],
        randn(&mut rng, k * c, 0.5),
    );
    let (gs, bs) = gamma_beta(&mut rng, &mut p, k);
    let x = Tensor::new(&[n, c, hw, hw], randn(&mut rng, n * c * hw * hw, 1.0));
    check_op("basic block s2", &p, x, 1e-2, &move |t, p, x| {
        let h = t.conv2d_no_bias(p, x, w1, 2, 1);
        let h = t.batch_norm(p, h, g1, b1, BnStats::Batch);
        let h = t.conv2d_no_bias(p, h, w2, 1, 1);
        let h = t.batch_norm(p, h, g2, b2, BnStats::Batch);
        let s = t.conv2d_no_bias(p, x, ws, 2, 0);
        let s = t.batch_norm(p, s, gs, bs, BnStats::Batch);
        let y = t.add(h, s);
        t.global_avg_pool(y)
    });
}

/// A ReLU takes over the buffer of the batch norm or add below it (their backward does not read
/// their own output): the gradients are exactly those of the op with `r · [y > 0]` as its seed.
#[test]
fn relu_over_batch_norm_and_add_gives_the_masked_gradient() {
    let mut rng = regimebench::rng::stream("relu-takeover", &[]);
    let (n, c, hw) = (3, 2, 3);
    let mut p = ParamStore::new();
    let (g, b) = gamma_beta(&mut rng, &mut p, c);
    let xs = randn(&mut rng, n * c * hw * hw, 1.0);
    let r = randn(&mut rng, xs.len(), 1.0);
    let grads = |relu: bool, add: bool| {
        let mut t = Tape::new(&p, &Group::ALL);
        let x = t.input_with_grad(Tensor::new(&[n, c, hw, hw], xs.clone()));
        let mut y = t.batch_norm(&p, x, g, b, BnStats::Batch);
        if add {
            y = t.add(y, x);
        }
        let seed = match relu {
            true => {
                let z = t.relu(y);
                (z, r.clone())
            }
            false => {
                let mask = t
                    .value(y)
                    .iter()
                    .zip(&r)
                    .map(|(v, r)| if *v > 0.0 { *r } else { 0.0 });
                (y, mask.collect())
            }
        };
        let mut dp = vec![0.0; p.len()];
        let dx = t.backward_with(vec![seed], &p, &mut dp);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        (bits(dx.get(x).expect("input gradient")), bits(&dp))
    };
    for add in [false, true] {
        assert!(grads(true, add) == grads(false, add), "add: {add}");
    }
}

/// With running statistics samples do not interact, so the batched per-sample squares of γ, β
/// and the convolution below equal the squares of explicit one-sample gradients, summed.
#[test]
fn running_batch_norm_per_sample_squares_equal_explicit_ones() {
    let mut rng = regimebench::rng::stream("persample-bn", &[]);
    let (n, c, k, hw) = (5, 2, 3, 4);
    let mut p = ParamStore::new();
    let w = filled(&mut p, "w", &[k, c, 3, 3], randn(&mut rng, k * c * 9, 0.5));
    let (g, b) = gamma_beta(&mut rng, &mut p, k);
    let mean = randn(&mut rng, k, 0.5);
    let var: Vec<f32> = randn(&mut rng, k, 1.0)
        .iter()
        .map(|v| 0.5 + v.abs())
        .collect();
    let xs = randn(&mut rng, n * c * hw * hw, 1.0);
    let per = c * hw * hw;
    let out = k * hw * hw;
    let r = randn(&mut rng, n * out, 1.0);
    let forward = |t: &mut Tape, x| {
        let h = t.conv2d_no_bias(&p, x, w, 1, 1);
        t.batch_norm(
            &p,
            h,
            g,
            b,
            BnStats::Running {
                mean: &mean,
                var: &var,
            },
        )
    };
    let mut tape = Tape::new(&p, &Group::ALL);
    let x = tape.input(Tensor::new(&[n, c, hw, hw], xs.clone()));
    let y = forward(&mut tape, x);
    let mut batched = vec![0.0; p.len()];
    tape.backward_per_sample_squares(vec![(y, r.clone())], &p, &mut batched);
    let mut explicit = vec![0.0f64; p.len()];
    for s in 0..n {
        let mut t = Tape::new(&p, &Group::ALL);
        let x = t.input(Tensor::new(
            &[1, c, hw, hw],
            xs[s * per..(s + 1) * per].to_vec(),
        ));
        let y = forward(&mut t, x);
        let mut gs = vec![0.0; p.len()];
        t.backward_with(vec![(y, r[s * out..(s + 1) * out].to_vec())], &p, &mut gs);
        explicit
            .iter_mut()
            .zip(&gs)
            .for_each(|(e, g)| *e += (*g as f64).powi(2));
    }
    for (i, (&bv, &ev)) in batched.iter().zip(&explicit).enumerate() {
        assert!(
            (bv as f64 - ev).abs() <= 1e-4 * (1.0 + ev.abs()),
            "entry {i}: batched {bv}, explicit {ev}"
        );
    }
}

#[test]
#[should_panic(expected = "per-sample gradients through batch statistics")]
fn per_sample_squares_through_batch_statistics_are_refused() {
    let mut p = ParamStore::new();
    let g = filled(&mut p, "gamma", &[1], vec![1.0]);
    let b = filled(&mut p, "beta", &[1], vec![0.0]);
    let mut tape = Tape::new(&p, &Group::ALL);
    let x = tape.input(Tensor::new(&[2, 1, 1, 2], vec![1.0, 2.0, 3.0, 5.0]));
    let y = tape.batch_norm(&p, x, g, b, BnStats::Batch);
    let mut out = vec![0.0; p.len()];
    tape.backward_per_sample_squares(vec![(y, vec![1.0; 4])], &p, &mut out);
}
