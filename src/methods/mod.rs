//! Continual-learning methods: one trait with a hook per moment of the training loop, each a
//! default no-op, and one file per method. Every hook gets only the values it needs.

pub mod fisher;
pub mod gem;
mod naive;
pub mod penalty;
pub mod si;

pub use naive::Naive;

use crate::heads::{Heads, TaskHead};
use crate::params::{Group, ParamStore};
use std::ops::Range;

/// What a method sees of the task that is starting or ending.
pub struct TaskInfo<'a> {
    /// 0-based task index.
    pub task: usize,
    /// The trainable ranges of the flat parameter buffer during this task (the mask m): the
    /// regime's groups, and of G5 only this task's head layer.
    pub trainable: &'a [Range<usize>],
    /// The run's head layout: every task's head (`heads.of(j)`), for methods that look back.
    pub heads: &'a Heads,
}

impl TaskInfo<'_> {
    /// "The task's head" of PROTOCOL section 3: its head layer and its k outputs in it.
    pub fn head(&self) -> TaskHead<'_> {
        self.heads.of(self.task)
    }
}

/// The input of one training step, as the network saw it: with the frozen-prefix cache, `x` is the
/// input of group `from` (cached features), otherwise the images (`from` = G1).
pub struct StepInput<'a> {
    pub from: Group,
    pub x: &'a [f32],
    pub shape: &'a [usize],
}

/// A continual-learning method of PROTOCOL section 5, plugged into [`crate::train`]'s loop.
///
/// Order per task: `begin_task`; per step `logits_loss` (an extra loss on the logits, back-propagated
/// with the task loss in one pass: LwF), `adjust_grads` (after the backward, before the SGD step:
/// add a penalty's gradient, project as GEM does) and `after_step` (a proximal correction of θ, SI's
/// path integral); `end_task` (Fisher, anchors, memories).
pub trait Method: Send {
    fn begin_task(&mut self, _task: &TaskInfo, _params: &ParamStore) {}

    /// An extra loss on this step's logits `[B, width]` (the task's head layer): its value and its
    /// gradient with respect to those logits.
    fn logits_loss(
        &mut self,
        _task: &TaskInfo,
        _input: &StepInput,
        _logits: &[f32],
    ) -> Option<(f32, Vec<f32>)> {
        None
    }

    /// Turns the task-loss gradient `grads` (zero outside the trainable ranges) into g̃.
    fn adjust_grads(&mut self, _task: &TaskInfo, _params: &ParamStore, _grads: &mut [f32]) {}

    /// After the SGD step: `before` is θ before it (empty unless [`Method::wants_step_delta`]),
    /// `theta` after it, which the method may correct (the implicit penalty step of PROTOCOL
    /// section 4 is `θ ← (θ + s θ*) / (1 + s)` applied here), `grads` the step's g̃.
    fn after_step(
        &mut self,
        _task: &TaskInfo,
        _before: &[f32],
        _theta: &mut [f32],
        _grads: &[f32],
    ) {
    }

    fn end_task(&mut self, _task: &TaskInfo, _params: &ParamStore) {}

    /// Whether `after_step` needs θ before each step (saves a copy per step when not).
    fn wants_step_delta(&self) -> bool {
        false
    }
}
