//! The task-incremental training loop of PROTOCOL sections 4-5: per task the mask, the method's
//! `begin_task`, the steps (`steps.rs`: every other hook in sight), `end_task` and the accuracy row.

mod batch;
mod cache;
mod eval;
mod guard;
mod shared;
mod source;
mod steps;

pub use batch::Inputs;
pub use cache::PrefixCache;
pub use eval::{accuracy, TestFeatures, MAX_FEATURES_PER_TASK};
pub use guard::{Diverged, NonFinite};
pub use shared::FirstTask;
pub use source::{Part, TaskSource};

use crate::error::{Error, Result};
use crate::heads::{HeadLayout, Heads};
use crate::methods::{Method, TaskData, TaskInfo};
use crate::nn::{Cnn, Preset};
use crate::optim::SgdConfig;
use crate::params::{Group, ParamStore};
use crate::regime::Regime;
use crate::trace::{Stage, Trace, Value};
use guard::Frozen;
use shared::Shared;
use std::time::Instant;
use steps::TaskSteps;

/// Everything the loop needs besides the data and the method.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    pub preset: Preset,
    /// resnet18's base width nf (required there; absent for the other presets, so their results
    /// and sweep keys are as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    pub head: HeadLayout,
    pub regime: Regime,
    /// Apply the regime from the first task too (by default task 1 trains the whole network).
    pub regime_from_first_task: bool,
    pub sgd: SgdConfig,
    pub batch: usize,
    pub epochs: usize,
    pub seed: u64,
    /// Compute the frozen prefix once per image (bit-identical to not caching; only faster).
    pub cache_prefix: bool,
}

impl TrainConfig {
    /// Sets the network: `preset` and, for resnet18, its width (`None`: [`Preset::DEFAULT_WIDTH`]).
    /// A width given for another preset is kept, so that [`TrainConfig::validate`] names it.
    pub fn set_network(&mut self, preset: Preset, width: Option<usize>) {
        self.preset = preset;
        self.width = match preset.has_width() {
            true => Some(width.unwrap_or(Preset::DEFAULT_WIDTH)),
            false => width,
        };
    }

    /// Every field within its range; [`train`] calls it before anything runs.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Config(msg));
        if self.batch == 0 {
            return bad("batch must be at least 1".into());
        }
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        match (self.preset.has_width(), self.width) {
            (true, None) => return bad(format!("the {} preset needs a width (nf)", self.preset)),
            (true, Some(w)) if !(1..=Preset::MAX_WIDTH).contains(&w) => {
                return bad(format!(
                    "width must be 1 to {}, got {w} (resnet18's parameters grow as the width \
                     squared: about 700 M at 512)",
                    Preset::MAX_WIDTH
                ))
            }
            (false, Some(_)) => {
                return bad(format!(
                    "width applies to resnet18 only, not to the {} preset",
                    self.preset
                ))
            }
            _ => {}
        }
        self.regime.check().map_err(Error::Config)?;
        self.sgd.validate().map_err(Error::Config)
    }
}

/// What a run produced: the accuracy matrix and the parameters after each task.
pub struct Trained {
    /// `acc[i][j]`: test accuracy on task j after training task i (0-based).
    pub acc: Vec<Vec<f64>>,
    /// `theta_star[0]` is θ before task 1 (the init); `theta_star[t]` is θ*_t after task t.
    pub theta_star: Vec<Vec<f32>>,
    /// Wall seconds spent training (not evaluating) each task.
    pub train_seconds: Vec<f64>,
    /// SGD steps taken on each task.
    pub steps: Vec<usize>,
    /// Task 1's steps were copied from another run's ([`FirstTask`]): `train_seconds[0]` has no
    /// steps in it.
    pub first_task_copied: bool,
}

/// Called after every step with (task, step within the task, steps in the task, loss).
pub type Progress<'a> = &'a mut (dyn FnMut(usize, usize, usize, f32) + Send);

/// Trains `net` (parameters `p`, already initialised, made by [`Cnn::for_heads`] for `cfg.head`
/// on `src`) on every task of `src` in order.
///
/// Per task the trainable set is the regime's groups (all of them in task 1 unless
/// `regime_from_first_task`), and of G5 only the task's head layer; the SGD state (momentum) starts
/// afresh. A non-finite loss, g̃ or θ stops the run with [`Diverged`].
pub fn train(
    cfg: &TrainConfig,
    net: &Cnn,
    p: &mut ParamStore,
    src: &dyn TaskSource,
    method: &mut dyn Method,
    progress: Progress,
) -> Result<Trained> {
    train_with(cfg, net, p, src, method, progress, Extras::default())
}

/// What a caller may add to [`train`]'s loop: a trace of every intermediate (what `regimebench
/// explain` prints) and task 1's steps shared with other runs (a sweep; see [`FirstTask`], handed
/// only to a method whose hooks change nothing before task 1 ends). Neither changes a bit of the
/// result.
#[derive(Clone, Copy, Default)]
pub struct Extras<'a> {
    /// Records every step's loss, g, g̃ and θ and the method's own intermediates.
    pub trace: Option<&'a Trace>,
    /// Where task 1's steps are taken from when another run trained them, or kept for the others.
    pub first: Option<&'a FirstTask>,
}

/// [`train`] with `extras`.
pub fn train_with(
    cfg: &TrainConfig,
    net: &Cnn,
    p: &mut ParamStore,
    src: &dyn TaskSource,
    method: &mut dyn Method,
    progress: Progress,
    extras: Extras,
) -> Result<Trained> {
    cfg.validate()?;
    let (trace, first) = (extras.trace.unwrap_or(Trace::off()), extras.first);
    let heads = heads_for(cfg, net, p, src)?;
    let t_count = heads.tasks();
    let mut grads = vec![0.0; p.len()];
    // The prefix that the regime freezes once its tasks start: test images go through it once per
    // run (kept bit-identical to recomputing; see `TestFeatures`).
    let eval_from = if cfg.cache_prefix {
        cfg.regime.lowest()
    } else {
        Group::G1
    };
    let mut test = TestFeatures::new(eval_from, t_count);
    let mut out = Trained {
        acc: Vec::new(),
        theta_star: vec![p.flat().to_vec()],
        train_seconds: Vec::new(),
        steps: Vec::new(),
        first_task_copied: false,
    };
    for task in 0..t_count {
        let regime = if task == 0 && !cfg.regime_from_first_task {
            Regime::full()
        } else {
            cfg.regime.clone()
        };
        let head = heads.of(task);
        let flags = net.trainable(p, &regime.trainable, head.layer);
        let trainable = p.ranges_of(&flags);
        let frozen = Frozen::new(
            p.flat(),
            p.ranges_of(&flags.iter().map(|f| !f).collect::<Vec<_>>()),
        );
        let info = TaskInfo {
            task,
            trainable: &trainable,
            trainable_params: &flags,
            heads: &heads,
            trace,
        };
        trace.at(task, Stage::Start);
        trace.record(
            "m",
            "the trainable parameters of this task (the mask)",
            || {
                let names: Vec<&str> = (p.ids().zip(&flags))
                    .filter(|(_, &f)| f)
                    .map(|(id, _)| p.info(id).name.as_str())
                    .collect();
                Value::Text(names.join(", "))
            },
        );
        let started = Instant::now();
        // Entries of groups frozen now may hold the last task's gradient: no method may see them.
        grads.fill(0.0);
        method.begin_task(&info, p);
        let cache = (cfg.cache_prefix && regime.lowest() > Group::G1)
            .then(|| PrefixCache::build(net, p, src, task, Part::Train, regime.lowest()));
        let inputs = match &cache {
            Some(cache) => Inputs::Cached(cache),
            None => Inputs::Images {
                src,
                task,
                part: Part::Train,
            },
        };
        let kept: Vec<bool> = net
            .trainable(p, &cfg.regime.trainable, head.layer)
            .iter()
            .zip(&flags)
            .map(|(later, now)| *later && *now)
            .collect();
        let run = TaskSteps {
            cfg,
            net,
            info: &info,
            inputs: &inputs,
            frozen: &frozen,
        };
        let mut train_steps = |p: &mut ParamStore| run.run(p, method, &mut grads, progress);
        let step = match first.filter(|_| task == 0 && !cfg.regime_from_first_task) {
            Some(first) => match first.steps(p, &mut train_steps)? {
                Shared::TrainedHere(steps) => steps,
                Shared::Copied(steps) => {
                    out.first_task_copied = true;
                    steps
                }
            },
            None => train_steps(p)?,
        };
        let data = TaskData {
            net,
            train: &inputs,
            kept_trainable: &kept,
            later_from: cfg.regime.lowest(),
            steps: step,
        };
        trace.at(task, Stage::End);
        let note = "θ at the end of the task";
        trace.record("θ*_t", note, || Value::params(p.flat(), &trainable));
        method.end_task(&info, &data, p)?;
        out.train_seconds.push(started.elapsed().as_secs_f64());
        out.steps.push(step);
        out.theta_star.push(p.flat().to_vec());
        out.acc.push(
            (0..t_count)
                .map(|j| test.accuracy(net, p, src, j, heads.of(j)))
                .collect(),
        );
    }
    Ok(out)
}

/// The heads of `cfg.head` on `src`, checked against the network that is to train.
fn heads_for(cfg: &TrainConfig, net: &Cnn, p: &ParamStore, src: &dyn TaskSource) -> Result<Heads> {
    let classes: Vec<Vec<u16>> = (0..src.n_tasks()).map(|t| src.task_classes(t)).collect();
    let heads = Heads::new(cfg.head, src.n_classes(), &classes).map_err(Error::Config)?;
    if (net.heads(), net.width) != (heads.layers(), heads.width()) {
        return Err(Error::Config(format!(
            "the network has {} head layer(s) of {} outputs, the {} layout needs {} of {}",
            net.heads(),
            net.width,
            cfg.head,
            heads.layers(),
            heads.width()
        )));
    }
    if p.len() != net.param_len() {
        return Err(Error::Config(format!(
            "the parameter store holds {} scalars; the network has {}",
            p.len(),
            net.param_len()
        )));
    }
    if (net.preset, net.nf()) != (cfg.preset, cfg.width) {
        return Err(Error::Config(format!(
            "the network is {} of width {:?}, the config asks for {} of width {:?}",
            net.preset,
            net.nf(),
            cfg.preset,
            cfg.width
        )));
    }
    if net.input_chw() != src.image_chw() {
        return Err(Error::Config(format!(
            "the {} network takes {:?} (channels, height, width) images; the tasks have {:?}",
            net.preset,
            net.input_chw(),
            src.image_chw()
        )));
    }
    Ok(heads)
}
