//! The tasks `explain` trains on: three tasks of two classes, eight 8×8 training images (two
//! steps of four) and two test images per task, each a bright bar of its class (rows for even classes, columns for odd
//! ones) on seeded noise. Small enough to print; structured enough that the tasks' gradients meet.

use crate::train::{Part, TaskSource};
use rand::Rng;

/// Tasks, classes per task, and images per task.
pub const TASKS: usize = 3;
const K: usize = 2;
pub const TRAIN: usize = 8;
/// Images per step: two steps per task.
pub const BATCH: usize = 4;
const TEST: usize = 2;
const SIDE: usize = 8;

/// The toy task stream.
pub struct Toy;

impl TaskSource for Toy {
    fn n_tasks(&self) -> usize {
        TASKS
    }
    fn n_classes(&self) -> usize {
        TASKS * K
    }
    fn task_classes(&self, task: usize) -> Vec<u16> {
        (task * K..(task + 1) * K).map(|c| c as u16).collect()
    }
    fn image_chw(&self) -> (usize, usize, usize) {
        (1, SIDE, SIDE)
    }
    fn len(&self, _task: usize, part: Part) -> usize {
        match part {
            Part::Train => TRAIN,
            Part::Test => TEST,
        }
    }
    fn fill(&self, task: usize, part: Part, positions: &[usize], x: &mut [f32], y: &mut [u32]) {
        let d = SIDE * SIDE;
        for (n, &i) in positions.iter().enumerate() {
            let label = i % K;
            let class = task * K + label;
            // Class c lights row or column 1 + c (8 pixels), over noise in [-0.5, 0.5).
            let bar = 1 + class;
            let mut rng = crate::rng::stream("explain-toy", &[task as u64, part as u64, i as u64]);
            for (q, v) in x[n * d..(n + 1) * d].iter_mut().enumerate() {
                let (r, c) = (q / SIDE, q % SIDE);
                let lit = if class.is_multiple_of(2) {
                    r == bar
                } else {
                    c == bar
                };
                *v = f32::from(lit) * 2.0 + rng.gen::<f32>() - 0.5;
            }
            y[n] = label as u32;
        }
    }
}
