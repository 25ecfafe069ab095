//! The grid of a sweep: datasets x regimes x methods (each with its constants) x orders x seeds,
//! with settings shared by every point, expanded into validated `RunConfig`s with their keys.

use super::hash::RunKey;
use crate::data::{self, DataOptions, DatasetId};
use crate::error::{Error, Result};
use crate::heads::HeadLayout;
use crate::nn::Preset;
use crate::regime::Regime;
use crate::run::{MethodConfig, MethodKind, RunConfig};
use std::collections::HashSet;
use std::path::PathBuf;

/// The default grid (issue 18): every dataset present, R1..R5, every method with the protocol's
/// constants, orders 0..=10, seed 0.
pub mod defaults {
    pub const DEPTHS: std::ops::RangeInclusive<usize> = 1..=5;
    pub const ORDERS: std::ops::RangeInclusive<u64> = 0..=10;
    pub const SEEDS: [u64; 1] = [0];
}

/// Settings every point of the grid shares; `None` keeps the protocol's default for the dataset
/// (`RunConfig::defaults`).
#[derive(Clone, Debug, Default)]
pub struct Common {
    pub head: HeadLayout,
    pub preset: Option<Preset>,
    /// resnet18's base width (`None`: 64).
    pub width: Option<usize>,
    pub regime_from_first_task: bool,
    pub lr: Option<f32>,
    pub momentum: Option<f32>,
    pub weight_decay: Option<f32>,
    pub batch: Option<usize>,
    pub epochs: Option<usize>,
    pub train_per_task: Option<usize>,
    pub test_per_task: Option<usize>,
    pub train_from_test_split: bool,
    /// Kernel threads of each run (the sweep runs several runs at once instead).
    pub threads: usize,
    pub data_dir: Option<PathBuf>,
}

/// The lists a sweep multiplies out.
#[derive(Clone, Debug)]
pub struct Grid {
    pub datasets: Vec<DatasetId>,
    pub regimes: Vec<Regime>,
    /// Each method with one set of constants: a strength list gives one entry per value.
    pub methods: Vec<MethodConfig>,
    pub orders: Vec<u64>,
    pub seeds: Vec<u64>,
    pub common: Common,
}

/// One run of the grid: its config and its key.
#[derive(Clone, Debug)]
pub struct Point {
    pub config: RunConfig,
    pub key: RunKey,
}

impl Point {
    /// The run's label (`RunConfig::label`) with each method constant that differs from the
    /// protocol's (`... ewc order 0 seed 0 lambda=100`), so that two points of one method differ.
    pub fn label(&self) -> String {
        let method = &self.config.method;
        let ours = super::hash::shortest(method);
        let protocol = super::hash::shortest(&method.kind().defaults());
        let mut label = self.config.label();
        differences("", &ours, &protocol, &mut label);
        label
    }
}

/// Appends ` path=value` for each leaf of `ours` that differs from `base`.
fn differences(path: &str, ours: &serde_json::Value, base: &serde_json::Value, out: &mut String) {
    match ours.as_object() {
        Some(fields) => {
            for (k, v) in fields {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                differences(&sub, v, &base[k], out);
            }
        }
        None if ours != base => match ours.as_str() {
            Some(s) => out.push_str(&format!(" {path}={s}")),
            None => out.push_str(&format!(" {path}={ours}")),
        },
        None => {}
    }
}

impl Grid {
    /// The default grid over `datasets`, one kernel thread per run.
    pub fn protocol(datasets: Vec<DatasetId>) -> Grid {
        Grid {
            datasets,
            regimes: defaults::DEPTHS.map(Regime::depth).collect(),
            methods: MethodKind::ALL.iter().map(|m| m.defaults()).collect(),
            orders: defaults::ORDERS.collect(),
            seeds: defaults::SEEDS.to_vec(),
            common: Common {
                threads: 1,
                ..Common::default()
            },
        }
    }

    /// Every point, dataset slowest and seed fastest, each config validated; a point listed twice
    /// (e.g. `--ewc-lambda 100,100`) is kept once.
    pub fn expand(&self) -> Result<Vec<Point>> {
        let lists = [
            ("datasets", self.datasets.is_empty()),
            ("regimes", self.regimes.is_empty()),
            ("methods", self.methods.is_empty()),
            ("orders", self.orders.is_empty()),
            ("seeds", self.seeds.is_empty()),
        ];
        if let Some((name, _)) = lists.iter().find(|l| l.1) {
            return Err(Error::Config(format!("the sweep's {name} list is empty")));
        }
        let mut seen = HashSet::new();
        let mut points = Vec::new();
        for &dataset in &self.datasets {
            for regime in &self.regimes {
                for method in &self.methods {
                    for &order in &self.orders {
                        for &seed in &self.seeds {
                            let cfg = self.config(dataset, regime, method, order, seed);
                            cfg.validate().map_err(|e| Error::InRun {
                                run: cfg.label(),
                                error: Box::new(e),
                            })?;
                            let key = RunKey::of(&cfg);
                            if seen.insert(key.hash.clone()) {
                                points.push(Point { config: cfg, key });
                            }
                        }
                    }
                }
            }
        }
        Ok(points)
    }

    fn config(
        &self,
        dataset: DatasetId,
        regime: &Regime,
        method: &MethodConfig,
        order: u64,
        seed: u64,
    ) -> RunConfig {
        let c = &self.common;
        let mut cfg = RunConfig::defaults(dataset, regime.clone());
        cfg.method = *method;
        cfg.order = order;
        cfg.train.seed = seed;
        cfg.train.head = c.head;
        let preset = c.preset.unwrap_or(cfg.train.preset);
        cfg.train.set_network(preset, c.width);
        cfg.train.regime_from_first_task = c.regime_from_first_task;
        let sgd = &mut cfg.train.sgd;
        sgd.lr = c.lr.unwrap_or(sgd.lr);
        sgd.momentum = c.momentum.unwrap_or(sgd.momentum);
        sgd.weight_decay = c.weight_decay.unwrap_or(sgd.weight_decay);
        cfg.train.batch = c.batch.unwrap_or(cfg.train.batch);
        cfg.train.epochs = c.epochs.unwrap_or(cfg.train.epochs);
        cfg.train_per_task = c.train_per_task;
        cfg.test_per_task = c.test_per_task;
        cfg.train_from_test_split = c.train_from_test_split;
        cfg.threads = c.threads;
        cfg.data_dir = c.data_dir.clone();
        cfg
    }
}

/// The datasets whose files are all found (`data::locate`, the search `regimebench data status`
/// shows), in the protocol's order; with `train_from_test_split`, those whose test files are.
pub fn present_datasets(opts: &DataOptions) -> Vec<DatasetId> {
    DatasetId::ALL
        .into_iter()
        .filter(|&id| {
            data::locate(id, opts)
                .missing()
                .iter()
                .all(|s| opts.train_from_test_split && s.role.is_train())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_grid_multiplies_out_and_names_each_point_once() {
        let g = Grid::protocol(vec![DatasetId::Mnist, DatasetId::Cifar100]);
        let points = g.expand().unwrap();
        assert_eq!(points.len(), 2 * 5 * 5 * 11);
        let hashes: HashSet<_> = points.iter().map(|p| &p.key.hash).collect();
        assert_eq!(hashes.len(), points.len());
        let last = &points.last().unwrap().config;
        assert_eq!(
            (last.dataset, last.train.regime.name.as_str(), last.order),
            (DatasetId::Cifar100, "R5", 10)
        );
        assert_eq!((last.train.epochs, last.threads), (5, 1));
        assert_eq!(points[0].config.train.epochs, 1);
    }

    #[test]
    fn labels_name_the_constants_that_differ() {
        let mut g = Grid::protocol(vec![DatasetId::Mnist]);
        let base = crate::methods::EwcConfig::default();
        let ewc = crate::methods::EwcConfig {
            lambda: 100.0,
            fisher: crate::methods::fisher::FisherConfig {
                kind: crate::methods::fisher::FisherKind::Empirical,
                ..base.fisher
            },
            ..base
        };
        g.methods = vec![MethodConfig::Ewc(ewc), MethodKind::Ewc.defaults()];
        g.orders = vec![2];
        let points = g.expand().unwrap();
        assert_eq!(
            points[0].label(),
            "mnist small global head R1 ewc order 2 seed 0 fisher.kind=empirical lambda=100.0"
        );
        assert_eq!(
            points[1].label(),
            "mnist small global head R1 ewc order 2 seed 0"
        );
    }

    #[test]
    fn repeated_points_are_kept_once_and_bad_points_fail_before_any_run() {
        let mut g = Grid::protocol(vec![DatasetId::Mnist]);
        g.methods = vec![MethodConfig::Naive, MethodConfig::Naive];
        g.orders = vec![0, 0, 1];
        assert_eq!(g.expand().unwrap().len(), 5 * 2);
        g.orders.clear();
        let err = g.expand().unwrap_err().to_string();
        assert!(err.contains("orders list is empty"), "{err}");
        g.orders = vec![0];
        g.common.preset = Some(Preset::Cifar);
        let err = g.expand().unwrap_err().to_string();
        assert!(err.contains("the cifar preset takes 3x32x32"), "{err}");
    }

    #[test]
    fn present_means_every_needed_file_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let opts = DataOptions::isolated(dir.path(), dir.path().join("cache"));
        assert!(present_datasets(&opts).is_empty());
        let mnist = dir.path().join("mnist");
        std::fs::create_dir(&mnist).unwrap();
        for s in DatasetId::Mnist.files() {
            std::fs::write(mnist.join(s.name), b"").unwrap();
        }
        let kmnist = dir.path().join("kmnist");
        std::fs::create_dir(&kmnist).unwrap();
        for s in DatasetId::Kmnist
            .files()
            .iter()
            .filter(|s| !s.role.is_train())
        {
            std::fs::write(kmnist.join(s.name), b"").unwrap();
        }
        assert_eq!(present_datasets(&opts), [DatasetId::Mnist]);
        let split = DataOptions {
            train_from_test_split: true,
            ..opts
        };
        assert_eq!(
            present_datasets(&split),
            [DatasetId::Mnist, DatasetId::Kmnist]
        );
    }
}
