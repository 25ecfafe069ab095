//! The report's comparisons across cells: rankings of methods per regime, Kendall tau and rank
//! flips between regimes, the growth of U from R1 to R5, the correlation of U and forgetting,
//! and the depth sensitivity of each dataset. Only primary method variants take part.

use super::keys::{Pool, RegimeKey, Scope};
use super::stats::{self, Cell, Point, Summary};
use crate::data::DatasetId;
use crate::metrics::{self, Correlation};
use crate::run::MethodKind;
use std::collections::{BTreeMap, BTreeSet};

/// Methods of one (scope, regime), best first.
#[derive(Clone, Debug)]
pub struct Ranking {
    pub scope: Scope,
    pub regime: RegimeKey,
    /// (method, mean ACC, runs), by mean ACC, best first (ties in method order).
    pub by_acc: Vec<(MethodKind, f64, usize)>,
    /// (method, mean rank), 1 = best, by mean rank; ranks by ACC within each unit (dataset, order,
    /// seed) that has a run of every method here, ties sharing the mean rank.
    pub by_rank: Vec<(MethodKind, f64)>,
    /// How many units the mean ranks cover.
    pub rank_units: usize,
}

/// Two regimes of one scope compared.
#[derive(Clone, Debug)]
pub struct RegimePair {
    pub scope: Scope,
    pub a: RegimeKey,
    pub b: RegimeKey,
    /// Methods ranked in both regimes.
    pub methods: usize,
    /// Kendall tau-b between the mean ACCs of those methods in the two regimes.
    pub tau: Option<f64>,
    pub flips: usize,
    /// The flipped pairs, (better in `a`, better in `b`).
    pub flipped: Vec<(MethodKind, MethodKind)>,
}

/// U in R5 over U in R1, for one method or (method `None`) every primary run.
#[derive(Clone, Debug)]
pub struct NormFactor {
    pub scope: Scope,
    pub method: Option<MethodKind>,
    pub r1: Summary,
    pub r5: Summary,
    pub ratio: f64,
}

/// Pearson and Spearman correlation between U and forgetting over the primary runs of one
/// (scope, regime).
#[derive(Clone, Debug)]
pub struct UfCorrelation {
    pub scope: Scope,
    pub regime: RegimeKey,
    pub corr: Correlation,
    pub replicates: usize,
    /// Indices of the points (for the plot).
    pub points: Vec<usize>,
}

/// ACC R5 - ACC R1 of one dataset, per method and over methods.
#[derive(Clone, Debug)]
pub struct Depth {
    pub setup: usize,
    pub dataset: DatasetId,
    /// (method, mean ACC R1, mean ACC R5, difference).
    pub methods: Vec<(MethodKind, f64, f64, f64)>,
    /// The differences over methods: mean, std, CI.
    pub delta: Option<Summary>,
    pub min: f64,
    pub max: f64,
    /// Runs behind it (R1 and R5 cells), and the fewest (order, seed) pairs in one of those cells.
    pub runs: usize,
    pub replicates: usize,
}

/// The primary cells, by scope and regime.
pub fn primary(cells: &[Cell]) -> BTreeMap<(Scope, RegimeKey), Vec<&Cell>> {
    let mut out: BTreeMap<(Scope, RegimeKey), Vec<&Cell>> = BTreeMap::new();
    for c in cells
        .iter()
        .filter(|c| c.key.variant.primary && c.acc.is_some())
    {
        out.entry((c.key.scope, c.key.regime.clone()))
            .or_default()
            .push(c);
    }
    out
}

pub fn rankings(cells: &[Cell], points: &[Point]) -> Vec<Ranking> {
    primary(cells)
        .into_iter()
        .map(|((scope, regime), cs)| ranking(scope, regime, &cs, points))
        .collect()
}

fn ranking(scope: Scope, regime: RegimeKey, cs: &[&Cell], points: &[Point]) -> Ranking {
    let accs: Vec<f64> = cs
        .iter()
        .map(|c| c.acc.map_or(f64::NAN, |s| s.mean))
        .collect();
    let order = metrics::ranks_by_score_desc(&accs);
    let mut by_acc: Vec<(usize, MethodKind, f64, usize)> = cs
        .iter()
        .zip(order.iter().zip(&accs))
        .map(|(c, (&r, &a))| (r, c.key.variant.kind, a, c.n))
        .collect();
    by_acc.sort_by_key(|e| (e.0, e.1 as usize));
    // units (dataset, order, seed) with a run of every method
    let mut units: BTreeMap<(DatasetId, u64, u64), Vec<Option<f64>>> = BTreeMap::new();
    for (m, c) in cs.iter().enumerate() {
        for &i in &c.points {
            let t = &points[i].tag;
            let row = units
                .entry((t.dataset, t.order, t.seed))
                .or_insert_with(|| vec![None; cs.len()]);
            row[m] = Some(points[i].acc);
        }
    }
    let complete: Vec<Vec<f64>> = units
        .into_values()
        .filter_map(|row| row.into_iter().collect::<Option<Vec<f64>>>())
        .collect();
    let mut by_rank = Vec::new();
    if !complete.is_empty() {
        let mut sum = vec![0.0; cs.len()];
        for row in &complete {
            let neg: Vec<f64> = row.iter().map(|a| -a).collect();
            for (s, r) in sum.iter_mut().zip(metrics::average_ranks(&neg)) {
                *s += r;
            }
        }
        by_rank = cs
            .iter()
            .zip(sum)
            .map(|(c, s)| (c.key.variant.kind, s / complete.len() as f64))
            .collect();
        by_rank.sort_by(|a, b| {
            a.1.total_cmp(&b.1)
                .then((a.0 as usize).cmp(&(b.0 as usize)))
        });
    }
    Ranking {
        scope,
        regime,
        by_acc: by_acc.into_iter().map(|(_, k, a, n)| (k, a, n)).collect(),
        by_rank,
        rank_units: complete.len(),
    }
}

/// Every pair of regimes of every scope, over the methods ranked in both.
pub fn regime_pairs(rankings: &[Ranking]) -> Vec<RegimePair> {
    let mut out = Vec::new();
    for (i, a) in rankings.iter().enumerate() {
        for b in rankings[i + 1..].iter().filter(|b| b.scope == a.scope) {
            let acc_b: BTreeMap<usize, f64> =
                b.by_acc.iter().map(|e| (e.0 as usize, e.1)).collect();
            let mut both: Vec<(MethodKind, f64, f64)> = a
                .by_acc
                .iter()
                .filter_map(|e| Some((e.0, e.1, *acc_b.get(&(e.0 as usize))?)))
                .collect();
            both.sort_by_key(|e| e.0 as usize);
            let xa: Vec<f64> = both.iter().map(|e| e.1).collect();
            let xb: Vec<f64> = both.iter().map(|e| e.2).collect();
            let (ra, rb) = (
                metrics::ranks_by_score_desc(&xa),
                metrics::ranks_by_score_desc(&xb),
            );
            let mut flipped = Vec::new();
            for m in 0..both.len() {
                for k in m + 1..both.len() {
                    if metrics::rank_flips(&[ra[m], ra[k]], &[rb[m], rb[k]]) == 1 {
                        let (win_a, win_b) = if ra[m] < ra[k] { (m, k) } else { (k, m) };
                        flipped.push((both[win_a].0, both[win_b].0));
                    }
                }
            }
            out.push(RegimePair {
                scope: a.scope,
                a: a.regime.clone(),
                b: b.regime.clone(),
                methods: both.len(),
                tau: metrics::kendall_tau_b(&xa, &xb),
                flips: metrics::rank_flips(&ra, &rb),
                flipped,
            });
        }
    }
    out
}

/// U(R5) / U(R1) per scope, per method and over every primary run.
pub fn norm_factors(cells: &[Cell], points: &[Point]) -> Vec<NormFactor> {
    let by = primary(cells);
    let scopes: BTreeSet<Scope> = by.keys().map(|k| k.0).collect();
    let mut out = Vec::new();
    for scope in scopes {
        let (Some(c1), Some(c5)) = (
            by.get(&(scope, RegimeKey::depth(1))),
            by.get(&(scope, RegimeKey::depth(5))),
        ) else {
            continue;
        };
        for c in c1 {
            let kind = c.key.variant.kind;
            if let Some(d) = c5.iter().find(|d| d.key.variant.kind == kind) {
                if let (Some(r1), Some(r5)) = (c.drift, d.drift) {
                    out.push(factor(scope, Some(kind), r1, r5));
                }
            }
        }
        let all = |cs: &Vec<&Cell>| {
            let u: Vec<f64> = cs
                .iter()
                .flat_map(|c| c.points.iter().filter_map(|&i| points[i].drift))
                .collect();
            stats::summarize(&u)
        };
        if let (Some(r1), Some(r5)) = (all(c1), all(c5)) {
            out.push(factor(scope, None, r1, r5));
        }
    }
    out
}

fn factor(scope: Scope, method: Option<MethodKind>, r1: Summary, r5: Summary) -> NormFactor {
    NormFactor {
        scope,
        method,
        ratio: r5.mean / r1.mean,
        r1,
        r5,
    }
}

/// Pearson r (Fisher-z interval) and Spearman rho between U and F per scope and regime.
pub fn correlations(cells: &[Cell], points: &[Point]) -> Vec<UfCorrelation> {
    primary(cells)
        .into_iter()
        .map(|((scope, regime), cs)| {
            let idx: Vec<usize> = cs
                .iter()
                .flat_map(|c| c.points.iter().copied())
                .filter(|&i| points[i].drift.is_some() && points[i].forgetting.is_some())
                .collect();
            let u: Vec<f64> = idx.iter().filter_map(|&i| points[i].drift).collect();
            let f: Vec<f64> = idx.iter().filter_map(|&i| points[i].forgetting).collect();
            UfCorrelation {
                scope,
                regime,
                corr: metrics::correlation(&u, &f),
                replicates: stats::replicates(points, idx.iter().copied()),
                points: idx,
            }
        })
        .collect()
}

/// ACC R5 - ACC R1 per dataset scope, over the methods run in both.
pub fn depth(cells: &[Cell]) -> Vec<Depth> {
    let by = primary(cells);
    let scopes: BTreeSet<Scope> = by.keys().map(|k| k.0).collect();
    let mut out = Vec::new();
    for scope in scopes {
        let Pool::Dataset(dataset) = scope.pool else {
            continue;
        };
        let (Some(c1), Some(c5)) = (
            by.get(&(scope, RegimeKey::depth(1))),
            by.get(&(scope, RegimeKey::depth(5))),
        ) else {
            continue;
        };
        let mut methods = Vec::new();
        let (mut runs, mut replicates) = (0, usize::MAX);
        for c in c1 {
            let Some(d) = c5.iter().find(|d| d.key.variant.kind == c.key.variant.kind) else {
                continue;
            };
            let (a1, a5) = (c.acc.expect("primary").mean, d.acc.expect("primary").mean);
            methods.push((c.key.variant.kind, a1, a5, a5 - a1));
            runs += c.n + d.n;
            replicates = replicates.min(c.replicates).min(d.replicates);
        }
        let deltas: Vec<f64> = methods.iter().map(|m| m.3).collect();
        let Some(delta) = stats::summarize(&deltas) else {
            continue;
        };
        out.push(Depth {
            setup: scope.setup,
            dataset,
            min: deltas.iter().copied().fold(f64::INFINITY, f64::min),
            max: deltas.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            methods,
            delta: Some(delta),
            runs,
            replicates,
        });
    }
    out
}
