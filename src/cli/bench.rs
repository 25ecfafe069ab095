//! The `bench` subcommand: training-step throughput of each preset on 1 and all threads, without
//! criterion (a release binary is enough). `cargo bench` has the same step and the kernel benches.

use regimebench::bench::StepBench;
use regimebench::nn::Preset;
use std::time::{Duration, Instant};

/// Flags of `regimebench bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Presets to time (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["small", "cifar"])]
    preset: Vec<Preset>,
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
    anyhow::ensure!(a.batch >= 1, "--batch must be at least 1");
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
        regimebench_kernels::active_isa()
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

fn time_steps(preset: Preset, a: &BenchArgs) -> Rates {
    let mut b = StepBench::new(preset, a.batch);
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
