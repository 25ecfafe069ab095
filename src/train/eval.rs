//! Test accuracy of the current parameters on one task, from the images or from their cached
//! frozen-prefix features: arg-max over the task's own k outputs (PROTOCOL section 3).

use super::batch::Inputs;
use super::cache::PrefixCache;
use super::source::{Part, TaskSource};
use crate::heads::TaskHead;
use crate::nn::Cnn;
use crate::params::{Group, ParamStore};
use crate::tape::Tape;

/// Images per forward pass during evaluation.
const EVAL_BATCH: usize = 256;

/// The most floats of cached test features per task (64 MiB); above it a task is evaluated from
/// its images each time.
pub const MAX_FEATURES_PER_TASK: usize = 1 << 24;

/// Fraction of task `task`'s test images whose prediction under `head` (arg-max over the task's
/// outputs, ties to the lowest class) is their label.
pub fn accuracy(
    net: &Cnn,
    p: &ParamStore,
    src: &dyn TaskSource,
    task: usize,
    head: TaskHead,
) -> f64 {
    let images = Inputs::Images {
        src,
        task,
        part: Part::Test,
    };
    fraction_correct(net, p, images, head)
}

/// Test accuracies that keep each task's test features at the input of group `from`: once the
/// groups below `from` stop training (from the second task on, under a regime whose lowest
/// trainable group is `from`), every evaluation reuses them instead of running each test image
/// through those groups again. Bit-identical to [`accuracy`]: the features are recomputed
/// whenever the parameters below `from` are not bit-identical to those they were computed with.
pub struct TestFeatures {
    from: Group,
    /// The parameters below `from` that `tasks` were computed with.
    prefix: Vec<f32>,
    tasks: Vec<Option<PrefixCache>>,
}

impl TestFeatures {
    /// No features yet; `from == G1` caches nothing.
    pub fn new(from: Group, tasks: usize) -> Self {
        TestFeatures {
            from,
            prefix: Vec::new(),
            tasks: (0..tasks).map(|_| None).collect(),
        }
    }

    /// [`accuracy`] of task `task` under `head`.
    pub fn accuracy(
        &mut self,
        net: &Cnn,
        p: &ParamStore,
        src: &dyn TaskSource,
        task: usize,
        head: TaskHead,
    ) -> f64 {
        let n = src.len(task, Part::Test);
        let floats = n.saturating_mul(net.group_input_len(self.from));
        if self.from == Group::G1 || floats > MAX_FEATURES_PER_TASK {
            return accuracy(net, p, src, task, head);
        }
        let prefix: Vec<f32> = p
            .ranges(&Group::ALL[..self.from.index()])
            .into_iter()
            .flat_map(|r| p.flat()[r].iter().copied())
            .collect();
        let same = |a: &[f32], b: &[f32]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
        };
        if !same(&prefix, &self.prefix) {
            self.prefix = prefix;
            self.tasks.iter_mut().for_each(|t| *t = None);
        }
        let from = self.from;
        let cache = self.tasks[task]
            .get_or_insert_with(|| PrefixCache::build(net, p, src, task, Part::Test, from));
        fraction_correct(net, p, Inputs::Cached(cache), head)
    }
}

/// The fraction of `inputs` whose prediction under `head` is their label.
fn fraction_correct(net: &Cnn, p: &ParamStore, inputs: Inputs, head: TaskHead) -> f64 {
    let n = inputs.len();
    let mut tape = Tape::new(p, &[]);
    let mut correct = 0usize;
    let positions: Vec<usize> = (0..n).collect();
    for chunk in positions.chunks(EVAL_BATCH) {
        tape.clear();
        let (x, y) = inputs.batch(chunk, tape.take_buffer(0));
        let xi = tape.input(x);
        let z = net.forward_from(&mut tape, p, inputs.from(), xi, head.layer);
        for (row, &label) in tape.value(z).chunks_exact(net.width).zip(&y) {
            correct += usize::from(head.predict(row) == label as usize);
        }
    }
    if n == 0 {
        0.0
    } else {
        correct as f64 / n as f64
    }
}
