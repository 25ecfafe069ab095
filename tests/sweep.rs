//! `regimebench sweep` on real MNIST subsets: a finished sweep run again skips everything and
//! writes nothing, and a run that another sweep finished after the plan is not run again; a diverging point is recorded with its place while the others finish, and
//! `--retry-failed` runs it again; a retried failure that now works replaces its record.

mod support;

use regimebench::data::DatasetId;
use regimebench::regime::Regime;
use regimebench::run::{self, MethodKind, RunResult};
use regimebench::sweep::{self, store, Failure, Grid};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::SystemTime;
use support::shared_data;

fn small_grid() -> Grid {
    let mut g = Grid::protocol(vec![DatasetId::Mnist]);
    g.regimes = vec![Regime::depth(1), Regime::depth(5)];
    g.methods = vec![MethodKind::Naive.defaults(), MethodKind::Ewc.defaults()];
    g.orders = vec![0, 1];
    g.common.train_per_task = Some(100);
    g.common.test_per_task = Some(50);
    g
}

/// Every file in `dir` with its modification time and bytes.
fn listing(dir: &Path) -> BTreeMap<String, (SystemTime, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let modified = e.metadata().unwrap().modified().unwrap();
            let name = e.file_name().into_string().unwrap();
            (name, (modified, std::fs::read(e.path()).unwrap()))
        })
        .collect()
}

fn nothing(_: sweep::Event<'_>) {}

#[test]
fn a_finished_sweep_run_again_skips_every_run_and_writes_nothing() {
    if shared_data().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let points = small_grid().expand().unwrap();
    assert_eq!(points.len(), 8);
    let plan = sweep::plan(points.clone(), dir.path(), false).unwrap();
    assert_eq!(plan.todo.len(), 8);
    let out = sweep::run(&plan.todo, dir.path(), 2, &nothing).unwrap();
    assert_eq!((out.ran, out.failed.len()), (8, 0));
    let before = listing(dir.path());
    assert_eq!(before.len(), 8);
    for p in &points {
        let path = store::result_path(dir.path(), &p.key.hash);
        let text = std::fs::read_to_string(&path).unwrap();
        let r: RunResult = serde_json::from_str(&text).unwrap();
        assert_eq!(r.config.label(), p.config.label());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["hash_input"].as_str(), Some(p.key.input.as_str()));
        assert_eq!(v["hash"].as_str(), Some(p.key.hash.as_str()));
    }
    let again = sweep::plan(points, dir.path(), true).unwrap();
    assert_eq!((again.todo.len(), again.finished.len()), (0, 8));
    let out = sweep::run(&again.todo, dir.path(), 2, &nothing).unwrap();
    assert_eq!(out.ran, 0);
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn a_run_another_sweep_finished_after_the_plan_is_skipped() {
    if shared_data().is_none() {
        return;
    }
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut g = small_grid();
    g.methods = vec![MethodKind::Naive.defaults()];
    let points = g.expand().unwrap();
    let plan = sweep::plan(points.clone(), first.path(), false).unwrap();
    let out = sweep::run(&plan.todo, first.path(), 2, &nothing).unwrap();
    assert_eq!(out.ran, 4);
    // The second sweep plans all four; then "another sweep" finishes two of them.
    let plan = sweep::plan(points, second.path(), false).unwrap();
    assert_eq!(plan.todo.len(), 4);
    let copied: Vec<&str> = plan.todo[1..3]
        .iter()
        .map(|p| p.key.hash.as_str())
        .collect();
    for h in &copied {
        let name = store::result_path(first.path(), h);
        std::fs::copy(&name, store::result_path(second.path(), h)).unwrap();
    }
    let before = listing(second.path());
    let skipped = Mutex::new(Vec::new());
    let on_event = |e: sweep::Event<'_>| {
        if let sweep::Event::FinishedElsewhere(p) = e {
            skipped.lock().unwrap().push(p.key.hash.clone());
        }
    };
    let out = sweep::run(&plan.todo, second.path(), 1, &on_event).unwrap();
    assert_eq!((out.ran, out.elsewhere, out.failed.len()), (2, 2, 0));
    assert_eq!(skipped.into_inner().unwrap(), copied);
    let after = listing(second.path());
    assert_eq!(after.len(), 4);
    for h in &copied {
        let name = format!("{h}.json");
        assert_eq!(after[&name], before[&name], "{name} was written again");
    }
}

/// A result's JSON without what depends on the machine's timing: its times and whether task 1's
/// steps were copied from another run (whichever reached them first trained them).
fn without_times(r: &RunResult) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    let o = v.as_object_mut().unwrap();
    for field in [
        "wall_seconds",
        "train_seconds_per_task",
        "first_task_copied",
    ] {
        o.remove(field);
    }
    v
}

#[test]
fn a_sweep_shares_task_1_and_gets_the_bits_of_runs_made_alone() {
    if shared_data().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut grid = small_grid();
    grid.methods.push(MethodKind::Si.defaults());
    let points = grid.expand().unwrap();
    let out = sweep::run(&points, dir.path(), 2, &nothing).unwrap();
    assert_eq!((out.ran, out.failed.len()), (12, 0));
    let mut copied = 0;
    for p in &points {
        let text = std::fs::read_to_string(store::result_path(dir.path(), &p.key.hash)).unwrap();
        let swept: RunResult = serde_json::from_str(&text).unwrap();
        copied += usize::from(swept.first_task_copied);
        let si = p.config.method.kind() == MethodKind::Si;
        assert!(!(si && swept.first_task_copied), "SI trains its own task 1");
        let alone = run::execute(&p.config, &mut |_, _, _, _| {}).unwrap();
        assert!(!alone.first_task_copied);
        let (swept, alone) = (without_times(&swept), without_times(&alone));
        for (field, value) in swept.as_object().unwrap() {
            assert_eq!(value, &alone[field], "{}: {field}", p.config.label());
        }
    }
    // Per order, naive and EWC in R1 and R5 share one task 1: one trains it, three copy it.
    assert_eq!(copied, 2 * 3);
}

#[test]
fn a_retried_failure_that_now_works_replaces_its_record() {
    if shared_data().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut g = small_grid();
    g.regimes.truncate(1);
    g.methods.truncate(1);
    g.orders.truncate(1);
    let points = g.expand().unwrap();
    let f = Failure::new(&points[0], "a failure of an earlier build".into(), None);
    store::write_failure(dir.path(), &f).unwrap();
    let skipped = sweep::plan(points.clone(), dir.path(), false).unwrap();
    assert_eq!((skipped.todo.len(), skipped.failed_before.len()), (0, 1));
    let retry = sweep::plan(points, dir.path(), true).unwrap();
    assert_eq!(retry.todo.len(), 1);
    assert_eq!(
        sweep::run(&retry.todo, dir.path(), 1, &nothing)
            .unwrap()
            .ran,
        1
    );
    let names: Vec<String> = listing(dir.path()).into_keys().collect();
    assert_eq!(names, [format!("{}.json", f.hash)]);
}

/// The sweep's stdout and stderr (not a terminal: one progress line per run that ends).
fn sweep_cli(results: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec![
        "sweep",
        "--datasets=mnist",
        "--regimes=R5",
        "--methods=naive,ewc",
        "--ewc-lambda=1,1e15",
        "--penalty-step=explicit",
        "--orders=0",
        "--train-per-task=100",
        "--test-per-task=50",
        "--jobs=2",
        "--results",
        results.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_regimebench"))
        .args(&args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}{stderr}");
    (stdout, stderr)
}

#[test]
fn a_diverging_run_is_recorded_and_the_others_finish() {
    if shared_data().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The explicit penalty step with lambda 1e15 multiplies the deviation by |1 - eta lambda F|
    // each step: a NaN loss within a few steps. lambda 1 and naive are fine.
    let (first, progress) = sweep_cli(dir.path(), &[]);
    assert!(
        first.contains("ran: 2; skipped: 0 finished before, 0 failed before; failed now: 1"),
        "{first}"
    );
    assert!(
        first.contains("lambda=1000000000000000.0 penalty_step=explicit: training diverged"),
        "{first}"
    );
    // One line per run that ended, numbered in the order they ended, the failure with its error.
    let lines: Vec<&str> = progress.lines().collect();
    assert_eq!(lines.len(), 3, "{progress}");
    for (i, line) in lines.iter().enumerate() {
        assert!(line.starts_with(&format!("[{}/3] ", i + 1)), "{progress}");
    }
    let failed_lines = lines.iter().filter(|l| l.contains("] failed ")).count();
    assert_eq!(failed_lines, 1, "{progress}");
    assert!(
        progress.contains("penalty_step=explicit: training diverged"),
        "{progress}"
    );
    assert!(
        lines[2].contains("(done 2, failed 1, left 0 of 3 runs; ")
            && lines[2].ends_with(", about 0s left)"),
        "{progress}"
    );
    let files = listing(dir.path());
    let failed: Vec<&String> = files
        .keys()
        .filter(|n| n.ends_with(".failed.json"))
        .collect();
    assert_eq!((files.len(), failed.len()), (3, 1));
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(failed[0])).unwrap()).unwrap();
    let f: Failure = serde_json::from_value(record.clone()).unwrap();
    let place = f.place.expect("a divergence has a place");
    assert!(
        place.task >= 2 && place.epoch == 1 && place.step >= 1,
        "{place:?}"
    );
    assert!(f.error.starts_with("training diverged"), "{}", f.error);
    assert_eq!(record["config"]["method"]["lambda"], 1e15);
    let report = tempfile::tempdir().unwrap();
    let out = report.path().to_str().unwrap();
    let (skipped, nothing) = sweep_cli(dir.path(), &["--report", out]);
    assert_eq!(nothing, "", "nothing ran, so no progress");
    assert!(
        skipped.contains("finished before: 2 (skipped); failed before: 1"),
        "{skipped}"
    );
    let md = std::fs::read_to_string(report.path().join("report.md")).unwrap();
    assert!(
        md.contains(": 2 finished runs, 1 failed runs (1 diverged, 0 other errors)"),
        "{md}"
    );
    assert!(
        skipped.contains("ran: 0;") && skipped.contains("failed now: 0"),
        "{skipped}"
    );
    let (retried, silent) = sweep_cli(dir.path(), &["--retry-failed", "--quiet"]);
    assert_eq!(silent, "", "--quiet writes no progress");
    assert!(
        retried.contains("to run: 1") && retried.contains("failed now: 1"),
        "{retried}"
    );
    let after = listing(dir.path());
    assert_ne!(
        after[failed[0]].0, files[failed[0]].0,
        "the record was written again"
    );
}
