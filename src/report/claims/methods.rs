//! The claims about methods: the ranking changes with the regime, the best method of each
//! regime, and no clear winner in the full network.

use super::{cl_cells, enough, pct, row, runs, ClaimRow, Inputs, Verdict};
use crate::report::analysis::{self, Ranking, RegimePair};
use crate::report::keys::{RegimeKey, Scope};
use crate::report::stats::{summarize, Cell, Point};
use crate::run::MethodKind;
use std::collections::BTreeMap;

pub(super) fn ranking_changes(x: &Inputs, scope: Scope) -> ClaimRow {
    let mut r = row(
        "ranking of methods changes from regime to regime",
        scope,
        "changes",
    );
    let cl: Vec<Ranking> = x
        .rankings
        .iter()
        .filter(|k| k.scope == scope)
        .map(|k| Ranking {
            by_acc: k
                .by_acc
                .iter()
                .filter(|m| m.0 != MethodKind::Naive)
                .copied()
                .collect(),
            ..k.clone()
        })
        .collect();
    let pairs: Vec<RegimePair> = analysis::regime_pairs(&cl)
        .into_iter()
        .filter(|p| p.methods >= 2)
        .collect();
    let used: Vec<&Cell> = cl
        .iter()
        .flat_map(|k| cl_cells(x, scope, &k.regime))
        .collect();
    r.runs = runs(&used);
    if pairs.is_empty() {
        r.why = "needs two regimes with two methods (besides naive) in common".into();
        return r;
    }
    if let Err(why) = enough(&used) {
        r.why = why;
        return r;
    }
    let flipping: Vec<&RegimePair> = pairs.iter().filter(|p| p.flips > 0).collect();
    let min_tau = pairs
        .iter()
        .filter_map(|p| p.tau)
        .fold(f64::INFINITY, f64::min);
    r.measured = format!(
        "{} of {} regime pairs have rank flips ({} flips in all); lowest Kendall tau {}",
        flipping.len(),
        pairs.len(),
        pairs.iter().map(|p| p.flips).sum::<usize>(),
        if min_tau.is_finite() {
            format!("{min_tau:.2}")
        } else {
            "n/a".into()
        }
    );
    if let Some(p) = flipping.first() {
        let (a, b) = p.flipped[0];
        r.why = format!(
            "e.g. {a} above {b} in {}, below it in {}",
            p.a.name, p.b.name
        );
        r.verdict = Verdict::Confirmed;
    } else {
        r.why = "the same order of methods by mean ACC in every regime".into();
        r.verdict = Verdict::Contradicted;
    }
    r
}

pub(super) fn best_method(
    x: &Inputs,
    scope: Scope,
    d: u8,
    name: &str,
    m: MethodKind,
    level: &str,
) -> ClaimRow {
    let claim = format!("{name} (R{d}): best method by average accuracy");
    let mut r = row(&claim, scope, &format!("{m}, {level}"));
    let cells = cl_cells(x, scope, &RegimeKey::depth(d));
    r.runs = runs(&cells);
    let Some(own) = cells.iter().find(|c| c.key.variant.kind == m) else {
        r.why = if x.cells.iter().any(|c| c.key.scope == scope) {
            format!("no runs of {m} in R{d} on this dataset")
        } else {
            "no runs on this dataset".into()
        };
        return r;
    };
    if cells.len() < 2 {
        r.why = format!("{m} is the only method run in R{d} here");
        return r;
    }
    if let Err(why) = enough(&cells) {
        r.why = why;
        return r;
    }
    let mean = |c: &Cell| c.acc.expect("cl_cells keeps cells with runs").mean;
    let best = cells
        .iter()
        .max_by(|a, b| {
            mean(a)
                .total_cmp(&mean(b))
                .then((b.key.variant.kind as usize).cmp(&(a.key.variant.kind as usize)))
        })
        .expect("two cells");
    let rank = 1 + cells.iter().filter(|c| mean(c) > mean(own)).count();
    r.measured = format!(
        "best {} {}; {m} {} (rank {rank} of {})",
        best.key.variant.kind,
        pct(mean(best)),
        pct(mean(own)),
        cells.len()
    );
    if rank == 1 {
        r.verdict = Verdict::Confirmed;
        r.why = format!("{m} has the highest mean ACC of {} methods", cells.len());
    } else {
        r.verdict = Verdict::Contradicted;
        r.why = format!("{} has a higher mean ACC than {m}", best.key.variant.kind);
    }
    r
}

pub(super) fn no_clear_winner(x: &Inputs, scope: Scope) -> ClaimRow {
    let mut r = row(
        "full network (R5): no clear winner",
        scope,
        "no clear winner",
    );
    let mut cells = cl_cells(x, scope, &RegimeKey::depth(5));
    r.runs = runs(&cells);
    if cells.len() < 2 {
        r.why = "needs two methods (besides naive) run in R5".into();
        return r;
    }
    if let Err(why) = enough(&cells) {
        r.why = why;
        return r;
    }
    let mean = |c: &Cell| c.acc.expect("cl_cells keeps cells with runs").mean;
    cells.sort_by(|a, b| mean(b).total_cmp(&mean(a)));
    let (lead, next) = (cells[0], cells[1]);
    let (a, b) = (lead.key.variant.kind, next.key.variant.kind);
    let interval = |c: &Cell| {
        let (lo, hi) = c.acc.and_then(|s| s.ci95).expect("n >= 2");
        format!("{} [{}, {}]", pct(mean(c)), pct(lo), pct(hi))
    };
    r.measured = format!(
        "best {a} {}, runner-up {b} {}",
        interval(lead),
        interval(next)
    );
    let d = paired_differences(x.points, lead, next);
    let Some((diff, (lo, hi))) = summarize(&d).and_then(|s| Some((s, s.ci95?))) else {
        r.why = format!("{a} and {b} share fewer than 2 (dataset, order, seed) triples");
        return r;
    };
    r.measured += &format!(
        "; {a} - {b} paired over {} runs each: {:.1} points [{:.1}, {:.1}]",
        diff.n,
        100.0 * diff.mean,
        100.0 * lo,
        100.0 * hi
    );
    if lo > 0.0 {
        r.verdict = Verdict::Contradicted;
        r.why = format!("the 95% interval of {a}'s lead over {b}, run by run, lies above 0");
    } else {
        r.verdict = Verdict::Confirmed;
        r.why = format!("the 95% interval of {a}'s lead over {b}, run by run, holds 0");
    }
    r
}

/// ACC of `lead` minus ACC of `next` for every (dataset, order, seed) both cells have a run of,
/// in the order of `lead`'s runs: the same class orders on the same data, so the differences
/// leave out what an order does to every method alike.
fn paired_differences(points: &[Point], lead: &Cell, next: &Cell) -> Vec<f64> {
    let triple = |p: &Point| (p.tag.dataset, p.tag.order, p.tag.seed);
    let other: BTreeMap<_, f64> = (next.points.iter())
        .map(|&i| (triple(&points[i]), points[i].acc))
        .collect();
    (lead.points.iter())
        .filter_map(|&i| Some(points[i].acc - other.get(&triple(&points[i]))?))
        .collect()
}
