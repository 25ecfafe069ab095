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
use regimebench_kernels::{active_isa, available_isas, sgemm_with, Trans};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// One benchmarked GEMM: `op(A)` m×k, `op(B)` k×n, tightly packed.
struct Shape {
    name: String,
    ta: Trans,
    tb: Trans,
    m: usize,
    n: usize,
    k: usize,
}

/// A conv layer at batch 64, 3×3 kernel, same padding: input channels, output channels, output
/// height·width.
struct Conv {
    name: &'static str,
    c_in: usize,
    c_out: usize,
    hw: usize,
}

const BATCH: usize = 64;
const CONVS: [Conv; 6] = [
    Conv {
        name: "mnist1",
        c_in: 1,
        c_out: 16,
        hw: 28 * 28,
    },
    Conv {
        name: "mnist2",
        c_in: 16,
        c_out: 32,
        hw: 14 * 14,
    },
    Conv {
        name: "mnist3",
        c_in: 32,
        c_out: 64,
        hw: 7 * 7,
    },
    Conv {
        name: "cifar1",
        c_in: 3,
        c_out: 32,
        hw: 32 * 32,
    },
    Conv {
        name: "cifar2",
        c_in: 32,
        c_out: 64,
        hw: 16 * 16,
    },
    Conv {
        name: "cifar3",
        c_in: 64,
        c_out: 128,
        hw: 8 * 8,
    },
];
/// Fully-connected layers (inputs, outputs) at batch 64.
const FCS: [(usize, usize); 2] = [(576, 128), (128, 10)];

fn shapes() -> Vec<Shape> {
    let s = |name: String, ta, tb, m, n, k| Shape {
        name,
        ta,
        tb,
        m,
        n,
        k,
    };
    let mut out = vec![];
    for d in [256, 512, 1024] {
        out.push(s(format!("square{d}"), Trans::N, Trans::N, d, d, d));
    }
    for c in &CONVS {
        let (taps, pixels) = (c.c_in * 9, BATCH * c.hw);
        // y = w · col;  dcol = wᵀ · dy;  dw = dy · colᵀ.
        out.push(s(
            format!("{}_fwd", c.name),
            Trans::N,
            Trans::N,
            c.c_out,
            pixels,
            taps,
        ));
        out.push(s(
            format!("{}_bwd_data", c.name),
            Trans::T,
            Trans::N,
            taps,
            pixels,
            c.c_out,
        ));
        out.push(s(
            format!("{}_bwd_weight", c.name),
            Trans::N,
            Trans::T,
            c.c_out,
            taps,
            pixels,
        ));
    }
    for (d, o) in FCS {
        // y = x · wᵀ;  dw = dyᵀ · x;  dx = dy · w.
        out.push(s(format!("fc{d}x{o}_fwd"), Trans::N, Trans::T, BATCH, o, d));
        out.push(s(
            format!("fc{d}x{o}_bwd_weight"),
            Trans::T,
            Trans::N,
            o,
            d,
            BATCH,
        ));
        out.push(s(
            format!("fc{d}x{o}_bwd_data"),
            Trans::N,
            Trans::N,
            BATCH,
            d,
            o,
        ));
    }
    out
}

/// Fills with a fixed pattern in [-1, 1].
fn filled(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0)
        .collect()
}

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
        let (lda, ldb) = (
            if sh.ta == Trans::N { sh.k } else { sh.m },
            if sh.tb == Trans::N { sh.n } else { sh.k },
        );
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
                let (rsa, csa) = if sh.ta == Trans::N {
                    (lda, 1)
                } else {
                    (1, lda)
                };
                let (rsb, csb) = if sh.tb == Trans::N {
                    (ldb, 1)
                } else {
                    (1, ldb)
                };
                bch.iter(|| {
                    // SAFETY: the strides describe the m×k, k×n and m×n buffers allocated above.
                    unsafe {
                        matrixmultiply::sgemm(
                            sh.m,
                            sh.k,
                            sh.n,
                            1.0,
                            a.as_ptr(),
                            rsa as isize,
                            csa as isize,
                            b.as_ptr(),
                            rsb as isize,
                            csb as isize,
                            0.0,
                            out.as_mut_ptr(),
                            sh.n as isize,
                            1,
                        )
                    }
                })
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
