//! `sweep --emit-slurm FILE`: an sbatch array script, one array task per shard, that runs the same
//! sweep with `--shard $SLURM_ARRAY_TASK_ID/N` on every node; all of them write into one shared
//! results directory, whose hashed, atomically written files make the cover exactly-once.
//!
//! Estimates: a shard's time is its cost ([`super::cost`], the same model that balances the
//! shards) at the slowest measured speed (one Zen 3 core: 0.029-0.039 ns per modelled
//! multiply-add over the committed grids; AVX-512 hosts 0.014-0.016), divided by the runs it runs
//! at once (`--cpus-per-task`) as a greedy schedule can take them (costliest first, each to the
//! next free CPU: at most load / cpus + (1 - 1/cpus) x the costliest run), times 2 for safety
//! (cells run up to 1.74x the model), plus 10 minutes; memory is 2 GiB plus 1 GiB per run at once
//! (a loaded CIFAR-100 with its prefix caches stays under 1 GiB).

use super::cost::cost;
use super::shard::assign;
use super::Point;
use std::fmt::Write;
use std::path::Path;

/// Seconds per modelled multiply-add on one core of the slowest host measured (Zen 3).
pub const SECONDS_PER_MAC: f64 = 4.0e-11;

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

/// Estimated wall seconds of the slowest shard and memory in MiB per array task. A shard's runs
/// go costliest first, each to the next free one of `cpus` (a run is on one core): such a list
/// schedule ends by load / cpus + (1 - 1/cpus) x its costliest run (Graham's bound).
pub fn estimate(points: &[Point], shards: usize, cpus: usize) -> (u64, u64) {
    let (mut load, mut longest) = (vec![0u64; shards], vec![0u64; shards]);
    for (p, s) in points.iter().zip(assign(points, shards)) {
        let c = cost(&p.config);
        load[s] += c;
        longest[s] = longest[s].max(c);
    }
    let worst = (0..shards)
        .map(|s| {
            let cpus = cpus.max(1) as f64;
            load[s] as f64 / cpus + (1.0 - 1.0 / cpus) * longest[s] as f64
        })
        .fold(0.0, f64::max);
    (
        (2.0 * worst * SECONDS_PER_MAC) as u64 + 600,
        2048 + 1024 * cpus as u64,
    )
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
    use crate::data::DatasetId;
    use crate::regime::Regime;
    use crate::run::MethodKind;
    use crate::sweep::Grid;

    #[test]
    fn times_and_words_are_written_for_sbatch_and_bash() {
        assert_eq!(hms(0), "00:00:00");
        assert_eq!(hms(3600 * 30 + 61), "30:01:01");
        assert_eq!(quote("--ewc-lambda"), "--ewc-lambda");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    fn points(dataset: DatasetId, regimes: &[usize], methods: &[MethodKind]) -> Vec<Point> {
        let mut g = Grid::protocol(vec![dataset]);
        g.regimes = regimes.iter().map(|&d| Regime::depth(d)).collect();
        g.methods = methods.iter().map(|m| m.defaults()).collect();
        g.orders = vec![0];
        g.expand().unwrap()
    }

    #[test]
    fn time_limits_cover_the_slowest_runs_measured_twice() {
        // Measured on one Zen 3 core (committed results): CIFAR-100 GEM R5 95 min, MNIST GEM R5
        // 118 s, MNIST naive R1 7.2 s. A shard of one such run gets at least twice that, however
        // many CPUs it has: a run uses one.
        let cases = [
            (DatasetId::Cifar100, 5, MethodKind::Gem, 95 * 60),
            (DatasetId::Mnist, 5, MethodKind::Gem, 118),
            (DatasetId::Mnist, 1, MethodKind::Naive, 7),
        ];
        for (dataset, depth, method, seconds) in cases {
            for cpus in [1, 4] {
                let (limit, _) = estimate(&points(dataset, &[depth], &[method]), 1, cpus);
                assert!(
                    limit >= 2 * seconds + 600,
                    "{dataset:?} {method:?}: {limit} s"
                );
            }
        }
        // Five runs of one cost on 4 CPUs take two runs' time (four at once, then the fifth):
        // the limit is twice that, plus 10 minutes; on one CPU twice five runs' time.
        let mut g = Grid::protocol(vec![DatasetId::Mnist]);
        (g.regimes, g.methods, g.orders) = (
            vec![Regime::depth(1)],
            vec![MethodKind::Naive.defaults()],
            (0..5).collect(),
        );
        let five = g.expand().unwrap();
        let run = cost(&five[0].config) as f64 * SECONDS_PER_MAC;
        for (cpus, runs) in [(4, 2.0), (1, 5.0)] {
            let (limit, _) = estimate(&five, 1, cpus);
            let want = (2.0 * runs * run) as u64 + 600;
            assert!(
                limit.abs_diff(want) <= 1,
                "{cpus} CPUs: {limit} s, want {want} s"
            );
        }
    }
}
