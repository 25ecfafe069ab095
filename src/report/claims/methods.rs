//! The claims about methods: the ranking changes with the regime, the best method of each
//! regime, and no clear winner in the full network.

use super::{cl_cells, enough, pct, row, runs, ClaimRow, Inputs, Verdict};
use crate::report::analysis::{self, Ranking, RegimePair};
use crate::report::keys::{RegimeKey, Scope};
use crate::report::stats::Cell;
use crate::run::MethodKind;

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
    cells.sort_by(|a, b| {
        let (a, b) = (a.acc.expect("kept").mean, b.acc.expect("kept").mean);
        b.total_cmp(&a)
    });
    let (best, second) = (cells[0].acc.expect("kept"), cells[1].acc.expect("kept"));
    let (lo, hi) = (best.ci95.expect("n >= 2").0, second.ci95.expect("n >= 2").1);
    r.measured = format!(
        "best {} {} [{}, {}], runner-up {} {} (upper {})",
        cells[0].key.variant.kind,
        pct(best.mean),
        pct(lo),
        pct(best.ci95.expect("n >= 2").1),
        cells[1].key.variant.kind,
        pct(second.mean),
        pct(hi)
    );
    if lo <= hi {
        r.verdict = Verdict::Confirmed;
        r.why = "the 95% intervals of the two best methods overlap".into();
    } else {
        r.verdict = Verdict::Contradicted;
        r.why = format!(
            "{}'s 95% interval lies above every other method's",
            cells[0].key.variant.kind
        );
    }
    r
}
