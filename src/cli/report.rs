//! The `report` subcommand: a results directory in, `report.md`, CSV tables and plots out.

use std::path::{Path, PathBuf};

/// Flags of `regimebench report`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = long_help())]
pub struct ReportArgs {
    /// Directory of run results: every `*.json` below it is read (recursively, in path order).
    results: PathBuf,
    /// Directory to write the report into (created if missing; files of the same name are
    /// replaced).
    #[arg(long, default_value = "report")]
    out: PathBuf,
}

const LONG_ABOUT: &str = "\
Aggregate the run results of a directory into the study's report (PROTOCOL sections 6-8).

Input: every *.json below RESULTS (recursively, sorted by path). A file with a `config` and an \
`accuracy` is a run result; one with a `config` and an `error` is a failed run, counted per cell \
(as diverged when its error says so) and kept out of every aggregate; other JSON is ignored; a \
file that cannot be read or parsed is skipped with a warning naming it.

Cells are (dataset or pooled, regime, method variant); a method's constants (e.g. EWC lambda) \
name its variant when they vary in the directory, and each method's primary variant (its \
protocol constants, else the one with the most runs) is the one ranked and judged. Statistics: \
mean, sample std and t-based 95% interval over orders and seeds; Pearson r with its Fisher-z \
95% interval and Spearman rho. A claim needs at least 2 distinct (order, seed) pairs in each \
cell it reads, else it is `not testable`.

Output files in --out:
  report.md        every table below in percent, the claims table first, the plots linked
  claims.csv       each claim of the study beside the measurement, verdict (confirmed /
                   contradicted / not testable), why, and the runs behind it
  cells.csv        per cell: n, order x seed pairs, diverged and failed runs; mean, std and
                   95% interval of ACC, forgetting, BWT and plasticity (fractions, not percent)
  rankings.csv     methods per regime by mean ACC and by mean rank over orders and seeds
  kendall.csv      Kendall tau-b between every pair of regimes, rank flips and flipped pairs
  norms.csv        U and mean u_t (t >= 2) per cell, and U per layer group G1..G5
  norm_factor.csv  mean U in R5 over mean U in R1, per method and for all methods
  correlation.csv  Pearson r (Fisher-z interval) and Spearman rho of U against forgetting
                   per regime, per dataset and pooled
  depth.csv        ACC R5 - ACC R1 per dataset and method, and its spread over methods
  strength.csv     forgetting and plasticity (mean A[t][t]) per strength of a swept method
                   (header only when no strength varies)
  inputs.csv       every file read: run, failed, diverged or ignored
  time.csv         per cell and kernel path (isa): wall seconds per run, the cost model's
                   multiply-adds (10^9) and seconds per modelled multiply-add (ns), the
                   host's speed where the model is right (runs that copied task 1 left out)
  acc_by_regime.{png,svg}        ACC per method across regimes, one panel per dataset
  u_by_regime.{png,svg}          U per method across regimes, one panel per dataset
  rank_by_regime.{png,svg}       rank of each method by mean ACC across regimes
  forgetting_vs_u_<scope>.{png,svg}  forgetting against U, one panel per regime, with the
                   least-squares line and Pearson r (per dataset, and `pooled`)
With more than one setup (e.g. two head layouts) in the directory, plot names end in _setupN.";

fn long_help() -> String {
    let rules: Vec<String> = regimebench::report::claims::RULES
        .iter()
        .map(|r| format!("  - {r}"))
        .collect();
    format!(
        "{LONG_ABOUT}\n\nVerdict rules of claims.csv:\n{}",
        rules.join("\n")
    )
}

/// `regimebench report RESULTS --out DIR`.
pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    write(&args.results, &args.out)
}

/// Builds the report of `results` in `out` and prints where it went, and every warning.
pub fn write(results: &Path, out: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let (report, written) = regimebench::report::generate(results, out)
        .with_context(|| format!("reporting on {}", results.display()))?;
    for w in &report.loaded.warnings {
        eprintln!("warning: {w}");
    }
    let l = &report.loaded;
    println!(
        "{} runs, {} failed, {} ignored, {} skipped with a warning; {} files written to {}",
        l.runs.len(),
        l.failures.len(),
        l.ignored.len(),
        l.warnings.len(),
        written.len(),
        out.display()
    );
    println!("report: {}", out.join("report.md").display());
    Ok(())
}
