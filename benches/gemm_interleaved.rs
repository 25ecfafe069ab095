//! GEMM ratios ours / matrixmultiply on a noisy machine: for each shape of `gemm.rs` and each
//! thread count (1 and all), ours and matrixmultiply alternate, each timed over enough calls for
//! about 0.2 GFLOP, `ALTERNATIONS` times; printed are the median GFLOP/s of each and the median
//! and quartiles of the per-alternation ratio. A load that comes and goes hits both sides of an
//! alternation alike, where criterion's consecutive measurements of one then the other do not.
//!
//! `cargo bench --bench gemm_interleaved -- [FILTER] [ALTERNATIONS]`: FILTER a substring of the
//! shape names (default all), ALTERNATIONS default 15. Ours runs the active path (`active_isa()`,
//! `REGIMEBENCH_ISA` to choose another).

use regimebench_kernels::{active_isa, sgemm_with};
use std::time::Instant;

mod gemm_common;
use gemm_common::{filled, matrixmultiply_gemm, shapes, strides, Shape};

/// Seconds per call of `f`, over enough calls for about 0.2 GFLOP of `sh`.
fn seconds_per_call(sh: &Shape, mut f: impl FnMut()) -> f64 {
    let flop = 2.0 * (sh.m * sh.n * sh.k) as f64;
    let calls = ((2e8 / flop) as usize).clamp(1, 100_000);
    let t = Instant::now();
    for _ in 0..calls {
        f();
    }
    t.elapsed().as_secs_f64() / calls as f64
}

/// The median and the lower and upper quartile of `v`.
fn quartiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: usize| v[(v.len() - 1) * q / 4];
    (at(2), at(1), at(3))
}

fn main() {
    // `cargo bench` passes `--bench`; flags are not ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let filter = args.first().cloned().unwrap_or_default();
    let alternations: usize = match args.get(1).map(|a| a.parse()) {
        None => 15,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("ALTERNATIONS must be a positive integer, got {:?}", args[1]);
            std::process::exit(2);
        }
    };
    let isa = active_isa();
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "ours = {isa}, {alternations} alternations per shape and thread count, all threads = {all}"
    );
    println!(
        "{:<24} {:>7} {:>9} {:>9} {:>7} {:>13}",
        "shape", "threads", "ours GF/s", "mm GF/s", "ratio", "ratio IQR"
    );
    let mut counts = vec![1, all];
    counts.dedup();
    for sh in shapes().into_iter().filter(|s| s.name.contains(&filter)) {
        let (lda, ldb) = strides(&sh);
        let (a, b) = (filled(sh.m * sh.k), filled(sh.k * sh.n));
        let mut out = vec![0.0; sh.m * sh.n];
        let gflop = 2.0 * (sh.m * sh.n * sh.k) as f64 / 1e9;
        for &threads in &counts {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool");
            let (mut ours, mut theirs, mut ratios) = (vec![], vec![], vec![]);
            pool.install(|| {
                let run_ours = |out: &mut [f32]| {
                    let (m, n, k) = (sh.m, sh.n, sh.k);
                    sgemm_with(
                        isa, sh.ta, sh.tb, m, n, k, 1.0, &a, lda, &b, ldb, 0.0, out, n,
                    )
                };
                run_ours(&mut out);
                for _ in 0..alternations {
                    let t_ours = seconds_per_call(&sh, || run_ours(&mut out));
                    let t_mm = seconds_per_call(&sh, || matrixmultiply_gemm(&sh, &a, &b, &mut out));
                    ours.push(gflop / t_ours);
                    theirs.push(gflop / t_mm);
                    ratios.push(t_mm / t_ours);
                }
            });
            let (r, lo, hi) = quartiles(ratios);
            println!(
                "{:<24} {:>7} {:>9.1} {:>9.1} {:>7.3} {:>6.3}-{:.3}",
                sh.name,
                threads,
                quartiles(ours).0,
                quartiles(theirs).0,
                r,
                lo,
                hi
            );
        }
    }
}
