//! One task's SGD steps (PROTOCOL section 4): per epoch a seeded shuffle, then per batch the
//! forward pass, the method's extra loss, one backward, the method's g̃, the masked SGD step and the
//! method's correction of θ, each checked for non-finite values.

use super::batch::Inputs;
use super::guard::{non_finite_in, Frozen};
use super::{Diverged, NonFinite, TrainConfig};
use crate::error::{Error, Result};
use crate::methods::{Method, Step, TaskInfo};
use crate::nn::Cnn;
use crate::optim::Sgd;
use crate::params::{Group, ParamStore};
use crate::tape::Tape;
use crate::trace::{Stage, Value};
use rand::seq::SliceRandom;

/// What one task's steps read: the loop's settings, the network, the task (its mask and head),
/// its training inputs and its frozen entries.
pub(super) struct TaskSteps<'a> {
    pub cfg: &'a TrainConfig,
    pub net: &'a Cnn,
    pub info: &'a TaskInfo<'a>,
    pub inputs: &'a Inputs<'a>,
    pub frozen: &'a Frozen,
}

impl TaskSteps<'_> {
    /// Trains `p` for the task's epochs with `method`'s hooks; returns the number of steps.
    /// `grads` is the loop's gradient buffer (zero outside the trainable ranges); `progress` sees
    /// (task, step, steps, loss) after every step. A non-finite loss, g̃ or θ stops with
    /// [`Diverged`].
    pub fn run(
        &self,
        p: &mut ParamStore,
        method: &mut dyn Method,
        grads: &mut [f32],
        progress: &mut (dyn FnMut(usize, usize, usize, f32) + Send),
    ) -> Result<usize> {
        let TaskSteps {
            cfg,
            net,
            info,
            inputs,
            frozen,
        } = *self;
        let (task, head, trace) = (info.task, info.head(), info.trace);
        let (flags, trainable) = (info.trainable_params, info.trainable);
        let n = inputs.len();
        let steps_per_epoch = n.div_ceil(cfg.batch);
        let mut sgd = Sgd::new(cfg.sgd, p.len());
        let mut tape = Tape::with_trainable(flags.to_vec()).training();
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
                let place = |what| Diverged {
                    task: task + 1,
                    epoch: epoch + 1,
                    step: step + 1,
                    what,
                };
                tape.clear();
                let (x, labels) = inputs.batch(batch, tape.take_buffer(0));
                if let Some(&l) = labels.iter().find(|&&l| l as usize >= head.outputs.len()) {
                    return Err(Error::Config(format!(
                        "task {} gave label {l}; its labels are 0..{}",
                        task + 1,
                        head.outputs.len()
                    )));
                }
                let targets: Vec<u32> = labels.iter().map(|&l| head.target(l)).collect();
                trace.at(task, Stage::Step(step + 1));
                trace.record(
                    "y",
                    "the batch's targets (outputs of the head layer)",
                    || Value::Text(format!("{targets:?}")),
                );
                let input = tape.input(x);
                let features = net.features(&mut tape, p, inputs.from(), input);
                let logits = net.group_forward(&mut tape, p, Group::G5, features, head.layer);
                let loss_node = tape.softmax_xent(logits, &targets);
                // Batch norm in the trainable groups normalised with this batch's statistics;
                // its running statistics move now, as PyTorch's do in the forward pass.
                net.update_running_statistics(&tape, p);
                let mut one = tape.take_buffer(1);
                one[0] = 1.0;
                let mut seeds = vec![(loss_node, one)];
                let mut loss = tape.value(loss_node)[0];
                trace.record("L_t", "the batch's mean cross-entropy", || {
                    Value::Scalar(f64::from(loss))
                });
                let mut step_graph = Step {
                    tape: &mut tape,
                    params: p,
                    net,
                    from: inputs.from(),
                    input,
                    features,
                    logits,
                };
                if let Some((extra, more)) = method.extra_loss(info, &mut step_graph) {
                    loss += extra;
                    seeds.extend(more);
                }
                if !loss.is_finite() {
                    return Err(place(NonFinite::Loss(loss)).into());
                }
                tape.backward_with(seeds, p, grads);
                let note = "P(∇ of the step's loss: L_t and any extra loss of the method)";
                trace.record("g", note, || Value::params(grads, trainable));
                method.adjust_grads(info, p, grads)?;
                let note = "the method's gradient, which the SGD step takes";
                trace.record("g~", note, || Value::params(grads, trainable));
                frozen.check_grads(grads, "adjust_grads");
                if let Some(param) = non_finite_in(p, grads, trainable) {
                    return Err(place(NonFinite::Gradient { param }).into());
                }
                if method.wants_step_delta() {
                    before.clear();
                    before.extend_from_slice(p.flat());
                }
                sgd.step(p.flat_mut(), grads, trainable);
                let note = "θ − η g~: the SGD step";
                trace.record("θ_sgd", note, || Value::params(p.flat(), trainable));
                method.after_step(info, &before, p.flat_mut(), grads);
                let note = "θ after the method's correction of the step";
                trace.record("θ'", note, || Value::params(p.flat(), trainable));
                frozen.check_theta(p.flat(), "after_step");
                if let Some(param) = non_finite_in(p, p.flat(), trainable) {
                    return Err(place(NonFinite::Parameter { param }).into());
                }
                step += 1;
                progress(task, step, steps_per_epoch * cfg.epochs, loss);
            }
        }
        Ok(step)
    }
}
