//! The sweep's settings: a TOML file under the flags, a grid preset under both, and the grid they
//! describe.

use super::{GridArgs, GridPreset};
use anyhow::{bail, Context};
use regimebench::data::{DataOptions, DatasetId};
use regimebench::regime::Regime;
use regimebench::run::MethodKind;
use regimebench::sweep::{self, grid, Common, Grid};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The long flags of the grid: the keys a TOML file may hold.
pub(super) fn file_keys() -> BTreeSet<String> {
    use clap::Args;
    GridArgs::augment_args(clap::Command::new("sweep"))
        .get_arguments()
        .filter_map(|a| a.get_long().map(String::from))
        .collect()
}

impl GridArgs {
    /// The settings of the TOML file at `path`, with the flags given on the command line on top.
    pub(super) fn over_file(&self, path: &Path) -> anyhow::Result<GridArgs> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the sweep config {shown}"))?;
        let table: toml::Table = text
            .parse()
            .with_context(|| format!("{shown}: not a valid TOML file"))?;
        let known = file_keys();
        if let Some(key) = table.keys().find(|k| !known.contains(*k)) {
            let hint = if known.contains(&key.replace('_', "-")) {
                format!(" (did you mean `{}`?)", key.replace('_', "-"))
            } else {
                String::new()
            };
            let all: Vec<&str> = known.iter().map(String::as_str).collect();
            bail!(
                "{shown}: unknown key `{key}`{hint}; the keys are: {}",
                all.join(", ")
            );
        }
        let file: GridArgs = toml::from_str(&text).with_context(|| format!("{shown}"))?;
        // Merged as TOML values, which keep nan and inf for the checks of the grid to reject (a
        // JSON value would turn them into null, i.e. "not given", and the default would run).
        let mut merged = toml::Value::try_from(&file).with_context(|| format!("{shown}"))?;
        let given = toml::Value::try_from(self).context(
            "the grid flags of the command line, merged with a TOML file (whose integers stop at \
             2^63 - 1)",
        )?;
        if let (Some(m), Some(g)) = (merged.as_table_mut(), given.as_table()) {
            for (k, v) in g {
                // A `None` flag is left out of the table; an unset switch is false.
                let unset =
                    *v == toml::Value::Boolean(false) || v.as_array().is_some_and(Vec::is_empty);
                if !unset {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(merged.try_into()?)
    }

    /// Fills what is unset with the preset's values.
    pub(super) fn under(mut self, preset: GridPreset) -> GridArgs {
        match preset {
            GridPreset::Quick => {
                self.datasets.get_or_insert_with(|| vec![DatasetId::Mnist]);
                self.orders.get_or_insert_with(|| vec![0, 1]);
                self.train_per_task.get_or_insert(1000);
                self.test_per_task.get_or_insert(400);
            }
        }
        self
    }

    pub(super) fn results(&self) -> PathBuf {
        self.results.clone().unwrap_or_else(|| "results".into())
    }

    /// The grid these settings describe, each run on `threads` kernel threads.
    pub(super) fn grid(&self, threads: usize) -> anyhow::Result<Grid> {
        let methods = self
            .methods
            .clone()
            .unwrap_or_else(|| MethodKind::ALL.to_vec());
        if let Some(flag) = self.constants.stray(&methods) {
            let names: Vec<&str> = methods.iter().map(|m| m.name()).collect();
            bail!(
                "{flag} does not apply to any of --methods {}",
                names.join(",")
            );
        }
        let regimes = match &self.regimes {
            Some(r) => r
                .iter()
                .map(|s| {
                    s.replace('+', ",")
                        .parse::<Regime>()
                        .map_err(anyhow::Error::msg)
                })
                .collect::<anyhow::Result<_>>()?,
            None => grid::defaults::DEPTHS.map(Regime::depth).collect(),
        };
        let datasets = match &self.datasets {
            Some(d) => d.clone(),
            None => {
                let opts = DataOptions {
                    data_dir: self.data_dir.clone(),
                    train_from_test_split: self.train_from_test_split,
                    ..DataOptions::default()
                };
                let found = sweep::present_datasets(&opts);
                if found.is_empty() {
                    bail!("no dataset found (see `regimebench data status`); name them with --datasets");
                }
                found
            }
        };
        Ok(Grid {
            datasets,
            regimes,
            methods: methods
                .iter()
                .flat_map(|&m| self.constants.configs(m))
                .collect(),
            orders: self
                .orders
                .clone()
                .unwrap_or_else(|| grid::defaults::ORDERS.collect()),
            seeds: self
                .seeds
                .clone()
                .unwrap_or_else(|| grid::defaults::SEEDS.to_vec()),
            common: Common {
                head: self.head.unwrap_or_default(),
                preset: self.preset,
                width: self.width,
                regime_from_first_task: self.regime_from_first_task,
                lr: self.lr,
                momentum: self.momentum,
                weight_decay: self.weight_decay,
                batch: self.batch,
                epochs: self.epochs,
                train_per_task: self.train_per_task,
                test_per_task: self.test_per_task,
                train_from_test_split: self.train_from_test_split,
                threads,
                data_dir: self.data_dir.clone(),
            },
        })
    }
}
