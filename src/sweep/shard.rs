//! `--shard I/N`: a fixed, disjoint slice of the grid for one of N machines, balanced by expected
//! cost, and the cost model that balances it.
//!
//! The assignment is greedy longest-processing-time: points sorted by cost (largest first, ties by
//! hash), each given to the shard with the least cost so far (ties: the lowest shard). It depends
//! only on the set of points, not on the order the lists were given in or on what is already
//! finished, so N machines given the same grid (name `--datasets` explicitly if their data differ)
//! cover it exactly once between them.

use super::grid::Point;
use crate::data::DatasetId;
use crate::run::{MethodConfig, RunConfig};
use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count`, 1-based as written (`--shard 2/4`: the second of four).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard takes I/N with 1 <= I <= N (1-based, e.g. 2/4), got `{s}`");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Train and test images of the dataset's official files (the cost model's sizes).
fn official_sizes(id: DatasetId) -> (u64, u64) {
    match id {
        DatasetId::Qmnist => (60_000, 60_000),
        DatasetId::Cifar100 => (50_000, 10_000),
        _ => (60_000, 10_000),
    }
}

/// The expected cost of a run, in arbitrary units (about one multiply-add of a small-preset
/// forward pass per pixel and tenth of an image): a model, not a measurement.
///
/// - images: per task `n` train and `m` test images (`--train-per-task`/`--test-per-task`, else
///   the official split over the T tasks; with the test split carved 80/20, of the test split);
/// - a training image costs `(5 + 2d)` x its pixels: a forward (5) and a backward of 2 per trainable
///   group, d = the regime's trainable groups (the first task trains all 5 unless
///   `regime_from_first_task`); naive runs measure 6 s (R1) to 13 s (R5) on full MNIST, 2.2x, and
///   this gives 15 + 4 x 7 : 15 + 4 x 15, 1.7x;
/// - the method multiplies each epoch's steps, in tenths: naive 10, SI 11, LwF 13 (the old model's
///   forward), EWC 10 plus 17 per task (the Fisher, about 1.7 epochs measured), GEM
///   10 + 10 (T-1) m' / (2 batch) (on average (T-1)/2 memory passes of m' = min(memory, n) samples
///   per step of `batch`);
/// - evaluation after each task of every task's test images: T x T x m forward passes (5).
pub fn cost(cfg: &RunConfig) -> u64 {
    let id = cfg.dataset;
    let tasks = id.tasks() as u64;
    let (mut train, mut test) = official_sizes(id);
    if cfg.train_from_test_split {
        (train, test) = (test * 4 / 5, test / 5);
    }
    let per_task = |total: u64, cap: Option<usize>| {
        let n = total / tasks;
        cap.map_or(n, |c| n.min(c as u64))
    };
    let (n, m) = (
        per_task(train, cfg.train_per_task),
        per_task(test, cfg.test_per_task),
    );
    let d = cfg.train.regime.trainable.len() as u64;
    let first = if cfg.train.regime_from_first_task {
        d
    } else {
        5
    };
    let depth_units = (5 + 2 * first) + (tasks - 1) * (5 + 2 * d);
    let batch = cfg.train.batch as u64;
    let (step, per_task_extra) = match cfg.method {
        MethodConfig::Naive => (10, 0),
        MethodConfig::Si(_) => (11, 0),
        MethodConfig::Lwf(_) => (13, 0),
        MethodConfig::Ewc(_) => (10, 17),
        MethodConfig::Gem(g) => (
            10 + 10 * (tasks - 1) * n.min(g.memory as u64) / (2 * batch),
            0,
        ),
    };
    let epochs = cfg.train.epochs as u64;
    let pixels = id.image_len() as u64;
    pixels * (n * depth_units * (epochs * step + per_task_extra) + tasks * tasks * m * 5 * 10)
}

/// For each point, its shard (0-based) among `count` (greedy longest-processing-time).
pub fn assign(points: &[Point], count: usize) -> Vec<usize> {
    assert!(count >= 1, "at least one shard");
    let costs: Vec<u64> = points.iter().map(|p| cost(&p.config)).collect();
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        costs[b]
            .cmp(&costs[a])
            .then_with(|| points[a].key.hash.cmp(&points[b].key.hash))
    });
    let mut load = vec![0u64; count];
    let mut shard = vec![0; points.len()];
    for i in order {
        let s = (0..count)
            .min_by_key(|&s| (load[s], s))
            .expect("count >= 1");
        shard[i] = s;
        load[s] += costs[i];
    }
    shard
}

/// The points of `shard`, in grid order.
pub fn select(points: Vec<Point>, shard: Shard) -> Vec<Point> {
    let of = assign(&points, shard.count);
    points
        .into_iter()
        .zip(of)
        .filter(|(_, s)| *s + 1 == shard.index)
        .map(|(p, _)| p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regime::Regime;
    use crate::sweep::Grid;

    fn default_grid() -> Vec<Point> {
        Grid::protocol(DatasetId::ALL.to_vec()).expand().unwrap()
    }

    #[test]
    fn shards_are_written_one_based_and_checked() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard { index: 2, count: 4 }.to_string(), "2/4");
        for bad in ["0/4", "5/4", "1/0", "2", "a/b", "-1/3"] {
            assert!(
                bad.parse::<Shard>().unwrap_err().contains("1-based"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_shards_partition_the_grid() {
        let points = default_grid();
        for count in 1..=7 {
            let mut seen = vec![0; points.len()];
            for index in 1..=count {
                for p in select(points.clone(), Shard { index, count }) {
                    let i = points.iter().position(|q| q.key == p.key).unwrap();
                    seen[i] += 1;
                }
            }
            assert!(seen.iter().all(|&n| n == 1), "{count} shards");
        }
    }

    #[test]
    fn the_assignment_ignores_the_order_of_the_lists() {
        let points = default_grid();
        let mut reversed = points.clone();
        reversed.reverse();
        let a = assign(&points, 4);
        let b = assign(&reversed, 4);
        for (i, p) in points.iter().enumerate() {
            let j = reversed.iter().position(|q| q.key == p.key).unwrap();
            assert_eq!(a[i], b[j]);
        }
    }

    fn loads(points: &[Point], count: usize) -> Vec<u64> {
        let mut load = vec![0; count];
        for (p, s) in points.iter().zip(assign(points, count)) {
            load[s] += cost(&p.config);
        }
        load
    }

    #[test]
    fn the_default_grid_is_balanced_by_cost() {
        let points = default_grid();
        for count in [2, 3, 4, 8, 16] {
            let l = loads(&points, count);
            let (lo, hi) = (*l.iter().min().unwrap(), *l.iter().max().unwrap());
            assert!(
                (hi - lo) as f64 <= 0.01 * hi as f64,
                "{count} shards: {l:?}"
            );
        }
    }

    #[test]
    fn balance_is_by_cost_not_by_count() {
        let mut g = Grid::protocol(vec![DatasetId::Mnist]);
        g.regimes = vec![Regime::depth(5)];
        g.methods = vec![crate::run::MethodKind::Gem.defaults()];
        g.orders = vec![0];
        let mut points = g.expand().unwrap();
        g.methods = vec![MethodConfig::Naive];
        g.regimes = vec![Regime::depth(1)];
        g.orders = (0..8).collect();
        points.extend(g.expand().unwrap());
        let gem = cost(&points[0].config);
        let naive = cost(&points[1].config);
        assert!(gem > 4 * naive, "gem {gem} naive {naive}");
        let of = assign(&points, 2);
        let alone = of.iter().filter(|&&s| s == of[0]).count();
        assert!(
            alone < 4,
            "GEM R5 shares its shard with {} naive R1 runs",
            alone - 1
        );
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
        ewc.method = crate::run::MethodKind::Ewc.defaults();
        let cifar = RunConfig::defaults(DatasetId::Cifar100, Regime::depth(1));
        assert!(cost(&deeper) > c && cost(&fewer) < c && cost(&longer) > c && cost(&ewc) > c);
        assert!(cost(&cifar) > c);
    }
}
