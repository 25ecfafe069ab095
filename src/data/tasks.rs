//! Class-incremental task streams: a class order (order 0 natural, order o >= 1 seeded), tasks of k classes
//! relabelled 0..k-1, and optional class-balanced subsets that are the same images in every order.

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::error::DataError;
use super::load::{Dataset, Split};

/// The images of one task in one split: indices into the split and their labels relabelled to 0..k-1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSet {
    /// Indices into the split's images, ascending (file order).
    pub indices: Vec<u32>,
    /// `labels[p]` is the task-local label (0..k-1) of image `indices[p]`.
    pub labels: Vec<u8>,
}

impl TaskSet {
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// One task: its classes (dataset class ids, in the order that defines the local labels).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: usize,
    /// `classes[j]` gets local label j.
    pub classes: Vec<u16>,
    pub train: TaskSet,
    pub test: TaskSet,
}

/// The tasks of one class order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSplit {
    pub order: u64,
    /// The class permutation: task t holds perm[t*k .. (t+1)*k].
    pub perm: Vec<u16>,
    pub tasks: Vec<Task>,
    /// Images per class actually taken by `--train-per-task` / `--test-per-task` (None: all).
    pub train_per_class: Option<usize>,
    pub test_per_class: Option<usize>,
}

/// The class order: 0..classes for order 0, else a permutation drawn from `stream("order", [order])`.
pub fn class_order(classes: usize, order: u64) -> Vec<u16> {
    let mut perm: Vec<u16> = (0..classes as u16).collect();
    if order >= 1 {
        perm.shuffle(&mut crate::rng::stream("order", &[order]));
    }
    perm
}

/// Builds the `id.tasks()` tasks of `order`. `train_per_task = Some(N)` keeps N/k images of each class
/// (floor), chosen by `stream("subset-train", [seed, class])`, so a class has the same images whatever
/// the order; likewise `test_per_task` with "subset-test". A class with fewer images keeps them all.
pub fn build_tasks(
    ds: &Dataset,
    order: u64,
    train_per_task: Option<usize>,
    test_per_task: Option<usize>,
    seed: u64,
) -> Result<TaskSplit, DataError> {
    let (classes, k) = (ds.id.classes(), ds.id.classes_per_task());
    let per_class = |n: Option<usize>, what: &str| -> Result<Option<usize>, DataError> {
        match n {
            Some(n) if n < k => Err(DataError::Invalid(format!(
                "--{what}-per-task {n} is less than the {k} classes of a {} task: every class needs at least one image",
                ds.id
            ))),
            Some(n) => Ok(Some(n / k)),
            None => Ok(None),
        }
    };
    let train_per_class = per_class(train_per_task, "train")?;
    let test_per_class = per_class(test_per_task, "test")?;
    let train_by_class = by_class(&ds.train, classes, train_per_class, "subset-train", seed);
    let test_by_class = by_class(&ds.test, classes, test_per_class, "subset-test", seed);
    let perm = class_order(classes, order);
    let tasks = perm
        .chunks(k)
        .enumerate()
        .map(|(t, cls)| Task {
            id: t,
            classes: cls.to_vec(),
            train: task_set(cls, &train_by_class),
            test: task_set(cls, &test_by_class),
        })
        .collect();
    Ok(TaskSplit {
        order,
        perm,
        tasks,
        train_per_class,
        test_per_class,
    })
}

/// Per class, the indices of its images (ascending), optionally a seeded subset of `keep` of them.
fn by_class(
    split: &Split,
    classes: usize,
    keep: Option<usize>,
    stream: &str,
    seed: u64,
) -> Vec<Vec<u32>> {
    let mut lists = vec![Vec::new(); classes];
    for (i, &l) in split.labels.iter().enumerate() {
        if let Some(list) = lists.get_mut(usize::from(l)) {
            list.push(i as u32);
        }
    }
    if let Some(keep) = keep {
        for (c, list) in lists.iter_mut().enumerate() {
            if list.len() > keep {
                list.shuffle(&mut crate::rng::stream(stream, &[seed, c as u64]));
                list.truncate(keep);
                list.sort_unstable();
            }
        }
    }
    lists
}

/// The task's images in file order with local labels.
fn task_set(classes: &[u16], by_class: &[Vec<u32>]) -> TaskSet {
    let mut pairs: Vec<(u32, u8)> = classes
        .iter()
        .enumerate()
        .flat_map(|(j, &c)| by_class[usize::from(c)].iter().map(move |&i| (i, j as u8)))
        .collect();
    pairs.sort_unstable();
    TaskSet {
        indices: pairs.iter().map(|p| p.0).collect(),
        labels: pairs.iter().map(|p| p.1).collect(),
    }
}
