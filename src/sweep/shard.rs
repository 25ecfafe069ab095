//! `--shard I/N`: a fixed, disjoint slice of the grid for one of N machines, balanced by expected
//! cost ([`super::cost`]).
//!
//! The assignment is greedy longest-processing-time: points sorted by cost (largest first, ties by
//! hash), each given to the shard with the least cost so far (ties: the lowest shard). It depends
//! only on the set of points, not on the order the lists were given in or on what is already
//! finished, so N machines given the same grid (name `--datasets` explicitly if their data differ)
//! cover it exactly once between them.

use super::cost::cost;
use super::grid::Point;
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
    use crate::data::DatasetId;
    use crate::regime::Regime;
    use crate::run::MethodConfig;
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
}
