//! The method flags of `regimebench run` (and later `sweep`): `--method` and each method's
//! constants, turned into a `MethodConfig`. A constant of a method that is not chosen is an error.

use regimebench::methods::fisher::{FisherClasses, FisherKind};
use regimebench::methods::penalty::PenaltyStep;
use regimebench::run::{MethodConfig, MethodKind};

/// Continual-learning method and its constants (unset: the protocol's, PROTOCOL section 5).
#[derive(clap::Args, Debug)]
pub struct MethodArgs {
    /// Continual-learning method.
    #[arg(long, value_enum, default_value_t = MethodKind::Naive)]
    pub method: MethodKind,
    /// EWC: lambda, the penalty strength (default 5000).
    #[arg(long, help_heading = "EWC")]
    ewc_lambda: Option<f32>,
    /// EWC: gamma, the decay of the running Fisher F~ <- gamma F~ + F_t (default 1.0).
    #[arg(long, help_heading = "EWC")]
    ewc_gamma: Option<f32>,
    /// EWC: which Fisher: expected (sum over classes weighted by the model's probabilities;
    /// default), sampled (one label per sample drawn from them), empirical (the true label),
    /// batch-mean (the square of each minibatch's mean gradient, as Avalanche).
    #[arg(long, value_enum, help_heading = "EWC")]
    fisher: Option<FisherKind>,
    /// EWC: the Fisher's softmax over the task's k outputs (default) or all outputs of the head.
    #[arg(long, value_enum, help_heading = "EWC")]
    fisher_classes: Option<FisherClasses>,
    /// EWC: samples of the task the Fisher uses (a seeded subset; 0 = all, the default).
    #[arg(long, help_heading = "EWC")]
    fisher_samples: Option<usize>,
    /// EWC: samples per Fisher pass, and batch-mean's minibatch (default 64).
    #[arg(long, help_heading = "EWC")]
    fisher_batch: Option<usize>,
    /// SI: c, the penalty strength, L + c sum Omega (theta - theta*)^2 (default 1.0).
    #[arg(long, help_heading = "SI")]
    si_c: Option<f32>,
    /// SI: xi, the damping of Omega += omega / (Delta^2 + xi) (default 0.1).
    #[arg(long, help_heading = "SI")]
    si_xi: Option<f32>,
    /// LwF: alpha, the distillation weight (default 1).
    #[arg(long, help_heading = "LwF")]
    lwf_alpha: Option<f32>,
    /// LwF: T, the distillation temperature (default 2).
    #[arg(long, help_heading = "LwF")]
    lwf_temperature: Option<f32>,
    /// GEM: samples kept in memory per finished task (default 256).
    #[arg(long, help_heading = "GEM")]
    gem_memory: Option<usize>,
    /// GEM: the lower bound of every dual variable, the original code's memory_strength
    /// (default 0.5).
    #[arg(long, help_heading = "GEM")]
    gem_margin: Option<f64>,
    /// GEM: epsilon added to the diagonal of G G^T (default 1e-3).
    #[arg(long, help_heading = "GEM")]
    gem_eps: Option<f64>,
    /// EWC and SI: how the quadratic penalty is stepped: proximal (exact and stable for any
    /// strength; default) or explicit (the textbook gradient step, divergent where
    /// eta * strength * importance > 2).
    #[arg(long, value_enum)]
    penalty_step: Option<PenaltyStep>,
}

impl MethodArgs {
    pub fn config(&self) -> anyhow::Result<MethodConfig> {
        let mut cfg = self.method.defaults();
        let stray = |flags: &[(&str, bool)]| -> anyhow::Result<()> {
            match flags.iter().find(|f| f.1) {
                Some((flag, _)) => {
                    anyhow::bail!("{flag} does not apply to --method {}", self.method)
                }
                None => Ok(()),
            }
        };
        let ewc_flags = [
            ("--ewc-lambda", self.ewc_lambda.is_some()),
            ("--ewc-gamma", self.ewc_gamma.is_some()),
            ("--fisher", self.fisher.is_some()),
            ("--fisher-classes", self.fisher_classes.is_some()),
            ("--fisher-samples", self.fisher_samples.is_some()),
            ("--fisher-batch", self.fisher_batch.is_some()),
        ];
        let si_flags = [
            ("--si-c", self.si_c.is_some()),
            ("--si-xi", self.si_xi.is_some()),
        ];
        let gem_flags = [
            ("--gem-memory", self.gem_memory.is_some()),
            ("--gem-margin", self.gem_margin.is_some()),
            ("--gem-eps", self.gem_eps.is_some()),
        ];
        let penalty = [("--penalty-step", self.penalty_step.is_some())];
        let lwf_flags = [
            ("--lwf-alpha", self.lwf_alpha.is_some()),
            ("--lwf-temperature", self.lwf_temperature.is_some()),
        ];
        if !matches!(cfg, MethodConfig::Lwf(_)) {
            stray(&lwf_flags)?;
        }
        match &mut cfg {
            MethodConfig::Naive => {
                stray(&ewc_flags)?;
                stray(&si_flags)?;
                stray(&gem_flags)?;
                stray(&penalty)?;
            }
            MethodConfig::Ewc(c) => {
                stray(&si_flags)?;
                stray(&gem_flags)?;
                set(&mut c.lambda, self.ewc_lambda);
                set(&mut c.gamma, self.ewc_gamma);
                set(&mut c.fisher.kind, self.fisher);
                set(&mut c.fisher.classes, self.fisher_classes);
                set(&mut c.fisher.samples, self.fisher_samples);
                set(&mut c.fisher.batch, self.fisher_batch);
                set(&mut c.penalty_step, self.penalty_step);
            }
            MethodConfig::Si(c) => {
                stray(&ewc_flags)?;
                stray(&gem_flags)?;
                set(&mut c.c, self.si_c);
                set(&mut c.xi, self.si_xi);
                set(&mut c.penalty_step, self.penalty_step);
            }
            MethodConfig::Lwf(c) => {
                stray(&ewc_flags)?;
                stray(&si_flags)?;
                stray(&gem_flags)?;
                stray(&penalty)?;
                set(&mut c.alpha, self.lwf_alpha);
                set(&mut c.temperature, self.lwf_temperature);
            }
            MethodConfig::Gem(c) => {
                stray(&ewc_flags)?;
                stray(&si_flags)?;
                stray(&penalty)?;
                set(&mut c.memory, self.gem_memory);
                set(&mut c.margin, self.gem_margin);
                set(&mut c.eps, self.gem_eps);
            }
        }
        Ok(cfg)
    }
}

fn set<T: Copy>(field: &mut T, flag: Option<T>) {
    if let Some(v) = flag {
        *field = v;
    }
}
