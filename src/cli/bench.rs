//! The `bench` subcommand, without criterion (a release binary is enough): `bench` alone times
//! training steps (images/s) of each preset on 1 and all threads (`cargo bench` has the same step
//! and the kernel benches); `bench methods` times each continual-learning method's run against
//! naive's (issue 17's cost targets).

use anyhow::Context;
use regimebench::bench::{self, CostGrid, CostOptions, CostRun, CostSummary, Spread, StepBench};
use regimebench::data::DatasetId;
use regimebench::nn::Preset;
use regimebench::regime::Regime;
use regimebench::run::MethodKind;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Flags of `regimebench bench`: the step benchmark's, or a subcommand.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: Option<BenchCmd>,
    #[command(flatten)]
    steps: StepArgs,
}

#[derive(clap::Subcommand, Debug)]
enum BenchCmd {
    /// Cost of each method relative to naive, per regime: the real training loop on a real
    /// dataset, every hook timed, interleaved rounds.
    Methods(MethodsArgs),
}

/// Flags of the step benchmark (`regimebench bench`).
#[derive(clap::Args, Debug)]
struct StepArgs {
    /// Presets to time (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["small", "cifar"])]
    preset: Vec<Preset>,
    /// resnet18's base width nf (64 is the study's ResNet-18, 20 the reduced one); resnet18 is
    /// timed on 3x32x32 images.
    #[arg(long, default_value_t = Preset::DEFAULT_WIDTH)]
    width: usize,
    /// Thread counts to time (comma-separated). Default: 1 and all cores.
    #[arg(long, value_delimiter = ',')]
    threads: Vec<usize>,
    /// Images per step.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Timed rounds; the table gives the median and the best.
    #[arg(long, default_value_t = 7)]
    rounds: usize,
    /// Seconds per round (whole steps: at least one).
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
}

pub fn run(a: BenchArgs) -> anyhow::Result<()> {
    match a.what {
        Some(BenchCmd::Methods(m)) => run_methods(m),
        None => run_steps(a.steps),
    }
}

fn run_steps(a: StepArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.batch >= 1, "--batch must be at least 1");
    anyhow::ensure!(
        (1..=Preset::MAX_WIDTH).contains(&a.width),
        "--width must be 1 to {}, got {}",
        Preset::MAX_WIDTH,
        a.width
    );
    anyhow::ensure!(a.rounds >= 1, "--rounds must be at least 1");
    anyhow::ensure!(
        a.seconds.is_finite() && a.seconds > 0.0,
        "--seconds must be a positive number"
    );
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut threads = a.threads.clone();
    if threads.is_empty() {
        threads = if all > 1 { vec![1, all] } else { vec![1] };
    }
    anyhow::ensure!(
        threads.iter().all(|&t| t >= 1),
        "--threads must be at least 1"
    );
    println!(
        "training step (forward + backward + SGD), batch {}, all groups trainable; kernel path {}",
        a.batch,
        regimebench_kernels::kernel_path_description()
    );
    println!(
        "{:<8} {:>7} {:>12} {:>12} {:>14}",
        "preset", "threads", "median img/s", "best img/s", "cpu ms/step"
    );
    for &preset in &a.preset {
        for &t in &threads {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build()?;
            let r = pool.install(|| time_steps(preset, &a));
            println!(
                "{:<8} {:>7} {:>12.0} {:>12.0} {:>14.2}",
                format!("{preset:?}").to_lowercase(),
                t,
                r.median,
                r.best,
                r.cpu_ms_per_step
            );
        }
    }
    Ok(())
}

/// Images per second (median and best round) and process CPU time per step.
struct Rates {
    median: f64,
    best: f64,
    cpu_ms_per_step: f64,
}

fn time_steps(preset: Preset, a: &StepArgs) -> Rates {
    let mut b = StepBench::new(preset, a.width, a.batch);
    let budget = Duration::from_secs_f64(a.seconds);
    let warm = Instant::now();
    while warm.elapsed() < budget / 2 {
        b.step();
    }
    let (mut rates, mut steps, cpu0) = (Vec::new(), 0usize, cpu_seconds());
    for _ in 0..a.rounds {
        let (start, mut n) = (Instant::now(), 0usize);
        while n == 0 || start.elapsed() < budget {
            b.step();
            n += 1;
        }
        rates.push((n * b.batch()) as f64 / start.elapsed().as_secs_f64());
        steps += n;
    }
    rates.sort_by(f64::total_cmp);
    Rates {
        median: rates[rates.len() / 2],
        best: rates[rates.len() - 1],
        cpu_ms_per_step: (cpu_seconds() - cpu0) * 1e3 / steps as f64,
    }
}

/// User + system CPU seconds of this process so far.
#[cfg(unix)]
fn cpu_seconds() -> f64 {
    // SAFETY: `getrusage` writes one `rusage` into the zeroed value we own.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Not measured off Unix: the column shows NaN.
#[cfg(not(unix))]
fn cpu_seconds() -> f64 {
    f64::NAN
}

/// Flags of `regimebench bench methods`. Each run takes the protocol's defaults and each method
/// its default constants; naive is always measured (every ratio is against it).
#[derive(clap::Args, Debug)]
struct MethodsArgs {
    /// Dataset to split into tasks.
    #[arg(long, value_enum, default_value_t = DatasetId::Mnist)]
    dataset: DatasetId,
    /// Regimes to time (comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = parse_regime,
          default_values = ["R1", "R2", "R3", "R4", "R5"])]
    regimes: Vec<Regime>,
    /// Methods to time (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',',
          default_values = ["naive", "ewc", "lwf", "si", "gem"])]
    methods: Vec<MethodKind>,
    /// Training images per task (N/k per class).
    #[arg(long, default_value_t = 2000)]
    train_per_task: usize,
    /// Test images per task (evaluation is not timed).
    #[arg(long, default_value_t = 100)]
    test_per_task: usize,
    /// Worker threads (at 1 the ratios are free of parallel scaling).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Interleaved rounds: each runs every (regime, method) once; the table gives the median and
    /// the range of each ratio.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Data root searched first (then $REGIMEBENCH_DATA, the cache, /usr/share/datasets, ../shared/data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Also write every timing and the tables as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No line per finished run on stderr.
    #[arg(long)]
    quiet: bool,
}

fn parse_regime(s: &str) -> Result<Regime, String> {
    s.parse()
}

fn run_methods(a: MethodsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.train_per_task >= 1, "--train-per-task must be at least 1");
    anyhow::ensure!(a.rounds >= 1, "--rounds must be at least 1");
    anyhow::ensure!(a.threads >= 1, "--threads must be at least 1");
    let opts = CostOptions {
        dataset: a.dataset,
        data_dir: a.data_dir.clone(),
        regimes: a.regimes.clone(),
        methods: a.methods.clone(),
        train_per_task: a.train_per_task,
        test_per_task: Some(a.test_per_task),
        threads: a.threads,
        rounds: a.rounds,
    };
    let per_round = a.regimes.len() * opts.methods_in_order().len();
    let mut done = 0usize;
    let mut note = |r: &CostRun| {
        done += 1;
        if !a.quiet {
            eprintln!(
                "[{done}/{}] round {} {} {}: {:.2} s",
                per_round * a.rounds,
                r.round + 1,
                r.regime.name,
                r.method.kind(),
                r.seconds()
            );
        }
    };
    let grid = bench::measure(&opts, &mut note).context("bench methods")?;
    let summary = bench::summarize(&grid)?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = format!("regimebench {}", args.join(" "));
    let machine = machine();
    print_tables(&grid, &summary, &command, &machine);
    if let Some(path) = &a.json {
        let json = serde_json::json!({
            "command": command, "machine": machine, "grid": grid, "summary": summary,
        });
        regimebench::run::write_atomically(path, &serde_json::to_vec_pretty(&json)?)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The CPU model (Linux: /proc/cpuinfo) and its core count.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {cores} cores")
}

/// `median [min-max]`.
fn spread(s: &Spread, digits: usize) -> String {
    format!(
        "{:.digits$} [{:.digits$}-{:.digits$}]",
        s.median, s.min, s.max
    )
}

fn met(t: Option<&bench::Target>, value: f64) -> &'static str {
    match t {
        None => "-",
        Some(t) if t.met(value) => "yes",
        Some(_) => "NO",
    }
}

fn print_tables(g: &CostGrid, s: &CostSummary, command: &str, machine: &str) {
    let images = g.train_images.first().copied().unwrap_or(0);
    println!(
        "cost relative to naive: {}, {images} train images per task, batch {}, {} epoch(s), {} \
         thread(s), {} round(s): median [min-max] over rounds",
        g.dataset, g.batch, g.epochs, g.threads, g.rounds
    );
    println!("machine: {machine}; kernel path {}", g.kernel_path);
    println!("command: {command}");
    println!("\nrun: training seconds (no evaluation), x naive of the same regime and round");
    println!(
        "{:<6} {:<6} {:>9} {:>22} {:>15} {:>4}",
        "regime", "method", "seconds", "x naive", "target", "met"
    );
    for r in &s.runs {
        let target = r
            .target
            .as_ref()
            .map_or("-".into(), |t| format!("<= {:.2} {}", t.limit, t.what));
        println!(
            "{:<6} {:<6} {:>9.2} {:>22} {:>15} {:>4}",
            r.regime,
            r.method.name(),
            r.seconds.median,
            spread(&r.x_naive, 2),
            target,
            met(r.target.as_ref(), r.x_naive.median)
        );
    }
    if !s.fisher.is_empty() {
        println!("\newc: the Fisher (end_task) of each task in epochs of naive's steps on it");
        println!(
            "{:<6} {:>4} {:>9} {:>9} {:>22} {:>10} {:>4}",
            "regime", "task", "fisher ms", "epoch ms", "x epoch", "target", "met"
        );
        for f in &s.fisher {
            println!(
                "{:<6} {:>4} {:>9.2} {:>9.2} {:>22} {:>10} {:>4}",
                f.regime,
                f.task,
                f.fisher_seconds.median * 1e3,
                f.epoch_seconds.median * 1e3,
                spread(&f.x_epoch, 2),
                format!("<= {:.2}", f.target.limit),
                met(Some(&f.target), f.x_epoch.median)
            );
        }
    }
    if !s.gem.is_empty() {
        println!(
            "\ngem: memory passes (adjust_grads, tasks 2..) vs naive's training steps (tasks 2..); \
             the run vs its arithmetic share"
        );
        println!(
            "{:<6} {:>9} {:>10} {:>10} {:>20} {:>4} {:>7} {:>8} {:>4}",
            "regime",
            "mem img",
            "mem img/s",
            "step img/s",
            "x step rate",
            ">=1",
            "share",
            "x naive",
            "met"
        );
        for r in &s.gem {
            println!(
                "{:<6} {:>9} {:>10.0} {:>10.0} {:>20} {:>4} {:>7.2} {:>8.2} {:>4}",
                r.regime,
                r.memory_images,
                r.memory_rate.median,
                r.naive_rate.median,
                spread(&r.x_rate, 2),
                met(Some(&r.rate_target), r.x_rate.median),
                r.share.median,
                r.x_naive.median,
                met(Some(&r.target), r.x_naive.median)
            );
        }
    }
}
