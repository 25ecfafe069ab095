//! `RunConfig`: everything that determines a run's numbers, its defaults (PROTOCOL section 4) in
//! one place, and the checks that every run passes before anything is loaded.

use crate::data::DatasetId;
use crate::error::{Error, Result};
use crate::heads::HeadLayout;
use crate::methods::{Ewc, EwcConfig, Gem, GemConfig, Lwf, LwfConfig, Method, Naive, Si, SiConfig};
use crate::nn::Preset;
use crate::optim::SgdConfig;
use crate::regime::Regime;
use crate::train::TrainConfig;
use std::fmt;
use std::path::PathBuf;

/// The protocol's defaults (PROTOCOL section 4); the CLI's defaults are these constants.
pub mod defaults {
    /// SGD learning rate η.
    pub const LR: f32 = 0.05;
    pub const BATCH: usize = 64;
    /// Epochs per task for the MNIST family.
    pub const EPOCHS: usize = 1;
    /// Epochs per task for CIFAR-100.
    pub const EPOCHS_CIFAR: usize = 5;
    pub const SEED: u64 = 0;
    pub const ORDER: u64 = 0;
}

/// The continual-learning methods that can be run.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum MethodKind {
    /// Naive fine-tuning: plain SGD on each task in turn.
    Naive,
    /// Online EWC: a quadratic penalty weighted by the running diagonal Fisher.
    Ewc,
    /// Learning without forgetting: distil the previous model's outputs on every old head.
    Lwf,
    /// Synaptic intelligence: a quadratic penalty weighted by the path integral Omega.
    Si,
    /// Gradient episodic memory: project the gradient so no past task's memory loss rises.
    Gem,
}

impl MethodKind {
    pub const ALL: [MethodKind; 5] = [
        MethodKind::Naive,
        MethodKind::Ewc,
        MethodKind::Lwf,
        MethodKind::Si,
        MethodKind::Gem,
    ];

    /// The name used on the command line, in results and in reports.
    pub fn name(self) -> &'static str {
        match self {
            MethodKind::Naive => "naive",
            MethodKind::Ewc => "ewc",
            MethodKind::Lwf => "lwf",
            MethodKind::Si => "si",
            MethodKind::Gem => "gem",
        }
    }

    /// The method with the protocol's constants.
    pub fn defaults(self) -> MethodConfig {
        match self {
            MethodKind::Naive => MethodConfig::Naive,
            MethodKind::Ewc => MethodConfig::Ewc(EwcConfig::default()),
            MethodKind::Lwf => MethodConfig::Lwf(LwfConfig::default()),
            MethodKind::Si => MethodConfig::Si(SiConfig::default()),
            MethodKind::Gem => MethodConfig::Gem(GemConfig::default()),
        }
    }
}

/// A method and its constants, as recorded in every result (`{"name": "ewc", "lambda": ...}`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
pub enum MethodConfig {
    Naive,
    Ewc(EwcConfig),
    Lwf(LwfConfig),
    Si(SiConfig),
    Gem(GemConfig),
}

impl MethodConfig {
    pub fn kind(&self) -> MethodKind {
        match self {
            MethodConfig::Naive => MethodKind::Naive,
            MethodConfig::Ewc(_) => MethodKind::Ewc,
            MethodConfig::Lwf(_) => MethodKind::Lwf,
            MethodConfig::Si(_) => MethodKind::Si,
            MethodConfig::Gem(_) => MethodKind::Gem,
        }
    }

    /// Whether the method's hooks change nothing before its first task ends, so that it trains
    /// task 1 as plain SGD, bit for bit as naive does: true for naive, EWC (no anchor yet), LwF
    /// (no old model) and GEM (no memory); false for SI, whose ω sums over task 1's steps.
    pub fn plain_first_task(&self) -> bool {
        !matches!(self, MethodConfig::Si(_))
    }

    /// The method's state for one run: `eta` is the SGD learning rate (the proximal penalty
    /// step's), `seed` the run's seed.
    pub fn build(&self, eta: f32, seed: u64) -> Box<dyn Method> {
        match *self {
            MethodConfig::Naive => Box::new(Naive),
            MethodConfig::Ewc(c) => Box::new(Ewc::new(c, eta, seed)),
            MethodConfig::Lwf(c) => Box::new(Lwf::new(c)),
            MethodConfig::Si(c) => Box::new(Si::new(c, eta)),
            MethodConfig::Gem(c) => Box::new(Gem::new(c, seed)),
        }
    }

    pub fn validate(&self) -> Result<()> {
        match self {
            MethodConfig::Naive => Ok(()),
            MethodConfig::Ewc(c) => c.validate(),
            MethodConfig::Lwf(c) => c.validate(),
            MethodConfig::Si(c) => c.validate(),
            MethodConfig::Gem(c) => c.validate(),
        }
        .map_err(Error::Config)
    }
}

impl fmt::Display for MethodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that determines a run's result (and where its data came from).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RunConfig {
    pub dataset: DatasetId,
    pub method: MethodConfig,
    pub order: u64,
    pub train: TrainConfig,
    pub train_per_task: Option<usize>,
    pub test_per_task: Option<usize>,
    pub train_from_test_split: bool,
    /// rayon threads (results are identical for any count).
    pub threads: usize,
    #[serde(skip)]
    pub data_dir: Option<PathBuf>,
}

impl RunConfig {
    /// The protocol's defaults for `dataset` (PROTOCOL section 4, the constants of [`defaults`]):
    /// batch 64, plain SGD with η = 0.05, 1 epoch per task (5 for CIFAR-100), seed 0, order 0, the
    /// `global` head, naive fine-tuning, the first task training the whole network, the
    /// frozen-prefix cache on, the `small` preset for the MNIST family and `cifar` for CIFAR-100,
    /// every core.
    pub fn defaults(dataset: DatasetId, regime: Regime) -> Self {
        let cifar = dataset.is_cifar();
        RunConfig {
            dataset,
            method: MethodConfig::Naive,
            order: defaults::ORDER,
            train: TrainConfig {
                preset: if cifar { Preset::Cifar } else { Preset::Small },
                width: None,
                head: HeadLayout::default(),
                regime,
                regime_from_first_task: false,
                sgd: SgdConfig {
                    lr: defaults::LR,
                    momentum: 0.0,
                    weight_decay: 0.0,
                },
                batch: defaults::BATCH,
                epochs: if cifar {
                    defaults::EPOCHS_CIFAR
                } else {
                    defaults::EPOCHS
                },
                seed: defaults::SEED,
                cache_prefix: true,
            },
            train_per_task: None,
            test_per_task: None,
            train_from_test_split: false,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            data_dir: None,
        }
    }

    /// Every field within its range and consistent with the others; [`super::execute`] calls it
    /// before loading anything, so a config built in code (a sweep) meets the same checks as one
    /// from the command line.
    pub fn validate(&self) -> Result<()> {
        self.train.validate()?;
        self.method.validate()?;
        let bad = |msg: String| Err(Error::Config(msg));
        if self.threads == 0 {
            return bad("threads must be at least 1".into());
        }
        let id = self.dataset;
        let Some((c, h, w)) = self.train.preset.input_chw() else {
            return Ok(()); // takes any image size
        };
        if (c, h, w) != (id.channels(), id.height(), id.width()) {
            return bad(format!(
                "the {} preset takes {c}x{h}x{w} images, but {id} has {}x{}x{}",
                self.train.preset,
                id.channels(),
                id.height(),
                id.width()
            ));
        }
        Ok(())
    }

    /// Names the run in messages: dataset, preset (and width), head layout, regime, method, order
    /// and seed.
    pub fn label(&self) -> String {
        let width = self.train.width.map(|w| format!(" width {w}"));
        format!(
            "{} {}{} {} head {} {} order {} seed {}",
            self.dataset,
            self.train.preset,
            width.unwrap_or_default(),
            self.train.head,
            self.train.regime,
            self.method.kind(),
            self.order,
            self.train.seed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn printed_names_are_the_recorded_names() {
        for m in MethodKind::ALL {
            assert_eq!(json(&m), format!("\"{m}\""));
            let tagged = json(&m.defaults());
            assert!(
                tagged.starts_with(&format!("{{\"name\":\"{m}\"")),
                "{tagged}"
            );
            let back: MethodConfig = serde_json::from_str(&tagged).unwrap();
            assert_eq!(back, m.defaults());
        }
        for p in Preset::ALL {
            assert_eq!(json(&p), format!("\"{p}\""));
        }
    }

    #[test]
    fn a_config_built_in_code_meets_the_same_checks() {
        let ok = RunConfig::defaults(DatasetId::Mnist, Regime::depth(2));
        assert!(ok.validate().is_ok());
        type Edit = fn(&mut RunConfig);
        let cases: [(Edit, &str); 7] = [
            (|c| c.train.batch = 0, "batch must be at least 1"),
            (
                |c| c.train.sgd.lr = f32::INFINITY,
                "lr must be a positive number",
            ),
            (|c| c.threads = 0, "threads must be at least 1"),
            (
                |c| c.train.regime.trainable.clear(),
                "must list at least one group",
            ),
            (
                |c| c.train.preset = Preset::Cifar,
                "the cifar preset takes 3x32x32",
            ),
            (
                |c| c.train.preset = Preset::Resnet18,
                "the resnet18 preset needs a width",
            ),
            (
                |c| c.train.width = Some(20),
                "width applies to resnet18 only",
            ),
        ];
        let mut resnet = ok.clone();
        (resnet.train.preset, resnet.train.width) = (Preset::Resnet18, Some(20));
        assert!(resnet.validate().is_ok(), "resnet18 takes MNIST's images");
        for (edit, message) in cases {
            let mut c = ok.clone();
            edit(&mut c);
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(message), "{err}");
        }
    }
}
