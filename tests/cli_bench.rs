//! `regimebench bench methods` on the command line: its help, and clear errors for bad flags
//! before anything is loaded or trained. (`bench` alone, the step benchmark, is in tests/cli_run.rs.)

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

#[test]
fn bench_methods_help_names_its_flags() {
    let (ok, out, err) = regimebench(&["bench", "methods", "--help"]);
    assert!(ok, "{err}");
    for flag in [
        "--regimes",
        "--methods",
        "--train-per-task",
        "--threads",
        "--rounds",
        "--data-dir",
        "--json",
    ] {
        assert!(out.contains(flag), "{flag} missing from:\n{out}");
    }
    let (ok, out, err) = regimebench(&["bench", "--help"]);
    assert!(
        ok && out.contains("methods") && out.contains("--preset"),
        "{out}{err}"
    );
}

#[test]
fn bad_bench_methods_flags_are_clear_errors() {
    for (args, says) in [
        (
            &["bench", "methods", "--train-per-task", "0"][..],
            "--train-per-task must be at least 1",
        ),
        (
            &["bench", "methods", "--rounds", "0"][..],
            "--rounds must be at least 1",
        ),
        (
            &["bench", "methods", "--threads", "0"][..],
            "--threads must be at least 1",
        ),
        (
            &["bench", "methods", "--methods", "naive,adam"][..],
            "invalid value 'adam' for '--methods",
        ),
        (
            &["bench", "methods", "--regimes", "R1,R9"][..],
            "invalid value 'R9' for '--regimes",
        ),
        (
            &["bench", "--rounds", "2", "methods"][..],
            "cannot be used with",
        ),
    ] {
        let (ok, _, err) = regimebench(args);
        assert!(!ok && err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn bench_methods_names_missing_data() {
    // ../shared/data has no QMNIST train file: the error comes from loading, before any run.
    let Some(data) = shared_data() else { return };
    let (ok, _, err) = regimebench(&[
        "bench",
        "methods",
        "--dataset",
        "qmnist",
        "--data-dir",
        data.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(
        !ok && err.contains("bench methods") && err.contains("qmnist-train-images-idx3-ubyte"),
        "{err}"
    );
}
