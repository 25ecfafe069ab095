//! The result of one run, as written to its JSON file: config, data provenance, the head layout,
//! the accuracy matrix, every metric of PROTOCOL section 6, update norms, times and versions.

use super::RunConfig;
use crate::data::{Dataset, Provenance, TaskSplit};
use crate::error::{Error, Result};
use crate::heads::{HeadLayout, Heads};
use crate::metrics::{self, AccuracyMatrix, AccuracySummary, GroupUpdateNorms, UpdateNorms};
use crate::params::{Group, ParamStore};
use crate::train::Trained;
use serde::{Deserialize, Serialize};

/// Per-group update norms (G1..G5).
pub type GroupNorms = Vec<GroupUpdateNorms>;

/// The head layout a run used, in full: a layout with this much at stake is recorded in every
/// result (PROTOCOL section 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadsRecord {
    pub layout: HeadLayout,
    /// C: the classes of the dataset.
    pub classes: usize,
    /// Head layers in the network (one per task under `multi`).
    pub layers: usize,
    /// Outputs per head layer (C under `global`, k otherwise).
    pub outputs_per_layer: usize,
    /// Per task, its classes' global ids: local label j of task t is `task_classes[t][j]`.
    pub task_classes: Vec<Vec<u16>>,
    /// Per task, the outputs of its head layer that are "the task's head".
    pub task_outputs: Vec<Vec<usize>>,
}

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
    pub heads: HeadsRecord,
    /// Scalars in the network (every head layer included).
    pub parameters: usize,
    pub train_images_per_task: Vec<usize>,
    pub test_images_per_task: Vec<usize>,
    /// `accuracy[i][j]`: test accuracy on task j+1 after training task i+1 (the upper triangle,
    /// tasks not trained yet, included).
    pub accuracy: Vec<Vec<f64>>,
    pub summary: AccuracySummary,
    pub update_norms: UpdateNorms,
    pub update_norms_by_group: GroupNorms,
    pub steps_per_task: Vec<usize>,
    pub train_seconds_per_task: Vec<f64>,
    /// Task 1's steps were copied from another run of the sweep that took the same ones, bit for
    /// bit (`train::FirstTask`): `train_seconds_per_task[0]` holds no steps then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub first_task_copied: bool,
    pub wall_seconds: f64,
    /// What the method recorded: its constants and per-task values (EWC's step factor and Fisher
    /// size, SI's step factor and negative Omega count); null for naive.
    pub method_report: serde_json::Value,
    /// Warnings the run printed (e.g. a penalty step factor above 2).
    pub warnings: Vec<String>,
}

impl RunResult {
    pub fn new(
        cfg: &RunConfig,
        ds: &Dataset,
        split: &TaskSplit,
        heads: &Heads,
        p: &ParamStore,
        t: Trained,
        wall: f64,
    ) -> Result<Self> {
        let matrix = AccuracyMatrix::from_rows(t.acc.clone()).map_err(Error::Metrics)?;
        // Each group's parameters are contiguous (added G1..G5): one span per group.
        let groups: Vec<(&str, std::ops::Range<usize>)> = Group::ALL
            .iter()
            .filter_map(|&g| {
                let r = p.ranges(&[g]);
                Some((g.name(), r.first()?.start..r.last()?.end))
            })
            .collect();
        Ok(RunResult {
            regimebench_version: env!("CARGO_PKG_VERSION").to_string(),
            isa: regimebench_kernels::active_isa().to_string(),
            config: cfg.clone(),
            data: ds.provenance.clone(),
            norm_mean: ds.norm.mean.clone(),
            norm_std: ds.norm.std.clone(),
            class_order: split.perm.clone(),
            heads: HeadsRecord {
                layout: heads.layout(),
                classes: ds.id.classes(),
                layers: heads.layers(),
                outputs_per_layer: heads.width(),
                task_classes: split.tasks.iter().map(|t| t.classes.clone()).collect(),
                task_outputs: (0..heads.tasks())
                    .map(|j| heads.of(j).outputs.to_vec())
                    .collect(),
            },
            parameters: p.len(),
            train_images_per_task: split.tasks.iter().map(|t| t.train.len()).collect(),
            test_images_per_task: split.tasks.iter().map(|t| t.test.len()).collect(),
            accuracy: t.acc,
            summary: matrix.summary(),
            update_norms: metrics::update_norms(&t.theta_star),
            update_norms_by_group: metrics::update_norms_groups(&t.theta_star, &groups),
            steps_per_task: t.steps,
            train_seconds_per_task: t.train_seconds,
            first_task_copied: t.first_task_copied,
            wall_seconds: wall,
            method_report: serde_json::Value::Null,
            warnings: Vec::new(),
        })
    }
}
