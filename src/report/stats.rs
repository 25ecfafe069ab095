//! Aggregates over the runs of one cell (setup, dataset or pooled, regime, method variant): mean,
//! sample standard deviation and a t-based 95% interval of each metric, and the runs excluded.

use super::keys::{Pool, RegimeKey, Scope, Tag, Variant};
use crate::run::RunResult;
use std::collections::{BTreeMap, BTreeSet};

/// Two-sided 97.5% quantiles of Student's t for 1..=30 degrees of freedom (checked against the
/// numerically integrated t density to 1e-11).
const T_975: [f64; 30] = [
    12.706_204_736_174_707,
    4.302_652_729_749_464,
    3.182_446_305_284_263,
    2.776_445_105_197_793_4,
    2.570_581_835_636_314,
    2.446_911_851_144_966_6,
    2.364_624_251_592_785_3,
    2.306_004_135_204_168,
    2.262_157_162_854_099_3,
    2.228_138_851_964_938_5,
    2.200_985_160_082_949,
    2.178_812_829_663_417_7,
    2.160_368_656_461_012_7,
    2.144_786_687_916_927_3,
    2.131_449_545_559_323,
    2.119_905_299_221_011_2,
    2.109_815_577_833_180_6,
    2.100_922_040_240_96,
    2.093_024_054_408_263,
    2.085_963_447_265_836_4,
    2.079_613_844_727_662_6,
    2.073_873_067_904_014_7,
    2.068_657_610_419_040_6,
    2.063_898_561_628_020_5,
    2.059_538_552_753_294,
    2.055_529_438_642_871,
    2.051_830_516_480_283_3,
    2.048_407_141_795_244,
    2.045_229_642_132_703,
    2.042_272_456_301_238,
];

/// The 97.5% quantile of Student's t with `df` degrees of freedom: the table for `df <= 30`,
/// beyond it the Cornish-Fisher expansion in 1/df to the fourth order (Abramowitz and Stegun
/// 26.7.5; off by under 3e-8 at df = 31, less beyond). Panics for `df = 0`.
pub fn t_975(df: usize) -> f64 {
    assert!(df > 0, "t quantile needs at least one degree of freedom");
    if df <= T_975.len() {
        return T_975[df - 1];
    }
    let z = crate::metrics::Z_975;
    let v = df as f64;
    let g1 = (z.powi(3) + z) / 4.0;
    let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
    let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
    let g4 = (79.0 * z.powi(9) + 776.0 * z.powi(7) + 1482.0 * z.powi(5)
        - 1920.0 * z.powi(3)
        - 945.0 * z)
        / 92160.0;
    z + g1 / v + g2 / (v * v) + g3 / v.powi(3) + g4 / v.powi(4)
}

/// Mean, sample standard deviation (n - 1) and t-based 95% interval of the mean,
/// `mean -+ t_975(n-1) * std / sqrt(n)`, of n values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// `None` for one value.
    pub std: Option<f64>,
    /// `None` for one value.
    pub ci95: Option<(f64, f64)>,
}

/// The summary of `xs`; `None` when it is empty.
pub fn summarize(xs: &[f64]) -> Option<Summary> {
    let n = xs.len();
    if n == 0 {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Some(Summary {
            n,
            mean,
            std: None,
            ci95: None,
        });
    }
    let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    let std = (ss / (n - 1) as f64).sqrt();
    let half = t_975(n - 1) * std / (n as f64).sqrt();
    Some(Summary {
        n,
        mean,
        std: Some(std),
        ci95: Some((mean - half, mean + half)),
    })
}

/// One run with the values the report takes from it.
#[derive(Clone, Debug)]
pub struct Point {
    pub tag: Tag,
    pub acc: f64,
    pub forgetting: Option<f64>,
    pub bwt: Option<f64>,
    /// U, the drift after the first task.
    pub drift: Option<f64>,
    /// Mean of u_t over t = 2..T (the tasks the regime governs by default).
    pub mean_u_later: Option<f64>,
    /// U per group, by group name.
    pub group_drift: BTreeMap<String, f64>,
    /// Plasticity: the mean of the diagonal A[t][t] (accuracy on each task right after it).
    pub plasticity: f64,
    /// Wall seconds, the kernel path that ran, whether task 1 was copied from another run (its
    /// time is then not in `seconds`), and the cost model's multiply-adds for the run.
    pub seconds: f64,
    pub isa: String,
    pub first_task_copied: bool,
    pub modelled: u64,
}

impl Point {
    pub fn new(tag: Tag, r: &RunResult) -> Point {
        let later = &r.update_norms.per_task.get(1..).unwrap_or(&[]);
        let t = r.accuracy.len();
        Point {
            tag,
            acc: r.summary.acc,
            forgetting: r.summary.forgetting.as_ref().map(|f| f.mean),
            bwt: r.summary.bwt,
            drift: r.update_norms.drift,
            mean_u_later: (!later.is_empty())
                .then(|| later.iter().sum::<f64>() / later.len() as f64),
            group_drift: r
                .update_norms_by_group
                .iter()
                .filter_map(|g| Some((g.name.clone(), g.norms.drift?)))
                .collect(),
            plasticity: (0..t).map(|i| r.accuracy[i][i]).sum::<f64>() / t as f64,
            seconds: r.wall_seconds,
            isa: r.isa.clone(),
            first_task_copied: r.first_task_copied,
            modelled: crate::sweep::cost(&r.config),
        }
    }
}

/// Which cell a row is: scope, regime, method variant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CellKey {
    pub scope: Scope,
    pub regime: RegimeKey,
    pub variant: Variant,
}

/// The aggregates of one cell.
#[derive(Clone, Debug)]
pub struct Cell {
    pub key: CellKey,
    /// Finished runs.
    pub n: usize,
    /// Distinct (order, seed) pairs among them.
    pub replicates: usize,
    pub orders: usize,
    pub seeds: usize,
    /// Runs excluded: diverged, or failed for another reason.
    pub diverged: usize,
    pub failed: usize,
    pub acc: Option<Summary>,
    pub forgetting: Option<Summary>,
    pub bwt: Option<Summary>,
    pub drift: Option<Summary>,
    pub mean_u_later: Option<Summary>,
    pub group_drift: BTreeMap<String, Summary>,
    pub plasticity: Option<Summary>,
    /// Indices into the report's points.
    pub points: Vec<usize>,
}

/// The cell keys a run belongs to: its dataset's, and its setup's pooled one when `pooled` (the
/// setup holds two datasets or more; one dataset pooled would repeat its own rows).
fn keys_of(t: &Tag, pooled: bool) -> Vec<CellKey> {
    let key = |pool| CellKey {
        scope: Scope {
            setup: t.setup,
            pool,
        },
        regime: t.regime.clone(),
        variant: t.variant.clone(),
    };
    let mut keys = vec![key(Pool::Dataset(t.dataset))];
    if pooled {
        keys.push(key(Pool::All));
    }
    keys
}

/// The datasets that have cells in `setup`, in dataset order.
pub fn datasets(cells: &[Cell], setup: usize) -> BTreeSet<crate::data::DatasetId> {
    cells
        .iter()
        .filter_map(|c| match c.key.scope.pool {
            Pool::Dataset(d) if c.key.scope.setup == setup => Some(d),
            _ => None,
        })
        .collect()
}

/// Every cell: finished runs from `points`, exclusions from `failures` (tag, diverged).
pub fn cells(points: &[Point], failures: &[(Tag, bool)]) -> Vec<Cell> {
    let sets: BTreeSet<(usize, crate::data::DatasetId)> = (points.iter().map(|p| &p.tag))
        .chain(failures.iter().map(|f| &f.0))
        .map(|t| (t.setup, t.dataset))
        .collect();
    let pooled = |t: &Tag| sets.iter().filter(|(s, _)| *s == t.setup).count() > 1;
    let mut members: BTreeMap<CellKey, (Vec<usize>, usize, usize)> = BTreeMap::new();
    for (i, p) in points.iter().enumerate() {
        for k in keys_of(&p.tag, pooled(&p.tag)) {
            members.entry(k).or_default().0.push(i);
        }
    }
    for (tag, diverged) in failures {
        for k in keys_of(tag, pooled(tag)) {
            let e = members.entry(k).or_default();
            if *diverged {
                e.1 += 1;
            } else {
                e.2 += 1;
            }
        }
    }
    members
        .into_iter()
        .map(|(key, (idx, diverged, failed))| cell(key, points, idx, diverged, failed))
        .collect()
}

fn cell(key: CellKey, points: &[Point], idx: Vec<usize>, diverged: usize, failed: usize) -> Cell {
    let ps: Vec<&Point> = idx.iter().map(|&i| &points[i]).collect();
    let of = |f: &dyn Fn(&Point) -> Option<f64>| {
        summarize(&ps.iter().filter_map(|p| f(p)).collect::<Vec<_>>())
    };
    let distinct =
        |f: &dyn Fn(&Point) -> (u64, u64)| ps.iter().map(|p| f(p)).collect::<BTreeSet<_>>().len();
    let groups: BTreeSet<&String> = ps.iter().flat_map(|p| p.group_drift.keys()).collect();
    Cell {
        n: ps.len(),
        replicates: distinct(&|p| (p.tag.order, p.tag.seed)),
        orders: distinct(&|p| (p.tag.order, 0)),
        seeds: distinct(&|p| (p.tag.seed, 0)),
        diverged,
        failed,
        acc: of(&|p| Some(p.acc)),
        forgetting: of(&|p| p.forgetting),
        bwt: of(&|p| p.bwt),
        drift: of(&|p| p.drift),
        mean_u_later: of(&|p| p.mean_u_later),
        group_drift: groups
            .into_iter()
            .filter_map(|g| Some((g.clone(), of(&|p| p.group_drift.get(g).copied())?)))
            .collect(),
        plasticity: of(&|p| Some(p.plasticity)),
        points: idx,
        key,
    }
}

/// Distinct (order, seed) pairs among the points at `idx`.
pub fn replicates(points: &[Point], idx: impl IntoIterator<Item = usize>) -> usize {
    idx.into_iter()
        .map(|i| (points[i].tag.order, points[i].tag.seed))
        .collect::<BTreeSet<_>>()
        .len()
}
