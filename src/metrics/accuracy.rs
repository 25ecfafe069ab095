//! The accuracy matrix and its summary: ACC, forgetting (Chaudhry et al. 2018) and BWT.

use serde::{Deserialize, Serialize};

/// The T x T accuracy matrix: entry `(i, j)` is the test accuracy on task `j` after training task
/// `i`.
///
/// Storage is 0-based: protocol entry `A[i][j]` (i, j = 1..T) is `rows[i - 1][j - 1]`. Entries above
/// the diagonal (tasks not yet trained) are stored like any other and are used by none of the
/// metrics below. Serialises as `{"rows": [[...], ...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracyMatrix {
    rows: Vec<Vec<f64>>,
}

/// Forgetting (Chaudhry et al. 2018): one value per task but the last, and their mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forgetting {
    /// `f_j` for 0-based `j = 0 .. T-2` (protocol tasks `1 .. T-1`).
    pub per_task: Vec<f64>,
    /// `F`, the mean of `per_task`.
    pub mean: f64,
}

/// ACC, forgetting and BWT of one accuracy matrix, ready to be written into a run's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracySummary {
    /// Number of tasks T.
    pub tasks: usize,
    /// Average final accuracy.
    pub acc: f64,
    /// `None` when T = 1.
    pub forgetting: Option<Forgetting>,
    /// `None` when T = 1.
    pub bwt: Option<f64>,
}

impl AccuracyMatrix {
    /// Builds the matrix from its rows (`rows[i][j]` = accuracy on task j after task i).
    /// Errors unless the rows form a non-empty square matrix.
    pub fn from_rows(rows: Vec<Vec<f64>>) -> Result<Self, String> {
        let t = rows.len();
        if t == 0 {
            return Err("an accuracy matrix needs at least one task".into());
        }
        if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != t) {
            return Err(format!(
                "accuracy matrix is not square: row {i} has {} entries, expected {t}",
                r.len()
            ));
        }
        Ok(Self { rows })
    }

    /// Number of tasks T.
    pub fn tasks(&self) -> usize {
        self.rows.len()
    }

    /// Average accuracy after the last task: `ACC = (1/T) sum_{j=1..T} A[T][j]`
    /// (0-based: the mean of row `T-1`).
    pub fn acc(&self) -> f64 {
        let last = &self.rows[self.tasks() - 1];
        last.iter().sum::<f64>() / last.len() as f64
    }

    /// Forgetting (Chaudhry et al. 2018), protocol form: for `j = 1..T-1`,
    /// `f_j = max_{l in j..T-1} A[l][j] - A[T][j]`, and `F` = mean of `f_j`.
    ///
    /// 0-based: for `j = 0..=T-2`, `f_j = max_{l = j..=T-2} A[l][j] - A[T-1][j]`: the best accuracy
    /// task `j` ever had before the last task was trained, minus its final accuracy. It is negative
    /// when the final accuracy beats every earlier one. `None` when `T = 1` (no task precedes the last).
    pub fn forgetting(&self) -> Option<Forgetting> {
        let t = self.tasks();
        if t < 2 {
            return None;
        }
        let last = &self.rows[t - 1];
        let per_task: Vec<f64> = (0..t - 1)
            .map(|j| {
                let best = (j..t - 1)
                    .map(|l| self.rows[l][j])
                    .fold(f64::NEG_INFINITY, f64::max);
                best - last[j]
            })
            .collect();
        let mean = per_task.iter().sum::<f64>() / per_task.len() as f64;
        Some(Forgetting { per_task, mean })
    }

    /// Backward transfer: `BWT = (1/(T-1)) sum_{j=1..T-1} (A[T][j] - A[j][j])`
    /// (0-based: `j = 0..=T-2`, `A[T-1][j] - A[j][j]`). `None` when `T = 1`.
    pub fn bwt(&self) -> Option<f64> {
        let t = self.tasks();
        if t < 2 {
            return None;
        }
        let last = &self.rows[t - 1];
        let sum: f64 = (0..t - 1).map(|j| last[j] - self.rows[j][j]).sum();
        Some(sum / (t - 1) as f64)
    }

    /// ACC, forgetting and BWT together.
    pub fn summary(&self) -> AccuracySummary {
        AccuracySummary {
            tasks: self.tasks(),
            acc: self.acc(),
            forgetting: self.forgetting(),
            bwt: self.bwt(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4-task matrix where task 0's best accuracy is not its diagonal entry, so F != -BWT.
    ///
    /// ```text
    ///          task0 task1 task2 task3
    /// after 0   0.80  0.10  0.10  0.10
    /// after 1   0.90  0.70  0.20  0.10
    /// after 2   0.85  0.75  0.60  0.30
    /// after 3   0.50  0.72  0.40  0.90
    /// ```
    /// By hand: ACC = (0.50 + 0.72 + 0.40 + 0.90) / 4 = 2.52 / 4 = 0.63.
    /// f_0 = max(0.80, 0.90, 0.85) - 0.50 = 0.40; f_1 = max(0.70, 0.75) - 0.72 = 0.03;
    /// f_2 = 0.60 - 0.40 = 0.20; F = 0.63 / 3 = 0.21.
    /// BWT = ((0.50 - 0.80) + (0.72 - 0.70) + (0.40 - 0.60)) / 3 = -0.48 / 3 = -0.16.
    fn matrix4() -> AccuracyMatrix {
        AccuracyMatrix::from_rows(vec![
            vec![0.80, 0.10, 0.10, 0.10],
            vec![0.90, 0.70, 0.20, 0.10],
            vec![0.85, 0.75, 0.60, 0.30],
            vec![0.50, 0.72, 0.40, 0.90],
        ])
        .unwrap()
    }

    #[test]
    fn acc_forgetting_bwt_by_hand_4x4() {
        let a = matrix4();
        assert_eq!(a.tasks(), 4);
        assert_close!(a.acc(), 0.63);
        let f = a.forgetting().unwrap();
        assert_eq!(f.per_task.len(), 3);
        for (got, want) in f.per_task.iter().zip([0.40, 0.03, 0.20]) {
            assert_close!(*got, want);
        }
        assert_close!(f.mean, 0.21);
        assert_close!(a.bwt().unwrap(), -0.16);
    }

    /// 3 tasks, with a negative forgetting entry (the final accuracy beats every earlier one):
    /// ```text
    /// after 0   0.9  0.0  0.0
    /// after 1   0.6  0.8  0.0
    /// after 2   0.7  0.9  0.5
    /// ```
    /// ACC = (0.7 + 0.9 + 0.5) / 3 = 0.7. f_0 = max(0.9, 0.6) - 0.7 = 0.2; f_1 = 0.8 - 0.9 = -0.1;
    /// F = 0.05. BWT = ((0.7 - 0.9) + (0.9 - 0.8)) / 2 = -0.05.
    #[test]
    fn acc_forgetting_bwt_by_hand_3x3() {
        let a = AccuracyMatrix::from_rows(vec![
            vec![0.9, 0.0, 0.0],
            vec![0.6, 0.8, 0.0],
            vec![0.7, 0.9, 0.5],
        ])
        .unwrap();
        assert_eq!(a.tasks(), 3);
        assert_close!(a.acc(), 0.7);
        let f = a.forgetting().unwrap();
        assert_close!(f.per_task[0], 0.2);
        assert_close!(f.per_task[1], -0.1);
        assert_close!(f.mean, 0.05);
        assert_close!(a.bwt().unwrap(), -0.05);
        // the summary carries the same numbers
        let s = a.summary();
        assert_eq!(s.tasks, 3);
        assert_close!(s.acc, 0.7);
        assert_close!(s.forgetting.unwrap().mean, 0.05);
        assert_close!(s.bwt.unwrap(), -0.05);
    }

    #[test]
    fn one_task_has_no_forgetting_or_bwt() {
        let a = AccuracyMatrix::from_rows(vec![vec![0.93]]).unwrap();
        assert_close!(a.acc(), 0.93, 0.0);
        assert_eq!(a.forgetting(), None);
        assert_eq!(a.bwt(), None);
        let s = a.summary();
        let json = serde_json::to_value(&s).unwrap();
        assert!(json["forgetting"].is_null());
        assert!(json["bwt"].is_null());
        assert_eq!(json["tasks"], 1);
    }

    #[test]
    fn matrix_must_be_square_and_non_empty() {
        assert!(AccuracyMatrix::from_rows(vec![]).is_err());
        assert!(AccuracyMatrix::from_rows(vec![vec![1.0, 0.0], vec![1.0]]).is_err());
        assert!(AccuracyMatrix::from_rows(vec![vec![1.0, 0.0]]).is_err());
    }

    #[test]
    fn summary_serialises_and_round_trips() {
        let a = matrix4();
        let s = a.summary();
        let text = serde_json::to_string(&s).unwrap();
        let back: AccuracySummary = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
        let m: AccuracyMatrix = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(m, a);
        // the field names are the run-JSON format
        let json = serde_json::to_value(&s).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 4);
        for k in ["tasks", "acc", "forgetting", "bwt"] {
            assert!(keys.contains(&k), "missing {k} in {json}");
        }
        assert_eq!(json["forgetting"]["per_task"].as_array().unwrap().len(), 3);
        assert_close!(json["forgetting"]["mean"].as_f64().unwrap(), 0.21);
        assert_eq!(serde_json::to_value(&a).unwrap()["rows"][3][1], 0.72);
    }
}
