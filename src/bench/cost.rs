//! What a method costs beyond naive fine-tuning: [`Timed`], a decorator that forwards every hook
//! of [`Method`] to the method it wraps and adds up the wall time of each hook, and the arithmetic
//! of the cost targets (issue 17): the Fisher's (k + 1) epochs, GEM's memory images and its
//! arithmetic share, medians over rounds.
//!
//! The decorator changes nothing a method computes (a test trains every method with and without
//! it and compares θ bit for bit); it only reads the clock around each call.

use crate::error::Result;
use crate::methods::fisher::{FisherClasses, FisherConfig, FisherKind};
use crate::methods::{Method, Seed, Step, TaskData, TaskInfo};
use crate::params::ParamStore;
use std::cell::RefCell;
use std::time::Instant;

/// The hooks of [`Method`], in the order the training loop calls them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    BeginTask,
    ExtraLoss,
    AdjustGrads,
    AfterStep,
    EndTask,
    Report,
    Warnings,
    WantsStepDelta,
}

/// One value per hook (seconds, or calls), named like the hooks in JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PerHook<T> {
    pub begin_task: T,
    pub extra_loss: T,
    pub adjust_grads: T,
    pub after_step: T,
    pub end_task: T,
    pub report: T,
    pub warnings: T,
    pub wants_step_delta: T,
}

impl<T> PerHook<T> {
    pub fn get(&self, hook: Hook) -> &T {
        match hook {
            Hook::BeginTask => &self.begin_task,
            Hook::ExtraLoss => &self.extra_loss,
            Hook::AdjustGrads => &self.adjust_grads,
            Hook::AfterStep => &self.after_step,
            Hook::EndTask => &self.end_task,
            Hook::Report => &self.report,
            Hook::Warnings => &self.warnings,
            Hook::WantsStepDelta => &self.wants_step_delta,
        }
    }

    pub fn get_mut(&mut self, hook: Hook) -> &mut T {
        match hook {
            Hook::BeginTask => &mut self.begin_task,
            Hook::ExtraLoss => &mut self.extra_loss,
            Hook::AdjustGrads => &mut self.adjust_grads,
            Hook::AfterStep => &mut self.after_step,
            Hook::EndTask => &mut self.end_task,
            Hook::Report => &mut self.report,
            Hook::Warnings => &mut self.warnings,
            Hook::WantsStepDelta => &mut self.wants_step_delta,
        }
    }
}

/// What [`Timed`] measured: wall seconds and calls per hook over the run, and per task the
/// seconds of the hooks that are told the task (EWC's Fisher is `end_task` of a task, GEM's
/// memory passes are its `adjust_grads`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HookTimes {
    pub seconds: PerHook<f64>,
    pub calls: PerHook<u64>,
    /// Indexed by the 0-based task; `report`, `warnings` and `wants_step_delta` stay 0 here.
    pub task_seconds: Vec<PerHook<f64>>,
}

impl HookTimes {
    fn add(&mut self, hook: Hook, task: Option<usize>, started: Instant) {
        let s = started.elapsed().as_secs_f64();
        *self.seconds.get_mut(hook) += s;
        *self.calls.get_mut(hook) += 1;
        if let Some(t) = task {
            if self.task_seconds.len() <= t {
                self.task_seconds.resize(t + 1, PerHook::default());
            }
            *self.task_seconds[t].get_mut(hook) += s;
        }
    }

    /// Seconds of `hook` in task `t` (0 when the task never called it).
    pub fn in_task(&self, hook: Hook, t: usize) -> f64 {
        self.task_seconds.get(t).map_or(0.0, |h| *h.get(hook))
    }
}

/// A method that times its hooks: every call goes to `inner` unchanged, with an [`Instant`]
/// read before and after. The `&self` hooks (`report`, `warnings`, `wants_step_delta`) record
/// through a `RefCell`, so the times live in one place.
pub struct Timed<'a> {
    inner: &'a mut dyn Method,
    times: RefCell<HookTimes>,
}

impl<'a> Timed<'a> {
    pub fn new(inner: &'a mut dyn Method) -> Self {
        Timed {
            inner,
            times: RefCell::new(HookTimes::default()),
        }
    }

    /// What has been measured so far.
    pub fn times(&self) -> HookTimes {
        self.times.borrow().clone()
    }

    fn record(&self, hook: Hook, task: Option<usize>, started: Instant) {
        self.times.borrow_mut().add(hook, task, started);
    }
}

impl Method for Timed<'_> {
    fn begin_task(&mut self, task: &TaskInfo, params: &ParamStore) {
        let t0 = Instant::now();
        self.inner.begin_task(task, params);
        self.record(Hook::BeginTask, Some(task.task), t0);
    }

    fn extra_loss(&mut self, task: &TaskInfo, step: &mut Step) -> Option<(f32, Vec<Seed>)> {
        let t0 = Instant::now();
        let out = self.inner.extra_loss(task, step);
        self.record(Hook::ExtraLoss, Some(task.task), t0);
        out
    }

    fn adjust_grads(
        &mut self,
        task: &TaskInfo,
        params: &ParamStore,
        grads: &mut [f32],
    ) -> Result<()> {
        let t0 = Instant::now();
        let out = self.inner.adjust_grads(task, params, grads);
        self.record(Hook::AdjustGrads, Some(task.task), t0);
        out
    }

    fn after_step(&mut self, task: &TaskInfo, before: &[f32], theta: &mut [f32], grads: &[f32]) {
        let t0 = Instant::now();
        self.inner.after_step(task, before, theta, grads);
        self.record(Hook::AfterStep, Some(task.task), t0);
    }

    fn end_task(&mut self, task: &TaskInfo, data: &TaskData, params: &ParamStore) -> Result<()> {
        let t0 = Instant::now();
        let out = self.inner.end_task(task, data, params);
        self.record(Hook::EndTask, Some(task.task), t0);
        out
    }

    fn report(&self) -> serde_json::Value {
        let t0 = Instant::now();
        let out = self.inner.report();
        self.record(Hook::Report, None, t0);
        out
    }

    fn warnings(&self) -> Vec<String> {
        let t0 = Instant::now();
        let out = self.inner.warnings();
        self.record(Hook::Warnings, None, t0);
        out
    }

    fn wants_step_delta(&self) -> bool {
        let t0 = Instant::now();
        let out = self.inner.wants_step_delta();
        self.record(Hook::WantsStepDelta, None, t0);
        out
    }
}

/// Median, smallest and largest of a ratio over the rounds.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// Of `values` (NaN for none); the median of an even count is the mean of the middle two.
    pub fn of(values: &[f64]) -> Spread {
        if values.is_empty() {
            return Spread {
                median: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Spread {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }
}

/// The Fisher's cost target in epochs of the task (issue 17): one forward pass and `passes`
/// backward passes per sample, each at most what a training step spends per sample, so at most
/// `passes + 1` training epochs, times the share of the task's samples the Fisher uses. `passes`
/// is k (the softmax's outputs: the task's `k`, or the head's `width` under `--fisher-classes
/// all`) for the expected Fisher and 1 for the other kinds (`batch-mean`'s one backward per
/// minibatch is a training step's). `n` is the task's training images.
pub fn fisher_target(cfg: &FisherConfig, k: usize, width: usize, n: usize) -> f64 {
    let passes = match (cfg.kind, cfg.classes) {
        (FisherKind::Expected, FisherClasses::Task) => k,
        (FisherKind::Expected, FisherClasses::All) => width,
        _ => 1,
    };
    let share = match cfg.samples {
        0 => 1.0,
        s => s.min(n) as f64 / n.max(1) as f64,
    };
    (passes + 1) as f64 * share
}

/// GEM's memory images per step in each task: task t (0-based) runs one pass over every finished
/// task's memory on each step, and the memory of task j holds `min(memory, n_j)` samples, what
/// `Gem::end_task` draws from the task's `n_j` training inputs (uniformly, without replacement).
/// So entry t is Σ_{j<t} min(memory, n_j); task 1 has no memory (0).
pub fn gem_memory_per_step(memory: usize, train_sizes: &[usize]) -> Vec<usize> {
    let mut kept = 0;
    train_sizes
        .iter()
        .map(|&n| {
            let now = kept;
            kept += memory.min(n);
            now
        })
        .collect()
}

/// GEM's arithmetic share of one run, as a multiple of naive's seconds: naive's seconds plus the
/// memory images at naive's per-image cost of a training step of the same task, over naive's
/// seconds. With the same memory on every step this is 1 + (memory images per step / batch)
/// applied to the steps' share of the time; naive's time outside the steps (building the
/// frozen-prefix cache) is not multiplied. Per task: `naive_step_seconds[t]` the steps' seconds,
/// `images[t]` the images they trained on (all epochs), `memory_images[t]` the memory images GEM
/// passes in that task (steps × memory per step); `naive_seconds` naive's whole training time.
pub fn gem_share(
    naive_seconds: f64,
    naive_step_seconds: &[f64],
    images: &[usize],
    memory_images: &[usize],
) -> f64 {
    let extra: f64 = (naive_step_seconds.iter().zip(images).zip(memory_images))
        .map(|((&s, &n), &m)| s / n.max(1) as f64 * m as f64)
        .sum();
    1.0 + extra / naive_seconds
}

/// Images per second: `images` over `seconds` (NaN when nothing was timed).
pub fn rate(images: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        images as f64 / seconds
    } else {
        f64::NAN
    }
}
