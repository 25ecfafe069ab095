//! The sections of `report.md` after the per-cell tables: rankings and Kendall tau, update
//! norms, U against forgetting, depth sensitivity and the strength sweep.

use super::{opt, pct, plain, strength_cells, table};
use crate::report::claims::study_name;
use crate::report::csv::group_names;
use crate::report::Report;
use std::fmt::Write;

pub(super) fn rankings(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "## Ranking of methods per regime\n\nBy mean ACC (runs per method in parentheses) and by \
         mean rank over the (dataset, order, seed) units that ran every method of the regime \
         (1 = best, ties share the mean rank).\n"
    );
    let rows: Vec<Vec<String>> = r
        .rankings
        .iter()
        .map(|k| {
            let acc: Vec<String> = k
                .by_acc
                .iter()
                .map(|(m, a, n)| format!("{m} {:.2} ({n})", 100.0 * a))
                .collect();
            let rank: Vec<String> = k
                .by_rank
                .iter()
                .map(|(m, x)| format!("{m} {x:.2}"))
                .collect();
            vec![
                r.scope_name(k.scope),
                k.regime.name.clone(),
                acc.join(" > "),
                if rank.is_empty() {
                    "-".into()
                } else {
                    rank.join(" > ")
                },
                k.rank_units.to_string(),
            ]
        })
        .collect();
    table(
        o,
        &[
            "scope",
            "regime",
            "by mean ACC (%)",
            "by mean rank",
            "units",
        ],
        &rows,
    );
    let _ = writeln!(o, "### Kendall tau between regimes, and rank flips\n");
    let rows: Vec<Vec<String>> = r
        .pairs
        .iter()
        .map(|p| {
            let named: Vec<String> = p
                .flipped
                .iter()
                .map(|(a, b)| format!("{a} > {b} in {}, {b} > {a} in {}", p.a.name, p.b.name))
                .collect();
            vec![
                r.scope_name(p.scope),
                format!("{} vs {}", p.a.name, p.b.name),
                p.methods.to_string(),
                opt(p.tau, 3),
                p.flips.to_string(),
                if named.is_empty() {
                    "-".into()
                } else {
                    named.join("; ")
                },
            ]
        })
        .collect();
    table(
        o,
        &[
            "scope",
            "regimes",
            "methods",
            "Kendall tau-b",
            "flips",
            "flipped pairs",
        ],
        &rows,
    );
}

pub(super) fn norms(o: &mut String, r: &Report) {
    let groups = group_names(r);
    let _ = writeln!(
        o,
        "## Update norms\n\nU (drift after the first task) and mean u_t (t >= 2) per cell, and the \
         mean U of each layer group.\n"
    );
    let mut head = vec!["scope", "regime", "method", "n", "U", "mean u_t"];
    let names: Vec<String> = groups.iter().map(|g| format!("U {g}")).collect();
    head.extend(names.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = r
        .cells
        .iter()
        .filter(|c| c.key.variant.primary && c.n > 0)
        .map(|c| {
            let mut row = vec![
                r.scope_name(c.key.scope),
                c.key.regime.name.clone(),
                c.key.variant.label.clone(),
                c.n.to_string(),
                plain(c.drift),
                plain(c.mean_u_later),
            ];
            row.extend(
                groups
                    .iter()
                    .map(|g| opt(c.group_drift.get(g).map(|s| s.mean), 3)),
            );
            row
        })
        .collect();
    table(o, &head, &rows);
    let _ = writeln!(o, "### Growth of U from R1 to R5\n");
    let rows: Vec<Vec<String>> = r
        .factors
        .iter()
        .map(|f| {
            vec![
                r.scope_name(f.scope),
                f.method.map_or("all methods".into(), |m| m.to_string()),
                format!("{:.3} (n {})", f.r1.mean, f.r1.n),
                format!("{:.3} (n {})", f.r5.mean, f.r5.n),
                format!("{:.2}", f.ratio),
            ]
        })
        .collect();
    table(
        o,
        &["scope", "method", "mean U R1", "mean U R5", "U R5 / U R1"],
        &rows,
    );
}

pub(super) fn correlations(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "## U against forgetting\n\nPearson r with its Fisher-z 95% interval, and Spearman rho, \
         over every run of the regime (all methods).\n"
    );
    let rows: Vec<Vec<String>> = r
        .correlations
        .iter()
        .map(|c| {
            let ci = c
                .corr
                .pearson_ci95
                .map_or("-".into(), |(a, b)| format!("[{a:.3}, {b:.3}]"));
            let name = if c.regime.depth <= 5 {
                format!("{} ({})", c.regime.name, study_name(c.regime.depth))
            } else {
                c.regime.name.clone()
            };
            vec![
                r.scope_name(c.scope),
                name,
                c.corr.n.to_string(),
                opt(c.corr.pearson, 3),
                ci,
                opt(c.corr.spearman, 3),
            ]
        })
        .collect();
    table(
        o,
        &[
            "scope",
            "regime",
            "n",
            "Pearson r",
            "95% interval",
            "Spearman rho",
        ],
        &rows,
    );
}

pub(super) fn depth(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "## Depth sensitivity: ACC R5 - ACC R1 (percent points)\n\nPer method, and over methods \
         (mean ± std across methods, min..max).\n"
    );
    let rows: Vec<Vec<String>> = r
        .depth
        .iter()
        .map(|d| {
            let per: Vec<String> = d
                .methods
                .iter()
                .map(|(m, _, _, x)| format!("{m} {:+.2}", 100.0 * x))
                .collect();
            let s = d.delta.expect("depth rows have a delta");
            let kind = if d.dataset.is_cifar() {
                "colour"
            } else {
                "grayscale"
            };
            vec![
                d.dataset.to_string(),
                kind.into(),
                per.join(", "),
                format!(
                    "{:+.2} ± {}",
                    100.0 * s.mean,
                    s.std.map_or("-".into(), |v| format!("{:.2}", 100.0 * v))
                ),
                format!("{:+.2} .. {:+.2}", 100.0 * d.min, 100.0 * d.max),
                d.runs.to_string(),
            ]
        })
        .collect();
    table(
        o,
        &[
            "dataset",
            "kind",
            "per method",
            "over methods",
            "range",
            "runs",
        ],
        &rows,
    );
}

pub(super) fn strength(o: &mut String, r: &Report) {
    let cs = strength_cells(r);
    if cs.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "## Strength sweep: forgetting against plasticity\n\nPlasticity is the mean of A[t][t] \
         (accuracy on each task right after training it); percent.\n"
    );
    let rows: Vec<Vec<String>> = cs
        .iter()
        .map(|c| {
            vec![
                r.scope_name(c.key.scope),
                c.key.regime.name.clone(),
                c.key.variant.label.clone(),
                c.n.to_string(),
                pct(c.forgetting),
                pct(c.plasticity),
                pct(c.acc),
            ]
        })
        .collect();
    table(
        o,
        &[
            "scope",
            "regime",
            "variant",
            "n",
            "forgetting",
            "plasticity",
            "ACC",
        ],
        &rows,
    );
}
