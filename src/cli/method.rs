//! The method flags of `regimebench run` and `regimebench sweep`: `--method` and each method's
//! constants, turned into `MethodConfig`s. A constant of a method that is not chosen is an error.

use regimebench::methods::fisher::{FisherClasses, FisherKind};
use regimebench::methods::penalty::PenaltyStep;
use regimebench::methods::{EwcConfig, GemConfig, LwfConfig, SiConfig};
use regimebench::run::{MethodConfig, MethodKind};

/// Continual-learning method and its constants (unset: the protocol's, PROTOCOL section 5).
#[derive(clap::Args, Debug)]
pub struct MethodArgs {
    /// Continual-learning method.
    #[arg(long, value_enum, default_value_t = MethodKind::Naive)]
    pub method: MethodKind,
    #[command(flatten)]
    pub constants: MethodConstants,
}

impl MethodArgs {
    /// The one method `run` trains: every constant given applies to it and has one value.
    pub fn config(&self) -> anyhow::Result<MethodConfig> {
        if let Some(flag) = self.constants.stray(&[self.method]) {
            anyhow::bail!("{flag} does not apply to --method {}", self.method);
        }
        if let Some(flag) = self.constants.listed() {
            anyhow::bail!("{flag} takes one value in `run` (lists are for `sweep`)");
        }
        Ok(self.constants.configs(self.method).remove(0))
    }
}

const EWC: &[MethodKind] = &[MethodKind::Ewc];
const SI: &[MethodKind] = &[MethodKind::Si];
const LWF: &[MethodKind] = &[MethodKind::Lwf];
const GEM: &[MethodKind] = &[MethodKind::Gem];
const PENALTY: &[MethodKind] = &[MethodKind::Ewc, MethodKind::Si];

/// Each method's constants (unset: the protocol's). `run` takes one value per flag; `sweep` takes
/// a comma list (`--ewc-lambda 100,1000`), each value a grid point of that method only.
#[derive(clap::Args, Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct MethodConstants {
    /// EWC: lambda, the penalty strength (default 5000).
    #[arg(long, value_delimiter = ',', help_heading = "EWC")]
    ewc_lambda: Vec<f32>,
    /// EWC: gamma, the decay of the running Fisher F~ <- gamma F~ + F_t (default 1.0).
    #[arg(long, value_delimiter = ',', help_heading = "EWC")]
    ewc_gamma: Vec<f32>,
    /// EWC: which Fisher: expected (sum over classes weighted by the model's probabilities;
    /// default), sampled (one label per sample drawn from them), empirical (the true label),
    /// batch-mean (the square of each minibatch's mean gradient, as Avalanche).
    #[arg(long, value_enum, value_delimiter = ',', help_heading = "EWC")]
    fisher: Vec<FisherKind>,
    /// EWC: the Fisher's softmax over the task's k outputs (default) or all outputs of the head.
    #[arg(long, value_enum, value_delimiter = ',', help_heading = "EWC")]
    fisher_classes: Vec<FisherClasses>,
    /// EWC: samples of the task the Fisher uses (a seeded subset; 0 = all, the default).
    #[arg(long, value_delimiter = ',', help_heading = "EWC")]
    fisher_samples: Vec<usize>,
    /// EWC: samples per Fisher pass, and batch-mean's minibatch (default 64).
    #[arg(long, value_delimiter = ',', help_heading = "EWC")]
    fisher_batch: Vec<usize>,
    /// SI: c, the penalty strength, L + c sum Omega (theta - theta*)^2 (default 1.0).
    #[arg(long, value_delimiter = ',', help_heading = "SI")]
    si_c: Vec<f32>,
    /// SI: xi, the damping of Omega += omega / (Delta^2 + xi) (default 0.1).
    #[arg(long, value_delimiter = ',', help_heading = "SI")]
    si_xi: Vec<f32>,
    /// LwF: alpha, the distillation weight (default 1).
    #[arg(long, value_delimiter = ',', help_heading = "LwF")]
    lwf_alpha: Vec<f32>,
    /// LwF: T, the distillation temperature (default 2).
    #[arg(long, value_delimiter = ',', help_heading = "LwF")]
    lwf_temperature: Vec<f32>,
    /// GEM: samples kept in memory per finished task (default 256).
    #[arg(long, value_delimiter = ',', help_heading = "GEM")]
    gem_memory: Vec<usize>,
    /// GEM: the lower bound of every dual variable, the original code's memory_strength
    /// (default 0.5).
    #[arg(long, value_delimiter = ',', help_heading = "GEM")]
    gem_margin: Vec<f64>,
    /// GEM: epsilon added to the diagonal of G G^T (default 1e-3).
    #[arg(long, value_delimiter = ',', help_heading = "GEM")]
    gem_eps: Vec<f64>,
    /// EWC and SI: how the quadratic penalty is stepped: proximal (exact and stable for any
    /// strength; default) or explicit (the textbook gradient step, divergent where
    /// eta * strength * importance > 2).
    #[arg(long, value_enum, value_delimiter = ',', help_heading = "EWC and SI")]
    penalty_step: Vec<PenaltyStep>,
}

impl MethodConstants {
    /// Each constant's flag, how many values it was given and the methods it applies to.
    fn given(&self) -> [(&'static str, usize, &'static [MethodKind]); 14] {
        [
            ("--ewc-lambda", self.ewc_lambda.len(), EWC),
            ("--ewc-gamma", self.ewc_gamma.len(), EWC),
            ("--fisher", self.fisher.len(), EWC),
            ("--fisher-classes", self.fisher_classes.len(), EWC),
            ("--fisher-samples", self.fisher_samples.len(), EWC),
            ("--fisher-batch", self.fisher_batch.len(), EWC),
            ("--si-c", self.si_c.len(), SI),
            ("--si-xi", self.si_xi.len(), SI),
            ("--lwf-alpha", self.lwf_alpha.len(), LWF),
            ("--lwf-temperature", self.lwf_temperature.len(), LWF),
            ("--gem-memory", self.gem_memory.len(), GEM),
            ("--gem-margin", self.gem_margin.len(), GEM),
            ("--gem-eps", self.gem_eps.len(), GEM),
            ("--penalty-step", self.penalty_step.len(), PENALTY),
        ]
    }

    /// The first constant given that applies to none of `methods`.
    pub fn stray(&self, methods: &[MethodKind]) -> Option<&'static str> {
        self.given()
            .into_iter()
            .find(|(_, n, of)| *n > 0 && !of.iter().any(|m| methods.contains(m)))
            .map(|(flag, _, _)| flag)
    }

    /// The first constant given more than one value.
    fn listed(&self) -> Option<&'static str> {
        self.given()
            .into_iter()
            .find(|(_, n, _)| *n > 1)
            .map(|(flag, _, _)| flag)
    }

    /// `method` with every combination of its constants' values, in flag order (the last flag
    /// varying fastest); a constant not given keeps the protocol's value.
    pub fn configs(&self, method: MethodKind) -> Vec<MethodConfig> {
        match method {
            MethodKind::Naive => vec![MethodConfig::Naive],
            MethodKind::Ewc => {
                let mut v = vec![EwcConfig::default()];
                expand(&mut v, &self.ewc_lambda, |c, x| c.lambda = x);
                expand(&mut v, &self.ewc_gamma, |c, x| c.gamma = x);
                expand(&mut v, &self.fisher, |c, x| c.fisher.kind = x);
                expand(&mut v, &self.fisher_classes, |c, x| c.fisher.classes = x);
                expand(&mut v, &self.fisher_samples, |c, x| c.fisher.samples = x);
                expand(&mut v, &self.fisher_batch, |c, x| c.fisher.batch = x);
                expand(&mut v, &self.penalty_step, |c, x| c.penalty_step = x);
                v.into_iter().map(MethodConfig::Ewc).collect()
            }
            MethodKind::Si => {
                let mut v = vec![SiConfig::default()];
                expand(&mut v, &self.si_c, |c, x| c.c = x);
                expand(&mut v, &self.si_xi, |c, x| c.xi = x);
                expand(&mut v, &self.penalty_step, |c, x| c.penalty_step = x);
                v.into_iter().map(MethodConfig::Si).collect()
            }
            MethodKind::Lwf => {
                let mut v = vec![LwfConfig::default()];
                expand(&mut v, &self.lwf_alpha, |c, x| c.alpha = x);
                expand(&mut v, &self.lwf_temperature, |c, x| c.temperature = x);
                v.into_iter().map(MethodConfig::Lwf).collect()
            }
            MethodKind::Gem => {
                let mut v = vec![GemConfig::default()];
                expand(&mut v, &self.gem_memory, |c, x| c.memory = x);
                expand(&mut v, &self.gem_margin, |c, x| c.margin = x);
                expand(&mut v, &self.gem_eps, |c, x| c.eps = x);
                v.into_iter().map(MethodConfig::Gem).collect()
            }
        }
    }
}

/// Replaces each config by one copy per value (`set` writing the value); no values: unchanged.
fn expand<C: Clone, T: Copy>(configs: &mut Vec<C>, values: &[T], set: impl Fn(&mut C, T)) {
    if values.is_empty() {
        return;
    }
    *configs = configs
        .iter()
        .flat_map(|c| {
            values.iter().map(|&v| {
                let mut c = c.clone();
                set(&mut c, v);
                c
            })
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use regimebench::methods::fisher::FisherKind;

    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        method: MethodArgs,
    }

    fn parse(flags: &[&str]) -> MethodArgs {
        let all = std::iter::once("x").chain(flags.iter().copied());
        Flags::try_parse_from(all).unwrap().method
    }

    #[test]
    fn run_takes_one_value_and_sweep_every_combination() {
        let one = parse(&["--method=ewc", "--ewc-lambda=7"]).config().unwrap();
        assert!(matches!(one, MethodConfig::Ewc(c) if c.lambda == 7.0));
        let lists = parse(&[
            "--method=ewc",
            "--ewc-lambda=1,2",
            "--fisher=empirical,sampled",
        ]);
        let err = lists.config().unwrap_err().to_string();
        assert_eq!(
            err,
            "--ewc-lambda takes one value in `run` (lists are for `sweep`)"
        );
        let got: Vec<(f32, FisherKind)> = lists
            .constants
            .configs(MethodKind::Ewc)
            .into_iter()
            .map(|m| match m {
                MethodConfig::Ewc(c) => (c.lambda, c.fisher.kind),
                other => panic!("{other:?}"),
            })
            .collect();
        use FisherKind::{Empirical, Sampled};
        assert_eq!(
            got,
            [
                (1.0, Empirical),
                (1.0, Sampled),
                (2.0, Empirical),
                (2.0, Sampled)
            ]
        );
        assert_eq!(
            lists.constants.configs(MethodKind::Si),
            [MethodKind::Si.defaults()]
        );
        assert_eq!(
            lists.constants.stray(&[MethodKind::Si]),
            Some("--ewc-lambda")
        );
        assert_eq!(
            lists.constants.stray(&[MethodKind::Si, MethodKind::Ewc]),
            None
        );
    }
}
