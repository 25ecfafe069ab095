//! The crash test: `regimebench sweep` SIGKILLed after 1, 5 and 9 results appear and restarted each time with
//! the same arguments ends with exactly one result per grid point, every one bit-identical (all but
//! the times) to an uninterrupted sweep's, and no temporary file counted as a result.

mod support;

use regimebench::run::RunResult;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::shared_data;

/// 1 dataset x 3 regimes x 2 methods x 2 orders = 12 runs of 100 train / 50 test images per task.
fn sweep(results: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_regimebench"));
    c.args([
        "sweep",
        "--datasets=mnist",
        "--regimes=R1,R3,R5",
        "--methods=naive,lwf",
        "--orders=0,1",
        "--train-per-task=100",
        "--test-per-task=50",
        "--jobs=2",
        "--quiet",
        "--results",
    ])
    .arg(results);
    c
}

const RUNS: usize = 12;

fn result_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// Waits until `dir` holds at least `n` results, then SIGKILLs the sweep; returns how many it held.
fn kill_after(mut child: Child, dir: &Path, n: usize) -> usize {
    let start = Instant::now();
    loop {
        let have = result_files(dir).len();
        if have >= n {
            child.kill().unwrap(); // SIGKILL on unix
            child.wait().unwrap();
            return have;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the sweep ended ({status}) before {n} results");
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Each result's JSON without its times, by file name.
fn results_without_times(dir: &Path) -> BTreeMap<String, Value> {
    result_files(dir)
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            let _: RunResult = serde_json::from_slice(&bytes).expect("a RunResult");
            let mut v: Value = serde_json::from_slice(&bytes).unwrap();
            let o = v.as_object_mut().unwrap();
            assert!(o.remove("wall_seconds").is_some());
            assert!(o.remove("train_seconds_per_task").is_some());
            // Which run trains a shared task 1 and which copy it depends on timing.
            o.remove("first_task_copied");
            (name, v)
        })
        .collect()
}

#[test]
fn a_sweep_killed_and_restarted_loses_and_duplicates_nothing() {
    if shared_data().is_none() {
        return;
    }
    let reference = tempfile::tempdir().unwrap();
    let out = sweep(reference.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = results_without_times(reference.path());
    assert_eq!(want.len(), RUNS);

    let dir = tempfile::tempdir().unwrap();
    let mut held = Vec::new();
    for n in [1, 5, 9] {
        let child = sweep(dir.path()).stdout(Stdio::null()).spawn().unwrap();
        held.push(kill_after(child, dir.path(), n));
    }
    assert!(
        held.iter().all(|&h| h < RUNS),
        "each kill landed mid-sweep: {held:?}"
    );
    let out = sweep(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    eprintln!("results when killed: {held:?}");
    let before = held[2];
    assert!(
        stdout.contains(&format!("finished before: {before} (skipped)"))
            && stdout.contains(&format!("ran: {};", RUNS - before)),
        "{stdout}"
    );
    let got = results_without_times(dir.path());
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (name, v) in &want {
        assert_eq!(
            &got[name], v,
            "{name} differs from the uninterrupted sweep's"
        );
    }
    // Anything else left is a killed writer's hidden temporary, never a result.
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(
            got.contains_key(&name) || name.starts_with(".tmp"),
            "{name}"
        );
    }
}
