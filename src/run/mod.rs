//! One run of the study: a dataset, a class order, a regime and a method, trained task by task;
//! the result carries the full config, the accuracy matrix, every metric and the update norms.

mod result;
mod source;

pub use result::{GroupNorms, RunResult};
pub use source::DatasetTasks;

use crate::data::{self, DataOptions, Dataset, DatasetId};
use crate::methods::{Method, Naive};
use crate::nn::{Cnn, Preset};
use crate::optim::SgdConfig;
use crate::params::ParamStore;
use crate::regime::Regime;
use crate::train::{self, HeadLayout, TrainConfig};
use anyhow::Context;
use std::path::PathBuf;
use std::time::Instant;

/// The continual-learning methods that can be run.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum MethodKind {
    /// Naive fine-tuning: plain SGD on each task in turn.
    Naive,
}

impl MethodKind {
    pub fn build(self) -> Box<dyn Method> {
        match self {
            MethodKind::Naive => Box::new(Naive),
        }
    }
}

/// Everything that determines a run's result (and where its data came from).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RunConfig {
    pub dataset: DatasetId,
    pub method: MethodKind,
    pub order: u64,
    pub train: TrainConfig,
    pub train_per_task: Option<usize>,
    pub test_per_task: Option<usize>,
    pub train_from_test_split: bool,
    /// rayon threads (results are identical for any count).
    pub threads: usize,
    #[serde(skip)]
    pub data_dir: Option<PathBuf>,
}

impl RunConfig {
    /// The protocol's defaults for `dataset` (PROTOCOL section 4): batch 64, plain SGD with
    /// η = 0.05, 1 epoch per task (5 for CIFAR-100), seed 0, shared head, the `small` preset for the
    /// MNIST family and `cifar` for CIFAR-100.
    pub fn defaults(dataset: DatasetId, regime: Regime) -> Self {
        let cifar = dataset == DatasetId::Cifar100;
        RunConfig {
            dataset,
            method: MethodKind::Naive,
            order: 0,
            train: TrainConfig {
                preset: if cifar { Preset::Cifar } else { Preset::Small },
                head: HeadLayout::Shared,
                regime,
                regime_from_first_task: false,
                sgd: SgdConfig {
                    lr: 0.05,
                    momentum: 0.0,
                    weight_decay: 0.0,
                },
                batch: 64,
                epochs: if cifar { 5 } else { 1 },
                seed: 0,
                cache_prefix: true,
            },
            train_per_task: None,
            test_per_task: None,
            train_from_test_split: false,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            data_dir: None,
        }
    }
}

/// Loads the data, trains, and computes every metric. `progress` sees (task, step, steps, loss).
pub fn execute(cfg: &RunConfig, progress: train::Progress) -> anyhow::Result<RunResult> {
    let started = Instant::now();
    let opts = DataOptions {
        data_dir: cfg.data_dir.clone(),
        train_from_test_split: cfg.train_from_test_split,
        seed: cfg.train.seed,
        ..DataOptions::default()
    };
    let ds = data::load(cfg.dataset, &opts)?;
    execute_on(cfg, &ds, progress, started)
}

/// [`execute`] on a dataset already loaded (a sweep loads each dataset once). `started` is when
/// the run began, for its wall time.
pub fn execute_on(
    cfg: &RunConfig,
    ds: &Dataset,
    progress: train::Progress,
    started: Instant,
) -> anyhow::Result<RunResult> {
    anyhow::ensure!(
        ds.id == cfg.dataset,
        "run configured for {} given {}",
        cfg.dataset,
        ds.id
    );
    let split = data::build_tasks(
        ds,
        cfg.order,
        cfg.train_per_task,
        cfg.test_per_task,
        cfg.train.seed,
    )?;
    let src = DatasetTasks::new(ds, &split);
    let mut params = ParamStore::new();
    let heads = match cfg.train.head {
        HeadLayout::Shared => 1,
        HeadLayout::Multi => split.tasks.len(),
    };
    let net = Cnn::new(
        cfg.train.preset,
        cfg.dataset.classes_per_task(),
        heads,
        &mut params,
    );
    let (c, h, w) = cfg.train.preset.input_chw();
    anyhow::ensure!(
        (c, h, w) == (ds.id.channels(), ds.id.height(), ds.id.width()),
        "the {:?} preset takes {c}x{h}x{w} images, but {} has {}x{}x{}",
        cfg.train.preset,
        ds.id,
        ds.id.channels(),
        ds.id.height(),
        ds.id.width()
    );
    net.init(&mut params, cfg.train.seed);
    let mut method = cfg.method.build();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .context("starting threads")?;
    let trained = pool
        .install(|| {
            train::train(
                &cfg.train,
                &net,
                &mut params,
                &src,
                method.as_mut(),
                progress,
            )
        })
        .with_context(|| {
            format!(
                "{} order {} regime {}",
                cfg.dataset, cfg.order, cfg.train.regime
            )
        })?;
    Ok(RunResult::new(
        cfg,
        ds,
        &split,
        &params,
        trained,
        started.elapsed().as_secs_f64(),
    ))
}
