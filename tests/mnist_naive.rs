//! Naive fine-tuning on full MNIST, order 0, through the library (the dataset loaded once): R5
//! under `global` learns each task, R1 under `global` forgets, R1 under `multi` cannot (F and BWT
//! exactly 0), and `global` results are bit-identical for 1 and 2 threads and with or without the
//! frozen-prefix cache.

mod support;

use regimebench::data::{self, DataOptions, Dataset, DatasetId};
use regimebench::heads::HeadLayout;
use regimebench::regime::Regime;
use regimebench::run::{execute_on, RunConfig, RunResult};
use std::path::PathBuf;
use std::time::Instant;

fn mnist() -> Option<Dataset> {
    let root = support::shared_data()?;
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("regimebench-data-cache");
    Some(data::load(DatasetId::Mnist, &DataOptions::isolated(&root, &cache)).unwrap())
}

fn run(ds: &Dataset, d: usize, head: HeadLayout, edit: impl FnOnce(&mut RunConfig)) -> RunResult {
    let mut cfg = RunConfig::defaults(DatasetId::Mnist, Regime::depth(d));
    cfg.train.head = head;
    edit(&mut cfg);
    execute_on(&cfg, ds, &mut |_, _, _, _| {}, Instant::now()).unwrap()
}

#[test]
fn naive_on_full_mnist_learns_forgets_and_the_multi_control_does_not() {
    let Some(ds) = mnist() else { return };
    let r5 = run(&ds, 5, HeadLayout::Global, |_| {});
    for (t, row) in r5.accuracy.iter().enumerate() {
        assert!(
            row[t] >= 0.97,
            "R5 global: task {} right after training: {}",
            t + 1,
            row[t]
        );
    }
    let r1 = run(&ds, 1, HeadLayout::Global, |_| {});
    let f = r1.summary.forgetting.as_ref().unwrap().mean;
    assert!(f > 0.0, "R1 global forgets: F = {f}");
    let multi = run(&ds, 1, HeadLayout::Multi, |_| {});
    assert_eq!(multi.summary.forgetting.as_ref().unwrap().mean, 0.0);
    assert_eq!(multi.summary.bwt, Some(0.0));
}

#[test]
fn global_results_do_not_depend_on_threads_or_the_prefix_cache() {
    let Some(ds) = mnist() else { return };
    let base = run(&ds, 2, HeadLayout::Global, |c| c.threads = 1);
    let two = run(&ds, 2, HeadLayout::Global, |c| c.threads = 2);
    let uncached = run(&ds, 2, HeadLayout::Global, |c| c.train.cache_prefix = false);
    for other in [&two, &uncached] {
        let bits = |r: &RunResult| -> Vec<u64> {
            r.accuracy
                .iter()
                .flatten()
                .chain(&r.update_norms.per_task)
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(bits(&base), bits(other));
    }
}
