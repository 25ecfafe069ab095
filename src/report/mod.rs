//! The study's report (PROTOCOL sections 6-8): read every run result of a directory, aggregate
//! per cell, compare methods and regimes, judge the study's claims, and write `report.md`, one
//! CSV per table and the plots (PNG and SVG).
//!
//! Axes ([`keys`]): a *setup* (everything in a config but dataset, method, order, regime and
//! seed), a *pool* (one dataset, or every dataset of the setup: "pooled"), a regime, and a method
//! *variant* (a method with its constants). Each method has one *primary* variant per setup (the
//! protocol's constants if they were run, else the variant with the most runs); rankings, norms,
//! correlations and claims use primary variants only, the per-cell tables and the strength sweep
//! show every variant.
//!
//! Statistics: mean, sample standard deviation (n - 1) and a **t-based** 95% interval of the mean
//! (`mean -+ t_{0.975, n-1} s / sqrt(n)`), over the orders and seeds of a cell; Pearson r with its
//! Fisher-z 95% interval and Spearman rho from [`crate::metrics`]. Failed runs (a JSON with a
//! `config` and an `error`) are counted per cell, as diverged when the error says so, and enter no
//! aggregate. The claims' verdict rules are in [`claims`].
//!
//! Output is deterministic: the files are read in path order, every table is sorted by its keys,
//! and `report.md` and the CSV files are the same bytes for the same inputs.

pub mod analysis;
pub mod claims;
mod csv;
pub mod fixtures;
pub mod keys;
pub mod load;
mod markdown;
mod plots;
#[cfg(test)]
mod setup_tests;
pub mod stats;
#[cfg(test)]
mod tests;
pub mod time;
#[cfg(test)]
mod verdict_tests;

pub use claims::{ClaimRow, Verdict};
pub use load::{load_dir, Loaded};

use crate::error::{Error, Result};
use keys::{Labels, Scope, Tag};
use stats::{Cell, Point};
use std::path::{Path, PathBuf};

/// Every table of the report, computed from one results directory.
#[derive(Clone, Debug)]
pub struct Report {
    pub loaded: Loaded,
    pub labels: Labels,
    /// One per finished run, in the order of `loaded.runs`.
    pub points: Vec<Point>,
    /// One per failure record: its axes and whether it diverged.
    pub failures: Vec<(Tag, bool)>,
    pub cells: Vec<Cell>,
    pub rankings: Vec<analysis::Ranking>,
    pub pairs: Vec<analysis::RegimePair>,
    pub factors: Vec<analysis::NormFactor>,
    pub correlations: Vec<analysis::UfCorrelation>,
    pub depth: Vec<analysis::Depth>,
    pub claims: Vec<ClaimRow>,
    /// Wall time against the cost model, per dataset cell and kernel path.
    pub time: Vec<time::TimeRow>,
}

impl Report {
    /// Every table, from what [`load_dir`] read.
    pub fn build(loaded: Loaded) -> Report {
        let configs: Vec<_> = loaded
            .runs
            .iter()
            .map(|r| &r.result.config)
            .chain(loaded.failures.iter().map(|f| &f.config))
            .collect();
        let labels = Labels::new(&configs);
        let points: Vec<Point> = loaded
            .runs
            .iter()
            .map(|r| Point::new(labels.tag(&r.result.config), &r.result))
            .collect();
        let failures: Vec<(Tag, bool)> = loaded
            .failures
            .iter()
            .map(|f| (labels.tag(&f.config), f.diverged))
            .collect();
        let cells = stats::cells(&points, &failures);
        let rankings = analysis::rankings(&cells, &points);
        let pairs = analysis::regime_pairs(&rankings);
        let factors = analysis::norm_factors(&cells, &points);
        let correlations = analysis::correlations(&cells, &points);
        let depth = analysis::depth(&cells);
        let time = time::rows(&cells, &points);
        let claims = claims::claims(&claims::Inputs {
            setups: labels.setups.len(),
            cells: &cells,
            points: &points,
            rankings: &rankings,
            factors: &factors,
            correlations: &correlations,
            depth: &depth,
        });
        Report {
            loaded,
            labels,
            points,
            failures,
            cells,
            rankings,
            pairs,
            factors,
            correlations,
            depth,
            claims,
            time,
        }
    }

    /// The name of a scope in tables: the dataset or "pooled", with its setup when the directory
    /// holds more than one.
    pub fn scope_name(&self, s: Scope) -> String {
        if self.labels.setups.len() > 1 {
            format!("{} [{}]", s.pool.name(), self.labels.setups[s.setup])
        } else {
            s.pool.name().to_string()
        }
    }

    /// The datasets of one setup, in dataset order.
    pub fn datasets(&self, setup: usize) -> Vec<crate::data::DatasetId> {
        stats::datasets(&self.cells, setup).into_iter().collect()
    }

    /// Writes `report.md`, the CSV tables and the plots into `out` (created if missing); returns
    /// the paths written, in order.
    pub fn write(&self, out: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let mut written = Vec::new();
        for (name, text) in csv::tables(self) {
            written.push(write_file(&out.join(name), text.as_bytes())?);
        }
        let plots = plots::draw_all(self, out)?;
        let md = markdown::render(self, &plots);
        written.push(write_file(&out.join("report.md"), md.as_bytes())?);
        written.extend(plots.into_iter().flat_map(|p| p.files));
        Ok(written)
    }
}

/// Reads `results`, builds the report and writes it into `out`.
pub fn generate(results: &Path, out: &Path) -> Result<(Report, Vec<PathBuf>)> {
    let report = Report::build(load_dir(results)?);
    let written = report.write(out)?;
    Ok((report, written))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))?;
    Ok(path.to_path_buf())
}
