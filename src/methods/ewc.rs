//! Online EWC (Schwarz et al. 2018), PROTOCOL section 5:
//!
//! ```text
//!     L = L_t + (λ/2) Σ_i F~_i (θ_i − θ*_i)²,    λ = 5000
//!     after task t:  F~ ← γ F~ + F_t  (γ = 1.0),   θ* ← θ*_t
//! ```
//!
//! F_t is the diagonal Fisher of [`super::fisher`] at θ*_t over the task's training samples
//! (expected by default), computed only for the parameters the regime trains in later tasks. The
//! penalty is stepped by [`QuadraticPenalty`] with w = λ F~: proximally by default, or explicitly
//! (`--penalty-step explicit`, divergent where η λ F~_i > 2); every task from the second records
//! max_i η λ F~_i.

use super::fisher::{diagonal_fisher, FisherConfig};
use super::penalty::{PenaltyStep, QuadraticPenalty};
use super::{Method, TaskData, TaskInfo};
use crate::error::Result;
use crate::params::ParamStore;
use crate::trace::Value;

/// Online EWC's constants (PROTOCOL section 5).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EwcConfig {
    /// λ.
    pub lambda: f32,
    /// γ: the decay of the running Fisher.
    pub gamma: f32,
    pub fisher: FisherConfig,
    pub penalty_step: PenaltyStep,
}

impl Default for EwcConfig {
    fn default() -> Self {
        EwcConfig {
            lambda: 5000.0,
            gamma: 1.0,
            fisher: FisherConfig::default(),
            penalty_step: PenaltyStep::Proximal,
        }
    }
}

impl EwcConfig {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(self.lambda.is_finite() && self.lambda >= 0.0) {
            return Err(format!(
                "ewc lambda must be a number >= 0, got {}",
                self.lambda
            ));
        }
        if !(self.gamma.is_finite() && (0.0..=1.0).contains(&self.gamma)) {
            return Err(format!("ewc gamma must be in [0, 1], got {}", self.gamma));
        }
        if self.fisher.batch == 0 {
            return Err("fisher batch must be at least 1".into());
        }
        Ok(())
    }
}

/// What one task's end left, for the result.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EwcTaskRecord {
    /// max_i η λ F~_i over the entries this task trained with the penalty (0 in task 1).
    pub max_step_factor: f32,
    /// Largest and mean F_t entry over the parameters that got one.
    pub fisher_max: f32,
    pub fisher_mean: f64,
    /// Samples the Fisher was computed from.
    pub fisher_samples: usize,
}

/// Online EWC's state: the running Fisher F~ and the anchor θ*.
pub struct Ewc {
    config: EwcConfig,
    penalty: QuadraticPenalty,
    /// The run's seed (the sampled Fisher's labels and subsets draw from `[seed, task]`).
    seed: u64,
    /// F~, laid out like the parameters (zero where no Fisher was ever computed).
    fisher_tilde: Vec<f32>,
    /// θ*, the anchor; empty before the first task ends.
    theta_star: Vec<f32>,
    records: Vec<EwcTaskRecord>,
    /// max η λ F~ of the current task, set at its start.
    max_step_factor: f32,
}

impl Ewc {
    /// `eta` is the SGD learning rate (the proximal step's s = η λ F~).
    pub fn new(config: EwcConfig, eta: f32, seed: u64) -> Self {
        Ewc {
            config,
            penalty: QuadraticPenalty::new(config.penalty_step, eta, config.lambda),
            seed,
            fisher_tilde: Vec::new(),
            theta_star: Vec::new(),
            records: Vec::new(),
            max_step_factor: 0.0,
        }
    }

    pub fn records(&self) -> &[EwcTaskRecord] {
        &self.records
    }

    pub fn fisher_tilde(&self) -> &[f32] {
        &self.fisher_tilde
    }

    fn anchored(&self) -> bool {
        !self.theta_star.is_empty()
    }
}

impl Method for Ewc {
    fn begin_task(&mut self, task: &TaskInfo, _: &ParamStore) {
        self.max_step_factor = if self.anchored() {
            self.penalty.max_s(&self.fisher_tilde, task.trainable)
        } else {
            0.0
        };
    }

    fn adjust_grads(&mut self, task: &TaskInfo, p: &ParamStore, grads: &mut [f32]) -> Result<()> {
        if self.anchored() {
            let (f, star) = (&self.fisher_tilde, &self.theta_star);
            (self.penalty).record(task.trace, "λ F~", p.flat(), f, star, task.trainable);
            self.penalty
                .adjust_grads(p.flat(), f, star, grads, task.trainable);
        }
        Ok(())
    }

    fn after_step(&mut self, task: &TaskInfo, _: &[f32], theta: &mut [f32], _: &[f32]) {
        if self.anchored() {
            let (f, star) = (&self.fisher_tilde, &self.theta_star);
            self.penalty.after_step(theta, f, star, task.trainable);
        }
    }

    fn end_task(&mut self, task: &TaskInfo, data: &TaskData, p: &ParamStore) -> Result<()> {
        let (flags, train) = (data.kept_trainable, data.train);
        let seed = [self.seed, task.task as u64];
        let f_t = diagonal_fisher(
            &self.config.fisher,
            data.net,
            p,
            flags,
            train,
            task.head(),
            &seed,
        );
        if self.fisher_tilde.is_empty() {
            self.fisher_tilde = vec![0.0; p.len()];
        }
        let gamma = self.config.gamma;
        for (ft, &f) in self.fisher_tilde.iter_mut().zip(&f_t) {
            *ft = gamma * *ft + f;
        }
        let kept = p.ranges_of(flags);
        let note = format!(
            "the diagonal Fisher of this task at θ*_t ({:?}, classes: {:?}), for what later tasks train",
            self.config.fisher.kind, self.config.fisher.classes
        );
        task.trace
            .record("F_t", &note, || Value::params(&f_t, &kept));
        let note = format!("γ F~ + F_t, γ = {gamma}; the anchor θ* becomes θ*_t");
        task.trace
            .record("F~", &note, || Value::params(&self.fisher_tilde, &kept));
        self.theta_star = p.flat().to_vec();
        let got: Vec<f32> = p
            .ranges_of(flags)
            .into_iter()
            .flatten()
            .map(|i| f_t[i])
            .collect();
        self.records.push(EwcTaskRecord {
            max_step_factor: self.max_step_factor,
            fisher_max: got.iter().copied().fold(0.0, f32::max),
            fisher_mean: got.iter().map(|&v| f64::from(v)).sum::<f64>() / got.len().max(1) as f64,
            fisher_samples: match self.config.fisher.samples {
                0 => train.len(),
                n => n.min(train.len()),
            },
        });
        Ok(())
    }

    fn report(&self) -> serde_json::Value {
        serde_json::json!({ "ewc": self.config, "tasks": self.records })
    }

    fn warnings(&self) -> Vec<String> {
        let s = self.records.iter().map(|r| r.max_step_factor);
        super::penalty::step_warnings("eta*lambda*F~", self.config.penalty_step, s)
    }
}
