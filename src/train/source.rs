//! `TaskSource`: what the training loop needs of a task stream, so that the loop does not depend
//! on how data is stored (real datasets, or tiny synthetic ones in tests).

/// Which part of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Train,
    Test,
}

/// A sequence of tasks with `classes_per_task` classes each, labels relabelled `0..k`.
pub trait TaskSource: Sync {
    fn n_tasks(&self) -> usize;
    fn classes_per_task(&self) -> usize;
    /// `(channels, height, width)` of an image.
    fn image_chw(&self) -> (usize, usize, usize);
    /// Number of images of task `task`'s part `part`.
    fn len(&self, task: usize, part: Part) -> usize;
    /// Writes the normalised images at `positions` (`0..len`) into `x` (NCHW, `positions.len()`
    /// images) and their labels into `y`.
    fn fill(&self, task: usize, part: Part, positions: &[usize], x: &mut [f32], y: &mut [u32]);
}
