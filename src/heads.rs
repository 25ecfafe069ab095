//! Head layouts of PROTOCOL section 3, in one place: which head layers a network has, how wide
//! they are, and for each task which outputs are "the task's head". Training, evaluation and every
//! method hook ask this module; nothing else matches on the layout.

use std::fmt;

/// Head layout of PROTOCOL section 3. Every layout evaluates task j by arg-max over task j's k
/// outputs (task-incremental evaluation); they differ in which outputs exist and which the training
/// loss sees.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum HeadLayout {
    /// One C-way head over all classes of the dataset, each class its own output; the training
    /// loss is the C-way cross-entropy (default).
    #[default]
    Global,
    /// One k-way head used by every task, classes relabelled 0..k-1 (domain-incremental reading).
    Shared,
    /// One k-way head per task (head-only training cannot forget: the control).
    Multi,
}

impl HeadLayout {
    pub const ALL: [HeadLayout; 3] = [HeadLayout::Global, HeadLayout::Shared, HeadLayout::Multi];

    /// The name used on the command line, in results and in reports.
    pub fn name(self) -> &'static str {
        match self {
            HeadLayout::Global => "global",
            HeadLayout::Shared => "shared",
            HeadLayout::Multi => "multi",
        }
    }
}

impl fmt::Display for HeadLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// "The task's head": head layer `layer`, and `outputs[j]`, the output of that layer that the task's
/// local label j is (the class id under `global`, j otherwise). Its k outputs are what evaluation
/// takes the arg-max over and what a method's per-task softmax is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskHead<'a> {
    pub layer: usize,
    pub outputs: &'a [usize],
}

impl TaskHead<'_> {
    /// The output index of local label `label` (the training loss's target).
    pub fn target(&self, label: u32) -> u32 {
        self.outputs[label as usize] as u32
    }

    /// The position in `outputs` of the task's best output in `row` (one sample's logits of the
    /// head layer): arg-max over the task's k outputs, ties to the lowest output index (the lowest
    /// class). Comparing it with the local label tells whether the prediction is right.
    pub fn predict(&self, row: &[f32]) -> usize {
        let mut best = 0;
        for (j, &o) in self.outputs.iter().enumerate().skip(1) {
            let b = self.outputs[best];
            if row[o] > row[b] || (row[o] == row[b] && o < b) {
                best = j;
            }
        }
        best
    }
}

/// softmax(row[outputs] / temperature) in f64: a task's predictive distribution over its outputs
/// (EWC's Fisher at temperature 1, LwF's distillation at T).
pub fn softmax_over(row: &[f32], outputs: &[usize], temperature: f64) -> Vec<f64> {
    let scaled: Vec<f64> = outputs
        .iter()
        .map(|&s| f64::from(row[s]) / temperature)
        .collect();
    let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = scaled.iter().map(|v| (v - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

/// The heads of one run: the layout, the width of each head layer, and each task's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heads {
    layout: HeadLayout,
    width: usize,
    /// Per task, the output of each local label.
    outputs: Vec<Vec<usize>>,
}

impl Heads {
    /// The heads for tasks whose classes (global ids, local label j = `task_classes[t][j]`) are
    /// given, out of `classes` in all (C). Every task must have the same number k ≥ 1 of distinct
    /// classes below C.
    pub fn new(
        layout: HeadLayout,
        classes: usize,
        task_classes: &[Vec<u16>],
    ) -> Result<Heads, String> {
        let k = task_classes.first().map_or(0, Vec::len);
        if task_classes.is_empty() || k == 0 {
            return Err("a head layout needs at least one task of at least one class".into());
        }
        for (t, cls) in task_classes.iter().enumerate() {
            let mut sorted = cls.clone();
            sorted.sort_unstable();
            sorted.dedup();
            if cls.len() != k || sorted.len() != k || cls.iter().any(|&c| usize::from(c) >= classes)
            {
                return Err(format!(
                    "task {} has classes {cls:?}: expected {k} distinct class ids below {classes}",
                    t + 1
                ));
            }
        }
        let (width, outputs) = match layout {
            HeadLayout::Global => (
                classes,
                task_classes
                    .iter()
                    .map(|cls| cls.iter().map(|&c| usize::from(c)).collect())
                    .collect(),
            ),
            HeadLayout::Shared | HeadLayout::Multi => {
                (k, task_classes.iter().map(|_| (0..k).collect()).collect())
            }
        };
        Ok(Heads {
            layout,
            width,
            outputs,
        })
    }

    pub fn layout(&self) -> HeadLayout {
        self.layout
    }

    /// Head layers in the network: one per task under `multi`, else one.
    pub fn layers(&self) -> usize {
        match self.layout {
            HeadLayout::Multi => self.outputs.len(),
            HeadLayout::Global | HeadLayout::Shared => 1,
        }
    }

    /// Outputs of each head layer: C under `global`, k otherwise.
    pub fn width(&self) -> usize {
        self.width
    }

    pub fn tasks(&self) -> usize {
        self.outputs.len()
    }

    /// The head of task `task` (0-based).
    pub fn of(&self, task: usize) -> TaskHead<'_> {
        TaskHead {
            layer: match self.layout {
                HeadLayout::Multi => task,
                HeadLayout::Global | HeadLayout::Shared => 0,
            },
            outputs: &self.outputs[task],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks() -> Vec<Vec<u16>> {
        vec![vec![7, 3], vec![0, 9]]
    }

    #[test]
    fn each_layout_has_its_layers_widths_and_outputs() {
        let g = Heads::new(HeadLayout::Global, 10, &tasks()).unwrap();
        assert_eq!((g.layers(), g.width()), (1, 10));
        assert_eq!(g.of(0).outputs, &[7, 3]);
        assert_eq!((g.of(1).layer, g.of(1).target(1)), (0, 9));
        let s = Heads::new(HeadLayout::Shared, 10, &tasks()).unwrap();
        assert_eq!((s.layers(), s.width(), s.of(1).layer), (1, 2, 0));
        assert_eq!(s.of(1).outputs, &[0, 1]);
        let m = Heads::new(HeadLayout::Multi, 10, &tasks()).unwrap();
        assert_eq!((m.layers(), m.width(), m.of(1).layer), (2, 2, 1));
    }

    #[test]
    fn prediction_masks_to_the_tasks_outputs_and_ties_go_to_the_lowest_class() {
        let g = Heads::new(HeadLayout::Global, 10, &tasks()).unwrap();
        // The global arg-max is output 5 (not a class of either task); task 1 (classes 7, 3)
        // predicts class 3 (local label 1), task 2 (classes 0, 9) predicts class 0 (label 0).
        let row = [0.5, 0.0, 0.0, 2.0, 0.0, 9.0, 0.0, 1.0, 0.0, -1.0];
        assert_eq!(g.of(0).predict(&row), 1);
        assert_eq!(g.of(1).predict(&row), 0);
        // A tie between classes 7 and 3 goes to class 3, although 7 is local label 0.
        let tie = [0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0];
        assert_eq!(g.of(0).predict(&tie), 1);
        // Under `shared` a tie goes to local label 0 (output 0).
        let s = Heads::new(HeadLayout::Shared, 10, &tasks()).unwrap();
        assert_eq!(s.of(0).predict(&[1.0, 1.0]), 0);
        assert_eq!(s.of(0).predict(&[1.0, 1.5]), 1);
    }

    #[test]
    fn bad_task_classes_are_errors() {
        for bad in [
            vec![],
            vec![vec![1, 1]],
            vec![vec![1, 2], vec![3]],
            vec![vec![10, 0]],
        ] {
            assert!(Heads::new(HeadLayout::Global, 10, &bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_the_serde_names() {
        for l in HeadLayout::ALL {
            assert_eq!(serde_json::to_string(&l).unwrap(), format!("\"{l}\""));
        }
    }
}
