//! `TaskSource`: what the training loop needs of a task stream, so that the loop does not depend
//! on how data is stored (real datasets, or tiny synthetic ones in tests).

/// Which part of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Train,
    Test,
}

/// A sequence of tasks of k classes each, out of C classes in all. Labels are local: label j of
/// task t is its class `task_classes(t)[j]`.
pub trait TaskSource: Sync {
    fn n_tasks(&self) -> usize;
    /// C: the classes of the whole dataset (the width of the `global` head).
    fn n_classes(&self) -> usize;
    /// The class ids (`0..C`) of task `task`, in the order of their local labels.
    fn task_classes(&self, task: usize) -> Vec<u16>;
    /// `(channels, height, width)` of an image.
    fn image_chw(&self) -> (usize, usize, usize);
    /// Number of images of task `task`'s part `part`.
    fn len(&self, task: usize, part: Part) -> usize;
    /// Writes the normalised images at `positions` (`0..len`) into `x` (NCHW, `positions.len()`
    /// images) and their local labels into `y`.
    fn fill(&self, task: usize, part: Part, positions: &[usize], x: &mut [f32], y: &mut [u32]);
}
