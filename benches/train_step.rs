//! Training throughput: images/second of forward + backward + SGD at batch 64 for each preset
//! (all groups trainable) on 1 and all threads, and one task's training time per regime R1..R5 with
//! and without the frozen-prefix cache.
//!
//! `cargo bench --bench train_step`; `-- step` or `-- regime` to run one part.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::Rng;
use regimebench::bench::StepBench;
use regimebench::heads::{HeadLayout, Heads};
use regimebench::methods::Naive;
use regimebench::nn::{Cnn, Preset};
use regimebench::optim::SgdConfig;
use regimebench::params::ParamStore;
use regimebench::regime::Regime;
use regimebench::train::{train, Part, TaskSource, TrainConfig};

const BATCH: usize = 64;
const SGD: SgdConfig = SgdConfig {
    lr: 0.05,
    momentum: 0.0,
    weight_decay: 0.0,
};

fn threads() -> Vec<usize> {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    if all > 1 {
        vec![1, all]
    } else {
        vec![1]
    }
}

fn step(c: &mut Criterion) {
    eprintln!("kernel path: {}", regimebench_kernels::active_isa());
    let mut g = c.benchmark_group("step");
    g.throughput(Throughput::Elements(BATCH as u64));
    for (preset, nf) in [
        (Preset::Small, 0),
        (Preset::Cifar, 0),
        (Preset::Resnet18, 20),
    ] {
        for t in threads() {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            let mut bench = StepBench::new(preset, nf, BATCH);
            g.bench_function(
                BenchmarkId::new(format!("{preset:?}"), format!("{t}threads")),
                |b| pool.install(|| b.iter(|| bench.step())),
            );
        }
    }
    g.finish();
}

/// One task of random images, for timing a whole task under a regime.
struct Noise {
    chw: (usize, usize, usize),
    n: usize,
}

impl TaskSource for Noise {
    fn n_tasks(&self) -> usize {
        2
    }
    fn n_classes(&self) -> usize {
        4
    }
    fn task_classes(&self, task: usize) -> Vec<u16> {
        vec![2 * task as u16, 2 * task as u16 + 1]
    }
    fn image_chw(&self) -> (usize, usize, usize) {
        self.chw
    }
    fn len(&self, _: usize, part: Part) -> usize {
        if part == Part::Train {
            self.n
        } else {
            0
        }
    }
    fn fill(&self, task: usize, _: Part, positions: &[usize], x: &mut [f32], y: &mut [u32]) {
        let d = x.len() / positions.len().max(1);
        for (k, &i) in positions.iter().enumerate() {
            let mut rng = regimebench::rng::stream("bench-noise", &[task as u64, i as u64]);
            x[k * d..(k + 1) * d]
                .iter_mut()
                .for_each(|v| *v = rng.gen::<f32>() * 2.0 - 1.0);
            y[k] = (i % 2) as u32;
        }
    }
}

/// Two tasks under the regime (`regime_from_first_task`), so the time is the regime's alone, at the
/// protocol's epochs: 1280 random images and 1 epoch (`small`, the MNIST family), 320 images and 5
/// epochs (`cifar`, and `resnet18` of width 20 on 3x32x32). No evaluation (no test images).
/// Throughput counts image-epochs.
fn regime(c: &mut Criterion) {
    let mut g = c.benchmark_group("regime");
    g.sample_size(10);
    let setups = [
        (Preset::Small, None, 1280, 1),
        (Preset::Cifar, None, 320, 5),
        (Preset::Resnet18, Some(20), 320, 5),
    ];
    for (preset, width, n, epochs) in setups {
        let chw = preset.input_chw().unwrap_or((3, 32, 32));
        let src = Noise { chw, n };
        for d in 1..=5 {
            for cache in [true, false] {
                if d == 5 && !cache {
                    continue; // R5 has no frozen prefix: with and without cache are the same run
                }
                let cfg = TrainConfig {
                    preset,
                    width,
                    head: HeadLayout::Shared,
                    regime: Regime::depth(d),
                    regime_from_first_task: true,
                    sgd: SGD,
                    batch: BATCH,
                    epochs,
                    seed: 0,
                    cache_prefix: cache,
                };
                let id = BenchmarkId::new(
                    format!("{preset:?}"),
                    format!("R{d}{}", if cache { "-cache" } else { "" }),
                );
                g.throughput(Throughput::Elements((2 * n * epochs) as u64));
                g.bench_function(id, |b| {
                    b.iter(|| {
                        let mut p = ParamStore::new();
                        let heads =
                            Heads::new(HeadLayout::Shared, 4, &[vec![0, 1], vec![2, 3]]).unwrap();
                        let net = Cnn::for_input(preset, width, chw, &heads, &mut p);
                        net.init(&mut p, 0);
                        train(&cfg, &net, &mut p, &src, &mut Naive, &mut |_, _, _, _| {}).unwrap()
                    })
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, step, regime);
criterion_main!(benches);
