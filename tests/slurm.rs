//! The emitted sbatch array script, submitted for real to the one-node cluster that `.ci/run`
//! starts (scripts/slurm-localhost.sh; SLURM_CONF names it): every run of the grid lands in the
//! results directory exactly once, and a rerun of the sweep finds them all finished.

use regimebench::run::RunResult;
use std::path::Path;
use std::process::Command;

const GRID: [&str; 14] = [
    "--datasets",
    "mnist",
    "--regimes",
    "R1,R5",
    "--methods",
    "naive,ewc",
    "--orders",
    "0,1",
    "--train-per-task",
    "100",
    "--test-per-task",
    "50",
    "--results",
    "res",
];

fn regimebench(dir: &Path, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_regimebench"))
        .current_dir(dir)
        .arg("sweep")
        .args(GRID)
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn the_emitted_array_script_covers_the_grid_exactly_once() {
    if std::env::var_os("SLURM_CONF").is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must start the Slurm cluster (.ci/run) and export SLURM_CONF"
        );
        eprintln!("note: SLURM_CONF is unset (no cluster); skipping");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let said = regimebench(
        dir,
        &[
            "--emit-slurm",
            "job.sh",
            "--shards",
            "3",
            "--cpus-per-task",
            "1",
        ],
    );
    assert!(said.contains("8 runs in 3 array tasks"), "{said}");
    let script = std::fs::read_to_string(dir.join("job.sh")).unwrap();
    assert!(script.contains("#SBATCH --array=1-3"), "{script}");
    assert!(
        script.contains("--shard \"$SLURM_ARRAY_TASK_ID/3\""),
        "{script}"
    );
    let out = Command::new("sbatch")
        .current_dir(dir)
        .args(["--parsable", "--wait", "job.sh"])
        .output()
        .expect("sbatch runs");
    let logs: Vec<String> = std::fs::read_dir(dir.join("res"))
        .map(|d| {
            (d.flatten())
                .filter(|e| e.file_name().to_string_lossy().starts_with("slurm-"))
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        out.status.success(),
        "sbatch: {}{}\nlogs:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        logs.join("\n---\n")
    );
    let mut results = 0;
    for e in std::fs::read_dir(dir.join("res")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        assert!(!name.ends_with(".failed.json"), "a run failed: {name}");
        if name.ends_with(".json") {
            let text = std::fs::read_to_string(e.path()).unwrap();
            let r: RunResult =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(r.accuracy.len(), 5, "{name}");
            results += 1;
        }
    }
    assert_eq!(results, 8, "one result per grid point");
    let report = Command::new(env!("CARGO_BIN_EXE_regimebench"))
        .current_dir(dir)
        .args(["report", "res", "--out", "rep"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.status.success() && said.starts_with("8 runs, 0 failed"),
        "{said}{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let md = std::fs::read_to_string(dir.join("rep/report.md")).unwrap();
    for cell in ["| R1 | naive | 2 | 0 (0/0) |", "| R5 | ewc | 2 | 0 (0/0) |"] {
        assert!(md.contains(cell), "{cell} in {md}");
    }
    let again = regimebench(dir, &["--dry-run"]);
    assert!(
        again.contains("finished before: 8 (skipped)") && again.contains("to run: 0"),
        "{again}"
    );
}
