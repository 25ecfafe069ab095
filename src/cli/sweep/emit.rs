//! `sweep --emit-slurm FILE`: the sbatch array script for the grid, with the same sweep
//! arguments less those the script sets itself (`--shard`, `--jobs`).

use super::SweepArgs;
use anyhow::Context;
use regimebench::sweep;
use std::path::Path;

/// Writes the sbatch array script for `points` (the whole grid) to `file`.
pub(super) fn slurm(
    args: &SweepArgs,
    file: &Path,
    points: &[sweep::Point],
    results: &Path,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.shard.is_none(),
        "--emit-slurm writes every shard: drop --shard"
    );
    anyhow::ensure!(args.shards >= 1, "--shards must be at least 1");
    anyhow::ensure!(
        args.cpus_per_task >= 1,
        "--cpus-per-task must be at least 1"
    );
    // The same sweep arguments, less what the script sets itself; shards write no report (they
    // would race on its files): `regimebench report` reads the directory once they are done.
    let drop_with_value = [
        "--emit-slurm",
        "--shard",
        "--jobs",
        "--shards",
        "--cpus-per-task",
        "--report",
    ];
    let mut kept = Vec::new();
    let mut raw = std::env::args().skip_while(|a| a != "sweep").skip(1);
    while let Some(a) = raw.next() {
        let name = a.split('=').next().unwrap_or("");
        if drop_with_value.contains(&name) {
            if !a.contains('=') {
                raw.next();
            }
        } else if a != "--quiet" {
            kept.push(a);
        }
    }
    let workdir = std::env::current_dir().context("the current directory")?;
    let binary = std::env::current_exe().context("the regimebench binary's path")?;
    std::fs::create_dir_all(results)
        .with_context(|| format!("creating the results directory {}", results.display()))?;
    let job = sweep::slurm::SlurmJob {
        shards: args.shards,
        cpus: args.cpus_per_task,
        workdir: &workdir,
        binary: &binary,
        args: &kept,
        logs: &workdir.join(results),
    };
    let text = sweep::slurm::script(&job, points);
    std::fs::write(file, &text).with_context(|| format!("writing {}", file.display()))?;
    let (seconds, mem) = sweep::slurm::estimate(points, args.shards, args.cpus_per_task);
    println!(
        "wrote {}: {} runs in {} array tasks of {} CPUs (estimates: {} min, {} MiB each); submit it \
         with `sbatch {}`",
        file.display(),
        points.len(),
        args.shards,
        args.cpus_per_task,
        seconds.div_ceil(60),
        mem,
        file.display()
    );
    Ok(())
}
