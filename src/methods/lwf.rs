//! LwF, learning without forgetting (Li and Hoiem 2017), PROTOCOL section 5:
//!
//! ```text
//!     L = L_t + α T² (1/B) Σ_n Σ_(old heads h) KL( softmax(z_old,h / T) ‖ softmax(z_h / T) ),
//!     ∂/∂z_h = α T (softmax(z_h / T) − softmax(z_old,h / T)) / B,        α = 1, T = 2
//! ```
//!
//! θ_old is a frozen copy of θ*_{t−1}, kept from the start of task t ≥ 2; z_old its logits on the
//! step's own input (the cached frozen-prefix features are shared: the prefix did not move), by a
//! forward pass alone (no backward). The old heads are those of the finished tasks, each once:
//! `global`, each old task's k outputs (one softmax per old task); `shared`, the one shared head;
//! `multi`, each old task's head layer, run on the step's G5 features (those layers are frozen in
//! this task, so the gradient flows into the trunk only).

use super::{Method, Seed, Step, TaskInfo};
use crate::heads::{softmax_over, TaskHead};
use crate::params::{Group, ParamStore};
use crate::tape::{NodeId, Tape};
use crate::tensor::Tensor;
use crate::trace::{Trace, Value};

/// LwF's constants (PROTOCOL section 5).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LwfConfig {
    /// α, the distillation weight.
    pub alpha: f32,
    /// T, the temperature.
    pub temperature: f32,
}

impl Default for LwfConfig {
    fn default() -> Self {
        LwfConfig {
            alpha: 1.0,
            temperature: 2.0,
        }
    }
}

impl LwfConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(format!(
                "lwf alpha must be a number >= 0, got {}",
                self.alpha
            ));
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(format!(
                "lwf temperature must be a positive number, got {}",
                self.temperature
            ));
        }
        Ok(())
    }
}

/// LwF's state: the old model's parameters.
pub struct Lwf {
    config: LwfConfig,
    theta_old: Option<ParamStore>,
    /// The old model's forward tape, kept across steps (its buffers are recycled).
    old_tape: Option<Tape>,
}

impl Lwf {
    pub fn new(config: LwfConfig) -> Self {
        Lwf {
            config,
            theta_old: None,
            old_tape: None,
        }
    }
}

/// Records one old head's z, z_old, both softmaxes at T, its KD term and ∂KD/∂z (`zs`: the
/// current logits, the old model's and the seed gradient, each `[B, width]`).
fn record(cfg: &LwfConfig, trace: &Trace, head: TaskHead, width: usize, zs: [&[f32]; 3], kd: f64) {
    let t = cfg.temperature;
    let cols = |z: &[f32]| -> Vec<f64> {
        (z.chunks_exact(width))
            .flat_map(|row| head.outputs.iter().map(move |&s| f64::from(row[s])))
            .collect()
    };
    let soft = |z: &[f32]| -> Vec<f64> {
        (z.chunks_exact(width))
            .flat_map(|row| softmax_over(row, head.outputs, f64::from(t)))
            .collect()
    };
    let (b, k) = (zs[0].len() / width, head.outputs.len());
    let mat = |data| Value::Matrix {
        rows: b,
        cols: k,
        data,
    };
    let of = format!(
        "the outputs {:?} of head layer {}",
        head.outputs, head.layer
    );
    let names = ["z", "z_old"];
    for (name, z) in names.iter().zip(zs) {
        let note = format!("{name} on {of}, [B, k]");
        trace.record(name, &note, || mat(cols(z)));
    }
    for (name, z) in ["softmax(z/T)", "softmax(z_old/T)"].iter().zip(zs) {
        let note = format!("T = {t}, over {of}");
        trace.record(name, &note, || mat(soft(z)));
    }
    let note = format!(
        "α T² (1/B) Σ_n KL(softmax(z_old/T) ‖ softmax(z/T)) on {of}, α = {}",
        cfg.alpha
    );
    trace.record("KD", &note, || Value::Scalar(kd));
    let note = format!("α T (softmax(z/T) − softmax(z_old/T)) / B on {of}");
    trace.record("∂KD/∂z", &note, || mat(cols(zs[2])));
}
/// The distillation term of one head over the rows of `z` and `z_old` (`width` logits each),
/// restricted to `outputs`: its value α T² (1/B) Σ_n KL(p_old ‖ p) and its gradient, added into
/// `dz` (`[B, width]`), α T (p − p_old) / B on `outputs`, with p = softmax(z/T) there.
pub fn distill(
    cfg: &LwfConfig,
    z: &[f32],
    z_old: &[f32],
    width: usize,
    outputs: &[usize],
    dz: &mut [f32],
) -> f64 {
    let (alpha, t) = (f64::from(cfg.alpha), f64::from(cfg.temperature));
    let b = (z.len() / width) as f64;
    let mut value = 0.0;
    let rows = z.chunks_exact(width).zip(z_old.chunks_exact(width));
    for ((row, old), d) in rows.zip(dz.chunks_exact_mut(width)) {
        let p = softmax_over(row, outputs, t);
        let q = softmax_over(old, outputs, t);
        for (j, &s) in outputs.iter().enumerate() {
            if q[j] > 0.0 {
                value += q[j] * (q[j].ln() - p[j].ln());
            }
            d[s] += (alpha * t * (p[j] - q[j]) / b) as f32;
        }
    }
    alpha * t * t * value / b
}

/// The finished tasks' heads, each (layer, outputs) once.
fn old_heads<'a>(task: &'a TaskInfo) -> Vec<TaskHead<'a>> {
    let mut heads: Vec<TaskHead> = Vec::new();
    for j in 0..task.task {
        let h = task.heads.of(j);
        if !heads.contains(&h) {
            heads.push(h);
        }
    }
    heads
}

impl Method for Lwf {
    fn begin_task(&mut self, task: &TaskInfo, params: &ParamStore) {
        self.theta_old = (task.task > 0).then(|| params.clone());
        self.old_tape = (task.task > 0).then(|| Tape::new(params, &[]));
    }

    fn extra_loss(&mut self, task: &TaskInfo, step: &mut Step) -> Option<(f32, Vec<Seed>)> {
        let (Some(old), Some(old_tape)) = (&self.theta_old, &mut self.old_tape) else {
            return None;
        };
        let width = step.net.width;
        // The old model on the step's input: a forward pass alone.
        old_tape.clear();
        let input = step.tape.value(step.input);
        let mut buf = old_tape.take_buffer(input.len());
        buf.copy_from_slice(input);
        let xi = old_tape.input(Tensor::new(step.tape.shape(step.input), buf));
        let h_old = step.net.features(old_tape, old, step.from, xi);
        let current = task.head().layer;
        let mut seeds: Vec<(usize, NodeId, Vec<f32>)> = Vec::new();
        let mut value = 0.0;
        for head in old_heads(task) {
            let z_old = step
                .net
                .group_forward(old_tape, old, Group::G5, h_old, head.layer);
            let node = if head.layer == current {
                step.logits
            } else {
                let (tape, p, h) = (&mut *step.tape, step.params, step.features);
                step.net.group_forward(tape, p, Group::G5, h, head.layer)
            };
            let at = match seeds.iter().position(|s| s.0 == head.layer) {
                Some(i) => i,
                None => {
                    let len = step.tape.value(node).len();
                    seeds.push((head.layer, node, vec![0.0; len]));
                    seeds.len() - 1
                }
            };
            let z = step.tape.value(node);
            let zo = old_tape.value(z_old);
            let kd = distill(&self.config, z, zo, width, head.outputs, &mut seeds[at].2);
            value += kd;
            record(
                &self.config,
                task.trace,
                head,
                width,
                [z, zo, &seeds[at].2],
                kd,
            );
        }
        let seeds = seeds.into_iter().map(|(_, n, d)| (n, d)).collect();
        Some((value as f32, seeds))
    }

    fn report(&self) -> serde_json::Value {
        serde_json::json!({ "lwf": self.config })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LwfConfig {
        LwfConfig {
            alpha: 0.7,
            temperature: 2.0,
        }
    }

    #[test]
    fn the_gradient_is_its_closed_form_and_matches_finite_differences() {
        // Two rows of 4 logits; the head is outputs 1 and 3 (a `global` task's k = 2 outputs).
        let z = [0.3f32, -1.0, 2.0, 0.5, 1.5, 0.25, -0.5, -2.0];
        let z_old = [0.0f32, 0.4, 9.0, -0.6, 0.0, -1.0, 3.0, 1.0];
        let outputs = [1, 3];
        let mut dz = vec![0.0; 8];
        distill(&cfg(), &z, &z_old, 4, &outputs, &mut dz);
        for (n, row) in dz.chunks(4).enumerate() {
            assert_eq!(
                (row[0], row[2]),
                (0.0, 0.0),
                "outputs outside the head get nothing"
            );
            let p = softmax_over(&z[n * 4..n * 4 + 4], &outputs, 2.0);
            let q = softmax_over(&z_old[n * 4..n * 4 + 4], &outputs, 2.0);
            for (j, &s) in outputs.iter().enumerate() {
                let closed = 0.7 * 2.0 * (p[j] - q[j]) / 2.0;
                assert!((f64::from(row[s]) - closed).abs() < 1e-7, "{n} {s}");
                let at = |d: f32| {
                    let mut zz = z;
                    zz[n * 4 + s] += d;
                    distill(&cfg(), &zz, &z_old, 4, &outputs, &mut [0.0; 8])
                };
                let fd = (at(1e-3) - at(-1e-3)) / 2e-3;
                assert!((fd - closed).abs() < 1e-5, "{n} {s}: fd {fd} vs {closed}");
            }
        }
    }

    #[test]
    fn identical_models_give_exactly_zero() {
        let z = [0.3f32, -1.0, 2.0, 0.5, 1.5, 0.25];
        let mut dz = vec![0.0; 6];
        assert_eq!(distill(&cfg(), &z, &z, 3, &[0, 1, 2], &mut dz), 0.0);
        assert!(dz.iter().all(|&d| d == 0.0));
    }

    #[test]
    fn the_value_is_alpha_t_squared_times_the_mean_kl() {
        // One row, k = 2: p = softmax([0, 0]/T) = (½, ½), q = softmax([2 ln 3, 0]/2) = (¾, ¼):
        // KL(q ‖ p) = ¾ ln(3/2) + ¼ ln(1/2).
        let z = [0.0f32, 0.0];
        let z_old = [(2.0 * 3.0f64.ln()) as f32, 0.0];
        let kl = 0.75 * 1.5f64.ln() + 0.25 * 0.5f64.ln();
        let v = distill(&cfg(), &z, &z_old, 2, &[0, 1], &mut [0.0; 2]);
        assert!((v - 0.7 * 4.0 * kl).abs() < 1e-7, "{v}");
    }
}
