//! The `data` subcommand: `regimebench data status [DATASET...]` and `regimebench data fetch DATASET...`.

use std::path::PathBuf;

use anyhow::Context;
use regimebench::data::{self, DataOptions, DatasetId, FetchOptions};

/// Inspect or download datasets.
#[derive(clap::Subcommand, Debug)]
pub enum DataCmd {
    /// Per dataset: where its files were found, what they hold, whether their SHA-256 matches.
    Status {
        /// Datasets to check (default: all five).
        #[arg(value_enum)]
        datasets: Vec<DatasetId>,
        /// Data root searched first (then $REGIMEBENCH_DATA, the cache dir, /usr/share/datasets, ../shared/data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Cache root (downloads, unpacked .xz files); default $REGIMEBENCH_CACHE or ~/.cache/regimebench.
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Download datasets from their canonical homes into the cache dir, verified by checksum.
    Fetch {
        #[arg(value_enum, required = true)]
        datasets: Vec<DatasetId>,
        /// Cache root to store into; default $REGIMEBENCH_CACHE or ~/.cache/regimebench.
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// Base URL replacing the canonical homes: files come from <MIRROR>/<dataset>/<file>
        /// (also $REGIMEBENCH_MIRROR).
        #[arg(long, hide = true)]
        mirror: Option<String>,
        /// Do not draw progress bars.
        #[arg(long)]
        no_progress: bool,
    },
}

/// Runs a `data` subcommand, printing to stdout.
pub fn run(cmd: DataCmd) -> anyhow::Result<()> {
    match cmd {
        DataCmd::Status {
            datasets,
            data_dir,
            cache_dir,
            json,
        } => {
            let opts = DataOptions {
                data_dir,
                cache_dir,
                ..DataOptions::default()
            };
            let ids = if datasets.is_empty() {
                DatasetId::ALL.to_vec()
            } else {
                datasets
            };
            let all: Vec<_> = ids.iter().map(|&id| data::status(id, &opts)).collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                for s in &all {
                    print!("{}", s.render());
                }
            }
            Ok(())
        }
        DataCmd::Fetch {
            datasets,
            cache_dir,
            mirror,
            no_progress,
        } => {
            let opts = FetchOptions {
                cache_dir,
                mirror,
                progress: !no_progress,
            };
            for id in datasets {
                let got = data::fetch(id, &opts).with_context(|| format!("fetching {id}"))?;
                for (path, outcome) in got {
                    println!("{id}: {outcome:?} {}", path.display());
                }
            }
            Ok(())
        }
    }
}
