//! A loaded dataset and one class order's tasks, seen by the training loop as a `TaskSource`.

use crate::data::{Dataset, Normalizer, TaskSplit};
use crate::train::{Part, TaskSource};

/// The tasks of `split`, reading images from `ds` and normalising them with its statistics.
pub struct DatasetTasks<'a> {
    ds: &'a Dataset,
    split: &'a TaskSplit,
    normalizer: Normalizer,
}

impl<'a> DatasetTasks<'a> {
    pub fn new(ds: &'a Dataset, split: &'a TaskSplit) -> Self {
        DatasetTasks {
            ds,
            split,
            normalizer: Normalizer::new(&ds.norm),
        }
    }
}

impl TaskSource for DatasetTasks<'_> {
    fn n_tasks(&self) -> usize {
        self.split.tasks.len()
    }
    fn n_classes(&self) -> usize {
        self.ds.id.classes()
    }
    fn task_classes(&self, task: usize) -> Vec<u16> {
        self.split.tasks[task].classes.clone()
    }
    fn image_chw(&self) -> (usize, usize, usize) {
        (
            self.ds.id.channels(),
            self.ds.id.height(),
            self.ds.id.width(),
        )
    }
    fn len(&self, task: usize, part: Part) -> usize {
        let t = &self.split.tasks[task];
        match part {
            Part::Train => t.train.len(),
            Part::Test => t.test.len(),
        }
    }
    fn fill(&self, task: usize, part: Part, positions: &[usize], x: &mut [f32], y: &mut [u32]) {
        let t = &self.split.tasks[task];
        match part {
            Part::Train => self
                .normalizer
                .fill(&self.ds.train, &t.train, positions, x, y),
            Part::Test => self
                .normalizer
                .fill(&self.ds.test, &t.test, positions, x, y),
        }
    }
}
