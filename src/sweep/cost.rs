//! The cost model of a run: how many multiply-adds its forward and backward passes take, which
//! balances `--shard`, orders the runner (costliest first), sizes the Slurm script's time limit
//! and gives a sweep's time left. A model, not a measurement.
//!
//! With F_g the multiply-adds of one image through group g ([`Preset::group_macs`]), P the sum
//! over the groups a task keeps frozen (below the regime's lowest trainable group) and S the sum
//! over the rest, a task of n training images and E epochs of `batch`-image steps costs
//!
//! ```text
//!     prefix      n P            (once, cached; E n P without the prefix cache)
//!     training    E n 3 S        (a forward and a backward of about twice its work)
//!     LwF         + E n S        (the old model's forward, from the second task on; + E n P
//!                                without the cache, where it starts from the images)
//!     EWC         + N (S + c 2 S x 1.6) (the Fisher of N samples: one forward, c backward passes
//!                                with per-sample squares, measured 1.6x a batched backward; c the
//!                                task's k classes, or the head's outputs with `all`; one batched
//!                                backward for `batch-mean`), + N P where the task has no cached
//!                                features (the first task, or no cache)
//!     GEM         + E steps t m' 3 S    (at task t ≥ 1 each step's t memory gradients, m' =
//!                                min(memory, n); memories are kept as the regime's features)
//!     SI          + 0            (its per-step bookkeeping is about 1% of a step)
//! ```
//!
//! where the first task trains every group (P = 0) unless `regime_from_first_task`, and after
//! each task every task's m test images are evaluated: T m (P + T S) over the run with cached test
//! features (a frozen prefix, the cache on, and at most [`MAX_FEATURES_PER_TASK`] floats of them
//! per task), T² m (P + S) without. Against the committed full grids (~650 runs on three hosts;
//! `regimebench report` tabulates it, `time.csv`) each cell's mean time per modelled multiply-add
//! is within 0.79x-1.19x of the median run on MNIST, 0.75x-1.33x on Fashion-MNIST and 0.59x-1.74x
//! on CIFAR-100 (whose runs shared their hosts with builds); the earlier pixel-count model was
//! off by up to 25x.

use crate::data::DatasetId;
use crate::heads::HeadLayout;
use crate::methods::fisher::{FisherClasses, FisherConfig, FisherKind};
use crate::run::{MethodConfig, RunConfig};
use crate::train::MAX_FEATURES_PER_TASK;

/// Train and test images of the dataset's official files.
fn official_sizes(id: DatasetId) -> (u64, u64) {
    match id {
        DatasetId::Qmnist => (60_000, 60_000),
        DatasetId::Cifar100 => (50_000, 10_000),
        _ => (60_000, 10_000),
    }
}

/// Per-sample-squares backward passes of the Fisher against a batched backward (measured: EWC R5
/// on MNIST spends 2.5 training epochs on a Fisher of 2 classes).
const PER_SAMPLE: f64 = 1.6;

/// The expected multiply-adds of a run (see the module's model), counted in `f64` so that absurd
/// settings (10^12 epochs) saturate rather than overflow.
pub fn cost(cfg: &RunConfig) -> u64 {
    let id = cfg.dataset;
    let t_count = id.tasks() as u64;
    let (mut train, mut test) = official_sizes(id);
    if cfg.train_from_test_split {
        (train, test) = (test * 4 / 5, test / 5);
    }
    let per_task = |total: u64, cap: Option<usize>| {
        let n = total / t_count;
        cap.map_or(n, |c| n.min(c as u64))
    };
    let (n, m) = (
        per_task(train, cfg.train_per_task),
        per_task(test, cfg.test_per_task),
    );
    let t = &cfg.train;
    let outputs = match t.head {
        HeadLayout::Global => id.classes(),
        HeadLayout::Shared | HeadLayout::Multi => id.classes_per_task(),
    };
    let chw = (id.channels(), id.height(), id.width());
    let macs = t.preset.group_macs(t.width, chw, outputs);
    let low = t.regime.lowest().index();
    let sum = |g: &[u64]| g.iter().map(|&x| x as f64).sum::<f64>();
    let (p, s) = (sum(&macs[..low]), sum(&macs[low..]));
    let full = p + s;
    let steps = n.div_ceil(t.batch.max(1) as u64) as f64;
    let (n, m, t_count, epochs, cached) = (
        n as f64,
        m as f64,
        t_count as f64,
        t.epochs as f64,
        t.cache_prefix,
    );
    let mut total = 0.0;
    for task in 0..id.tasks() {
        let first = task == 0 && !t.regime_from_first_task;
        let (tp, ts) = if first { (0.0, full) } else { (p, s) };
        total += if cached { n * tp } else { epochs * n * tp };
        total += epochs * n * 3.0 * ts;
        total += match &cfg.method {
            MethodConfig::Naive | MethodConfig::Si(_) => 0.0,
            MethodConfig::Lwf(_) if task > 0 => epochs * n * (s + if cached { 0.0 } else { p }),
            MethodConfig::Lwf(_) => 0.0,
            // Computed for the parameters that train later, from the regime's features.
            MethodConfig::Ewc(e) => {
                let samples = match e.fisher.samples {
                    0 => n,
                    cap => n.min(cap as f64),
                };
                let features = if cached && !first { 0.0 } else { samples * p };
                features + fisher(&e.fisher, id.classes_per_task(), outputs, samples, s)
            }
            MethodConfig::Gem(g) => {
                let memory = n.min(g.memory as f64);
                epochs * steps * task as f64 * memory * 3.0 * s
            }
        };
    }
    let features = (m as usize).saturating_mul(t.preset.group_input_len(t.width, chw, low));
    total += if cached && low > 0 && features <= MAX_FEATURES_PER_TASK {
        t_count * m * (p + t_count * s)
    } else {
        t_count * t_count * m * full
    };
    total as u64
}

/// One task's Fisher over `samples` inputs through groups of `s` multiply-adds, for a task of `k`
/// classes and a head of `outputs`.
fn fisher(f: &FisherConfig, k: usize, outputs: usize, samples: f64, s: f64) -> f64 {
    let passes = match (f.kind, f.classes) {
        (FisherKind::Expected, FisherClasses::Task) => k as f64,
        (FisherKind::Expected, FisherClasses::All) => outputs as f64,
        (FisherKind::Sampled | FisherKind::Empirical, _) => 1.0,
        (FisherKind::BatchMean, _) => 1.0 / PER_SAMPLE,
    };
    samples * (s + passes * 2.0 * s * PER_SAMPLE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regime::Regime;
    use crate::run::MethodKind;

    fn mnist(depth: usize, method: MethodKind) -> RunConfig {
        let mut c = RunConfig::defaults(DatasetId::Mnist, Regime::depth(depth));
        c.method = method.defaults();
        c
    }

    #[test]
    fn naive_r1_on_mnist_is_its_first_task_prefix_and_evaluation_by_hand() {
        // small: F = [112896, 903168, 903168, 73728, 1280]; n 12000, m 2000, T 5, 1 epoch.
        let full = 112_896 + 903_168 + 903_168 + 73_728 + 1_280u64;
        let (p, s) = (full - 1_280, 1_280u64);
        let first = 12_000 * 3 * full;
        let later = 4 * (12_000 * p + 12_000 * 3 * s);
        let eval = 5 * 2_000 * (p + 5 * s);
        assert_eq!(cost(&mnist(1, MethodKind::Naive)), first + later + eval);
        let mut uncached = mnist(1, MethodKind::Naive);
        uncached.train.cache_prefix = false;
        let eval = 25 * 2_000 * full;
        assert_eq!(cost(&uncached), first + later + eval);
    }

    #[test]
    fn each_method_adds_its_own_passes() {
        for depth in 1..=5 {
            let naive = cost(&mnist(depth, MethodKind::Naive));
            let macs = crate::nn::Preset::Small.group_macs(None, (1, 28, 28), 10);
            let s: u64 = macs[5 - depth..].iter().sum();
            let p: u64 = macs[..5 - depth].iter().sum();
            let n = 12_000u64;
            assert_eq!(cost(&mnist(depth, MethodKind::Si)), naive);
            assert_eq!(cost(&mnist(depth, MethodKind::Lwf)), naive + 4 * n * s);
            // The expected Fisher of the task's 2 classes after each of the 5 tasks; the first
            // task's features go through the frozen prefix once more.
            let fisher = 5 * n * (s + 2 * 2 * s * 16 / 10);
            let ewc = cost(&mnist(depth, MethodKind::Ewc));
            assert!(ewc.abs_diff(naive + fisher + n * p) <= 5 * n, "R{depth}");
            // GEM: 188 steps of the tasks 1..4, each with t memory passes of 256 samples.
            let gem = cost(&mnist(depth, MethodKind::Gem));
            assert_eq!(gem, naive + 188 * (1 + 2 + 3 + 4) * 256 * 3 * s, "R{depth}");
        }
    }

    #[test]
    fn without_the_cache_lwf_starts_from_the_images_and_gem_from_its_features() {
        let n = 12_000u64;
        for depth in 1..=4 {
            let macs = crate::nn::Preset::Small.group_macs(None, (1, 28, 28), 10);
            let p: u64 = macs[..5 - depth].iter().sum();
            let uncached = |m| {
                let mut c = mnist(depth, m);
                c.train.cache_prefix = false;
                cost(&c)
            };
            let naive = uncached(MethodKind::Naive);
            let s: u64 = macs[5 - depth..].iter().sum();
            assert_eq!(
                uncached(MethodKind::Lwf),
                naive + 4 * n * (s + p),
                "R{depth}"
            );
            let gem = naive + 188 * (1 + 2 + 3 + 4) * 256 * 3 * s;
            assert_eq!(uncached(MethodKind::Gem), gem, "R{depth}");
        }
    }

    #[test]
    fn the_fisher_of_every_output_counts_the_head_layers_outputs() {
        let ewc = |head, classes| {
            let mut c = mnist(5, MethodKind::Ewc);
            c.train.head = head;
            if let MethodConfig::Ewc(e) = &mut c.method {
                e.fisher.classes = classes;
            }
            cost(&c)
        };
        // A k-way head (k = 2): `all` is the task's classes; a 10-way head: 5x the passes.
        for head in [HeadLayout::Multi, HeadLayout::Shared] {
            assert_eq!(
                ewc(head, FisherClasses::All),
                ewc(head, FisherClasses::Task)
            );
        }
        let (task, all) = (
            ewc(HeadLayout::Global, FisherClasses::Task),
            ewc(HeadLayout::Global, FisherClasses::All),
        );
        let s: u64 = crate::nn::Preset::Small
            .group_macs(None, (1, 28, 28), 10)
            .iter()
            .sum();
        let fisher = |c: f64| 5.0 * 12_000.0 * (s as f64) * (1.0 + c * 2.0 * PER_SAMPLE);
        assert_eq!(all - task, (fisher(10.0) - fisher(2.0)) as u64);
    }

    #[test]
    fn test_features_too_large_to_keep_are_evaluated_from_the_images() {
        // resnet18 on CIFAR-100, R3 (G3 onwards): G3's input is 2nf x 16 x 16 floats an image,
        // 1,000 test images a task: 10.2 M floats at width 20 (kept), 32.8 M at 64 (not).
        let r3 = |width, cache| {
            let mut c = RunConfig::defaults(DatasetId::Cifar100, Regime::depth(3));
            c.train
                .set_network(crate::nn::Preset::Resnet18, Some(width));
            c.train.cache_prefix = cache;
            cost(&c)
        };
        for (width, kept) in [(20, true), (64, false)] {
            let macs = crate::nn::Preset::Resnet18.group_macs(Some(width), (3, 32, 32), 100);
            let (p, full): (u64, u64) = (macs[..2].iter().sum(), macs.iter().sum());
            let s = full - p;
            // Without the cache: the prefix every epoch (4 more of 5, tasks 2-10), and T² m full.
            let train = 9 * 4 * 5_000 * p;
            let eval = if kept {
                100 * 1_000 * full - 10 * 1_000 * (p + 10 * s)
            } else {
                0
            };
            assert_eq!(
                r3(width, false) - r3(width, true),
                train + eval,
                "width {width}"
            );
        }
    }

    #[test]
    fn absurd_settings_saturate_instead_of_overflowing() {
        let mut c = mnist(5, MethodKind::Gem);
        c.train.epochs = 1_000_000_000_000;
        assert_eq!(cost(&c), u64::MAX);
        // A result file may hold any width (the report models every run it reads).
        let mut wide = RunConfig::defaults(DatasetId::Cifar100, Regime::depth(5));
        wide.train
            .set_network(crate::nn::Preset::Resnet18, Some(usize::MAX / 4));
        assert_eq!(cost(&wide), u64::MAX);
    }

    #[test]
    fn the_cost_grows_with_depth_data_epochs_and_method() {
        let base = RunConfig::defaults(DatasetId::Mnist, Regime::depth(1));
        let c = cost(&base);
        let mut deeper = base.clone();
        deeper.train.regime = Regime::depth(5);
        let mut fewer = base.clone();
        fewer.train_per_task = Some(100);
        let mut longer = base.clone();
        longer.train.epochs = 2;
        let mut ewc = base.clone();
        ewc.method = MethodKind::Ewc.defaults();
        let cifar = RunConfig::defaults(DatasetId::Cifar100, Regime::depth(1));
        assert!(cost(&deeper) > c && cost(&fewer) < c && cost(&longer) > c && cost(&ewc) > c);
        assert!(cost(&cifar) > c);
    }
}
