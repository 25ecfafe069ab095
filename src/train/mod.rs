//! The task-incremental training loop of PROTOCOL sections 4-5: one loop, every method hook in
//! sight, the accuracy matrix filled after each task.

mod cache;
mod eval;
mod source;

pub use cache::PrefixCache;
pub use eval::{accuracy, TestFeatures};
pub use source::{Part, TaskSource};

use crate::methods::{Method, StepInput, TaskInfo};
use crate::nn::{Cnn, Preset};
use crate::optim::{Sgd, SgdConfig};
use crate::params::{Group, ParamStore};
use crate::regime::Regime;
use crate::tape::Tape;
use crate::tensor::Tensor;
use rand::seq::SliceRandom;
use std::ops::Range;
use std::time::Instant;

/// Head layout of PROTOCOL section 3.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum HeadLayout {
    /// One k-way head used by every task (default).
    Shared,
    /// One k-way head per task.
    Multi,
}

/// Everything the loop needs besides the data and the method.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    pub preset: Preset,
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

/// A non-finite loss: the run stops here.
#[derive(Debug, thiserror::Error)]
#[error("training diverged: loss {loss} at task {task} (1-based), epoch {epoch}, step {step} of the task")]
pub struct Diverged {
    pub task: usize,
    pub epoch: usize,
    pub step: usize,
    pub loss: f32,
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
}

/// Called after every step with (task, step within the task, steps in the task, loss).
pub type Progress<'a> = &'a mut (dyn FnMut(usize, usize, usize, f32) + Send);

/// Trains `net` (parameters `p`, already initialised) on every task of `src` in order.
pub fn train(
    cfg: &TrainConfig,
    net: &Cnn,
    p: &mut ParamStore,
    src: &dyn TaskSource,
    method: &mut dyn Method,
    progress: Progress,
) -> Result<Trained, Diverged> {
    let t_count = src.n_tasks();
    let (c, h, w) = src.image_chw();
    let mut sgd = Sgd::new(cfg.sgd, p.len());
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
    };
    for task in 0..t_count {
        let regime = if task == 0 && !cfg.regime_from_first_task {
            Regime::full()
        } else {
            cfg.regime.clone()
        };
        let trainable: Vec<Range<usize>> = regime
            .trainable
            .iter()
            .flat_map(|&g| p.group_ranges(g))
            .collect();
        let head = head_of(cfg.head, task);
        let info = TaskInfo {
            task,
            trainable: &trainable,
        };
        let started = Instant::now();
        // Entries of groups frozen now may hold the last task's gradient: no method may see them.
        grads.fill(0.0);
        method.begin_task(&info, p);
        let cache = (cfg.cache_prefix && regime.lowest() > Group::G1)
            .then(|| PrefixCache::build(net, p, src, task, Part::Train, regime.lowest()));
        let n = src.len(task, Part::Train);
        let steps_per_epoch = n.div_ceil(cfg.batch);
        let mut tape = Tape::new(p, &regime.trainable);
        let mut positions: Vec<usize> = (0..n).collect();
        let mut before = Vec::new();
        let mut step = 0;
        for epoch in 0..cfg.epochs {
            positions.sort_unstable();
            positions.shuffle(&mut crate::rng::stream(
                "shuffle",
                &[cfg.seed, task as u64, epoch as u64],
            ));
            for batch in positions.chunks(cfg.batch) {
                tape.clear();
                let (input, from, y) = match &cache {
                    Some(cache) => {
                        let (feats, y) = cache.gather(batch);
                        (tape.input(feats), cache.from, y)
                    }
                    None => {
                        let mut x = tape.take_buffer(batch.len() * c * h * w);
                        let mut y = vec![0; batch.len()];
                        src.fill(task, Part::Train, batch, &mut x, &mut y);
                        (
                            tape.input(Tensor::new(&[batch.len(), c, h, w], x)),
                            Group::G1,
                            y,
                        )
                    }
                };
                let logits = net.forward_from(&mut tape, p, from, input, head);
                let loss_node = tape.softmax_xent(logits, &y);
                let mut one = tape.take_buffer(1);
                one[0] = 1.0;
                let mut seeds = vec![(loss_node, one)];
                let mut loss = tape.value(loss_node)[0];
                let step_input = StepInput {
                    from,
                    x: tape.value(input),
                    shape: tape.shape(input),
                    head,
                };
                if let Some((extra, dlogits)) =
                    method.logits_loss(&info, &step_input, tape.value(logits))
                {
                    loss += extra;
                    seeds.push((logits, dlogits));
                }
                if !loss.is_finite() {
                    return Err(Diverged {
                        task: task + 1,
                        epoch: epoch + 1,
                        step: step + 1,
                        loss,
                    });
                }
                tape.backward_with(seeds, p, &mut grads);
                method.adjust_grads(&info, p, &mut grads);
                if method.wants_step_delta() {
                    before.clear();
                    before.extend_from_slice(p.flat());
                }
                sgd.step(p.flat_mut(), &grads, &trainable);
                method.after_step(&info, &before, p.flat_mut(), &grads);
                step += 1;
                progress(task, step, steps_per_epoch * cfg.epochs, loss);
            }
        }
        method.end_task(&info, p);
        out.train_seconds.push(started.elapsed().as_secs_f64());
        out.steps.push(step);
        out.theta_star.push(p.flat().to_vec());
        out.acc.push(
            (0..t_count)
                .map(|j| test.accuracy(net, p, src, j, head_of(cfg.head, j)))
                .collect(),
        );
    }
    Ok(out)
}

/// The head task `task` uses.
pub fn head_of(layout: HeadLayout, task: usize) -> usize {
    match layout {
        HeadLayout::Shared => 0,
        HeadLayout::Multi => task,
    }
}
