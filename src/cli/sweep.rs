//! The `sweep` subcommand: flags and/or a TOML file -> the grid -> what the results directory
//! already holds is skipped -> the rest runs in parallel -> what ran, was skipped and failed.

use super::method::MethodConstants;
use anyhow::Context;
use progress::Progress;
use regimebench::data::DatasetId;
use regimebench::heads::HeadLayout;
use regimebench::nn::Preset;
use regimebench::run::MethodKind;
use regimebench::sweep::{self, Shard};
use std::io::Write;
use std::path::PathBuf;

mod emit;
mod progress;
mod settings;

const AFTER_HELP: &str = "\
The results directory is the sweep's only state. Each finished run is <hash>.json: its RunResult
(config, accuracy matrix, metrics, update norms, times, version, kernel path) plus `hash` and
`hash_input`, the exact text whose SHA-256 (first 16 hex digits) names the file: the run's config
without the fields that change no number (threads, the prefix cache, the data dir). Each failed run
(divergence, missing data) is <hash>.failed.json: config, label, error and, for a divergence, the
task, epoch and step. Files are written atomically, so a sweep can be killed at any moment; run it
again with the same arguments and it skips every finished run (and every failed one, unless
--retry-failed), says how many, and runs the rest. Hidden .tmp* files a killed writer leaves are
never counted.

--config FILE takes the grid flags above as TOML keys spelled like the flags without `--`; lists
are arrays, and flags on the command line override the file:

    datasets = [\"mnist\", \"fashion-mnist\"]
    regimes = [\"R1\", \"R5\", \"conv3,fc,head\"]
    methods = [\"naive\", \"ewc\", \"si\"]
    orders = [0, 1, 2]
    seeds = [0]
    ewc-lambda = [100, 1000, 5000]
    si-c = [0.1, 1]
    train-per-task = 1000
    results = \"results/study1\"

--shard I/N (1-based) runs the I-th of N disjoint slices of the grid, balanced by a cost model of
each run (the multiply-adds of its passes: the network's groups, what the regime trains, images,
epochs and the method's extra passes; see sweep::cost), so N
machines sharing one results directory cover the grid exactly once. Give every machine the same
grid (name --datasets if their data differ).

Exit status: 0 when the sweep ran to its end, failed runs included (they are listed); 1 on a bad
grid or an error writing the results directory.";

/// Train a grid of runs (datasets x regimes x methods x orders x seeds) in parallel, one JSON per
/// run in the results directory; a restart skips finished runs.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct SweepArgs {
    #[command(flatten)]
    grid: GridArgs,
    /// A TOML file of grid settings: the keys are the grid flags without `--` (see below).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Runs at once (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Kernel threads of each run (results are bit-identical for any count).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Run only the I-th of N cost-balanced, disjoint slices of the grid (1-based: 1/4 .. 4/4).
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Run again the runs that failed before (by default their .failed.json makes them skipped).
    #[arg(long)]
    retry_failed: bool,
    /// List the grid (each run's status, hash and label) and the counts; run nothing.
    #[arg(long)]
    dry_run: bool,
    /// No progress: neither the bar (on a terminal) nor the line per finished run (elsewhere,
    /// e.g. a Slurm log).
    #[arg(long)]
    quiet: bool,
    /// A grid preset under the flags and the file: `quick` is MNIST, R1..R5, all five methods,
    /// orders 0 and 1, 1000 training and 400 test images per task (a few minutes on 2 cores; runs
    /// offline on the repository's MNIST subset), then the report in RESULTS/report.
    #[arg(long = "preset", value_enum)]
    grid_preset: Option<GridPreset>,
    /// After the sweep, write the report of the whole results directory to DIR (as `regimebench
    /// report RESULTS --out DIR`; default with `--preset quick` and no `--shard`: RESULTS/report).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Write an sbatch array script to FILE (one array task per shard, each running this sweep
    /// with `--shard $SLURM_ARRAY_TASK_ID/N` into the same results directory) and run nothing.
    #[arg(long, value_name = "FILE", help_heading = "Slurm")]
    emit_slurm: Option<PathBuf>,
    /// With --emit-slurm: array tasks (shards).
    #[arg(
        long,
        default_value_t = 4,
        requires = "emit_slurm",
        help_heading = "Slurm"
    )]
    shards: usize,
    /// With --emit-slurm: CPUs per array task, each running one run at a time.
    #[arg(
        long,
        default_value_t = 2,
        requires = "emit_slurm",
        help_heading = "Slurm"
    )]
    cpus_per_task: usize,
}

/// Grids with a name (`--preset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GridPreset {
    /// MNIST, R1..R5, all methods, orders 0 and 1, 1000 train / 400 test images per task.
    Quick,
}

/// The grid: what `--config` files may hold too (keys = these long flags).
#[derive(clap::Args, Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct GridArgs {
    /// Datasets, comma-separated (default: every dataset present; see `regimebench data status`).
    #[arg(long, value_enum, value_delimiter = ',', help_heading = "Grid")]
    datasets: Option<Vec<DatasetId>>,
    /// Regimes: R1..R5 or custom group lists written with `+` (`conv3+fc+head`) (default R1..R5).
    #[arg(long, value_delimiter = ',', help_heading = "Grid")]
    regimes: Option<Vec<String>>,
    /// Methods (default: naive,ewc,lwf,si,gem). Each method constant below takes a list: each
    /// value is a grid point of that method only.
    #[arg(long, value_enum, value_delimiter = ',', help_heading = "Grid")]
    methods: Option<Vec<MethodKind>>,
    /// Class orders (default 0,1,...,10).
    #[arg(long, value_delimiter = ',', help_heading = "Grid")]
    orders: Option<Vec<u64>>,
    /// Seeds (default 0).
    #[arg(long, value_delimiter = ',', help_heading = "Grid")]
    seeds: Option<Vec<u64>>,
    /// Head layout of every run: global (default), shared or multi (see `run --help`).
    #[arg(long, value_enum, help_heading = "Every run")]
    head: Option<HeadLayout>,
    /// Network preset, `run --preset` (default: small for the MNIST family, cifar for CIFAR-100;
    /// here `--preset` names a grid).
    #[arg(long = "network", value_enum, help_heading = "Every run")]
    #[serde(rename = "network")]
    preset: Option<Preset>,
    /// resnet18's base width nf (default 64; 20 = the reduced ResNet-18), `run --width`.
    #[arg(long, help_heading = "Every run")]
    width: Option<usize>,
    /// Apply the regime from task 1 too (by default task 1 trains the whole network).
    #[arg(long, help_heading = "Every run")]
    regime_from_first_task: bool,
    /// SGD learning rate eta (default 0.05).
    #[arg(long, help_heading = "Every run")]
    lr: Option<f32>,
    /// SGD momentum (default 0).
    #[arg(long, help_heading = "Every run")]
    momentum: Option<f32>,
    /// Weight decay (default 0).
    #[arg(long, help_heading = "Every run")]
    weight_decay: Option<f32>,
    /// Minibatch size (default 64).
    #[arg(long, help_heading = "Every run")]
    batch: Option<usize>,
    /// Epochs per task (default: 1 for the MNIST family, 5 for CIFAR-100).
    #[arg(long, help_heading = "Every run")]
    epochs: Option<usize>,
    /// Train on N images per task (N/k per class, seeded).
    #[arg(long, help_heading = "Every run")]
    train_per_task: Option<usize>,
    /// Evaluate on N images per task (N/k per class).
    #[arg(long, help_heading = "Every run")]
    test_per_task: Option<usize>,
    /// Carve train and test from the official test split (seeded 80/20; KMNIST here).
    #[arg(long, help_heading = "Every run")]
    train_from_test_split: bool,
    /// Data root searched first (then $REGIMEBENCH_DATA, the cache, ..., ../shared/data).
    #[arg(long, help_heading = "Every run")]
    data_dir: Option<PathBuf>,
    /// The results directory (default results/).
    #[arg(long, value_name = "DIR")]
    results: Option<PathBuf>,
    #[command(flatten)]
    #[serde(flatten)]
    constants: MethodConstants,
}

/// The keys a `--config` file may hold: the long names of the grid flags.
/// Runs the sweep: plans it against the results directory, runs what is left, prints the counts.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    let mut settings = match &args.config {
        Some(file) => args.grid.over_file(file)?,
        None => args.grid.clone(),
    };
    if let Some(preset) = args.grid_preset {
        settings = settings.under(preset);
    }
    let results = settings.results();
    let grid = settings.grid(args.threads)?;
    let mut points = grid.expand()?;
    let all = points.len();
    let names: Vec<&str> = grid.datasets.iter().map(|d| d.name()).collect();
    print!(
        "grid: {all} runs ({} x {} regimes x {} method configs x {} orders x {} seeds)",
        names.join(","),
        grid.regimes.len(),
        grid.methods.len(),
        grid.orders.len(),
        grid.seeds.len()
    );
    if let Some(s) = args.shard {
        let total: u64 = points.iter().map(|p| sweep::cost(&p.config)).sum();
        points = sweep::shard::select(points, s);
        let ours: u64 = points.iter().map(|p| sweep::cost(&p.config)).sum();
        let share = 100.0 * ours as f64 / total.max(1) as f64;
        print!(
            "; shard {s}: {} runs, {share:.1}% of the expected cost",
            points.len()
        );
    }
    println!();
    if let Some(file) = &args.emit_slurm {
        return emit::slurm(&args, file, &points, &results);
    }
    let shown = points.clone();
    let plan = sweep::plan(points, &results, args.retry_failed)?;
    println!(
        "results: {}; finished before: {} (skipped); failed before: {}{}; to run: {}",
        results.display(),
        plan.finished.len(),
        plan.failed_before.len(),
        if args.retry_failed {
            ""
        } else {
            " (skipped; --retry-failed reruns them)"
        },
        plan.todo.len()
    );
    if args.dry_run {
        let status = |h: &str| {
            let has = |ps: &[sweep::Point]| ps.iter().any(|p| p.key.hash == h);
            if has(&plan.finished) {
                "finished"
            } else if has(&plan.failed_before) {
                "failed"
            } else {
                "to run"
            }
        };
        let mut out = std::io::stdout().lock();
        for p in &shown {
            let line = format!("{:<8}  {}  {}", status(&p.key.hash), p.key.hash, p.label());
            if writeln!(out, "{line}").is_err() {
                break; // e.g. piped into `head`
            }
        }
        return Ok(());
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let progress = Progress::new(&plan.todo, args.quiet);
    let outcome = sweep::run(&plan.todo, &results, jobs, &|e| progress.on_event(e))
        .with_context(|| format!("writing into {}", results.display()))?;
    progress.finish();
    println!(
        "ran: {}; skipped: {} finished before, {} failed before{}; failed now: {}",
        outcome.ran,
        plan.finished.len(),
        plan.failed_before.len(),
        match outcome.elsewhere {
            0 => String::new(),
            n => format!(", {n} finished by another sweep meanwhile"),
        },
        outcome.failed.len()
    );
    for f in &outcome.failed {
        println!("  failed: {}: {}", f.label, f.error);
    }
    println!("results: {}", results.display());
    let report = args.report.clone().or_else(|| {
        let whole = args.shard.is_none();
        (whole && args.grid_preset == Some(GridPreset::Quick)).then(|| results.join("report"))
    });
    if let Some(out) = report {
        super::report::write(&results, &out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
