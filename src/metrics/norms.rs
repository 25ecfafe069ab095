//! Update norms of PROTOCOL section 6: how far the parameters move in each task, and their drift
//! after the first task, over the whole flat parameter vector or per named group of it.

use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Euclidean distance `||a - b||_2`, each difference and the running sum of squares in `f64`.
/// Panics if the lengths differ.
pub fn l2_distance(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "l2_distance: length mismatch");
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

/// Update magnitudes of one run (PROTOCOL section 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateNorms {
    /// `u_t = ||theta*_t - theta*_{t-1}||_2` for protocol tasks `t = 1..T` (0-based index `t-1`);
    /// `u_1` is measured from `theta*_0`, the state before task 1.
    pub per_task: Vec<f64>,
    /// `U = ||theta*_T - theta*_1||_2`, the drift after the first task (0 when T = 1);
    /// `None` when there are no trained tasks.
    pub drift: Option<f64>,
}

/// Update magnitudes of one named group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupUpdateNorms {
    pub name: String,
    pub norms: UpdateNorms,
}

/// Update norms from the snapshots `[theta*_0, theta*_1, ..., theta*_T]`, where `theta*_0` is the
/// state before task 1 and `theta*_t` the state after task t. With fewer than two snapshots there is
/// no update: `per_task` is empty and `drift` is `None`. Panics if the snapshot lengths differ.
pub fn update_norms(snapshots: &[Vec<f32>]) -> UpdateNorms {
    update_norms_in(snapshots, 0..snapshots.first().map_or(0, Vec::len))
}

/// [`update_norms`] for each named range of the flat parameter vector (e.g. one entry per layer
/// group G1..G5). Panics if the snapshot lengths differ or a range is out of bounds.
pub fn update_norms_groups<S: AsRef<str>>(
    snapshots: &[Vec<f32>],
    groups: &[(S, Range<usize>)],
) -> Vec<GroupUpdateNorms> {
    groups
        .iter()
        .map(|(name, r)| GroupUpdateNorms {
            name: name.as_ref().to_owned(),
            norms: update_norms_in(snapshots, r.clone()),
        })
        .collect()
}

fn update_norms_in(snapshots: &[Vec<f32>], r: Range<usize>) -> UpdateNorms {
    if let Some(first) = snapshots.first() {
        assert!(
            snapshots.iter().all(|s| s.len() == first.len()),
            "update_norms: snapshots differ in length"
        );
    }
    if snapshots.len() < 2 {
        return UpdateNorms {
            per_task: Vec::new(),
            drift: None,
        };
    }
    let per_task = snapshots
        .windows(2)
        .map(|w| l2_distance(&w[1][r.clone()], &w[0][r.clone()]))
        .collect();
    let last = &snapshots[snapshots.len() - 1];
    let drift = l2_distance(&last[r.clone()], &snapshots[1][r]);
    UpdateNorms {
        per_task,
        drift: Some(drift),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l2_distance_accumulates_in_f64() {
        // 3-4-5 triangle
        assert_close!(l2_distance(&[0.0, 0.0], &[3.0, 4.0]), 5.0, 0.0);
        assert_close!(l2_distance(&[], &[]), 0.0, 0.0);
        // differences in f64: 2^24 - (-1) = 16777217 is exact in f64 but rounds to 2^24 in f32
        assert_close!(l2_distance(&[16_777_216.0], &[-1.0]), 16_777_217.0, 0.0);
        // squares in f64: (2^24)^2 + 1 is exact in f64 (lost in f32), so the norm exceeds 2^24
        assert!(l2_distance(&[16_777_216.0, 1.0], &[0.0, 0.0]) > 16_777_216.0);
        // 1e6 differences of 1e-4: sqrt(1e6 * d^2) with d the f32 value of 1e-4; the f64 running
        // sum is off by ~1e-11 relative.
        let n = 1_000_000;
        let a = vec![1e-4f32; n];
        let b = vec![0.0f32; n];
        let d = f64::from(1e-4f32);
        assert_close!(l2_distance(&a, &b), (n as f64 * d * d).sqrt(), 1e-10);
    }

    #[test]
    fn group_ranges_cover_their_slice_only() {
        // one task from b to a: each group's u_1 is the distance on its own range
        let a = vec![1.0f32, 2.0, 3.0, 4.0, 5.0];
        let b = vec![1.0f32, 0.0, 3.0, 0.0, 2.0];
        let s = vec![b, a];
        let groups = [("G1", 0..2), ("G2", 2..3), ("G3", 3..5)];
        let g = update_norms_groups(&s, &groups);
        assert_eq!(g.len(), 3);
        assert_eq!(g[0].name, "G1");
        assert_eq!(g[2].name, "G3");
        assert_eq!(g[0].norms.per_task, vec![2.0]);
        assert_eq!(g[1].norms.per_task, vec![0.0]);
        assert_eq!(g[2].norms.per_task, vec![5.0]); // (4, 3)
                                                    // owned names; the whole vector agrees with update_norms
        let owned = vec![("all".to_string(), 0..5)];
        let all = update_norms_groups(&s, &owned);
        assert_eq!(all[0].name, "all");
        assert_close!(all[0].norms.per_task[0], 29f64.sqrt()); // 4 + 16 + 9
        assert_close!(update_norms(&s).per_task[0], 29f64.sqrt());
    }

    #[test]
    fn update_norms_by_hand() {
        // theta*_0 .. theta*_3 in R^2
        let s = vec![
            vec![0.0f32, 0.0],
            vec![3.0, 4.0], // u_1 = 5
            vec![3.0, 4.0], // u_2 = 0
            vec![6.0, 8.0], // u_3 = 5
        ];
        let u = update_norms(&s);
        assert_eq!(u.per_task, vec![5.0, 0.0, 5.0]);
        assert_eq!(u.drift, Some(5.0)); // ||(6,8) - (3,4)||
        let g = update_norms_groups(&s, &[("x", 0..1), ("y", 1..2)]);
        assert_eq!(g[0].name, "x");
        assert_eq!(g[0].norms.per_task, vec![3.0, 0.0, 3.0]);
        assert_eq!(g[0].norms.drift, Some(3.0));
        assert_eq!(g[1].norms.per_task, vec![4.0, 0.0, 4.0]);
        assert_eq!(g[1].norms.drift, Some(4.0));
        // the field names are the run-JSON format
        let json = serde_json::to_value(&g).unwrap();
        assert_eq!(json[1]["name"], "y");
        assert_eq!(json[1]["norms"]["per_task"][0], 4.0);
        assert_eq!(json[1]["norms"]["drift"], 4.0);
    }

    #[test]
    fn update_norms_edge_cases() {
        let none = update_norms(&[]);
        assert!(none.per_task.is_empty());
        assert_eq!(none.drift, None);
        let one = update_norms(&[vec![1.0f32, 2.0]]);
        assert!(one.per_task.is_empty());
        assert_eq!(one.drift, None);
        assert!(serde_json::to_value(&one).unwrap()["drift"].is_null());
        // one task: u_1 measured, drift after the first task is zero
        let t1 = update_norms(&[vec![0.0f32], vec![2.0]]);
        assert_eq!(t1.per_task, vec![2.0]);
        assert_eq!(t1.drift, Some(0.0));
    }
}
