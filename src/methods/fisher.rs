//! The diagonal Fisher of online EWC, PROTOCOL section 5, in the four variants published code
//! disagrees on (van de Ven's 2025 comparison calls them EXACT, SAMPLE, EMPIRICAL, BATCHED):
//!
//! ```text
//!     expected:   F_i = (1/N) Σ_n Σ_c q(c|x_n) (∂ log q(c|x_n) / ∂θ_i)²
//!     sampled:    F_i = (1/N) Σ_n (∂ log q(ĉ_n|x_n) / ∂θ_i)²,   ĉ_n ~ q(·|x_n), seeded
//!     empirical:  F_i = (1/N) Σ_n (∂ log q(y_n|x_n) / ∂θ_i)²
//!     batch-mean: F_i = (1/M) Σ_b ((1/|b|) Σ_{n in b} ∂ log q(y_n|x_n) / ∂θ_i)²   (M minibatches)
//! ```
//!
//! q is the task's predictive distribution: the softmax over the k outputs of the task's head
//! (`--fisher-classes task`, for `global` the task's k logits renormalised) or over every output of
//! the head layer (`all`, the C-way training softmax under `global`). With z the logits,
//! `∂ log q(c|x) / ∂z_s = [s = c] − q(s|x)` for s in that set and 0 outside it; the first three
//! variants seed the backward pass with it (times `√q(c|x)` for `expected`, one pass per class c)
//! and take per-sample squares ([`Tape::backward_per_sample_squares`]), never the square of a
//! minibatch mean. Only the trainable parameters get a Fisher (zero elsewhere), computed from the
//! inputs the loop trained on (cached frozen-prefix features when the regime has them).

use crate::heads::{softmax_over, TaskHead};
use crate::nn::Cnn;
use crate::params::ParamStore;
use crate::tape::Tape;
use crate::train::Inputs;
use rand::seq::SliceRandom;
use rand::Rng;

/// Which Fisher (`--fisher`).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum FisherKind {
    /// Σ over the classes, weighted by the model's probabilities (the true Fisher; default).
    #[default]
    Expected,
    /// One class per sample drawn from the model's probabilities (seeded).
    Sampled,
    /// The sample's true label.
    Empirical,
    /// The square of each minibatch's mean gradient (what Avalanche computes).
    BatchMean,
}

/// Over which outputs q is the softmax (`--fisher-classes`).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum FisherClasses {
    /// The task's k outputs (default).
    #[default]
    Task,
    /// Every output of the task's head layer (C under `global`: C/k times the cost).
    All,
}

/// How the Fisher of a task is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FisherConfig {
    pub kind: FisherKind,
    pub classes: FisherClasses,
    /// N: how many of the task's training samples (a seeded subset); 0 = all of them.
    pub samples: usize,
    /// Samples per forward pass (and the minibatch of `batch-mean`).
    pub batch: usize,
}

impl Default for FisherConfig {
    fn default() -> Self {
        FisherConfig {
            kind: FisherKind::Expected,
            classes: FisherClasses::Task,
            samples: 0,
            batch: 64,
        }
    }
}

/// F_t of the current parameters `p` over `inputs` (the task's training inputs) under `head`;
/// `trainable` flags the parameters that get one (indexed like [`ParamStore::ids`]). `stream` names
/// the seeded random draws (the subset and the sampled labels), e.g. `[seed, task]`.
pub fn diagonal_fisher(
    cfg: &FisherConfig,
    net: &Cnn,
    p: &ParamStore,
    trainable: &[bool],
    inputs: &Inputs,
    head: TaskHead,
    stream: &[u64],
) -> Vec<f32> {
    let mut positions: Vec<usize> = (0..inputs.len()).collect();
    if cfg.samples > 0 && cfg.samples < positions.len() {
        positions.shuffle(&mut crate::rng::stream("fisher-subset", stream));
        positions.truncate(cfg.samples);
        positions.sort_unstable();
    }
    let outputs: Vec<usize> = match cfg.classes {
        FisherClasses::Task => head.outputs.to_vec(),
        FisherClasses::All => (0..net.width).collect(),
    };
    let mut draw = crate::rng::stream("fisher-sample", stream);
    let mut acc = vec![0.0f64; p.len()];
    let mut g = vec![0.0f32; p.len()];
    // Only the trainable entries are accumulated (head-only regimes: a few hundred of ~10^5).
    let ranges = p.ranges_of(trainable);
    let entries = || ranges.iter().flat_map(|r| r.clone());
    let mut tape = Tape::with_trainable(trainable.to_vec());
    let mut batches = 0usize;
    for chunk in positions.chunks(cfg.batch.max(1)) {
        tape.clear();
        let (x, labels) = inputs.batch(chunk, tape.take_buffer(0));
        let xi = tape.input(x);
        let z = net.forward_from(&mut tape, p, inputs.from(), xi, head.layer);
        let q: Vec<Vec<f64>> = tape
            .value(z)
            .chunks_exact(net.width)
            .map(|row| softmax_over(row, &outputs, 1.0))
            .collect();
        // ∂ log q(c|x_n) / ∂z for class c (an output index) of row n, times `scale`.
        let seed = |c: &dyn Fn(usize) -> usize, scale: &dyn Fn(usize) -> f64| -> Vec<f32> {
            let mut dz = vec![0.0f32; chunk.len() * net.width];
            for n in 0..chunk.len() {
                let (cn, sn) = (c(n), scale(n));
                for (j, &s) in outputs.iter().enumerate() {
                    let hot = f64::from(u8::from(s == cn));
                    dz[n * net.width + s] = (sn * (hot - q[n][j])) as f32;
                }
            }
            dz
        };
        let label = |n: usize| head.target(labels[n]) as usize;
        let mut add_squares = |dz: Vec<f32>, tape: &Tape| {
            tape.backward_per_sample_squares(vec![(z, dz)], p, &mut g);
            entries().for_each(|i| acc[i] += f64::from(g[i]));
        };
        match cfg.kind {
            FisherKind::Expected => {
                for (j, &c) in outputs.iter().enumerate() {
                    add_squares(seed(&|_| c, &|n| q[n][j].sqrt()), &tape);
                }
            }
            FisherKind::Sampled => {
                let drawn: Vec<usize> = q.iter().map(|row| sample(row, &mut draw)).collect();
                add_squares(seed(&|n| outputs[drawn[n]], &|_| 1.0), &tape);
            }
            FisherKind::Empirical => add_squares(seed(&label, &|_| 1.0), &tape),
            FisherKind::BatchMean => {
                let b = chunk.len() as f64;
                tape.backward_with(vec![(z, seed(&label, &|_| 1.0 / b))], p, &mut g);
                entries().for_each(|i| acc[i] += f64::from(g[i]) * f64::from(g[i]));
            }
        }
        batches += 1;
    }
    let count = match cfg.kind {
        FisherKind::BatchMean => batches,
        _ => positions.len(),
    };
    let mut fisher = vec![0.0f32; p.len()];
    entries().for_each(|i| fisher[i] = (acc[i] / count.max(1) as f64) as f32);
    fisher
}

/// An index drawn from the distribution `q` (one uniform draw, inverse CDF).
fn sample(q: &[f64], rng: &mut impl Rng) -> usize {
    let u: f64 = rng.gen();
    let mut cdf = 0.0;
    for (j, &p) in q.iter().enumerate() {
        cdf += p;
        if u < cdf {
            return j;
        }
    }
    q.len() - 1
}
