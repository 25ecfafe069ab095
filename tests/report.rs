//! `regimebench report` end to end on a synthetic results directory: every file written, the
//! tables in report.md with the right run counts, valid PNGs, a corrupt file named in a warning,
//! and the same bytes from the same inputs.

use regimebench::data::DatasetId;
use regimebench::report::fixtures;
use regimebench::run::MethodKind;
use std::path::Path;
use std::process::Command;

/// mnist and cifar100, R1 and R5, lwf and gem, orders 0..3 (3 runs per cell); one more mnist R5
/// gem run that diverged, a corrupt file and a hash-input record.
fn results_dir(dir: &Path) {
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    for ds in [DatasetId::Mnist, DatasetId::Cifar100] {
        for regime in ["R1", "R5"] {
            for (i, m) in [MethodKind::Lwf, MethodKind::Gem].into_iter().enumerate() {
                for order in 0..3u64 {
                    let cfg = fixtures::config(ds, regime, m, order, 0);
                    let tasks = ds.tasks();
                    let depth = if regime == "R1" { 0.0 } else { 1.0 };
                    let acc = 0.8 - 0.05 * i as f64 - 0.1 * depth + 0.01 * order as f64;
                    let u = 1.0 + depth + 0.1 * order as f64 + 0.05 * i as f64;
                    let f = 0.02 + 0.03 * u + 0.01 * (order % 2) as f64;
                    let r = fixtures::run_result(
                        cfg,
                        fixtures::matrix(tasks, acc, f),
                        &fixtures::snapshots(tasks, u),
                    );
                    let name = format!("{ds}-{regime}-{m}-o{order}.json");
                    std::fs::write(runs.join(name), serde_json::to_vec_pretty(&r).unwrap())
                        .unwrap();
                }
            }
        }
    }
    let failed = fixtures::config(DatasetId::Mnist, "R5", MethodKind::Gem, 9, 0);
    let record = serde_json::json!({
        "config": failed,
        "error": "training diverged: loss NaN at task 3 (1-based), epoch 1, step 7 of the task",
    });
    std::fs::write(dir.join("failed-gem.json"), record.to_string()).unwrap();
    std::fs::write(dir.join("corrupt.json"), b"{\"config\": {\"dataset\": ").unwrap();
    std::fs::write(
        dir.join("hash-inputs.json"),
        b"{\"key\": \"abc\", \"inputs\": []}",
    )
    .unwrap();
}

fn report(results: &Path, out: &Path) -> (String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_regimebench"))
        .arg("report")
        .arg(results)
        .arg("--out")
        .arg(out)
        .output()
        .expect("runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    );
    assert!(o.status.success(), "report failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn report_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    results_dir(&results);
    let out = tmp.path().join("report");
    let (stdout, stderr) = report(&results, &out);
    assert!(
        stdout.contains("24 runs, 1 failed, 1 ignored, 1 skipped"),
        "{stdout}"
    );
    assert!(
        stderr.contains("corrupt.json: skipped, not valid JSON"),
        "the corrupt file is named: {stderr}"
    );

    for f in [
        "report.md",
        "cells.csv",
        "claims.csv",
        "rankings.csv",
        "kendall.csv",
        "norms.csv",
        "norm_factor.csv",
        "correlation.csv",
        "depth.csv",
        "strength.csv",
        "inputs.csv",
        "acc_by_regime.svg",
        "u_by_regime.png",
        "rank_by_regime.png",
        "forgetting_vs_u_mnist.png",
        "forgetting_vs_u_cifar100.svg",
        "forgetting_vs_u_pooled.png",
    ] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    let png = std::fs::read(out.join("acc_by_regime.png")).unwrap();
    assert!(png.len() > 1000, "a PNG of {} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(width >= 640 && height >= 480, "{width} x {height}");
    assert!(std::fs::read_to_string(out.join("acc_by_regime.svg"))
        .unwrap()
        .contains("mnist (12 runs; bars ± 1 std)"));

    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("24 finished runs, 1 failed runs (1 diverged, 0 other errors)"));
    // the per-cell tables: 3 runs per cell; the diverged run counted beside mnist R5 gem
    assert!(md.contains("### mnist\n"), "{md}");
    assert!(
        md.contains("| R1 | lwf | 3 | 0 (0/0) | 81.00 ± 1.00 [78.52, 83.48] |"),
        "{md}"
    );
    assert!(md.contains("| R5 | gem | 3 | 1 (1/0) |"), "{md}");
    // pooled over both datasets: 6 runs per cell
    assert!(md.contains("### pooled\n"));
    assert!(md.contains("| R1 | lwf | 6 | 0 (0/0) |"), "{md}");
    // rankings, norms, correlation and depth tables carry their n
    assert!(
        md.contains("| mnist | R1 | lwf 81.00 (3) > gem 76.00 (3) |"),
        "{md}"
    );
    assert!(
        md.contains("| mnist | all methods | 1.125 (n 6) | 2.125 (n 6) | 1.89 |"),
        "{md}"
    );
    assert!(md.contains("| mnist | R1 (head-only) | 6 |"), "{md}");
    assert!(md.contains("| cifar100 | colour |"), "{md}");
    // the claims table, with study names and verdicts
    assert!(
        md.contains("| head-only (R1): best method by average accuracy | mnist | lwf, about 92% |")
    );
    assert!(md.contains("| update norm roughly doubles from head-only to full network | mnist |"));
    assert!(md.contains("**confirmed**") && md.contains("**not testable**"));
    assert!(md.contains(
        "![ACC (mean ± std over orders and seeds) per method across regimes](acc_by_regime.png)"
    ));
    assert!(md.contains("corrupt.json: skipped"));
    let claims = std::fs::read_to_string(out.join("claims.csv")).unwrap();
    assert!(claims.starts_with("setup,scope,claim,study,measured,verdict,why,runs\n"));
    let cells = std::fs::read_to_string(out.join("cells.csv")).unwrap();
    assert!(cells.contains(",mnist,R5,gem,true,3,3,3,1,1,0,"), "{cells}");

    // same inputs, same bytes (md and CSV)
    let again = tmp.path().join("again");
    report(&results, &again);
    for f in [
        "report.md",
        "cells.csv",
        "claims.csv",
        "rankings.csv",
        "correlation.csv",
    ] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f} is deterministic"
        );
    }
}

#[test]
fn help_names_every_output_and_a_missing_dir_fails_clearly() {
    let o = Command::new(env!("CARGO_BIN_EXE_regimebench"))
        .args(["report", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    for f in [
        "report.md",
        "claims.csv",
        "cells.csv",
        "norm_factor.csv",
        "strength.csv",
        "forgetting_vs_u_",
    ] {
        assert!(help.contains(f), "--help names {f}");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_regimebench"))
        .args(["report", "/nonexistent/results", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("/nonexistent/results"), "{err}");
}
