//! Test accuracy of the current parameters on one task, from the images or from their cached
//! frozen-prefix features.

use super::cache::PrefixCache;
use super::source::{Part, TaskSource};
use crate::nn::Cnn;
use crate::params::{Group, ParamStore};
use crate::tape::Tape;
use crate::tensor::Tensor;

/// Images per forward pass during evaluation.
const EVAL_BATCH: usize = 256;

/// The most floats of cached test features per task (64 MiB); above it a task is evaluated from
/// its images each time.
const MAX_FEATURES_PER_TASK: usize = 1 << 24;

/// Fraction of task `task`'s test images whose arg-max logit of head `head` is the label
/// (ties go to the lowest class index).
pub fn accuracy(net: &Cnn, p: &ParamStore, src: &dyn TaskSource, task: usize, head: usize) -> f64 {
    let n = src.len(task, Part::Test);
    let (c, h, w) = src.image_chw();
    let positions: Vec<usize> = (0..n).collect();
    let batches = positions.chunks(EVAL_BATCH).map(|chunk| {
        let mut x = vec![0.0; chunk.len() * c * h * w];
        let mut y = vec![0; chunk.len()];
        src.fill(task, Part::Test, chunk, &mut x, &mut y);
        (Tensor::new(&[chunk.len(), c, h, w], x), y)
    });
    fraction_correct(net, p, Group::G1, head, n, batches)
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

    /// [`accuracy`] of task `task` under head `head`.
    pub fn accuracy(
        &mut self,
        net: &Cnn,
        p: &ParamStore,
        src: &dyn TaskSource,
        task: usize,
        head: usize,
    ) -> f64 {
        let n = src.len(task, Part::Test);
        let floats = n.saturating_mul(net.preset.group_input_len(self.from));
        if self.from == Group::G1 || floats > MAX_FEATURES_PER_TASK {
            return accuracy(net, p, src, task, head);
        }
        let prefix: Vec<f32> = Group::ALL[..self.from.index()]
            .iter()
            .flat_map(|&g| p.group_ranges(g))
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
        let positions: Vec<usize> = (0..n).collect();
        let batches = positions
            .chunks(EVAL_BATCH)
            .map(|chunk| cache.gather(chunk));
        fraction_correct(net, p, from, head, n, batches)
    }
}

/// The fraction of `n` images, given as batches of group `from`'s input and labels, whose arg-max
/// logit of head `head` is the label.
fn fraction_correct(
    net: &Cnn,
    p: &ParamStore,
    from: Group,
    head: usize,
    n: usize,
    batches: impl Iterator<Item = (Tensor, Vec<u32>)>,
) -> f64 {
    let mut tape = Tape::new(p, &[]);
    let mut correct = 0usize;
    for (x, y) in batches {
        tape.clear();
        let xi = tape.input(x);
        let z = net.forward_from(&mut tape, p, from, xi, head);
        let k = net.k;
        for (row, &label) in tape.value(z).chunks_exact(k).zip(&y) {
            let best = (1..k).fold(0, |b, j| if row[j] > row[b] { j } else { b });
            correct += usize::from(best == label as usize);
        }
    }
    if n == 0 {
        0.0
    } else {
        correct as f64 / n as f64
    }
}
