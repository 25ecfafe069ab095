//! Running a sweep: [`plan`] sorts the grid's points into finished, failed before and to do by the
//! files in the results directory; [`run`] runs the to-do list on `jobs` threads at once, loading
//! each dataset once, and writes each run's file the moment it ends, so a sweep killed at any point
//! loses only the runs in flight and a restart with the same grid picks up the rest. Just before it
//! starts a run it looks again: a run that another sweep on the same directory (another shard's
//! array task, a second `sweep` started by hand) finished meanwhile is skipped.

use super::cost::cost;
use super::grid::Point;
use super::store::{self, Failure};
use crate::data::{self, DataOptions, Dataset, DatasetId};
use crate::error::{Error, Result};
use crate::run::{self, RunResult};
use crate::train::FirstTask;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// A grid (or one shard of it) checked against the results directory.
#[derive(Debug, Default)]
pub struct Plan {
    /// To run, most expensive first (so the last runs to finish are short ones).
    pub todo: Vec<Point>,
    /// A result file exists: skipped.
    pub finished: Vec<Point>,
    /// A failure record exists and no retry was asked for: skipped.
    pub failed_before: Vec<Point>,
}

/// Sorts `points` by what `dir` holds; with `retry_failed`, runs with a failure record are run
/// again.
pub fn plan(points: Vec<Point>, dir: &Path, retry_failed: bool) -> Result<Plan> {
    let scan = store::scan(dir)?;
    let mut p = Plan::default();
    for point in points {
        if scan.finished.contains(&point.key.hash) {
            p.finished.push(point);
        } else if scan.failed.contains(&point.key.hash) && !retry_failed {
            p.failed_before.push(point);
        } else {
            p.todo.push(point);
        }
    }
    p.todo
        .sort_by_cached_key(|q| (std::cmp::Reverse(cost(&q.config)), q.key.hash.clone()));
    Ok(p)
}

/// What [`run`] reports as each run ends (from the worker threads).
pub enum Event<'a> {
    Finished(&'a Point),
    /// Its result appeared in the directory after the plan (another sweep wrote it): not run.
    FinishedElsewhere(&'a Point),
    Failed(&'a Failure),
}

/// What a [`run`] did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Runs that finished and were written.
    pub ran: usize,
    /// Runs skipped because another sweep finished them after the plan.
    pub elsewhere: usize,
    /// Runs that failed (recorded in their `.failed.json`), by label.
    pub failed: Vec<Failure>,
}

/// The datasets a set of runs needs, each loaded by the first run that needs it.
struct Datasets(HashMap<DataKey, OnceLock<std::result::Result<Dataset, String>>>);

/// What decides the loaded data: the dataset, where it is read from, and the 80/20 split's seed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct DataKey {
    id: DatasetId,
    data_dir: Option<PathBuf>,
    split_seed: Option<u64>,
}

impl DataKey {
    fn of(p: &Point) -> DataKey {
        let c = &p.config;
        DataKey {
            id: c.dataset,
            data_dir: c.data_dir.clone(),
            split_seed: c.train_from_test_split.then_some(c.train.seed),
        }
    }
}

/// Task 1's steps shared by the runs that take the same ones (`run::shares_first_task`), one
/// [`FirstTask`] per data and [`run::first_task_key`] that two or more runs to do have. Each is
/// kept until the sweep ends (a θ: for `small` 0.1 M floats, for resnet18 of width 64 11 M).
struct FirstTasks(HashMap<(DataKey, String), FirstTask>);

impl FirstTasks {
    fn new(points: &[Point]) -> FirstTasks {
        let mut count: HashMap<(DataKey, String), usize> = HashMap::new();
        for p in points.iter().filter(|p| run::shares_first_task(&p.config)) {
            *count.entry(FirstTasks::key(p)).or_default() += 1;
        }
        FirstTasks(
            (count.into_iter())
                .filter(|&(_, n)| n > 1)
                .map(|(k, _)| (k, FirstTask::new()))
                .collect(),
        )
    }

    fn key(p: &Point) -> (DataKey, String) {
        (DataKey::of(p), run::first_task_key(&p.config))
    }

    /// The group of `p`'s key, if it has one; `run::execute_sharing` uses it only for a run that
    /// [`run::shares_first_task`].
    fn get(&self, p: &Point) -> Option<&FirstTask> {
        self.0.get(&FirstTasks::key(p))
    }
}

impl Datasets {
    fn new(points: &[Point]) -> Datasets {
        Datasets(
            points
                .iter()
                .map(|p| (DataKey::of(p), OnceLock::new()))
                .collect(),
        )
    }

    fn get(&self, p: &Point) -> std::result::Result<&Dataset, &str> {
        let key = DataKey::of(p);
        let cell = &self.0[&key];
        let loaded = cell.get_or_init(|| {
            let opts = DataOptions {
                data_dir: key.data_dir.clone(),
                train_from_test_split: key.split_seed.is_some(),
                seed: key.split_seed.unwrap_or(0),
                ..DataOptions::default()
            };
            data::load(key.id, &opts).map_err(|e| format!("loading {}: {e}", key.id))
        });
        loaded.as_ref().map_err(String::as_str)
    }
}

/// Runs `todo` on `jobs` threads (each run with its config's kernel threads), writing each result
/// or failure record into `dir` as it ends. A failed run does not stop the others; an error
/// writing into `dir` stops the sweep (after the runs in flight) and is returned.
pub fn run(
    todo: &[Point],
    dir: &Path,
    jobs: usize,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<Outcome> {
    if jobs == 0 {
        return Err(Error::Config("jobs must be at least 1".into()));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let datasets = Datasets::new(todo);
    let firsts = FirstTasks::new(todo);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let outcome = Mutex::new(Outcome::default());
    let write_error = Mutex::new(None);
    let worker = || {
        while !stop.load(Ordering::Relaxed) {
            let Some(point) = todo.get(next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            if store::result_path(dir, &point.key.hash).exists() {
                let mut out = outcome.lock().expect("no worker panics holding it");
                out.elsewhere += 1;
                on_event(Event::FinishedElsewhere(point));
                continue;
            }
            let written = match run_point(point, &datasets, firsts.get(point)) {
                Ok(r) => store::write_result(dir, point, &r).map(|_| None),
                Err(f) => store::write_failure(dir, &f).map(|_| Some(*f)),
            };
            let mut out = outcome.lock().expect("no worker panics holding it");
            match written {
                Ok(None) => {
                    out.ran += 1;
                    on_event(Event::Finished(point));
                }
                Ok(Some(f)) => {
                    on_event(Event::Failed(&f));
                    out.failed.push(f);
                }
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    write_error.lock().expect("not poisoned").get_or_insert(e);
                }
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 0..jobs.min(todo.len()) {
            s.spawn(worker);
        }
    });
    if let Some(e) = write_error.into_inner().expect("not poisoned") {
        return Err(e);
    }
    let mut out = outcome.into_inner().expect("not poisoned");
    out.failed.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(out)
}

/// One run on its (shared) dataset, with its task 1's steps shared through `first`; a failure, a
/// missing dataset or a panic becomes its record.
fn run_point(
    point: &Point,
    datasets: &Datasets,
    first: Option<&FirstTask>,
) -> std::result::Result<RunResult, Box<Failure>> {
    let started = Instant::now();
    let ds = datasets
        .get(point)
        .map_err(|msg| Failure::new(point, msg.to_string(), None))
        .map_err(Box::new)?;
    let mut quiet = |_: usize, _: usize, _: usize, _: f32| {};
    let ran = catch_unwind(AssertUnwindSafe(|| {
        run::execute_sharing(&point.config, ds, &mut quiet, started, first)
    }));
    match ran {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(Box::new(Failure::of_error(point, &e))),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(Box::new(Failure::new(
                point,
                format!("panicked: {msg}"),
                None,
            )))
        }
    }
}
