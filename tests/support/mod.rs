//! A tiny synthetic task stream for loop tests: class-dependent stripes plus seeded noise.

use rand::Rng;
use regimebench::train::{Part, TaskSource};

pub struct Stripes {
    pub tasks: usize,
    pub k: usize,
    pub chw: (usize, usize, usize),
    pub train: usize,
    pub test: usize,
}

impl Stripes {
    pub fn small(tasks: usize) -> Self {
        Stripes {
            tasks,
            k: 2,
            chw: (1, 28, 28),
            train: 96,
            test: 40,
        }
    }
}

impl TaskSource for Stripes {
    fn n_tasks(&self) -> usize {
        self.tasks
    }
    fn classes_per_task(&self) -> usize {
        self.k
    }
    fn image_chw(&self) -> (usize, usize, usize) {
        self.chw
    }
    fn len(&self, _task: usize, part: Part) -> usize {
        match part {
            Part::Train => self.train,
            Part::Test => self.test,
        }
    }
    fn fill(&self, task: usize, part: Part, positions: &[usize], x: &mut [f32], y: &mut [u32]) {
        let (c, h, w) = self.chw;
        let d = c * h * w;
        for (n, &i) in positions.iter().enumerate() {
            let label = (i % self.k) as u32;
            let class = task * self.k + label as usize;
            let mut rng =
                regimebench::rng::stream("stripes", &[task as u64, part as u64, i as u64]);
            for (q, v) in x[n * d..(n + 1) * d].iter_mut().enumerate() {
                let stripe = ((q % w) + class * 3) % 7 < 2;
                *v = f32::from(stripe) * 1.5 - 0.4 + rng.gen::<f32>() * 0.6;
            }
            y[n] = label;
        }
    }
}
