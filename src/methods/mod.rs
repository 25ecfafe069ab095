//! Continual-learning methods: one trait with a hook per moment of the training loop, each a
//! default no-op, and one file per method. Every hook gets only the values it needs.

pub mod ewc;
pub mod fisher;
pub mod gem;
pub mod lwf;
mod naive;
pub mod penalty;
pub mod si;

pub use ewc::{Ewc, EwcConfig};
pub use gem::{Gem, GemConfig};
pub use lwf::{Lwf, LwfConfig};
pub use naive::Naive;
pub use si::{Si, SiConfig};

use crate::error::Result;
use crate::heads::{Heads, TaskHead};
use crate::nn::Cnn;
use crate::params::{Group, ParamStore};
use crate::tape::{NodeId, Tape};
use crate::trace::Trace;
use crate::train::Inputs;

/// A node of a step's tape and the gradient of an extra loss with respect to its value.
pub type Seed = (NodeId, Vec<f32>);
use std::ops::Range;

/// What a method sees of the task that is starting or ending.
pub struct TaskInfo<'a> {
    /// 0-based task index.
    pub task: usize,
    /// The trainable ranges of the flat parameter buffer during this task (the mask m): the
    /// regime's groups, and of G5 only this task's head layer.
    pub trainable: &'a [Range<usize>],
    /// Per parameter (indexed like [`ParamStore::ids`]), whether this task trains it: the same
    /// set as `trainable`, for a method's own tape.
    pub trainable_params: &'a [bool],
    /// The run's head layout: every task's head (`heads.of(j)`), for methods that look back.
    pub heads: &'a Heads,
    /// Where a method records its intermediates by their PROTOCOL names (on for `explain`).
    pub trace: &'a Trace,
}

impl TaskInfo<'_> {
    /// "The task's head" of PROTOCOL section 3: its head layer and its k outputs in it.
    pub fn head(&self) -> TaskHead<'_> {
        self.heads.of(self.task)
    }
}

/// What a method may use when a task ends, besides θ: the network and the inputs the task trained
/// on (EWC's Fisher, GEM's memory).
pub struct TaskData<'a> {
    pub net: &'a Cnn,
    /// The task's training inputs: its cached frozen-prefix features when the regime has a frozen
    /// prefix, else its images.
    pub train: &'a Inputs<'a>,
    /// Per parameter (indexed like [`ParamStore::ids`]): trained in this task and, by the regime,
    /// in later ones too; what an importance (a Fisher) is worth computing for.
    pub kept_trainable: &'a [bool],
    /// The lowest group the regime trains in later tasks: below it the network is a frozen
    /// prefix from then on (GEM keeps its memories' features at this group's input).
    pub later_from: Group,
    /// The SGD steps the task took.
    pub steps: usize,
}

/// One training step's graph, for a method's extra loss: the tape holding the forward pass, the
/// input node (the input of group `from`: cached features with the frozen-prefix cache, else the
/// images), the features entering G5 and the task's head logits `[B, width]`. A method may add
/// nodes (e.g. another head on `features`); their parameters are the step's `params`.
pub struct Step<'a> {
    pub tape: &'a mut Tape,
    pub params: &'a ParamStore,
    pub net: &'a Cnn,
    pub from: Group,
    pub input: NodeId,
    pub features: NodeId,
    pub logits: NodeId,
}

/// A continual-learning method of PROTOCOL section 5, plugged into [`crate::train`]'s loop.
///
/// Order per task: `begin_task`; per step `extra_loss` (an extra loss on the step's graph, back-propagated
/// with the task loss in one pass: LwF), `adjust_grads` (after the backward, before the SGD step:
/// add a penalty's gradient, project as GEM does) and `after_step` (a proximal correction of θ, SI's
/// path integral); `end_task` (Fisher, anchors, memories).
pub trait Method: Send {
    fn begin_task(&mut self, _task: &TaskInfo, _params: &ParamStore) {}

    /// An extra loss on this step's graph: its value and its gradient with respect to nodes of
    /// the tape (seeds), back-propagated with the task loss in one pass (LwF's distillation).
    fn extra_loss(&mut self, _task: &TaskInfo, _step: &mut Step) -> Option<(f32, Vec<Seed>)> {
        None
    }

    /// Turns the task-loss gradient `grads` (zero outside the trainable ranges) into g̃.
    fn adjust_grads(
        &mut self,
        _task: &TaskInfo,
        _params: &ParamStore,
        _grads: &mut [f32],
    ) -> Result<()> {
        Ok(())
    }

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

    /// At the end of a task, with θ*_t in `params`.
    fn end_task(&mut self, _task: &TaskInfo, _data: &TaskData, _params: &ParamStore) -> Result<()> {
        Ok(())
    }

    /// What the method records in the run's result (its constants and per-task values).
    fn report(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Warnings for the terminal and the result (e.g. a penalty step factor above 2).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }

    /// Whether `after_step` needs θ before each step (saves a copy per step when not).
    fn wants_step_delta(&self) -> bool {
        false
    }
}
