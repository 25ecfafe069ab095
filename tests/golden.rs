//! The `small` and `cifar` networks against PyTorch: the same weights and batch give the same
//! logits, loss, every parameter gradient, and loss after one SGD step. The values come from
//! `tests/golden/gen_golden.py` (see tests/golden/README.md); no Python is needed here.

use regimebench::nn::{Cnn, Preset};
use regimebench::optim::{Sgd, SgdConfig};
use regimebench::params::{Group, ParamStore};
use regimebench::tape::Tape;
use regimebench::tensor::Tensor;
use serde::Deserialize;
mod golden_support;
use golden_support::{assert_close, load_params, read_golden, Named};

/// Largest accepted |ours − torch| relative to the largest |torch| of the same tensor: both are
/// f32 with different summation orders.
const REL_TOL: f64 = 1e-5;

#[derive(Deserialize)]
struct Sgd1 {
    lr: f32,
    loss_after: f32,
}

#[derive(Deserialize)]
struct Golden {
    k: usize,
    input_shape: Vec<usize>,
    x: Vec<f32>,
    labels: Vec<u32>,
    params: Vec<Named>,
    logits: Vec<f32>,
    loss: f32,
    grads: Vec<Named>,
    sgd: Sgd1,
}

fn load(file: &str) -> Golden {
    read_golden(file)
}

fn forward_loss(
    net: &Cnn,
    p: &ParamStore,
    g: &Golden,
) -> (Tape, regimebench::tape::NodeId, regimebench::tape::NodeId) {
    let mut tape = Tape::new(p, &Group::ALL);
    let x = tape.input(Tensor::new(&g.input_shape, g.x.clone()));
    let z = net.forward(&mut tape, p, x, 0);
    let l = tape.softmax_xent(z, &g.labels);
    (tape, z, l)
}

#[allow(clippy::single_range_in_vec_init)] // one trainable range: the whole buffer
fn check(preset: Preset, file: &str) {
    let g = load(file);
    let mut p = ParamStore::new();
    let net = Cnn::new(preset, g.k, 1, &mut p);
    load_params(&mut p, &g.params);
    let (tape, z, l) = forward_loss(&net, &p, &g);
    assert_close(
        &format!("{preset:?} logits"),
        tape.value(z),
        &g.logits,
        REL_TOL,
    );
    assert_close(
        &format!("{preset:?} loss"),
        tape.value(l),
        &[g.loss],
        REL_TOL,
    );
    let mut grads = vec![0.0; p.len()];
    tape.backward(l, &p, &mut grads);
    for t in &g.grads {
        let id = p.by_name(&t.name).unwrap();
        assert_close(
            &format!("{preset:?} d/d{}", t.name),
            &grads[p.info(id).range.clone()],
            &t.values,
            REL_TOL,
        );
    }
    let mut sgd = Sgd::new(
        SgdConfig {
            lr: g.sgd.lr,
            momentum: 0.0,
            weight_decay: 0.0,
        },
        p.len(),
    );
    let all = [0..p.len()];
    sgd.step(p.flat_mut(), &grads, &all);
    let (tape, _, l) = forward_loss(&net, &p, &g);
    assert_close(
        &format!("{preset:?} loss after one SGD step"),
        tape.value(l),
        &[g.sgd.loss_after],
        REL_TOL,
    );
}

#[test]
fn small_matches_pytorch() {
    check(Preset::Small, "small.json");
}

#[test]
fn cifar_matches_pytorch() {
    check(Preset::Cifar, "cifar.json.gz");
}

/// The `global` layout's head: 10 outputs, the cross-entropy over all of them, labels 0..9.
#[test]
fn small_with_the_global_head_matches_pytorch() {
    let g = load("small-global.json");
    assert_eq!((g.k, g.labels.iter().max()), (10, Some(&9)));
    check(Preset::Small, "small-global.json");
}
