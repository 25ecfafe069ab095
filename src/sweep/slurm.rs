//! `sweep --emit-slurm FILE`: an sbatch array script, one array task per shard, that runs the same
//! sweep with `--shard $SLURM_ARRAY_TASK_ID/N` on every node; all of them write into one shared
//! results directory, whose hashed, atomically written files make the cover exactly-once.
//!
//! Estimates: a shard's time is its cost ([`super::cost`], the same model that balances the
//! shards) in seconds, calibrated on naive R1 on full MNIST (6 s measured on one core of this
//! project's 2-vCPU machine), divided by the runs it runs at once (`--cpus-per-task`), times 2 for
//! safety, plus 10 minutes; memory is 2 GiB plus 1 GiB per run at once (a loaded CIFAR-100 with
//! its prefix caches stays under 1 GiB).

use super::shard::{assign, cost};
use super::Point;
use crate::data::DatasetId;
use crate::regime::Regime;
use crate::run::RunConfig;
use std::fmt::Write;
use std::path::Path;

/// Seconds that naive R1 on full MNIST takes on one core (the calibration of the cost units).
const NAIVE_R1_MNIST_SECONDS: f64 = 6.0;

/// What the script runs and where.
pub struct SlurmJob<'a> {
    /// Array tasks, one shard each.
    pub shards: usize,
    /// Runs at once within a shard (`--cpus-per-task`, `--jobs`).
    pub cpus: usize,
    /// The directory the sweep runs in (relative paths in `args` are from there).
    pub workdir: &'a Path,
    /// The regimebench binary.
    pub binary: &'a Path,
    /// The sweep's arguments, without `--shard`, `--jobs` and `--emit-slurm`.
    pub args: &'a [String],
    /// Where Slurm writes each array task's log.
    pub logs: &'a Path,
}

/// Estimated wall seconds of the slowest shard and memory in MiB per array task.
pub fn estimate(points: &[Point], shards: usize, cpus: usize) -> (u64, u64) {
    let unit = NAIVE_R1_MNIST_SECONDS
        / cost(&RunConfig::defaults(DatasetId::Mnist, Regime::depth(1))) as f64;
    let mut load = vec![0u64; shards];
    for (p, s) in points.iter().zip(assign(points, shards)) {
        load[s] += cost(&p.config);
    }
    let worst = load.iter().copied().max().unwrap_or(0) as f64 * unit / cpus.max(1) as f64;
    ((2.0 * worst) as u64 + 600, 2048 + 1024 * cpus as u64)
}

/// `HH:MM:SS` (hours may exceed 24: sbatch reads `--time=30:00:00`).
fn hms(seconds: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// A word for bash: single-quoted unless it is plain.
fn quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The sbatch array script for `points` (the whole grid, before sharding).
pub fn script(job: &SlurmJob, points: &[Point]) -> String {
    let (seconds, mem) = estimate(points, job.shards, job.cpus);
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(
        s,
        "# regimebench sweep on Slurm: {} runs in {} cost-balanced shards, one array task each.\n\
         # Submit as is: sbatch THIS_FILE. Every shard writes into the same results directory;\n\
         # a task that is killed or fails can be resubmitted (finished runs are skipped).",
        points.len(),
        job.shards
    );
    let _ = writeln!(s, "#SBATCH --job-name=regimebench-sweep");
    let _ = writeln!(s, "#SBATCH --array=1-{}", job.shards);
    let _ = writeln!(s, "#SBATCH --cpus-per-task={}", job.cpus);
    let _ = writeln!(s, "#SBATCH --mem={mem}M");
    let _ = writeln!(s, "#SBATCH --time={}", hms(seconds));
    let log = job.logs.join("slurm-%A_%a.out");
    let _ = writeln!(s, "#SBATCH --output={}", log.display());
    let _ = writeln!(s, "set -euo pipefail");
    let _ = writeln!(s, "cd {}", quote(&job.workdir.display().to_string()));
    let mut cmd = vec![quote(&job.binary.display().to_string()), "sweep".into()];
    cmd.extend(job.args.iter().map(|a| quote(a)));
    cmd.push("--quiet".into());
    cmd.push(format!("--jobs {}", job.cpus));
    cmd.push(format!("--shard \"$SLURM_ARRAY_TASK_ID/{}\"", job.shards));
    let _ = writeln!(s, "exec {}", cmd.join(" "));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_words_are_written_for_sbatch_and_bash() {
        assert_eq!(hms(0), "00:00:00");
        assert_eq!(hms(3600 * 30 + 61), "30:01:01");
        assert_eq!(quote("--ewc-lambda"), "--ewc-lambda");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
