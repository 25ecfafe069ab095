//! The results directory, a sweep's only state: `<hash>.json` for each finished run (its
//! `RunResult` with `hash` and `hash_input` beside the result's fields), `<hash>.failed.json` for
//! each failed one (its config, the error and where it happened). Both are written atomically
//! (`run::write_atomically`), so a file of either name is complete; a killed writer leaves only a
//! hidden `.tmp*` file, which is never counted (nor deleted: another machine sharing the
//! directory may be writing it).

use super::grid::Point;
use super::hash::RunKey;
use crate::error::{Error, Result};
use crate::run::{self, RunConfig, RunResult};
use crate::train::Diverged;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub const RESULT_SUFFIX: &str = ".json";
pub const FAILED_SUFFIX: &str = ".failed.json";

/// `<dir>/<hash>.json`.
pub fn result_path(dir: &Path, hash: &str) -> PathBuf {
    dir.join(format!("{hash}{RESULT_SUFFIX}"))
}

/// `<dir>/<hash>.failed.json`.
pub fn failed_path(dir: &Path, hash: &str) -> PathBuf {
    dir.join(format!("{hash}{FAILED_SUFFIX}"))
}

/// The hashes that have a result file and those that have a failure record.
#[derive(Debug, Default)]
pub struct Scan {
    pub finished: HashSet<String>,
    pub failed: HashSet<String>,
}

/// Reads the names in `dir` (none if it does not exist yet); names that are not
/// `<hash>.json` or `<hash>.failed.json` are ignored.
pub fn scan(dir: &Path) -> Result<Scan> {
    let mut s = Scan::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(s),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let name = entry.map_err(|e| Error::io(dir, e))?.file_name();
        let Some(name) = name.to_str() else { continue };
        let (set, stem) = match name.strip_suffix(FAILED_SUFFIX) {
            Some(stem) => (&mut s.failed, stem),
            None => match name.strip_suffix(RESULT_SUFFIX) {
                Some(stem) => (&mut s.finished, stem),
                None => continue,
            },
        };
        if RunKey::is_hash(stem) {
            set.insert(stem.to_string());
        }
    }
    Ok(s)
}

/// A result file: the `RunResult`'s fields (so it reads back as one) and the run's key.
#[derive(Serialize)]
struct Stored<'a> {
    #[serde(flatten)]
    result: &'a RunResult,
    hash: &'a str,
    hash_input: &'a str,
}

/// Writes the result of `point`, then removes any failure record it had (a retry that worked).
pub fn write_result(dir: &Path, point: &Point, result: &RunResult) -> Result<PathBuf> {
    let path = result_path(dir, &point.key.hash);
    let stored = Stored {
        result,
        hash: &point.key.hash,
        hash_input: &point.key.input,
    };
    let bytes = serde_json::to_vec_pretty(&stored).expect("a RunResult serializes");
    run::write_atomically(&path, &bytes)?;
    let failed = failed_path(dir, &point.key.hash);
    match std::fs::remove_file(&failed) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(failed, e)),
        _ => Ok(path),
    }
}

/// Where a run stopped, if it diverged (PROTOCOL section 7): 1-based task, epoch and step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub task: usize,
    pub epoch: usize,
    pub step: usize,
    /// What was not finite (the loss, a gradient or a parameter, and which).
    pub what: String,
}

/// A failed run's record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Failure {
    pub config: RunConfig,
    pub label: String,
    /// The error, with its chain.
    pub error: String,
    /// Set when the run diverged.
    pub place: Option<Place>,
    pub hash: String,
    pub hash_input: String,
    pub regimebench_version: String,
    pub isa: String,
}

impl Failure {
    pub fn new(point: &Point, error: String, place: Option<Place>) -> Failure {
        Failure {
            config: point.config.clone(),
            label: point.label(),
            error,
            place,
            hash: point.key.hash.clone(),
            hash_input: point.key.input.clone(),
            regimebench_version: env!("CARGO_PKG_VERSION").to_string(),
            isa: regimebench_kernels::active_isa().to_string(),
        }
    }

    /// The failure of `point` with `error`, its place when the error is a divergence.
    pub fn of_error(point: &Point, error: &Error) -> Failure {
        let place = diverged(error).map(|d| Place {
            task: d.task,
            epoch: d.epoch,
            step: d.step,
            what: d.what.to_string(),
        });
        Failure::new(point, inner(error).to_string(), place)
    }
}

/// The error inside any `InRun` wrappers (the record's label already names the run).
fn inner(e: &Error) -> &Error {
    match e {
        Error::InRun { error, .. } => inner(error),
        e => e,
    }
}

/// The divergence inside `e`, if it is one.
fn diverged(e: &Error) -> Option<&Diverged> {
    match inner(e) {
        Error::Diverged(d) => Some(d),
        _ => None,
    }
}

/// Writes the failure record of a run (replacing an earlier one).
pub fn write_failure(dir: &Path, f: &Failure) -> Result<PathBuf> {
    let path = failed_path(dir, &f.hash);
    let bytes = serde_json::to_vec_pretty(f).expect("a failure serializes");
    run::write_atomically(&path, &bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::Grid;

    #[test]
    fn only_hash_named_files_count_and_temporaries_never_do() {
        let dir = tempfile::tempdir().unwrap();
        assert!(scan(&dir.path().join("absent"))
            .unwrap()
            .finished
            .is_empty());
        let points = Grid::protocol(vec![crate::data::DatasetId::Mnist])
            .expand()
            .unwrap();
        let (a, b) = (&points[0], &points[1]);
        for name in [
            format!("{}.json", a.key.hash),
            format!("{}.failed.json", b.key.hash),
            ".tmpAbC123".into(),
            "report.json".into(),
            format!("{}.json.bak", a.key.hash),
        ] {
            std::fs::write(dir.path().join(name), b"{}").unwrap();
        }
        let s = scan(dir.path()).unwrap();
        assert_eq!(s.finished, HashSet::from([a.key.hash.clone()]));
        assert_eq!(s.failed, HashSet::from([b.key.hash.clone()]));
        let f = Failure::of_error(b, &Error::Config("x".into()));
        let back: Failure =
            serde_json::from_slice(&std::fs::read(write_failure(dir.path(), &f).unwrap()).unwrap())
                .unwrap();
        assert_eq!(
            (back.error.as_str(), back.place),
            ("invalid configuration: x", None)
        );
    }
}
