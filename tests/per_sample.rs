//! Per-sample squared gradients (what the diagonal Fisher sums): the batched backward gives
//! `Σ_n g_n²` equal to explicit per-sample gradients from one-image tapes, for both presets and
//! every regime (which decides whether the lowest trainable conv runs fused with its pool); and
//! for resnet18 in evaluation mode (batch norm with running statistics), the mode the Fisher runs
//! in: in training mode batch statistics couple the samples, and the tape refuses.

mod support;

use rand::Rng;
use regimebench::nn::{Cnn, Preset};
use regimebench::params::ParamStore;
use regimebench::regime::Regime;
use regimebench::tape::Tape;
use regimebench::tensor::Tensor;

/// Relative to the largest value of a tensor: the batched and the one-image paths may pick
/// different convolution algorithms, so they agree to f32 rounding, not bit for bit.
const REL_TOL: f64 = 2e-4;

fn check(preset: Preset, width: usize, batch: usize) {
    let mut p = ParamStore::new();
    let net = Cnn::new(preset, width, 1, &mut p);
    net.init(&mut p, 5);
    check_net(&net, &p, batch);
}

fn check_net(net: &Cnn, p: &ParamStore, batch: usize) {
    let (preset, width) = (net.preset, net.width);
    let mut rng = regimebench::rng::stream("per-sample-test", &[width as u64]);
    let (c, h, w) = net.input_chw();
    let d = c * h * w;
    let x: Vec<f32> = (0..batch * d)
        .map(|_| rng.gen::<f32>() * 2.0 - 1.0)
        .collect();
    let dz: Vec<f32> = (0..batch * width).map(|_| rng.gen::<f32>() - 0.5).collect();
    for depth in 1..=5 {
        let regime = Regime::depth(depth);
        let forward = |tape: &mut Tape, x: &[f32], n: usize| {
            let xi = tape.input(Tensor::new(&[n, c, h, w], x.to_vec()));
            net.forward(tape, p, xi, 0)
        };
        let mut batched = vec![0.0; p.len()];
        let mut tape = Tape::new(p, &regime.trainable);
        let z = forward(&mut tape, &x, batch);
        tape.backward_per_sample_squares(vec![(z, dz.clone())], p, &mut batched);
        let mut explicit = vec![0.0f64; p.len()];
        for n in 0..batch {
            let mut g = vec![0.0; p.len()];
            let mut tape = Tape::new(p, &regime.trainable);
            let z = forward(&mut tape, &x[n * d..(n + 1) * d], 1);
            let seed = dz[n * width..(n + 1) * width].to_vec();
            tape.backward_with(vec![(z, seed)], p, &mut g);
            explicit
                .iter_mut()
                .zip(&g)
                .for_each(|(e, &g)| *e += f64::from(g) * f64::from(g));
        }
        for id in p.ids() {
            let info = p.info(id);
            let (ours, want) = (&batched[info.range.clone()], &explicit[info.range.clone()]);
            if !regime.trainable.contains(&info.group) {
                assert!(
                    ours.iter().all(|&v| v == 0.0),
                    "frozen {} got squares",
                    info.name
                );
                continue;
            }
            let what = format!("{preset} R{depth} {}", info.name);
            support::assert_close_rel(&what, ours, want, REL_TOL);
        }
    }
}

#[test]
fn small_per_sample_squares_equal_explicit_per_sample_gradients() {
    check(Preset::Small, 10, 3);
}

#[test]
fn cifar_per_sample_squares_equal_explicit_per_sample_gradients() {
    check(Preset::Cifar, 10, 2);
}

#[test]
fn resnet18_per_sample_squares_in_evaluation_mode_equal_explicit_per_sample_gradients() {
    let mut p = ParamStore::new();
    let net = Cnn::resnet18(2, (3, 9, 9), 4, 1, &mut p);
    net.init(&mut p, 5);
    // Batch norm as after training: γ, β and the running statistics away from their init.
    let mut rng = regimebench::rng::stream("per-sample-resnet", &[]);
    for id in p.ids() {
        if p.info(id).name.contains(".bn") || p.info(id).name.starts_with("bn") {
            p.get_mut(id)
                .iter_mut()
                .for_each(|v| *v += rng.gen::<f32>() * 0.4 - 0.2);
        }
    }
    for b in p.buffer_ids().collect::<Vec<_>>() {
        let var = p.buffer_info(b).name.ends_with("var");
        p.buffer_mut(b).iter_mut().for_each(|v| {
            *v = if var {
                0.5 + rng.gen::<f32>()
            } else {
                rng.gen::<f32>() * 0.4 - 0.2
            }
        });
    }
    check_net(&net, &p, 3);
}
