//! Continual-learning methods: one trait with a hook per moment of the training loop, each a
//! default no-op, and one file per method. Every hook gets only the values it needs.

mod naive;

pub use naive::Naive;

use crate::params::ParamStore;
use std::ops::Range;

/// What a method sees of the task that is starting or ending.
pub struct TaskInfo<'a> {
    /// 0-based task index.
    pub task: usize,
    /// The trainable ranges of the flat parameter buffer during this task (the mask m).
    pub trainable: &'a [Range<usize>],
}

/// A continual-learning method of PROTOCOL section 5, plugged into [`crate::train`]'s loop.
///
/// Order per task: `begin_task`; per step `adjust_grads` (after the task loss's backward, before
/// the SGD step: add a penalty's gradient, project as GEM does) and `after_step` (SI's path
/// integral); `end_task` (Fisher, anchors, memories).
pub trait Method {
    /// The name recorded in results (`naive`, `ewc`, ...).
    fn name(&self) -> &'static str;

    fn begin_task(&mut self, _task: &TaskInfo, _params: &ParamStore) {}

    /// Turns the task-loss gradient `grads` (zero outside the trainable ranges) into g̃.
    fn adjust_grads(&mut self, _task: &TaskInfo, _params: &ParamStore, _grads: &mut [f32]) {}

    /// After the SGD step: `before` and `after` are θ around it, `grads` the task-loss gradient.
    fn after_step(&mut self, _task: &TaskInfo, _before: &[f32], _after: &[f32], _grads: &[f32]) {}

    fn end_task(&mut self, _task: &TaskInfo, _params: &ParamStore) {}

    /// Whether `after_step` needs θ before each step (saves a copy per step when not).
    fn wants_step_delta(&self) -> bool {
        false
    }
}
