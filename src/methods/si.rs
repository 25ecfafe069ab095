//! SI, synaptic intelligence (Zenke et al. 2017), PROTOCOL section 5:
//!
//! ```text
//!     during task t, after each step:  ω_i += −g_i δ_i,     g = ∇L_t (task loss only),
//!                                                            δ = θ_after − θ_before (the real, masked step)
//!     at the end of task t:            Ω_i += ω_i / (Δ_i² + ξ),  Δ = θ*_t − θ*_{t−1},  then ω = 0
//!     loss on task t+1:                L = L_t+1 + c Σ_i Ω_i (θ_i − θ*_t,i)²,   c = 1.0, ξ = 0.1
//! ```
//!
//! θ*_0 is θ at the start of task 1. Ω is not clamped; the number of its negative entries is
//! recorded per task. ω feeds on the task-loss gradient
//! alone: with the explicit step the penalty's gradient is added to g in `adjust_grads`, after a copy
//! of the task-loss gradient is kept for ω. With the proximal step (default) δ includes the proximal
//! correction, which `after_step` applies before it computes δ. The penalty is stepped by
//! [`QuadraticPenalty`] with w = 2c Ω (the penalty has no ½, its gradient is 2c Ω (θ − θ*)).
//! Only the task's trainable entries accumulate ω; Ω covers all parameters, zero where never trained.

use super::penalty::{PenaltyStep, QuadraticPenalty};
use super::{Method, TaskData, TaskInfo};
use crate::error::Result;
use crate::params::ParamStore;
use crate::trace::Value;
use std::ops::Range;

/// SI's constants, each named (PROTOCOL section 5 defaults: c = 1.0, ξ = 0.1, proximal step).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SiConfig {
    /// c, the penalty strength: L + c Σ Ω (θ − θ*)².
    pub c: f32,
    /// ξ, the damping of Ω_i += ω_i / (Δ_i² + ξ).
    pub xi: f32,
    /// How the penalty is stepped.
    pub penalty_step: PenaltyStep,
}

impl Default for SiConfig {
    fn default() -> Self {
        SiConfig {
            c: 1.0,
            xi: 0.1,
            penalty_step: PenaltyStep::Proximal,
        }
    }
}

impl SiConfig {
    /// c finite and non-negative, ξ finite and positive; the message names the field and its value.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.c.is_finite() && self.c >= 0.0) {
            return Err(format!("SI's c must be a number >= 0, got {}", self.c));
        }
        if !(self.xi.is_finite() && self.xi > 0.0) {
            return Err(format!(
                "SI's xi must be a positive number, got {}",
                self.xi
            ));
        }
        Ok(())
    }
}

/// What SI records about each task.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SiTaskRecord {
    /// 0-based task index.
    pub task: usize,
    /// max over the task's trainable entries of s_i = η · 2c · Ω_i at the task's start (`None` for
    /// the first task, which has no penalty). The explicit step diverges where it exceeds 2.
    pub max_s: Option<f32>,
    /// Number of entries with Ω_i < 0 after the task (`None` while the task has not ended).
    pub negative_big_omega: Option<usize>,
}

/// SI's state, in the paper's symbols, laid out like the flat parameter buffer (allocated by the
/// first `begin_task`).
pub struct Si {
    /// Fixed at construction (the penalty's step and strength 2c are derived from it).
    config: SiConfig,
    /// Steps the penalty: w = 2c Ω, anchor θ*.
    penalty: QuadraticPenalty,
    /// ω: the current task's path integral (written on its trainable ranges only).
    omega: Vec<f32>,
    /// Ω: the accumulated importance (zero where never trained).
    big_omega: Vec<f32>,
    /// θ*_{t−1} during task t (θ*_0 = θ at the start of task 1): the penalty's anchor and the start
    /// of Δ = θ*_t − θ*_{t−1}.
    theta_star: Vec<f32>,
    /// The task-loss gradient of this step, kept by `adjust_grads` before the explicit step adds
    /// the penalty's gradient (unused with the proximal step, whose g~ is the task-loss gradient).
    task_grad: Vec<f32>,
    records: Vec<SiTaskRecord>,
}

impl Si {
    /// SI with its constants and the optimiser's learning rate η (for the proximal step and s).
    pub fn new(config: SiConfig, eta: f32) -> Self {
        Si {
            config,
            penalty: QuadraticPenalty::new(config.penalty_step, eta, 2.0 * config.c),
            omega: Vec::new(),
            big_omega: Vec::new(),
            theta_star: Vec::new(),
            task_grad: Vec::new(),
            records: Vec::new(),
        }
    }

    pub fn config(&self) -> SiConfig {
        self.config
    }

    /// One record per task begun so far.
    pub fn records(&self) -> &[SiTaskRecord] {
        &self.records
    }

    /// Ω (empty before the first task).
    pub fn big_omega(&self) -> &[f32] {
        &self.big_omega
    }

    /// The current anchor θ* (θ*_{t−1} during task t, θ*_t after it).
    pub fn theta_star(&self) -> &[f32] {
        &self.theta_star
    }

    /// The penalty's value `c Σ_i Ω_i (θ_i − θ*_i)²` over `trainable`, in f64.
    pub fn penalty_value(&self, theta: &[f32], trainable: &[Range<usize>]) -> f64 {
        if self.big_omega.is_empty() {
            return 0.0;
        }
        self.penalty
            .value(theta, &self.big_omega, &self.theta_star, trainable)
    }
}

/// ω_i += −g_i δ_i per step; Ω_i += ω_i / (Δ_i² + ξ) per task; L = L_t + c Σ_i Ω_i (θ_i − θ*_i)²
/// (c = 1.0, ξ = 0.1; g the task-loss gradient alone).
impl Method for Si {
    fn begin_task(&mut self, task: &TaskInfo, params: &ParamStore) {
        if self.theta_star.is_empty() {
            // θ*_0: θ at the start of task 1.
            self.theta_star = params.flat().to_vec();
            self.big_omega = vec![0.0; params.len()];
            self.omega = vec![0.0; params.len()];
        }
        let max_s = (task.task > 0).then(|| self.penalty.max_s(&self.big_omega, task.trainable));
        self.records.push(SiTaskRecord {
            task: task.task,
            max_s,
            negative_big_omega: None,
        });
    }

    fn adjust_grads(
        &mut self,
        task: &TaskInfo,
        params: &ParamStore,
        grads: &mut [f32],
    ) -> Result<()> {
        if task.task > 0 {
            let (omega, star) = (&self.big_omega, &self.theta_star);
            (self.penalty).record(
                task.trace,
                "2c Ω",
                params.flat(),
                omega,
                star,
                task.trainable,
            );
        }
        if self.config.penalty_step == PenaltyStep::Explicit {
            // ω takes g = ∇L_t, before the penalty's 2c Ω (θ − θ*) joins it.
            self.task_grad.clear();
            self.task_grad.extend_from_slice(grads);
            self.penalty.adjust_grads(
                params.flat(),
                &self.big_omega,
                &self.theta_star,
                grads,
                task.trainable,
            );
        }
        Ok(())
    }

    fn after_step(&mut self, task: &TaskInfo, before: &[f32], theta: &mut [f32], grads: &[f32]) {
        // The proximal correction first, so that δ is the whole step.
        self.penalty
            .after_step(theta, &self.big_omega, &self.theta_star, task.trainable);
        let g = match self.config.penalty_step {
            PenaltyStep::Explicit => &self.task_grad[..],
            PenaltyStep::Proximal => grads,
        };
        for r in task.trainable {
            for (((omega, &g), &after), &before) in self.omega[r.clone()]
                .iter_mut()
                .zip(&g[r.clone()])
                .zip(&theta[r.clone()])
                .zip(&before[r.clone()])
            {
                let delta = after - before;
                *omega += -g * delta;
            }
        }
        let note = "θ' − θ: the real, masked step (proximal correction included)";
        task.trace.record("δ", note, || {
            let d: Vec<f32> = theta.iter().zip(before).map(|(a, b)| a - b).collect();
            Value::params(&d, task.trainable)
        });
        let note = "ω += −g δ, g = ∇L_t (the task loss only, before any penalty)";
        (task.trace).record("ω", note, || Value::params(&self.omega, task.trainable));
    }

    fn end_task(&mut self, task: &TaskInfo, _: &TaskData, params: &ParamStore) -> Result<()> {
        self.finish_task(task, params);
        Ok(())
    }

    fn report(&self) -> serde_json::Value {
        serde_json::json!({ "si": self.config, "tasks": self.records })
    }

    fn warnings(&self) -> Vec<String> {
        let s = self.records.iter().map(|r| r.max_s.unwrap_or(0.0));
        super::penalty::step_warnings("eta*2c*Omega", self.config.penalty_step, s)
    }

    fn wants_step_delta(&self) -> bool {
        true
    }
}

impl Si {
    /// The end of task t: Ω += ω / (Δ² + ξ), ω = 0, θ* = θ*_t (what [`Method::end_task`] does).
    pub fn finish_task(&mut self, task: &TaskInfo, params: &ParamStore) {
        let theta = params.flat();
        let xi = self.config.xi;
        let note = "θ*_t − θ*_{t−1} (θ*_0: the start of task 1)";
        task.trace.record("Δ", note, || {
            let d: Vec<f32> = (theta.iter().zip(&self.theta_star))
                .map(|(a, b)| a - b)
                .collect();
            Value::params(&d, task.trainable)
        });
        let note = "ω summed over this task's steps";
        (task.trace).record("ω", note, || Value::params(&self.omega, task.trainable));
        for r in task.trainable {
            for (((big_omega, &omega), &theta_t), &theta_prev) in self.big_omega[r.clone()]
                .iter_mut()
                .zip(&self.omega[r.clone()])
                .zip(&theta[r.clone()])
                .zip(&self.theta_star[r.clone()])
            {
                let delta = theta_t - theta_prev; // Δ = θ*_t − θ*_{t−1}
                *big_omega += omega / (delta * delta + xi);
            }
        }
        let note = format!("Ω + ω / (Δ² + ξ), ξ = {xi}; then ω = 0 and the anchor θ* becomes θ*_t");
        (task.trace).record("Ω", &note, || {
            Value::params(&self.big_omega, task.trainable)
        });
        self.omega.fill(0.0);
        self.theta_star.copy_from_slice(theta); // the anchor becomes θ*_t
        let negative = self.big_omega.iter().filter(|&&o| o < 0.0).count();
        let note = "entries of Ω below 0 (Ω is not clamped)";
        (task.trace).record("#(Ω < 0)", note, || Value::Scalar(negative as f64));
        if let Some(rec) = self.records.iter_mut().rev().find(|r| r.task == task.task) {
            rec.negative_big_omega = Some(negative);
        }
    }
}

#[cfg(test)]
mod tests;
