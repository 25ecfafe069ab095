//! `regimebench run` end to end on the real data in ../shared/data: the JSON result (the head
//! layout recorded in full), and clear errors for bad flags and missing data; `regimebench
//! bench`'s table and flag errors. (The full-MNIST learning targets are in tests/mnist_naive.rs.)

mod support;

use std::process::Command;
use support::shared_data;

fn regimebench(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_regimebench"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn u64s(v: &serde_json::Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

fn run_json(args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let mut all = args.to_vec();
    all.extend(["--quiet", "--out", out.to_str().unwrap()]);
    let (ok, stdout, stderr) = regimebench(&all);
    assert!(ok, "regimebench {args:?} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("ACC"), "summary printed: {stdout}");
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

#[test]
fn a_quick_run_writes_a_complete_result() {
    let Some(data) = shared_data() else { return };
    let data = data.to_str().unwrap();
    let r = run_json(&[
        "run",
        "--dataset",
        "fashion-mnist",
        "--regime",
        "R2",
        "--order",
        "3",
        "--head",
        "multi",
        "--train-per-task",
        "200",
        "--test-per-task",
        "100",
        "--data-dir",
        data,
    ]);
    let a = r["accuracy"].as_array().unwrap();
    assert_eq!(a.len(), 5);
    assert!(a.iter().all(|row| row.as_array().unwrap().len() == 5));
    assert_eq!(r["config"]["order"], 3);
    assert_eq!(r["config"]["train"]["regime"]["name"], "R2");
    assert_eq!(
        r["train_images_per_task"],
        serde_json::json!([200, 200, 200, 200, 200])
    );
    assert_eq!(r["update_norms"]["per_task"].as_array().unwrap().len(), 5);
    assert_eq!(r["update_norms_by_group"].as_array().unwrap().len(), 5);
    // R2 freezes G1..G3 after task 1: their update norms are exactly zero from task 2 on.
    for g in &r["update_norms_by_group"].as_array().unwrap()[..3] {
        let u = g["norms"]["per_task"].as_array().unwrap();
        assert!(
            u[0].as_f64().unwrap() > 0.0 && u[1..].iter().all(|v| v.as_f64() == Some(0.0)),
            "{g}"
        );
    }
    let order = u64s(&r["class_order"]);
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    assert_ne!(order, sorted, "order 3 is a permutation");
    assert!(r["summary"]["acc"].as_f64().unwrap() > 0.0);
    assert!(r["isa"].is_string() && r["wall_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn kmnist_from_its_test_split_says_so() {
    let Some(data) = shared_data() else { return };
    let r = run_json(&[
        "run",
        "--dataset",
        "kmnist",
        "--regime",
        "R1",
        "--train-from-test-split",
        "--train-per-task",
        "100",
        "--test-per-task",
        "50",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(r["data"]["train_from_test_split"], true);
    let notes = r["data"]["notes"].to_string();
    assert!(
        notes.contains("80/20") || notes.contains("test split"),
        "notes say so in words: {notes}"
    );
}

#[test]
fn the_default_global_head_is_recorded_in_full() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let (ok, stdout, stderr) = regimebench(&[
        "run",
        "--dataset",
        "mnist",
        "--regime",
        "R1",
        "--order",
        "2",
        "--train-per-task",
        "100",
        "--test-per-task",
        "50",
        "--quiet",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("| naive |") && stdout.contains("| global head (1 x 10 outputs) |"),
        "the summary names the method and the layout: {stdout}"
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(r["config"]["method"]["name"], "naive");
    assert_eq!(r["config"]["train"]["head"], "global");
    let h = &r["heads"];
    assert_eq!(
        (h["layout"].as_str(), h["classes"].as_u64()),
        (Some("global"), Some(10))
    );
    assert_eq!(
        (h["layers"].as_u64(), h["outputs_per_layer"].as_u64()),
        (Some(1), Some(10))
    );
    let order = u64s(&r["class_order"]);
    for (t, (classes, outputs)) in h["task_classes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(h["task_outputs"].as_array().unwrap())
        .enumerate()
    {
        let want = serde_json::json!(order[2 * t..2 * t + 2]);
        assert_eq!(
            (classes, outputs),
            (&want, &want),
            "task {}: global ids are the outputs",
            t + 1
        );
    }
    // 128 * 10 + 10 head scalars on top of the 97,152 of small below the head.
    assert_eq!(r["parameters"], 97_152 + 1_290);
}

#[test]
fn bad_flags_and_missing_data_are_clear_errors() {
    let (ok, _, err) = regimebench(&["run", "--dataset", "mnist", "--regime", "R9"]);
    assert!(!ok && err.contains("R9"), "{err}");
    let (ok, _, err) = regimebench(&["run", "--dataset", "mnist", "--regime", "conv7"]);
    assert!(!ok && err.contains("conv7"), "{err}");
    let (ok, _, err) = regimebench(&["run", "--dataset", "mnist", "--trainable", "fc,conv9"]);
    assert!(!ok && err.contains("conv9"), "{err}");
    let (ok, _, err) = regimebench(&[
        "run",
        "--dataset",
        "mnist",
        "--regime",
        "R2",
        "--trainable",
        "fc",
    ]);
    assert!(!ok && err.contains("cannot be used with"), "{err}");
    for (flag, message) in [
        ("--lr=-1", "lr must be a positive number, got -1"),
        ("--lr=NaN", "lr must be a positive number, got NaN"),
        ("--momentum=1", "momentum must be in [0, 1), got 1"),
        ("--batch=0", "batch must be at least 1"),
        ("--epochs=0", "epochs must be at least 1"),
        ("--threads=0", "threads must be at least 1"),
        (
            "--train-per-task=1",
            "--train-per-task 1 is less than the 2 classes",
        ),
        (
            "--preset=cifar",
            "the cifar preset takes 3x32x32 images, but mnist has 1x28x28",
        ),
    ] {
        let (ok, _, err) = regimebench(&["run", "--dataset", "mnist", flag, "--quiet"]);
        assert!(!ok && err.contains(message), "{flag}: {err}");
    }
    // The width is checked before anything is allocated (a failed allocation aborts the process).
    for width in ["0", "513", "100000000"] {
        let w = format!("--width={width}");
        let (ok, _, err) = regimebench(&["run", "--dataset", "mnist", "--preset=resnet18", &w]);
        let says = format!("width must be 1 to 512, got {width}");
        assert!(!ok && err.contains(&says), "{w}: {err}");
    }
    for (flags, message) in [
        (
            &["--ewc-lambda=1"][..],
            "--ewc-lambda does not apply to --method naive",
        ),
        (
            &["--method=si", "--fisher=empirical"],
            "--fisher does not apply to --method si",
        ),
        (
            &["--method=ewc", "--si-c=2"],
            "--si-c does not apply to --method ewc",
        ),
        (
            &["--method=ewc", "--ewc-lambda=-1"],
            "ewc lambda must be a number >= 0, got -1",
        ),
        (&["--method=ewc", "--fisher=exact"], "invalid value 'exact'"),
    ] {
        let mut args = vec!["run", "--dataset", "mnist", "--quiet"];
        args.extend_from_slice(flags);
        let (ok, _, err) = regimebench(&args);
        assert!(!ok && err.contains(message), "{flags:?}: {err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_regimebench"))
        .args(["data", "status"])
        .env("REGIMEBENCH_ISA", "sse9")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("REGIMEBENCH_ISA=sse9"),
        "{err}"
    );
    let (ok, _, err) = regimebench(&["run", "--dataset", "nope"]);
    assert!(!ok && err.contains("nope"), "{err}");
    if let Some(data) = shared_data() {
        let (ok, _, err) = regimebench(&[
            "run",
            "--dataset",
            "qmnist",
            "--data-dir",
            data.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(
            !ok && err.contains("qmnist-train-images-idx3-ubyte"),
            "names the missing file: {err}"
        );
    }
}

#[test]
fn a_short_bench_prints_its_table() {
    let args = [
        "bench",
        "--preset",
        "small",
        "--threads",
        "1,2",
        "--rounds",
        "1",
        "--seconds",
        "0.05",
        "--batch",
        "8",
    ];
    let (ok, out, err) = regimebench(&args);
    assert!(ok, "{err}");
    assert!(
        out.contains("batch 8") && out.contains("kernel path"),
        "{out}"
    );
    let rows: Vec<Vec<&str>> = out
        .lines()
        .filter(|l| l.starts_with("small"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    for (row, threads) in rows.iter().zip(["1", "2"]) {
        assert_eq!(row[1], threads);
        let rate: f64 = row[2].parse().expect("images/s");
        assert!(rate > 0.0, "{out}");
    }
}

#[test]
fn bad_bench_flags_are_clear_errors() {
    for (args, says) in [
        (
            &["bench", "--rounds", "0"][..],
            "--rounds must be at least 1",
        ),
        (
            &["bench", "--threads", "0"][..],
            "--threads must be at least 1",
        ),
        (
            &["bench", "--seconds", "0"][..],
            "--seconds must be a positive number",
        ),
        (
            &["bench", "--width", "100000"][..],
            "--width must be 1 to 512, got 100000",
        ),
        (
            &["bench", "--preset", "resnet"][..],
            "invalid value 'resnet'",
        ),
    ] {
        let (ok, _, err) = regimebench(args);
        assert!(!ok && err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn a_method_run_records_its_constants_and_per_task_values() {
    let Some(data) = shared_data() else { return };
    for (method, key) in [("ewc", "ewc"), ("si", "si")] {
        let r = run_json(&[
            "run",
            "--dataset",
            "mnist",
            "--regime",
            "R2",
            "--method",
            method,
            "--penalty-step",
            "explicit",
            "--train-per-task",
            "200",
            "--test-per-task",
            "100",
            "--data-dir",
            data.to_str().unwrap(),
        ]);
        assert_eq!(r["config"]["method"]["name"], method);
        assert_eq!(r["config"]["method"]["penalty_step"], "explicit");
        assert_eq!(r["method_report"][key]["penalty_step"], "explicit");
        assert_eq!(
            r["method_report"]["tasks"].as_array().unwrap().len(),
            5,
            "{method}"
        );
        assert!(r["warnings"].is_array());
    }
}

#[test]
fn an_error_is_printed_once_with_its_cause() {
    // The chain printer once wrote an I/O error's cause twice ("…: No such file or directory (os
    // error 2): No such file or directory (os error 2)"), and a config error of a sweep's run twice.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let out = dir.path().join("report");
    let (ok, _, err) = regimebench(&[
        "report",
        missing.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains(missing.to_str().unwrap()), "{err}");
    assert_eq!(err.matches("(os error 2)").count(), 1, "{err}");
    let results = dir.path().join("results");
    let (ok, _, err) = regimebench(&[
        "sweep",
        "--datasets=mnist",
        "--regimes=R1",
        "--methods=naive",
        "--orders=0",
        "--batch=0",
        "--dry-run",
        "--results",
        results.to_str().unwrap(),
    ]);
    assert!(!ok, "{err}");
    assert_eq!(err.matches("batch must be at least 1").count(), 1, "{err}");
}
