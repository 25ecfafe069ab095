//! The measurement of `regimebench bench methods`: every (regime, method) trained by the real loop
//! on a real dataset, each method wrapped in [`Timed`], in interleaved rounds (round r runs every
//! pair once, in a fixed order, so a drift of the machine's speed hits every pair alike).

use super::cost::{HookTimes, Timed};
use crate::data::{self, DataOptions, DatasetId};
use crate::error::{Error, Result};
use crate::heads::Heads;
use crate::nn::Cnn;
use crate::params::ParamStore;
use crate::regime::Regime;
use crate::run::{DatasetTasks, MethodConfig, MethodKind, RunConfig};
use crate::train::{self, Part, TaskSource};
use std::path::PathBuf;
use std::time::Instant;

/// What to measure. Every run takes the protocol's defaults ([`RunConfig::defaults`]) and each
/// method its default constants ([`MethodKind::defaults`]).
#[derive(Clone, Debug)]
pub struct CostOptions {
    pub dataset: DatasetId,
    pub data_dir: Option<PathBuf>,
    pub regimes: Vec<Regime>,
    /// Naive is measured whether listed or not (every ratio is against it), and first.
    pub methods: Vec<MethodKind>,
    pub train_per_task: usize,
    /// Test images per task: evaluation is not timed, so few are enough.
    pub test_per_task: Option<usize>,
    /// rayon threads; at 1 the ratios are free of parallel scaling.
    pub threads: usize,
    pub rounds: usize,
}

impl CostOptions {
    /// The methods in the order they run: naive, then the others as listed, without repeats.
    pub fn methods_in_order(&self) -> Vec<MethodKind> {
        let mut out = vec![MethodKind::Naive];
        for &m in &self.methods {
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Config(m.into()));
        if self.regimes.is_empty() {
            return bad("bench methods needs at least one regime");
        }
        if self.rounds == 0 {
            return bad("rounds must be at least 1");
        }
        if self.train_per_task == 0 {
            return bad("train_per_task must be at least 1");
        }
        if self.threads == 0 {
            return bad("threads must be at least 1");
        }
        Ok(())
    }
}

/// One timed run.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CostRun {
    /// 0-based round.
    pub round: usize,
    pub regime: Regime,
    pub method: MethodConfig,
    /// Per task: the loop's training seconds ([`train::Trained::train_seconds`]: the hooks, the
    /// frozen-prefix cache and the steps, not the evaluation).
    pub train_seconds: Vec<f64>,
    /// Per task: the seconds of its SGD steps alone (no cache building, no `begin_task` or
    /// `end_task`), from the progress callback's clock: the time from the end of step 1 to the
    /// end of step n covers steps 2..n and is scaled by n / (n - 1). A one-step task falls back
    /// to `train_seconds`.
    pub step_seconds: Vec<f64>,
    pub steps: Vec<usize>,
    pub hooks: HookTimes,
}

impl CostRun {
    pub fn seconds(&self) -> f64 {
        self.train_seconds.iter().sum()
    }
}

/// Everything measured, with what the ratios need to know of the setting.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CostGrid {
    pub dataset: DatasetId,
    pub threads: usize,
    pub rounds: usize,
    pub batch: usize,
    pub epochs: usize,
    /// k: classes per task.
    pub classes_per_task: usize,
    /// Outputs of a head layer (C under the default `global` layout).
    pub head_width: usize,
    /// Training images of each task (one epoch).
    pub train_images: Vec<usize>,
    pub kernel_path: String,
    pub runs: Vec<CostRun>,
}

impl CostGrid {
    /// The run of `method` under `regime` in `round`.
    pub fn find(&self, round: usize, regime: &Regime, method: MethodKind) -> Option<&CostRun> {
        (self.runs.iter())
            .find(|r| r.round == round && &r.regime == regime && r.method.kind() == method)
    }
}

/// Loads the dataset once, then trains `rounds` x regimes x methods runs; `done` sees each run as
/// it finishes (for progress lines).
pub fn measure(opts: &CostOptions, done: &mut dyn FnMut(&CostRun)) -> Result<CostGrid> {
    opts.validate()?;
    let base = RunConfig::defaults(opts.dataset, opts.regimes[0].clone());
    let data_opts = DataOptions {
        data_dir: opts.data_dir.clone(),
        seed: base.train.seed,
        ..DataOptions::default()
    };
    let ds = data::load(opts.dataset, &data_opts)?;
    let split = data::build_tasks(
        &ds,
        base.order,
        Some(opts.train_per_task),
        opts.test_per_task,
        base.train.seed,
    )?;
    let src = DatasetTasks::new(&ds, &split);
    let classes: Vec<Vec<u16>> = (0..src.n_tasks()).map(|t| src.task_classes(t)).collect();
    let heads = Heads::new(base.train.head, src.n_classes(), &classes).map_err(Error::Config)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|error| Error::Threads {
            threads: opts.threads,
            error,
        })?;
    // One untimed naive run first: the first run of a process pays for touching the data and
    // the allocator's first pages, which would inflate naive's seconds in round 1 only.
    let warm = RunConfig::defaults(opts.dataset, opts.regimes[0].clone());
    pool.install(|| one_run(&warm, &heads, &src, 0))?;
    let mut runs = Vec::new();
    for round in 0..opts.rounds {
        for regime in &opts.regimes {
            for kind in opts.methods_in_order() {
                let mut cfg = RunConfig::defaults(opts.dataset, regime.clone());
                cfg.method = kind.defaults();
                cfg.threads = opts.threads;
                cfg.validate()?;
                let run = pool.install(|| one_run(&cfg, &heads, &src, round))?;
                done(&run);
                runs.push(run);
            }
        }
    }
    Ok(CostGrid {
        dataset: opts.dataset,
        threads: opts.threads,
        rounds: opts.rounds,
        batch: base.train.batch,
        epochs: base.train.epochs,
        classes_per_task: opts.dataset.classes_per_task(),
        head_width: heads.width(),
        train_images: (0..src.n_tasks())
            .map(|t| src.len(t, Part::Train))
            .collect(),
        kernel_path: regimebench_kernels::kernel_path_description(),
        runs,
    })
}

/// One run of `cfg` on `src`, built as [`crate::run::execute_on`] builds it, the method timed.
fn one_run(cfg: &RunConfig, heads: &Heads, src: &DatasetTasks, round: usize) -> Result<CostRun> {
    let in_run = |e: Error| Error::InRun {
        run: cfg.label(),
        error: Box::new(e),
    };
    let mut params = ParamStore::new();
    let (p, w) = (cfg.train.preset, cfg.train.width);
    let net = Cnn::for_input(p, w, src.image_chw(), heads, &mut params);
    net.init(&mut params, cfg.train.seed);
    let mut method = cfg.method.build(cfg.train.sgd.lr, cfg.train.seed);
    let mut timed = Timed::new(method.as_mut());
    // Per task: when step 1 ended, when the latest step ended, and how many steps there were.
    let mut clock: Vec<Option<(Instant, Instant, usize)>> = vec![None; src.n_tasks()];
    let mut progress = |task: usize, step: usize, _: usize, _: f32| {
        let now = Instant::now();
        let slot = &mut clock[task];
        *slot = Some(match *slot {
            Some((first, _, _)) if step > 1 => (first, now, step),
            _ => (now, now, step),
        });
    };
    let trained = train::train(
        &cfg.train,
        &net,
        &mut params,
        src,
        &mut timed,
        &mut progress,
    )
    .map_err(in_run)?;
    let step_seconds = (clock.iter().zip(&trained.train_seconds))
        .map(|(c, &whole)| match *c {
            Some((first, last, n)) if n >= 2 => {
                (last - first).as_secs_f64() * n as f64 / (n - 1) as f64
            }
            _ => whole,
        })
        .collect();
    Ok(CostRun {
        round,
        regime: cfg.train.regime.clone(),
        method: cfg.method,
        hooks: timed.times(),
        train_seconds: trained.train_seconds,
        step_seconds,
        steps: trained.steps,
    })
}
