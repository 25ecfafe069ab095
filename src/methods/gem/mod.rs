//! GEM (Lopez-Paz and Ranzato 2017), PROTOCOL section 5:
//!
//! ```text
//!     memory: m = 256 samples per finished task, uniform without replacement, seeded
//!     each step of task t:  g = P(∇L_t),  g_k = P(∇L(memory_k)) for every past task k
//!     if g·g_k >= 0 for all k:  g~ = g
//!     else:  v* = argmin_v 1/2 vᵀ(G Gᵀ + ε I)v + (G g)ᵀv  s.t. v >= margin,   g~ = Gᵀv* + g
//!            (ε = 1e-3, margin = 0.5: the original code's memory_strength)
//! ```
//!
//! A memory keeps its samples' features at the input of the regime's lowest trainable group (the
//! frozen prefix is fixed once the regime governs, so they stay what the prefix gives), so a memory
//! pass costs only the trainable groups. L(memory_k) is the layout's training loss (mean over the
//! memory, each sample through its own task's head). Dot products, G Gᵀ and the QP ([`qp`]) are in
//! f64; g~ is written back only on the trainable entries, and is g bit for bit when nothing is
//! violated. Every task records the share of its steps that projected, the mean v* and the worst
//! KKT residual.

pub mod qp;

use super::{Method, TaskData, TaskInfo};
use crate::error::{Error, Result};
use crate::nn::Cnn;
use crate::params::{Group, ParamStore};
use crate::tape::Tape;
use crate::tensor::Tensor;
use crate::trace::Value;
use rand::seq::SliceRandom;
use std::ops::Range;

/// GEM's constants (PROTOCOL section 5).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GemConfig {
    /// m: samples kept per finished task.
    pub memory: usize,
    /// The lower bound of every dual variable.
    pub margin: f64,
    /// ε added to the diagonal of G Gᵀ.
    pub eps: f64,
}

impl Default for GemConfig {
    fn default() -> Self {
        GemConfig {
            memory: 256,
            margin: qp::MARGIN,
            eps: qp::EPS,
        }
    }
}

impl GemConfig {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.memory == 0 {
            return Err("gem memory must be at least 1 sample per task".into());
        }
        if !(self.margin.is_finite() && self.margin >= 0.0) {
            return Err(format!(
                "gem margin must be a number >= 0, got {}",
                self.margin
            ));
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(format!(
                "gem eps must be a positive number, got {}",
                self.eps
            ));
        }
        Ok(())
    }
}

/// One task's projection statistics.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GemTaskRecord {
    /// The task's steps (set when it ends).
    pub steps: usize,
    /// Steps where some g·g_k < 0 and g was projected.
    pub projected: usize,
    /// Mean of v* over the projected steps' dual variables (None when nothing projected).
    pub mean_v: Option<f64>,
    /// The worst KKT residual of the QPs solved (0 when none).
    pub worst_kkt: f64,
    /// Memories (past tasks) the task's steps were constrained by.
    pub memories: usize,
}

/// One finished task's memory: features at the input of `from`, and the output each sample's
/// loss targets in head layer `layer`.
struct Memory {
    from: Group,
    shape: Vec<usize>,
    features: Vec<f32>,
    targets: Vec<u32>,
    layer: usize,
}

/// GEM's state: the memories of the finished tasks and the network they run through.
pub struct Gem {
    config: GemConfig,
    seed: u64,
    net: Option<Cnn>,
    memories: Vec<Memory>,
    records: Vec<GemTaskRecord>,
    /// The memory passes' tape for the current task's trainable set, kept across its steps.
    tape: Option<Tape>,
    /// The rows g_k of G, one buffer per memory, reused from step to step.
    rows: Vec<Vec<f32>>,
    sum_v: f64,
    count_v: usize,
}

impl Gem {
    pub fn new(config: GemConfig, seed: u64) -> Self {
        Gem {
            config,
            seed,
            net: None,
            memories: Vec::new(),
            records: Vec::new(),
            tape: None,
            rows: Vec::new(),
            sum_v: 0.0,
            count_v: 0,
        }
    }

    pub fn records(&self) -> &[GemTaskRecord] {
        &self.records
    }
}

/// g_k = P(∇L(memory_k)): the mean training loss over the memory through its task's head,
/// back-propagated into the tape's trainable parameters only, written into `g` (its other entries
/// are left as they were). `tape` is reused from step to step (its buffers are recycled).
fn memory_gradient(tape: &mut Tape, net: &Cnn, m: &Memory, p: &ParamStore, g: &mut [f32]) {
    tape.clear();
    let mut shape = vec![m.targets.len()];
    shape.extend_from_slice(&m.shape);
    let mut x = tape.take_buffer(m.features.len());
    x.copy_from_slice(&m.features);
    let x = tape.input(Tensor::new(&shape, x));
    let z = net.forward_from(tape, p, m.from, x, m.layer);
    let loss = tape.softmax_xent(z, &m.targets);
    tape.backward(loss, p, g);
}

/// Σ_i a_i b_i over the trainable ranges, in f64.
fn dot(a: &[f32], b: &[f32], ranges: &[Range<usize>]) -> f64 {
    ranges
        .iter()
        .flat_map(|r| r.clone())
        .map(|i| f64::from(a[i]) * f64::from(b[i]))
        .sum()
}

impl Method for Gem {
    fn begin_task(&mut self, _: &TaskInfo, _: &ParamStore) {
        self.tape = None; // the trainable set may change with the task
        self.records.push(GemTaskRecord {
            memories: self.memories.len(),
            ..GemTaskRecord::default()
        });
        (self.sum_v, self.count_v) = (0.0, 0);
    }

    fn adjust_grads(&mut self, task: &TaskInfo, p: &ParamStore, g: &mut [f32]) -> Result<()> {
        let Some(net) = &self.net else {
            return Ok(()); // task 1: no memory yet
        };
        let ranges = task.trainable;
        let mut tape = (self.tape.take())
            .unwrap_or_else(|| Tape::with_trainable(task.trainable_params.to_vec()));
        // One gradient buffer per memory, kept across steps: the backward writes every trainable
        // entry, and no other entry is read.
        self.rows
            .resize_with(self.memories.len(), || vec![0.0; p.len()]);
        for (m, gk) in self.memories.iter().zip(&mut self.rows) {
            memory_gradient(&mut tape, net, m, p, gk);
        }
        let rows = &self.rows;
        self.tape = Some(tape);
        let gg: Vec<f64> = rows.iter().map(|gk| dot(g, gk, ranges)).collect();
        let trace = task.trace;
        let note = "rows g_k = P(∇L(memory_k)), one per past task; columns: the trainable entries";
        trace.record("G", note, || {
            let entries = || ranges.iter().flat_map(|r| r.clone());
            let data: Vec<f32> = (rows.iter())
                .flat_map(|gk| entries().map(|i| gk[i]))
                .collect();
            Value::matrix(rows.len(), &data)
        });
        trace.record("G g", "g · g_k per past task, in f64", || {
            Value::matrix(1, &gg)
        });
        let violated: Vec<String> = (gg.iter().enumerate())
            .filter(|(_, &d)| d < 0.0)
            .map(|(k, _)| format!("task {}", k + 1))
            .collect();
        trace.record("violated", "the past tasks with g · g_k < 0", || {
            Value::Text(match violated.is_empty() {
                true => "none: g~ = g, bit for bit".into(),
                false => violated.join(", "),
            })
        });
        if violated.is_empty() {
            return Ok(()); // g~ = g, bit for bit
        }
        let n = rows.len();
        let mut q = vec![0.0f64; n * n];
        for i in 0..n {
            for j in 0..=i {
                let d = dot(&rows[i], &rows[j], ranges);
                q[i * n + j] = d;
                q[j * n + i] = d;
            }
            q[i * n + i] += self.config.eps;
        }
        let note = format!("ε = {}: the dual QP's matrix", self.config.eps);
        trace.record("G Gᵀ + εI", &note, || Value::matrix(n, &q));
        let sol = qp::solve(&q, &gg, self.config.margin).map_err(|e| Error::Method {
            method: "gem",
            message: format!("task {}: the dual QP failed: {e}", task.task + 1),
        })?;
        let note = format!(
            "argmin ½ vᵀ(G Gᵀ + εI)v + (G g)ᵀv, v ≥ {} (active: {:?})",
            self.config.margin, sol.active
        );
        trace.record("v*", &note, || Value::matrix(1, &sol.v));
        trace.record(
            "KKT",
            "residuals of v* (each 0 at the exact optimum)",
            || {
                let k = sol.kkt();
                Value::Text(format!(
                    "stationarity {:.3e}, primal {:.3e}, dual {:.3e}, complementarity {:.3e}",
                    k.stationarity, k.primal, k.dual, k.complementarity
                ))
            },
        );
        for i in ranges.iter().flat_map(|r| r.clone()) {
            let proj: f64 = rows
                .iter()
                .zip(&sol.v)
                .map(|(gk, &v)| v * f64::from(gk[i]))
                .sum();
            g[i] = (proj + f64::from(g[i])) as f32;
        }
        trace.record("G g~", "g~ · g_k per past task, g~ = Gᵀ v* + g", || {
            let d: Vec<f64> = rows.iter().map(|gk| dot(g, gk, ranges)).collect();
            Value::matrix(1, &d)
        });
        let Some(rec) = self.records.last_mut() else {
            return Ok(()); // not inside a task (begin_task pushes the record)
        };
        rec.projected += 1;
        rec.worst_kkt = rec.worst_kkt.max(sol.kkt_residual());
        self.sum_v += sol.v.iter().sum::<f64>();
        self.count_v += n;
        rec.mean_v = Some(self.sum_v / self.count_v as f64);
        Ok(())
    }

    fn end_task(&mut self, task: &TaskInfo, data: &TaskData, p: &ParamStore) -> Result<()> {
        let n = data.train.len();
        let mut positions: Vec<usize> = (0..n).collect();
        positions.shuffle(&mut crate::rng::stream(
            "gem-memory",
            &[self.seed, task.task as u64],
        ));
        positions.truncate(self.config.memory.min(n));
        positions.sort_unstable();
        let (x, labels) = data.train.batch(&positions, Vec::new());
        // Up to the input of the group later tasks start training at.
        let mut tape = Tape::new(p, &[]);
        let mut h = tape.input(x);
        for &g in &Group::ALL[data.train.from().index()..data.later_from.index()] {
            h = data.net.group_forward(&mut tape, p, g, h, 0);
        }
        let head = task.head();
        self.memories.push(Memory {
            from: data.later_from,
            shape: tape.shape(h)[1..].to_vec(),
            features: tape.value(h).to_vec(),
            targets: labels.iter().map(|&l| head.target(l)).collect(),
            layer: head.layer,
        });
        let note = "samples kept of this task (positions in its training set) and their targets";
        task.trace.record("memory", note, || {
            let targets = self
                .memories
                .last()
                .map(|m| &m.targets[..])
                .unwrap_or_default();
            Value::Text(format!("{positions:?} -> {targets:?}"))
        });
        self.net = Some(data.net.clone());
        if let Some(rec) = self.records.last_mut() {
            rec.steps = data.steps;
        }
        Ok(())
    }

    fn report(&self) -> serde_json::Value {
        serde_json::json!({ "gem": self.config, "tasks": self.records })
    }
}
