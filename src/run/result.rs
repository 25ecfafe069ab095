//! The result of one run, as written to its JSON file: config, data provenance, the accuracy
//! matrix, every metric of PROTOCOL section 6, update norms, times and versions.

use super::RunConfig;
use crate::data::{Dataset, Provenance, TaskSplit};
use crate::metrics::{self, AccuracyMatrix, AccuracySummary, GroupUpdateNorms, UpdateNorms};
use crate::params::{Group, ParamStore};
use crate::train::Trained;
use serde::{Deserialize, Serialize};

/// Per-group update norms (G1..G5).
pub type GroupNorms = Vec<GroupUpdateNorms>;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResult {
    pub regimebench_version: String,
    /// The kernel path that ran (FMA changes rounding, so results are comparable only within one).
    pub isa: String,
    pub config: RunConfig,
    /// Where the data came from (files, checksums), and anything a reader must know about it in
    /// words (e.g. that train and test were carved from the official test split).
    pub data: Provenance,
    pub norm_mean: Vec<f64>,
    pub norm_std: Vec<f64>,
    /// The class order: task t holds `class_order[t*k .. (t+1)*k]`.
    pub class_order: Vec<u16>,
    pub train_images_per_task: Vec<usize>,
    pub test_images_per_task: Vec<usize>,
    /// `accuracy[i][j]`: test accuracy on task j+1 after training task i+1.
    pub accuracy: Vec<Vec<f64>>,
    pub summary: AccuracySummary,
    pub update_norms: UpdateNorms,
    pub update_norms_by_group: GroupNorms,
    pub steps_per_task: Vec<usize>,
    pub train_seconds_per_task: Vec<f64>,
    pub wall_seconds: f64,
}

impl RunResult {
    pub fn new(
        cfg: &RunConfig,
        ds: &Dataset,
        split: &TaskSplit,
        p: &ParamStore,
        t: Trained,
        wall: f64,
    ) -> Self {
        let matrix = AccuracyMatrix::from_rows(t.acc.clone()).expect("one row and column per task");
        let groups: Vec<(&str, std::ops::Range<usize>)> = Group::ALL
            .iter()
            .map(|&g| {
                let r = p.group_ranges(g);
                (g.name(), r[0].start..r[r.len() - 1].end)
            })
            .collect();
        RunResult {
            regimebench_version: env!("CARGO_PKG_VERSION").to_string(),
            isa: regimebench_kernels::active_isa().to_string(),
            config: cfg.clone(),
            data: ds.provenance.clone(),
            norm_mean: ds.norm.mean.clone(),
            norm_std: ds.norm.std.clone(),
            class_order: split.perm.clone(),
            train_images_per_task: split.tasks.iter().map(|t| t.train.len()).collect(),
            test_images_per_task: split.tasks.iter().map(|t| t.test.len()).collect(),
            accuracy: t.acc,
            summary: matrix.summary(),
            update_norms: metrics::update_norms(&t.theta_star),
            update_norms_by_group: metrics::update_norms_groups(&t.theta_star, &groups),
            steps_per_task: t.steps,
            train_seconds_per_task: t.train_seconds,
            wall_seconds: wall,
        }
    }
}
