//! Benchmarks of the convolution, max-pool and ReLU kernels on the protocol's six conv layers
//! (3×3, pad 1, stride 1) at batch 64, on one thread and on all threads.
//!
//! Convolution throughput is reported as criterion "elements" that are FLOPs, so `Gelem/s` reads
//! as GFLOP/s = 2·N·Cout·OH·OW·Cin·kh·kw / t. Max-pool and ReLU report input elements per second.

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use regimebench_kernels::{self as k, ConvGeom};
use std::time::Duration;

const BATCH: usize = 64;

/// `(name, c_in, side, c_out)` of the small preset's and the cifar preset's conv layers.
const LAYERS: [(&str, usize, usize, usize); 6] = [
    ("small-g1", 1, 28, 16),
    ("small-g2", 16, 14, 32),
    ("small-g3", 32, 7, 64),
    ("cifar-g1", 3, 32, 32),
    ("cifar-g2", 32, 16, 64),
    ("cifar-g3", 64, 8, 128),
];

#[path = "../kernels/tests/common/mod.rs"]
mod common;
use common::signed_values as values;

/// The thread counts to compare: one, and all of rayon's default.
fn pools() -> Vec<(String, rayon::ThreadPool)> {
    let all = rayon::current_num_threads();
    let mut counts = vec![1];
    if all > 1 {
        counts.push(all);
    }
    let pool = |t| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .expect("thread pool")
    };
    counts
        .into_iter()
        .map(|t| (format!("{t}t"), pool(t)))
        .collect()
}

fn configure(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
}

fn conv(c: &mut Criterion) {
    println!("active_isa = {}", k::active_isa());
    let pools = pools();
    for (name, c_in, side, c_out) in LAYERS {
        let geom = ConvGeom::same3x3(BATCH, c_in, side, side, c_out);
        let flops = 2 * geom.y_len() * geom.taps();
        let (x, w, b) = (
            values(geom.x_len(), 1),
            values(geom.w_len(), 2),
            values(c_out, 3),
        );
        let dy = values(geom.y_len(), 4);
        let (mut y, mut dx) = (vec![0.0; geom.y_len()], vec![0.0; geom.x_len()]);
        let (mut dw, mut db) = (vec![0.0; geom.w_len()], vec![0.0; c_out]);
        let mut group = c.benchmark_group(format!("conv/{name}"));
        configure(&mut group);
        group.throughput(Throughput::Elements(flops as u64));
        for (threads, pool) in &pools {
            group.bench_function(format!("fwd/{threads}"), |bench| {
                pool.install(|| bench.iter(|| k::conv2d_fwd(&geom, &x, &w, &b, &mut y)))
            });
            group.bench_function(format!("bwd_input/{threads}"), |bench| {
                pool.install(|| bench.iter(|| k::conv2d_bwd_input(&geom, &dy, &w, &mut dx)))
            });
            group.bench_function(format!("bwd_weight/{threads}"), |bench| {
                let run = || k::conv2d_bwd_weight(&geom, &x, &dy, &mut dw, &mut db);
                pool.install(|| bench.iter(run))
            });
        }
        group.finish();
    }
}

/// Max-pool and ReLU on the largest conv output of each preset (64×16×28×28 and 64×32×32×32), and
/// on `small`'s 7×7 one (64×64×7×7), whose rows of 3 windows take the narrow-row code.
fn pool_relu(c: &mut Criterion) {
    for (name, chans, side) in [
        ("small-g1", 16, 28),
        ("small-g3", 64, 7),
        ("cifar-g1", 32, 32),
    ] {
        let planes = BATCH * chans;
        let x = values(planes * side * side, 5);
        let out = planes * (side / 2) * (side / 2);
        let (mut y, mut arg, mut dx) = (vec![0.0; out], vec![0; out], vec![0.0; x.len()]);
        let dy = values(out, 6);
        let mut relu_y = x.clone();
        let mut group = c.benchmark_group(format!("elementwise/{name}"));
        configure(&mut group);
        group.throughput(Throughput::Elements(x.len() as u64));
        for (threads, pool) in &pools() {
            group.bench_function(format!("maxpool2_fwd/{threads}"), |bench| {
                let run = || k::maxpool2_fwd(planes, side, side, &x, &mut y, &mut arg);
                pool.install(|| bench.iter(run))
            });
            k::maxpool2_fwd(planes, side, side, &x, &mut y, &mut arg);
            group.bench_function(format!("maxpool2_bwd/{threads}"), |bench| {
                let run = || k::maxpool2_bwd(planes, side, side, &dy, &arg, &mut dx);
                pool.install(|| bench.iter(run))
            });
            group.bench_function(format!("relu_fwd/{threads}"), |bench| {
                pool.install(|| bench.iter(|| k::relu_fwd(&mut relu_y)))
            });
            group.bench_function(format!("relu_bwd/{threads}"), |bench| {
                pool.install(|| bench.iter(|| k::relu_bwd(&x, &mut dx)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, conv, pool_relu);
criterion_main!(benches);
