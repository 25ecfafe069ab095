//! GEMM throughput: ours on every available path against matrixmultiply, on the im2col GEMMs of
//! every conv layer of both presets at batch 64 (forward, backward-data, backward-weights), the
//! fully-connected layers and squares, with one thread and with all threads.
//!
//! Throughput is reported in elements = 2·m·n·k flops, so criterion's "Gelem/s" reads GFLOP/s.
//! Run a subset with a filter, e.g. `cargo bench --bench gemm -- 'square512/'` or `-- '/t1/'`.
//! Ids: `gemm/<shape>/t<threads>/<impl>`. matrixmultiply is built without its `threading`
//! feature, so it runs on one thread in the all-threads rows too. At the end, a table of the
//! ratios ours / matrixmultiply of every shape this run measured.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use regimebench_kernels::{active_isa, available_isas, sgemm_with};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

mod gemm_common;
use gemm_common::{filled, matrixmultiply_gemm, shapes, strides};

fn bench(c: &mut Criterion) {
    let started = SystemTime::now();
    let isas = available_isas();
    let threads_all = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "active_isa = {}, available = {isas:?}, all threads = {threads_all}",
        active_isa()
    );
    let mut group = c.benchmark_group("gemm");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    for sh in shapes() {
        let (lda, ldb) = strides(&sh);
        let (a, b) = (filled(sh.m * sh.k), filled(sh.k * sh.n));
        let mut out = vec![0.0; sh.m * sh.n];
        group.throughput(Throughput::Elements((2 * sh.m * sh.n * sh.k) as u64));
        let mut thread_counts = vec![1, threads_all];
        thread_counts.dedup();
        for threads in thread_counts {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let id = |imp: &str| BenchmarkId::new(format!("{}/t{threads}", sh.name), imp);
            for &isa in &isas {
                group.bench_function(id(isa.name()), |bch| {
                    pool.install(|| {
                        bch.iter(|| {
                            let (m, n, k) = (sh.m, sh.n, sh.k);
                            sgemm_with(
                                isa, sh.ta, sh.tb, m, n, k, 1.0, &a, lda, &b, ldb, 0.0, &mut out, n,
                            )
                        })
                    })
                });
            }
            group.bench_function(id("matrixmultiply"), |bch| {
                bch.iter(|| matrixmultiply_gemm(&sh, &a, &b, &mut out))
            });
        }
    }
    group.finish();
    print_ratios(started, threads_all);
}

/// The ratio table the targets are stated in: ours (active path) over matrixmultiply, per shape
/// and thread count, from the medians criterion just wrote (`<criterion dir>/gemm/<shape>_t<n>/
/// <impl>/new/estimates.json`; entries older than this run, e.g. filtered out, are skipped).
fn print_ratios(started: SystemTime, threads_all: usize) {
    let dir = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|t| PathBuf::from(t).join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
        .join("gemm");
    let median_ns = |shape: &str, threads: usize, imp: &str| -> Option<f64> {
        let path = dir.join(format!("{shape}_t{threads}/{imp}/new/estimates.json"));
        let fresh = std::fs::metadata(&path).ok()?.modified().ok()? >= started;
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
        json["median"]["point_estimate"].as_f64().filter(|_| fresh)
    };
    let ours = active_isa().name();
    println!("\nours ({ours}) / matrixmultiply, criterion medians of this run (> 1: ours faster)");
    println!(
        "{:<24} {:>8} {:>8}",
        "shape",
        "1 thread",
        format!("{threads_all} thr")
    );
    for sh in shapes() {
        let ratio = |t: usize| {
            let (o, m) = (
                median_ns(&sh.name, t, ours)?,
                median_ns(&sh.name, t, "matrixmultiply")?,
            );
            Some(format!("{:.2}", m / o))
        };
        let (r1, rn) = (ratio(1), ratio(threads_all));
        if r1.is_some() || rn.is_some() {
            let show = |r: Option<String>| r.unwrap_or_else(|| "-".into());
            println!("{:<24} {:>8} {:>8}", sh.name, show(r1), show(rn));
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
