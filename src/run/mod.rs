//! One run of the study: a dataset, a class order, a regime and a method, trained task by task;
//! the result carries the full config, the accuracy matrix, every metric and the update norms.

mod config;
mod result;
mod source;
mod store;

pub use config::{defaults, MethodConfig, MethodKind, RunConfig};
pub use result::{GroupNorms, HeadsRecord, RunResult};
pub use source::DatasetTasks;
pub use store::write_atomically;

use crate::data::{self, DataOptions, Dataset};
use crate::error::{Error, Result};
use crate::heads::Heads;
use crate::nn::Cnn;
use crate::params::ParamStore;
use crate::train::{self, FirstTask, TaskSource};
use std::time::Instant;

/// Checks the config, loads the data, trains, and computes every metric. `progress` sees (task,
/// step, steps, loss).
pub fn execute(cfg: &RunConfig, progress: train::Progress) -> Result<RunResult> {
    let started = Instant::now();
    cfg.validate()?;
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
) -> Result<RunResult> {
    execute_sharing(cfg, ds, progress, started, None)
}

/// [`execute_on`], with task 1's steps shared through `first` (see [`FirstTask`]) when the
/// method trains task 1 as plain SGD ([`MethodConfig::plain_first_task`]) and the regime starts
/// with task 2. The caller hands one `first` to runs whose [`first_task_key`] is equal.
pub fn execute_sharing(
    cfg: &RunConfig,
    ds: &Dataset,
    progress: train::Progress,
    started: Instant,
    first: Option<&FirstTask>,
) -> Result<RunResult> {
    cfg.validate()?;
    check_dataset(cfg, ds)?;
    let in_run = |e: Error| Error::InRun {
        run: cfg.label(),
        error: Box::new(e),
    };
    let split = data::build_tasks(
        ds,
        cfg.order,
        cfg.train_per_task,
        cfg.test_per_task,
        cfg.train.seed,
    )?;
    let src = DatasetTasks::new(ds, &split);
    let classes: Vec<Vec<u16>> = (0..src.n_tasks()).map(|t| src.task_classes(t)).collect();
    let heads = Heads::new(cfg.train.head, src.n_classes(), &classes).map_err(Error::Config)?;
    let mut params = ParamStore::new();
    let net = Cnn::for_input(
        cfg.train.preset,
        cfg.train.width,
        src.image_chw(),
        &heads,
        &mut params,
    );
    net.init(&mut params, cfg.train.seed);
    let mut method = cfg.method.build(cfg.train.sgd.lr, cfg.train.seed);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|error| Error::Threads {
            threads: cfg.threads,
            error,
        })?;
    let trained = pool
        .install(|| {
            let (t, n, m) = (&cfg.train, &net, method.as_mut());
            let extras = train::Extras {
                trace: None,
                first: first.filter(|_| shares_first_task(cfg)),
            };
            train::train_with(t, n, &mut params, &src, m, progress, extras)
        })
        .map_err(in_run)?;
    let mut result = RunResult::new(
        cfg,
        ds,
        &split,
        &heads,
        &params,
        trained,
        started.elapsed().as_secs_f64(),
    )?;
    result.method_report = method.report();
    result.warnings = method.warnings();
    Ok(result)
}

/// Whether `cfg`'s task-1 steps are those of every run with its [`first_task_key`]: its method
/// trains task 1 as plain SGD, over the whole network.
pub fn shares_first_task(cfg: &RunConfig) -> bool {
    cfg.method.plain_first_task() && !cfg.train.regime_from_first_task
}

/// What task 1's steps depend on, for a run that [`shares_first_task`]: the config with the
/// method and the regime set aside (task 1 trains the whole network as plain SGD whatever they
/// are), as JSON. Where the data is read from is not in it; a sweep keys by that too.
pub fn first_task_key(cfg: &RunConfig) -> String {
    let mut c = cfg.clone();
    c.method = MethodConfig::Naive;
    c.train.regime = crate::regime::Regime::full();
    c.threads = 1;
    serde_json::to_string(&c).expect("a config serializes")
}

/// The dataset is the one configured, loaded the way the config says.
fn check_dataset(cfg: &RunConfig, ds: &Dataset) -> Result<()> {
    let bad = |msg: String| Err(Error::Config(msg));
    if ds.id != cfg.dataset {
        return bad(format!(
            "run configured for {} given {}",
            cfg.dataset, ds.id
        ));
    }
    let p = &ds.provenance;
    if p.train_from_test_split != cfg.train_from_test_split {
        return bad(format!(
            "the run asks for train_from_test_split = {}, the loaded {} has {}",
            cfg.train_from_test_split, ds.id, p.train_from_test_split
        ));
    }
    if let Some(s) = p.split_seed.filter(|&s| s != cfg.train.seed) {
        return bad(format!(
            "{} was split 80/20 with seed {s}; a run of seed {} needs it loaded with that seed",
            ds.id, cfg.train.seed
        ));
    }
    Ok(())
}
