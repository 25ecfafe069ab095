//! Finite-difference gradient checks: every tape op, and the whole `small` and `cifar` networks.
//!
//! The loss of an op check is `L = Σ r ⊙ op(…)` with fixed random `r`, summed in f64. Central
//! differences `(L(v + h) − L(v − h)) / (v₊ − v₋)` divide by the step actually taken in f32.
//! Linear ops are exact for any step, so they use a large one (rounding error shrinks with 1/h);
//! piecewise-linear ops draw inputs away from their kinks and ties; smooth ops use a small step.

mod grad_support;

use grad_support::*;
use rand::Rng;
use regimebench::nn::{Cnn, Preset};
use regimebench::params::{Group, ParamId, ParamStore};
use regimebench::tape::Tape;
use regimebench::tensor::Tensor;

/// A 3×3 conv layer `k ← c` with random weights and bias, and a random `n × c × hw × hw` input.
fn conv_case(
    rng: &mut impl Rng,
    (n, c, hw, k): (usize, usize, usize, usize),
) -> (ParamStore, ParamId, ParamId, Tensor) {
    let mut p = ParamStore::new();
    let w = p.add("w", Group::G1, &[k, c, 3, 3]);
    let b = p.add("b", Group::G1, &[k]);
    let wv = randn(rng, k * c * 9, 0.5);
    p.get_mut(w).copy_from_slice(&wv);
    let bv = randn(rng, k, 0.5);
    p.get_mut(b).copy_from_slice(&bv);
    let x = Tensor::new(&[n, c, hw, hw], randn(rng, n * c * hw * hw, 1.0));
    (p, w, b, x)
}

#[test]
fn conv2d_gradients() {
    let mut rng = regimebench::rng::stream("gradcheck-conv", &[]);
    for (n, c, hw, k, stride, pad) in [(2, 3, 7, 4, 1, 1), (1, 2, 8, 3, 2, 1), (2, 1, 5, 2, 1, 0)] {
        let (p, w, b, x) = conv_case(&mut rng, (n, c, hw, k));
        check_op(
            &format!("conv2d s{stride} p{pad}"),
            &p,
            x,
            0.25,
            &move |t, p, x| t.conv2d(p, x, w, b, stride, pad),
        );
    }
}

/// The fused conv + max-pool: finite differences on inputs whose pooling windows do not tie
/// (the step is small next to the gaps of these seeded draws), and the same bits as the two ops
/// one after the other (each checked above and below), values and every gradient.
#[test]
fn conv2d_maxpool2_gradients() {
    let mut rng = regimebench::rng::stream("gradcheck-convpool", &[]);
    for (n, c, hw, k, stride, pad) in [(2, 3, 6, 4, 1, 1), (1, 2, 9, 3, 2, 1), (2, 1, 7, 2, 1, 0)] {
        let (p, w, b, x) = conv_case(&mut rng, (n, c, hw, k));
        let what = format!("conv2d_maxpool2 s{stride} p{pad}");
        check_op(&what, &p, x.clone(), 1e-2, &move |t, p, x| {
            t.conv2d_maxpool2(p, x, w, b, stride, pad)
        });

        // With an input gradient (the conv's gradient unpooled once for both) and without (the
        // weight gradient unpooled chunk by chunk, in the kernels).
        let grads = |fused: bool, with_dx: bool| {
            let mut tape = Tape::new(&p, &Group::ALL);
            let xi = if with_dx {
                tape.input_with_grad(x.clone())
            } else {
                tape.input(x.clone())
            };
            let y = if fused {
                tape.conv2d_maxpool2(&p, xi, w, b, stride, pad)
            } else {
                let c = tape.conv2d(&p, xi, w, b, stride, pad);
                tape.maxpool2(c)
            };
            let mut rng = regimebench::rng::stream("gradcheck-r", &[tape.value(y).len() as u64]);
            let r = randn(&mut rng, tape.value(y).len(), 1.0);
            let mut dp = vec![0.0; p.len()];
            let dx = tape.backward_with(vec![(y, r)], &p, &mut dp);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            let dx = dx.get(xi).map(&bits);
            assert_eq!(dx.is_some(), with_dx, "{what}: input gradient");
            (bits(tape.value(y)), dx, bits(&dp))
        };
        for with_dx in [true, false] {
            assert!(
                grads(true, with_dx) == grads(false, with_dx),
                "{what}: fused and unfused differ (input gradient: {with_dx})"
            );
        }
    }
}

#[test]
fn linear_and_flatten_gradients() {
    let mut rng = regimebench::rng::stream("gradcheck-linear", &[]);
    let mut p = ParamStore::new();
    let w = p.add("w", Group::G4, &[5, 12]);
    let b = p.add("b", Group::G4, &[5]);
    let wv = randn(&mut rng, 60, 0.5);
    p.get_mut(w).copy_from_slice(&wv);
    let bv = randn(&mut rng, 5, 0.5);
    p.get_mut(b).copy_from_slice(&bv);
    let x = Tensor::new(&[3, 3, 2, 2], randn(&mut rng, 36, 1.0));
    check_op("flatten+linear", &p, x, 0.25, &move |t, p, x| {
        let f = t.flatten(x);
        t.linear(p, f, w, b)
    });
}

#[test]
fn relu_gradient() {
    let mut rng = regimebench::rng::stream("gradcheck-relu", &[]);
    let x = Tensor::new(&[2, 3, 4, 5], away_from_zero(&mut rng, 120));
    check_op("relu", &ParamStore::new(), x, 1e-2, &|t, _, x| t.relu(x));
}

#[test]
fn maxpool2_gradient() {
    let mut rng = regimebench::rng::stream("gradcheck-pool", &[]);
    for hw in [4, 7] {
        let x = Tensor::new(&[2, 3, hw, hw], distinct(&mut rng, 6 * hw * hw));
        check_op(
            &format!("maxpool2 {hw}x{hw}"),
            &ParamStore::new(),
            x,
            1e-2,
            &|t, _, x| t.maxpool2(x),
        );
    }
}

#[test]
fn softmax_xent_gradient() {
    let mut rng = regimebench::rng::stream("gradcheck-xent", &[]);
    let labels = [0u32, 3, 2, 3];
    let x = Tensor::new(&[4, 4], randn(&mut rng, 16, 3.0));
    check_op(
        "softmax_xent",
        &ParamStore::new(),
        x,
        2e-3,
        &move |t, _, x| t.softmax_xent(x, &labels),
    );
}

/// An independent f64 forward of the whole network (naive loops, no kernels, no tape): the mean
/// cross-entropy of `net`'s layers read from `p` by name. Finite differences of it need no large
/// step, so they cross no ReLU kink or pooling tie.
fn loss_f64(p: &ParamStore, preset: Preset, x: &[f32], labels: &[u32]) -> f64 {
    let get = |name: &str| -> Vec<f64> {
        p.get(p.by_name(name).unwrap())
            .iter()
            .map(|&v| v as f64)
            .collect()
    };
    let (mut c, mut hw, _) = preset.input_chw().unwrap();
    let n = labels.len();
    let mut a: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    for l in 1..=3 {
        let (w, b) = (get(&format!("conv{l}.w")), get(&format!("conv{l}.b")));
        let k = b.len();
        let mut y = vec![0.0; n * k * hw * hw];
        for (i, o, r, s) in itertools(n, k, hw, hw) {
            let mut acc = b[o];
            for ci in 0..c {
                for u in 0..3 {
                    for v in 0..3 {
                        let (rr, ss) = ((r + u) as isize - 1, (s + v) as isize - 1);
                        if rr >= 0 && ss >= 0 && (rr as usize) < hw && (ss as usize) < hw {
                            acc += w[((o * c + ci) * 3 + u) * 3 + v]
                                * a[((i * c + ci) * hw + rr as usize) * hw + ss as usize];
                        }
                    }
                }
            }
            y[((i * k + o) * hw + r) * hw + s] = acc.max(0.0);
        }
        let h2 = hw / 2;
        a = vec![0.0; n * k * h2 * h2];
        for (i, o, r, s) in itertools(n, k, h2, h2) {
            let at = |u: usize, v: usize| y[((i * k + o) * hw + 2 * r + u) * hw + 2 * s + v];
            a[((i * k + o) * h2 + r) * h2 + s] = at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1));
        }
        (c, hw) = (k, h2);
    }
    let linear = |a: &[f64], w: &[f64], b: &[f64], relu: bool| -> Vec<f64> {
        let (o, d) = (b.len(), w.len() / b.len());
        let mut y = vec![0.0; n * o];
        for i in 0..n {
            for j in 0..o {
                let z = b[j] + (0..d).map(|q| w[j * d + q] * a[i * d + q]).sum::<f64>();
                y[i * o + j] = if relu { z.max(0.0) } else { z };
            }
        }
        y
    };
    let hidden = linear(&a, &get("fc.w"), &get("fc.b"), true);
    let z = linear(&hidden, &get("head.w"), &get("head.b"), false);
    let k = z.len() / n;
    let mut loss = 0.0;
    for (i, &y) in labels.iter().enumerate() {
        let row = &z[i * k..(i + 1) * k];
        let m = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        loss += m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln() - row[y as usize];
    }
    loss / n as f64
}

fn itertools(
    a: usize,
    b: usize,
    c: usize,
    d: usize,
) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    (0..a).flat_map(move |i| {
        (0..b).flat_map(move |j| (0..c).flat_map(move |k| (0..d).map(move |l| (i, j, k, l))))
    })
}

/// The whole network and its mean cross-entropy, every group trainable, on a small batch: the
/// tape's f32 loss against the f64 forward, and the tape's gradients against central differences
/// of the f64 forward.
fn check_network(preset: Preset, k: usize, batch: usize) {
    let mut p = ParamStore::new();
    let net = Cnn::new(preset, k, 1, &mut p);
    net.init(&mut p, 3);
    // Non-zero biases, so that the bias gradients are exercised away from the init.
    let mut rng = regimebench::rng::stream("gradcheck-net", &[k as u64]);
    for id in p
        .ids()
        .filter(|&id| p.info(id).shape.len() == 1)
        .collect::<Vec<_>>()
    {
        let n = p.get(id).len();
        let v = randn(&mut rng, n, 0.1);
        p.get_mut(id).copy_from_slice(&v);
    }
    let (c, h, w) = preset.input_chw().unwrap();
    let x = Tensor::new(&[batch, c, h, w], randn(&mut rng, batch * c * h * w, 1.0));
    let labels: Vec<u32> = (0..batch as u32).map(|i| (i * 7 + 3) % k as u32).collect();
    let mut tape = Tape::new(&p, &Group::ALL);
    let xi = tape.input(x.clone());
    let z = net.forward(&mut tape, &p, xi, 0);
    let l = tape.softmax_xent(z, &labels);
    let exact = loss_f64(&p, preset, x.data(), &labels);
    let rel = (tape.value(l)[0] as f64 - exact).abs() / exact;
    assert!(
        rel < 1e-5,
        "{preset:?}: tape loss {} vs f64 forward {exact}",
        tape.value(l)[0]
    );
    let mut grads = vec![0.0; p.len()];
    tape.backward(l, &p, &mut grads);
    for id in p.ids() {
        let range = p.info(id).range.clone();
        let f = |v: &[f32]| {
            let mut q = p.clone();
            q.get_mut(id).copy_from_slice(v);
            loss_f64(&q, preset, x.data(), &labels)
        };
        check(
            &format!("{preset:?} d/d{}", p.info(id).name),
            p.get(id),
            &grads[range],
            NET_STEP,
            NET_COORDS,
            f,
        );
    }
}

#[test]
fn small_network_gradients() {
    check_network(Preset::Small, 2, 3);
}

#[test]
fn cifar_network_gradients() {
    check_network(Preset::Cifar, 10, 2);
}

/// The `global` layout: `small` with one output per MNIST class, the 10-way cross-entropy.
#[test]
fn small_network_with_the_global_head_gradients() {
    check_network(Preset::Small, 10, 4);
}

#[test]
fn tiny_network_gradients() {
    check_network(Preset::Tiny, 6, 3);
}
