//! A tiny synthetic task stream for loop tests: class-dependent stripes plus seeded noise.

#![allow(dead_code)] // each test file uses a part of it

use rand::Rng;
use regimebench::heads::{HeadLayout, Heads};
use regimebench::nn::{Cnn, Preset};
use regimebench::optim::SgdConfig;
use regimebench::params::ParamStore;
use regimebench::train::{Part, TaskSource, TrainConfig};
use std::path::PathBuf;

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
    fn n_classes(&self) -> usize {
        self.tasks * self.k
    }
    fn task_classes(&self, task: usize) -> Vec<u16> {
        (task * self.k..(task + 1) * self.k)
            .map(|c| c as u16)
            .collect()
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

/// The heads of `layout` on `src`.
pub fn heads(layout: HeadLayout, src: &dyn TaskSource) -> Heads {
    let classes: Vec<Vec<u16>> = (0..src.n_tasks()).map(|t| src.task_classes(t)).collect();
    Heads::new(layout, src.n_classes(), &classes).unwrap()
}

/// A `preset` network for `layout` on `src`, initialised with `seed`, in a new store.
pub fn network(
    preset: Preset,
    layout: HeadLayout,
    src: &dyn TaskSource,
    seed: u64,
) -> (Cnn, ParamStore) {
    let mut p = ParamStore::new();
    let width = preset.has_width().then_some(RESNET_WIDTH);
    let net = Cnn::for_input(preset, width, src.image_chw(), &heads(layout, src), &mut p);
    net.init(&mut p, seed);
    (net, p)
}

/// The base width of the resnet18 networks of the loop tests.
pub const RESNET_WIDTH: usize = 4;

/// [`config`] for resnet18 of [`RESNET_WIDTH`].
pub fn config_resnet(regime: &str, head: HeadLayout, cache: bool) -> TrainConfig {
    TrainConfig {
        preset: Preset::Resnet18,
        width: Some(RESNET_WIDTH),
        ..config(regime, head, cache)
    }
}

/// The loop's config for the stripe tests: `small`, batch 16, one epoch, plain SGD (η 0.05).
pub fn config(regime: &str, head: HeadLayout, cache: bool) -> TrainConfig {
    TrainConfig {
        preset: Preset::Small,
        width: None,
        head,
        regime: regime.parse().unwrap(),
        regime_from_first_task: false,
        sgd: SgdConfig {
            lr: 0.05,
            momentum: 0.0,
            weight_decay: 0.0,
        },
        batch: 16,
        epochs: 1,
        seed: 0,
        cache_prefix: cache,
    }
}

/// `../shared/data` beside the checkout, or None (a note) where it is absent; CI must have it.
pub fn shared_data() -> Option<PathBuf> {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data"));
    if root.join("mnist").is_dir() {
        return Some(root);
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI must have ../shared/data beside the checkout"
    );
    eprintln!("note: {} is absent; skipping", root.display());
    None
}

/// Asserts max |ours − want| <= `tol` · max |want| (and that `want` is not all zero).
pub fn assert_close_rel(what: &str, ours: &[f32], want: &[f64], tol: f64) {
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: all zero");
    let worst = ours
        .iter()
        .zip(want)
        .map(|(a, b)| (f64::from(*a) - b).abs())
        .fold(0.0, f64::max);
    assert!(
        worst / scale <= tol,
        "{what}: off by {:.2e} of {scale:.3e}",
        worst / scale
    );
}
