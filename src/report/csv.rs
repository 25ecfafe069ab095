//! One CSV file per table of the report. Accuracies, forgetting and BWT are fractions (0..1),
//! not percent; numbers have 6 decimals; an empty field is a value that does not exist (the std of
//! one run, the r of a constant series).

use super::claims;
use super::keys::{Pool, Scope};
use super::stats::Summary;
use super::Report;

/// (file name, contents) of every table.
pub fn tables(r: &Report) -> Vec<(&'static str, String)> {
    vec![
        ("cells.csv", cells(r)),
        ("rankings.csv", rankings(r)),
        ("kendall.csv", kendall(r)),
        ("norms.csv", norms(r)),
        ("norm_factor.csv", norm_factor(r)),
        ("correlation.csv", correlation(r)),
        ("depth.csv", depth(r)),
        ("strength.csv", strength(r)),
        ("claims.csv", claims_table(r)),
        ("inputs.csv", inputs(r)),
        ("time.csv", super::time::csv(r)),
    ]
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub(super) fn line(out: &mut String, fields: &[String]) {
    let f: Vec<String> = fields.iter().map(|s| field(s)).collect();
    out.push_str(&f.join(","));
    out.push('\n');
}

pub fn num(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v:.6}"))
}

/// mean, std, ci_lo, ci_hi of a summary.
pub(super) fn four(s: Option<Summary>) -> [String; 4] {
    [
        num(s.map(|s| s.mean)),
        num(s.and_then(|s| s.std)),
        num(s.and_then(|s| s.ci95).map(|c| c.0)),
        num(s.and_then(|s| s.ci95).map(|c| c.1)),
    ]
}

pub(super) fn scope_fields(r: &Report, s: Scope) -> [String; 2] {
    [r.labels.setups[s.setup].clone(), s.pool.name().to_string()]
}

pub(super) fn header(names: &[&str]) -> String {
    let mut s = names.join(",");
    s.push('\n');
    s
}

pub(super) fn stat_names(prefix: &str) -> Vec<String> {
    ["mean", "std", "ci95_lo", "ci95_hi"]
        .iter()
        .map(|s| format!("{prefix}_{s}"))
        .collect()
}

fn cells(r: &Report) -> String {
    let mut h: Vec<String> = [
        "setup",
        "pool",
        "regime",
        "method",
        "primary",
        "n",
        "order_seed_pairs",
        "orders",
        "seeds",
        "diverged",
        "failed",
    ]
    .map(String::from)
    .to_vec();
    for m in ["acc", "forgetting", "bwt", "plasticity"] {
        h.extend(stat_names(m));
    }
    let mut out = header(&h.iter().map(String::as_str).collect::<Vec<_>>());
    for c in &r.cells {
        let mut f: Vec<String> = scope_fields(r, c.key.scope).to_vec();
        f.extend([
            c.key.regime.name.clone(),
            c.key.variant.label.clone(),
            c.key.variant.primary.to_string(),
            c.n.to_string(),
            c.replicates.to_string(),
            c.orders.to_string(),
            c.seeds.to_string(),
            c.diverged.to_string(),
            c.failed.to_string(),
        ]);
        for s in [c.acc, c.forgetting, c.bwt, c.plasticity] {
            f.extend(four(s));
        }
        line(&mut out, &f);
    }
    out
}

fn rankings(r: &Report) -> String {
    let mut out = header(&[
        "setup", "pool", "regime", "by", "position", "method", "score", "n",
    ]);
    for k in &r.rankings {
        let [setup, pool] = scope_fields(r, k.scope);
        for (i, (m, acc, n)) in k.by_acc.iter().enumerate() {
            line(
                &mut out,
                &[
                    setup.clone(),
                    pool.clone(),
                    k.regime.name.clone(),
                    "mean_acc".into(),
                    (i + 1).to_string(),
                    m.to_string(),
                    num(Some(*acc)),
                    n.to_string(),
                ],
            );
        }
        for (i, (m, rank)) in k.by_rank.iter().enumerate() {
            line(
                &mut out,
                &[
                    setup.clone(),
                    pool.clone(),
                    k.regime.name.clone(),
                    "mean_rank".into(),
                    (i + 1).to_string(),
                    m.to_string(),
                    num(Some(*rank)),
                    k.rank_units.to_string(),
                ],
            );
        }
    }
    out
}

fn kendall(r: &Report) -> String {
    let mut out = header(&[
        "setup",
        "pool",
        "regime_a",
        "regime_b",
        "methods",
        "kendall_tau_b",
        "flips",
        "flipped",
    ]);
    for p in &r.pairs {
        let flipped: Vec<String> = p
            .flipped
            .iter()
            .map(|(a, b)| format!("{a}>{b} in {} / {b}>{a} in {}", p.a.name, p.b.name))
            .collect();
        let mut f = scope_fields(r, p.scope).to_vec();
        f.extend([
            p.a.name.clone(),
            p.b.name.clone(),
            p.methods.to_string(),
            num(p.tau),
            p.flips.to_string(),
            flipped.join("; "),
        ]);
        line(&mut out, &f);
    }
    out
}

/// Group names in the cells, sorted (G1..G5).
pub fn group_names(r: &Report) -> Vec<String> {
    let mut g: Vec<String> = r
        .cells
        .iter()
        .flat_map(|c| c.group_drift.keys().cloned())
        .collect();
    g.sort();
    g.dedup();
    g
}

fn norms(r: &Report) -> String {
    let groups = group_names(r);
    let mut h: Vec<String> = ["setup", "pool", "regime", "method", "primary", "n"]
        .map(String::from)
        .to_vec();
    h.extend(stat_names("U"));
    h.extend(stat_names("mean_u_t2"));
    h.extend(groups.iter().map(|g| format!("U_{g}_mean")));
    let mut out = header(&h.iter().map(String::as_str).collect::<Vec<_>>());
    for c in &r.cells {
        let mut f = scope_fields(r, c.key.scope).to_vec();
        f.extend([
            c.key.regime.name.clone(),
            c.key.variant.label.clone(),
            c.key.variant.primary.to_string(),
            c.n.to_string(),
        ]);
        f.extend(four(c.drift));
        f.extend(four(c.mean_u_later));
        f.extend(
            groups
                .iter()
                .map(|g| num(c.group_drift.get(g).map(|s| s.mean))),
        );
        line(&mut out, &f);
    }
    out
}

fn norm_factor(r: &Report) -> String {
    let mut out = header(&[
        "setup",
        "pool",
        "method",
        "n_R1",
        "U_R1_mean",
        "n_R5",
        "U_R5_mean",
        "ratio_R5_R1",
    ]);
    for n in &r.factors {
        let mut f = scope_fields(r, n.scope).to_vec();
        f.extend([
            n.method.map_or("all methods".into(), |m| m.to_string()),
            n.r1.n.to_string(),
            num(Some(n.r1.mean)),
            n.r5.n.to_string(),
            num(Some(n.r5.mean)),
            num(Some(n.ratio)),
        ]);
        line(&mut out, &f);
    }
    out
}

fn correlation(r: &Report) -> String {
    let mut out = header(&[
        "setup",
        "pool",
        "regime",
        "n",
        "order_seed_pairs",
        "pearson_r",
        "r_ci95_lo",
        "r_ci95_hi",
        "spearman_rho",
    ]);
    for c in &r.correlations {
        let mut f = scope_fields(r, c.scope).to_vec();
        f.extend([
            c.regime.name.clone(),
            c.corr.n.to_string(),
            c.replicates.to_string(),
            num(c.corr.pearson),
            num(c.corr.pearson_ci95.map(|c| c.0)),
            num(c.corr.pearson_ci95.map(|c| c.1)),
            num(c.corr.spearman),
        ]);
        line(&mut out, &f);
    }
    out
}

fn depth(r: &Report) -> String {
    let mut out = header(&[
        "setup",
        "dataset",
        "grayscale",
        "method",
        "acc_R1",
        "acc_R5",
        "acc_R5_minus_R1",
        "delta_std_over_methods",
        "delta_min",
        "delta_max",
        "runs",
    ]);
    for d in &r.depth {
        let scope = Scope {
            setup: d.setup,
            pool: Pool::Dataset(d.dataset),
        };
        let [setup, ds] = scope_fields(r, scope);
        let gray = claims::GRAYSCALE.contains(&d.dataset).to_string();
        for (m, a1, a5, delta) in &d.methods {
            let mut f = vec![setup.clone(), ds.clone(), gray.clone(), m.to_string()];
            f.extend([num(Some(*a1)), num(Some(*a5)), num(Some(*delta))]);
            f.extend([String::new(), String::new(), String::new(), String::new()]);
            line(&mut out, &f);
        }
        let s = d.delta.expect("depth rows have a delta");
        let mut f = vec![setup, ds, gray, "mean over methods".into()];
        f.extend([String::new(), String::new(), num(Some(s.mean)), num(s.std)]);
        f.extend([num(Some(d.min)), num(Some(d.max)), d.runs.to_string()]);
        line(&mut out, &f);
    }
    out
}

fn strength(r: &Report) -> String {
    let mut h: Vec<String> = ["setup", "pool", "method", "regime", "variant", "n"]
        .map(String::from)
        .to_vec();
    for m in ["forgetting", "plasticity", "acc"] {
        h.extend(stat_names(m));
    }
    let mut out = header(&h.iter().map(String::as_str).collect::<Vec<_>>());
    for c in super::markdown::strength_cells(r) {
        let mut f = scope_fields(r, c.key.scope).to_vec();
        f.extend([
            c.key.variant.kind.to_string(),
            c.key.regime.name.clone(),
            c.key.variant.label.clone(),
            c.n.to_string(),
        ]);
        for s in [c.forgetting, c.plasticity, c.acc] {
            f.extend(four(s));
        }
        line(&mut out, &f);
    }
    out
}

fn claims_table(r: &Report) -> String {
    let mut out = header(&[
        "setup", "scope", "claim", "study", "measured", "verdict", "why", "runs",
    ]);
    for c in &r.claims {
        let [setup, pool] = scope_fields(r, c.scope);
        line(
            &mut out,
            &[
                setup,
                pool,
                c.claim.clone(),
                c.study.clone(),
                c.measured.clone(),
                c.verdict.to_string(),
                c.why.clone(),
                c.runs.to_string(),
            ],
        );
    }
    out
}

fn inputs(r: &Report) -> String {
    let mut out = header(&["path", "kind", "detail"]);
    let rel = |p: &std::path::Path| {
        p.strip_prefix(&r.loaded.dir)
            .unwrap_or(p)
            .display()
            .to_string()
    };
    for run in &r.loaded.runs {
        line(
            &mut out,
            &[rel(&run.path), "run".into(), run.result.config.label()],
        );
    }
    for f in &r.loaded.failures {
        let kind = if f.diverged { "diverged" } else { "failed" };
        line(&mut out, &[rel(&f.path), kind.into(), f.message.clone()]);
    }
    for p in &r.loaded.ignored {
        line(&mut out, &[rel(p), "ignored".into(), String::new()]);
    }
    out
}
