//! Reading a results directory: every `*.json` below it, sorted by path, sorted into finished runs,
//! failure records and files the report skips (each skip a warning that names the file).

use crate::error::{Error, Result};
use crate::run::{RunConfig, RunResult};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One finished run and the file it came from.
#[derive(Clone, Debug)]
pub struct LoadedRun {
    pub path: PathBuf,
    pub result: RunResult,
}

/// A run that did not finish: a JSON file with a `config` (a `RunConfig`) and an `error` (a
/// string, or an object with a message).
#[derive(Clone, Debug)]
pub struct LoadedFailure {
    pub path: PathBuf,
    pub config: RunConfig,
    /// The error names a divergence (a non-finite loss, gradient or parameter: PROTOCOL section 7).
    pub diverged: bool,
    pub message: String,
}

/// Everything a results directory holds, in path order.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    pub dir: PathBuf,
    /// `*.json` files found.
    pub files: usize,
    pub runs: Vec<LoadedRun>,
    pub failures: Vec<LoadedFailure>,
    /// Files that could not be read or parsed, or that repeat a run already read: each names the
    /// file and the reason.
    pub warnings: Vec<String>,
    /// Valid JSON that is neither a run result nor a failure record (e.g. a sweep's hash inputs).
    pub ignored: Vec<PathBuf>,
}

/// Reads every `*.json` file below `dir` (recursively, sorted by path). Errors only when `dir`
/// itself cannot be listed; a bad file becomes a warning.
pub fn load_dir(dir: &Path) -> Result<Loaded> {
    let mut paths = Vec::new();
    collect_json(dir, &mut paths)?;
    paths.sort();
    let mut out = Loaded {
        dir: dir.to_path_buf(),
        files: paths.len(),
        ..Loaded::default()
    };
    let mut seen = BTreeSet::new();
    for path in paths {
        match classify(&path) {
            Ok(Some(Record::Run(result))) => {
                if seen.insert(identity(&result.config)) {
                    out.runs.push(LoadedRun {
                        path,
                        result: *result,
                    });
                } else {
                    out.warnings.push(format!(
                        "{}: skipped, repeats the run {} read from an earlier file",
                        path.display(),
                        result.config.label()
                    ));
                }
            }
            Ok(Some(Record::Failure(f))) => out.failures.push(LoadedFailure { path, ..*f }),
            Ok(None) => out.ignored.push(path),
            Err(why) => out
                .warnings
                .push(format!("{}: skipped, {why}", path.display())),
        }
    }
    // A failure whose config later finished (a sweep retried it) excludes nothing.
    let failures = std::mem::take(&mut out.failures);
    for f in failures {
        if seen.contains(&identity(&f.config)) {
            out.warnings.push(format!(
                "{}: failure record not counted, the same run finished in another file",
                f.path.display()
            ));
        } else if seen.insert(identity(&f.config)) {
            out.failures.push(f);
        } else {
            out.warnings.push(format!(
                "{}: skipped, repeats the failure of {} read from an earlier file",
                f.path.display(),
                f.config.label()
            ));
        }
    }
    Ok(out)
}

enum Record {
    Run(Box<RunResult>),
    Failure(Box<LoadedFailure>),
}

/// What one file is: `Ok(None)` for JSON of another kind, `Err(reason)` for a file that cannot be
/// read or parsed, or that looks like a run result or failure record but is not a valid one.
fn classify(path: &Path) -> std::result::Result<Option<Record>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let Some(obj) = value.as_object() else {
        return Ok(None);
    };
    if let (Some(config), Some(error)) = (obj.get("config"), obj.get("error")) {
        let config: RunConfig = serde_json::from_value(config.clone())
            .map_err(|e| format!("failure record with an invalid config: {e}"))?;
        let (diverged, message) = describe_error(error).ok_or_else(|| {
            "failure record whose error is neither a string nor an object".to_string()
        })?;
        return Ok(Some(Record::Failure(Box::new(LoadedFailure {
            path: PathBuf::new(),
            config,
            diverged,
            message,
        }))));
    }
    if obj.contains_key("config") && obj.contains_key("accuracy") {
        let r: RunResult =
            serde_json::from_value(value).map_err(|e| format!("not a valid run result: {e}"))?;
        check_run(&r)?;
        return Ok(Some(Record::Run(Box::new(r))));
    }
    Ok(None)
}

/// The error of a failure record: whether it is a divergence, and its message (a string, or an
/// object's `message`, else the object as JSON).
fn describe_error(error: &Value) -> Option<(bool, String)> {
    let text = match error {
        Value::String(s) => s.clone(),
        Value::Object(o) => match o.get("message").and_then(Value::as_str) {
            Some(m) => m.to_string(),
            None => error.to_string(),
        },
        _ => return None,
    };
    let diverged = error.to_string().to_ascii_lowercase().contains("diverge");
    Some((diverged, text))
}

/// A result the report can use: a square accuracy matrix whose size is the recorded task count,
/// finite metrics.
fn check_run(r: &RunResult) -> std::result::Result<(), String> {
    let t = r.accuracy.len();
    if t == 0 || r.accuracy.iter().any(|row| row.len() != t) {
        return Err("its accuracy matrix is not square".into());
    }
    if r.summary.tasks != t {
        return Err(format!(
            "its summary counts {} tasks, the accuracy matrix {t}",
            r.summary.tasks
        ));
    }
    let f = r.summary.forgetting.as_ref().map(|f| f.mean);
    let finite = [Some(r.summary.acc), f, r.summary.bwt, r.update_norms.drift]
        .into_iter()
        .flatten()
        .all(f64::is_finite);
    if !finite {
        return Err("a metric is not a finite number".into());
    }
    Ok(())
}

/// What makes two runs the same run: the config without the fields that cannot change its
/// numbers (thread count, prefix cache, data directory).
pub(super) fn identity(c: &RunConfig) -> String {
    let mut v = serde_json::to_value(c).expect("a RunConfig serialises");
    if let Some(o) = v.as_object_mut() {
        o.remove("threads");
        if let Some(t) = o.get_mut("train").and_then(Value::as_object_mut) {
            t.remove("cache_prefix");
        }
    }
    v.to_string()
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}
