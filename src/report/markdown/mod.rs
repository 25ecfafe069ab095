//! `report.md`: the claims table first, then every table of the report, in percent where the CSV
//! files have fractions, each with the number of runs it covers.

mod sections;

use super::keys::Pool;
use super::plots::Plot;
use super::stats::{Cell, Summary};
use super::Report;
use sections::{correlations, depth, norms, rankings, strength};
use std::fmt::Write;

/// Cells of methods whose constants vary in the directory (a strength sweep), dataset scopes,
/// by scope, method, regime and strength.
pub fn strength_cells(r: &Report) -> Vec<&Cell> {
    let mut cs: Vec<&Cell> = r
        .cells
        .iter()
        .filter(|c| {
            c.key.scope.pool != Pool::All && r.labels.method_constants_vary(c.key.variant.kind)
        })
        .collect();
    cs.sort_by(|a, b| {
        (a.key.scope, a.key.variant.kind as usize, &a.key.regime)
            .cmp(&(b.key.scope, b.key.variant.kind as usize, &b.key.regime))
            .then_with(|| a.key.variant.cmp(&b.key.variant))
    });
    cs
}

/// `mean ± std [lo, hi]` in percent (2 decimals), or `-`.
fn pct(s: Option<Summary>) -> String {
    match s {
        None => "-".into(),
        Some(s) => match (s.std, s.ci95) {
            (Some(sd), Some((lo, hi))) => format!(
                "{:.2} ± {:.2} [{:.2}, {:.2}]",
                100.0 * s.mean,
                100.0 * sd,
                100.0 * lo,
                100.0 * hi
            ),
            _ => format!("{:.2}", 100.0 * s.mean),
        },
    }
}

/// The same for a plain number (3 decimals).
fn plain(s: Option<Summary>) -> String {
    match s {
        None => "-".into(),
        Some(s) => match (s.std, s.ci95) {
            (Some(sd), Some((lo, hi))) => {
                format!("{:.3} ± {:.3} [{:.3}, {:.3}]", s.mean, sd, lo, hi)
            }
            _ => format!("{:.3}", s.mean),
        },
    }
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map_or("-".into(), |v| format!("{v:.digits$}"))
}

pub(super) fn table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(head.len()));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

pub fn render(r: &Report, plots: &[Plot]) -> String {
    let mut o = String::new();
    let l = &r.loaded;
    let diverged = r.failures.iter().filter(|f| f.1).count();
    let _ = writeln!(o, "# regimebench report\n");
    let _ = writeln!(
        o,
        "Read {} JSON files below `{}`: {} finished runs, {} failed runs ({} diverged, {} other \
         errors), {} files of another kind ignored, {} skipped with a warning.\n",
        l.files,
        l.dir.display(),
        l.runs.len(),
        l.failures.len(),
        diverged,
        l.failures.len() - diverged,
        l.ignored.len(),
        l.warnings.len()
    );
    inputs(&mut o, r);
    claims(&mut o, r);
    cells(&mut o, r);
    rankings(&mut o, r);
    norms(&mut o, r);
    correlations(&mut o, r);
    depth(&mut o, r);
    strength(&mut o, r);
    super::time::markdown(&mut o, r);
    if !plots.is_empty() {
        let _ = writeln!(o, "## Plots\n");
        for p in plots {
            let _ = writeln!(o, "![{}]({})\n\n{}\n", p.title, p.png, p.caption);
        }
    }
    if !l.warnings.is_empty() {
        let _ = writeln!(o, "## Warnings\n");
        for w in &l.warnings {
            let _ = writeln!(o, "- {w}");
        }
        o.push('\n');
    }
    o
}

fn inputs(o: &mut String, r: &Report) {
    let _ = writeln!(o, "## How to read this report\n");
    let _ = writeln!(
        o,
        "- Each cell aggregates the runs of one (dataset, regime, method) over its orders and \
         seeds: mean ± sample std (n - 1) [t-based 95% interval of the mean, \
         mean ± t(0.975, n-1) std / sqrt(n)]. Accuracy, forgetting and BWT in percent points \
         (the CSV files hold fractions). \"pooled\" takes every dataset's runs together \
         (in a setup of two datasets or more).\n\
         - n is the number of finished runs in a cell; failed and diverged runs are counted \
         beside it and enter no aggregate.\n\
         - Regimes: R1 head only (the study's head-only), R2 (shallow), R3 (mid-depth), \
         R4 (deep), R5 (full network). U = ||theta*_T - theta*_1||, the drift after the first \
         task; u_t per task; mean u_t is over t = 2..T. Plasticity = mean of A[t][t].\n\
         - Rankings, norms, correlations and claims use each method's primary variant \
         (its protocol constants if they were run, else the variant with the most runs).\n"
    );
    if r.labels.setups.len() > 1 {
        let _ = writeln!(
            o,
            "The directory holds {} setups; each scope names its setup in brackets.\n",
            r.labels.setups.len()
        );
        let default = format!("train.preset={}", super::keys::DEFAULT_PRESET);
        if r.labels.setups.iter().any(|s| s.contains(&default)) {
            let _ = writeln!(
                o,
                "`{default}` is each dataset's own network (`small` for the MNIST family, \
                 `cifar` for CIFAR-100): one setup, so that the claims compare datasets on \
                 the networks the protocol gives them.\n"
            );
        }
    }
    if !r.labels.common.is_empty() {
        let common: Vec<String> = r
            .labels
            .common
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(o, "Every run of a dataset shares: {}.\n", common.join("; "));
    }
}

fn claims(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "## The study's claims beside this run's measurements\n\nVerdict rules \
         (`src/report/claims/mod.rs`):\n"
    );
    for rule in super::claims::RULES {
        let _ = writeln!(o, "- {rule}");
    }
    o.push('\n');
    let rows: Vec<Vec<String>> = r
        .claims
        .iter()
        .map(|c| {
            vec![
                c.claim.clone(),
                r.scope_name(c.scope),
                c.study.clone(),
                if c.measured.is_empty() {
                    "-".into()
                } else {
                    c.measured.clone()
                },
                format!("**{}**", c.verdict),
                c.why.clone(),
                c.runs.to_string(),
            ]
        })
        .collect();
    table(
        o,
        &[
            "claim",
            "scope",
            "study",
            "measured here",
            "verdict",
            "why",
            "runs",
        ],
        &rows,
    );
}

fn cells(o: &mut String, r: &Report) {
    let _ = writeln!(o, "## ACC, forgetting and BWT per cell (percent)\n");
    let mut scope = None;
    let mut rows = Vec::new();
    let flush = |o: &mut String, rows: &mut Vec<Vec<String>>, name: String| {
        let _ = writeln!(o, "### {name}\n");
        table(
            o,
            &[
                "regime",
                "method",
                "n",
                "excluded (diverged/failed)",
                "ACC",
                "forgetting",
                "BWT",
            ],
            rows,
        );
        rows.clear();
    };
    for c in &r.cells {
        if scope.is_some_and(|s| s != c.key.scope) {
            flush(o, &mut rows, r.scope_name(scope.expect("set")));
        }
        scope = Some(c.key.scope);
        let primary = if c.key.variant.primary {
            ""
        } else {
            " (not primary)"
        };
        rows.push(vec![
            c.key.regime.name.clone(),
            format!("{}{primary}", c.key.variant.label),
            c.n.to_string(),
            format!("{} ({}/{})", c.diverged + c.failed, c.diverged, c.failed),
            pct(c.acc),
            pct(c.forgetting),
            pct(c.bwt),
        ]);
    }
    if let Some(s) = scope {
        flush(o, &mut rows, r.scope_name(s));
    }
}
