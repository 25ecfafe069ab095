//! What the two test files of the methods golden (`methods.json.gz`) share: its contents, and the
//! `small` network with the `global` head, loaded with its parameters, giving logits and gradients
//! on its batches.

use super::{assert_close, load_params, read_golden, Named};
use regimebench::nn::{Cnn, Preset};
use regimebench::params::ParamStore;
use regimebench::tape::{NodeId, Tape};
use regimebench::tensor::Tensor;
use serde::Deserialize;
use std::sync::OnceLock;

/// Logits, losses, gradients, LwF's value and d/dz, GEM's G G^T and G g: f32 values with
/// different summation orders agree to ~1e-5 of the tensor's largest entry.
pub const GRAD_TOL: f64 = 1e-5;

#[derive(Deserialize)]
pub struct FisherGolden {
    pub outputs: Vec<usize>,
    pub expected: Vec<Named>,
    pub empirical: Vec<Named>,
}

#[derive(Deserialize)]
pub struct LwfGolden {
    pub alpha: f32,
    pub temperature: f32,
    pub outputs: Vec<usize>,
    pub old_params: Vec<Named>,
    pub old_logits: Vec<f32>,
    pub value: f32,
    pub dz: Vec<f32>,
    pub grads: Vec<Named>,
}

#[derive(Deserialize)]
pub struct SiGolden {
    pub lr: f32,
    pub steps: usize,
    pub xi: f32,
    pub losses: Vec<f32>,
    pub omega: Vec<Named>,
    pub big_omega: Vec<Named>,
}

#[derive(Deserialize)]
pub struct Memory {
    pub x: Vec<f32>,
    pub labels: Vec<u32>,
    pub grads: Vec<Named>,
}

#[derive(Deserialize)]
pub struct GemGolden {
    pub seed: u64,
    pub eps: f64,
    pub margin: f64,
    pub g: Vec<Named>,
    pub memories: Vec<Memory>,
    pub dots: Vec<f64>,
    pub q: Vec<f64>,
    pub c: Vec<f64>,
    pub v: Vec<f64>,
    pub g_tilde: Vec<Named>,
}

#[derive(Deserialize)]
pub struct Golden {
    pub input_shape: Vec<usize>,
    pub x: Vec<f32>,
    pub task_classes: Vec<u16>,
    pub local_labels: Vec<u32>,
    pub labels: Vec<u32>,
    pub params: Vec<Named>,
    pub logits: Vec<f32>,
    pub fisher: FisherGolden,
    pub lwf: LwfGolden,
    pub si: SiGolden,
    pub gem: GemGolden,
}

pub fn golden() -> &'static Golden {
    static G: OnceLock<Golden> = OnceLock::new();
    G.get_or_init(|| read_golden("methods.json.gz"))
}

/// Each golden tensor against its slice of the flat buffer `ours`; the worst relative error.
pub fn assert_named(what: &str, p: &ParamStore, ours: &[f32], want: &[Named], tol: f64) -> f64 {
    want.iter()
        .map(|t| {
            let id = p
                .by_name(&t.name)
                .unwrap_or_else(|| panic!("no parameter {}", t.name));
            assert_eq!(p.info(id).shape, t.shape, "{}: layout", t.name);
            let r = p.info(id).range.clone();
            assert_close(&format!("{what} {}", t.name), &ours[r], &t.values, tol)
        })
        .fold(0.0, f64::max)
}

/// The `small` network with the `global` head (10 outputs), loaded with `values`.
pub fn network(values: &[Named]) -> (Cnn, ParamStore) {
    let mut p = ParamStore::new();
    let net = Cnn::new(Preset::Small, 10, 1, &mut p);
    load_params(&mut p, values);
    (net, p)
}

/// Logits of `x` (`[N, 1, 28, 28]`) on a tape training `trainable`.
pub fn logits(net: &Cnn, p: &ParamStore, trainable: Vec<bool>, x: &[f32]) -> (Tape, NodeId) {
    let mut tape = Tape::with_trainable(trainable);
    let xi = tape.input(Tensor::new(&[x.len() / 784, 1, 28, 28], x.to_vec()));
    let z = net.forward(&mut tape, p, xi, 0);
    (tape, z)
}

/// The mean 10-way cross-entropy of (`x`, global `labels`) and its gradient (zero where frozen).
pub fn loss_grad(
    net: &Cnn,
    p: &ParamStore,
    trainable: &[bool],
    x: &[f32],
    labels: &[u32],
) -> (f32, Vec<f32>) {
    let (mut tape, z) = logits(net, p, trainable.to_vec(), x);
    let l = tape.softmax_xent(z, labels);
    let mut grads = vec![0.0; p.len()];
    tape.backward(l, p, &mut grads);
    (tape.value(l)[0], grads)
}
