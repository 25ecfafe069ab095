//! For tests (this crate's and the integration tests'): run results built from a config, an
//! accuracy matrix and parameter snapshots, every metric computed by [`crate::metrics`] as a real
//! run computes it (src/run/result.rs).

use crate::data::{DatasetId, Provenance};
use crate::heads::HeadLayout;
use crate::metrics::{self, AccuracyMatrix};
use crate::regime::Regime;
use crate::run::{HeadsRecord, MethodKind, RunConfig, RunResult};
use std::path::PathBuf;

/// The protocol's defaults for a run of `dataset`, `regime` (`R1`..`R5` or a group list) and
/// `method` at `order` and `seed`, on one thread.
pub fn config(
    dataset: DatasetId,
    regime: &str,
    method: MethodKind,
    order: u64,
    seed: u64,
) -> RunConfig {
    let regime: Regime = regime.parse().expect("a valid regime");
    let mut c = RunConfig::defaults(dataset, regime);
    c.method = method.defaults();
    c.order = order;
    c.train.seed = seed;
    c.threads = 1;
    c
}

/// A T x T accuracy matrix with ACC = `acc` and forgetting F = `forgetting` exactly: each task
/// is at `acc + forgetting` from its training until the last task, then at `acc` (the last task at
/// `acc` from the start); untrained tasks at 0.1. BWT = -F.
pub fn matrix(tasks: usize, acc: f64, forgetting: f64) -> Vec<Vec<f64>> {
    (0..tasks)
        .map(|i| {
            (0..tasks)
                .map(|j| match () {
                    _ if j > i => 0.1,
                    _ if i == tasks - 1 || j == tasks - 1 => acc,
                    _ => acc + forgetting,
                })
                .collect()
        })
        .collect()
}

/// Snapshots theta*_0..theta*_T (5 parameters, one per group G1..G5) with drift U = `u` after
/// the first task: theta*_0 = 0, theta*_1 = (1, 0, 0, 0, 0), then a straight walk in G5 of total
/// length `u`.
pub fn snapshots(tasks: usize, u: f64) -> Vec<Vec<f32>> {
    let mut s = vec![vec![0.0f32; 5]];
    for t in 1..=tasks {
        let frac = if tasks > 1 {
            (t - 1) as f64 / (tasks - 1) as f64
        } else {
            0.0
        };
        s.push(vec![1.0, 0.0, 0.0, 0.0, (frac * u) as f32]);
    }
    s
}

/// A run result for `cfg` with the given accuracy matrix and snapshots (one parameter per group
/// G1..G5, in that order); metrics from [`crate::metrics`].
pub fn run_result(cfg: RunConfig, accuracy: Vec<Vec<f64>>, snapshots: &[Vec<f32>]) -> RunResult {
    let m = AccuracyMatrix::from_rows(accuracy.clone()).expect("a square matrix");
    let groups: Vec<(String, std::ops::Range<usize>)> =
        (0..5).map(|g| (format!("G{}", g + 1), g..g + 1)).collect();
    let tasks = accuracy.len();
    RunResult {
        regimebench_version: env!("CARGO_PKG_VERSION").to_string(),
        isa: "synthetic".into(),
        data: Provenance {
            dir: PathBuf::from("synthetic"),
            found_via: "synthetic".into(),
            files: Vec::new(),
            train_from_test_split: false,
            split_seed: None,
            notes: Vec::new(),
        },
        norm_mean: vec![0.0],
        norm_std: vec![1.0],
        class_order: (0..cfg.dataset.classes() as u16).collect(),
        heads: HeadsRecord {
            layout: HeadLayout::Global,
            classes: cfg.dataset.classes(),
            layers: 1,
            outputs_per_layer: cfg.dataset.classes(),
            task_classes: Vec::new(),
            task_outputs: Vec::new(),
        },
        parameters: 5,
        train_images_per_task: vec![100; tasks],
        test_images_per_task: vec![100; tasks],
        summary: m.summary(),
        accuracy,
        update_norms: metrics::update_norms(snapshots),
        update_norms_by_group: metrics::update_norms_groups(snapshots, &groups),
        steps_per_task: vec![1; tasks],
        train_seconds_per_task: vec![0.0; tasks],
        first_task_copied: false,
        wall_seconds: 0.0,
        method_report: serde_json::Value::Null,
        warnings: Vec::new(),
        config: cfg,
    }
}
