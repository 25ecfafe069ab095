//! The reverse-mode tape: an append-only list of nodes, already in topological order.
//!
//! Parameters are not nodes: ops read them from the [`ParamStore`] by [`ParamId`], and the backward
//! pass writes their gradients into one flat buffer laid out like the store. A parameter marked
//! frozen gets no gradient computed, and a node whose inputs need no gradient is not visited at all,
//! so the backward pass stops at the lowest trainable layer.

mod conv;
mod ops;
mod pool;
mod residual;

use crate::params::{Group, ParamId, ParamStore};
use crate::tensor::Tensor;
pub(crate) use ops::Op;
use pool::Pool;
pub use residual::BnStats;
use std::cell::RefCell;

/// Handle to one node of a [`Tape`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeId(usize);

struct Node {
    shape: Vec<usize>,
    value: Vec<f32>,
    op: Op,
    /// Whether the gradient of this node's value is wanted (a trainable parameter or a
    /// gradient-carrying input lies below it).
    needs_grad: bool,
}

/// A forward computation recorded for one backward pass.
///
/// Reuse one tape across steps ([`Tape::clear`]): its buffers are recycled, so a step allocates
/// nothing large.
pub struct Tape {
    nodes: Vec<Node>,
    /// Indexed by `ParamId`: whether that parameter gets a gradient.
    trainable: Vec<bool>,
    /// A training step's tape ([`Tape::training`]).
    training: bool,
    /// Buffers of cleared nodes and of consumed gradients (the backward pass borrows it).
    pool: RefCell<Pool>,
}

/// What a backward pass leaves besides parameter gradients: the gradients of the inputs made
/// with [`Tape::input_with_grad`], and which nodes it reached at all.
pub struct NodeGrads {
    inputs: Vec<Option<Vec<f32>>>,
    reached: Vec<bool>,
}

impl NodeGrads {
    /// The gradient of an input node, if the pass reached it.
    pub fn get(&self, id: NodeId) -> Option<&[f32]> {
        self.inputs[id.0].as_deref()
    }
    /// Whether any gradient flowed into node `id` (never, below the lowest trainable group).
    pub fn reached(&self, id: NodeId) -> bool {
        self.reached[id.0]
    }
}

impl Tape {
    /// A tape on which the parameters of the groups in `trainable` get gradients and all others
    /// are frozen.
    pub fn new(params: &ParamStore, trainable: &[Group]) -> Self {
        Tape::with_trainable(
            params
                .ids()
                .map(|id| trainable.contains(&params.info(id).group))
                .collect(),
        )
    }

    /// A tape on which exactly the parameters flagged in `trainable` (indexed like
    /// [`ParamStore::ids`]) get gradients.
    pub fn with_trainable(trainable: Vec<bool>) -> Self {
        Tape {
            nodes: Vec::new(),
            trainable,
            training: false,
            pool: RefCell::default(),
        }
    }

    /// This tape records training steps: there a batch norm whose γ is trainable normalises with
    /// its batch's statistics (PyTorch's train mode). On every other tape (evaluation, the Fisher,
    /// GEM's memories, LwF's old model, the prefix cache) and in frozen groups, batch norm uses its
    /// running statistics.
    pub fn training(mut self) -> Self {
        self.training = true;
        self
    }

    /// Whether batch norm with trainable γ uses batch statistics here (see [`Tape::training`]).
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// Forgets every node, keeping the frozen/trainable choice and the nodes' buffers for reuse.
    pub fn clear(&mut self) {
        let pool = self.pool.get_mut();
        for node in self.nodes.drain(..) {
            pool.give(node.value);
            node.op.recycle(pool);
        }
    }

    pub fn is_trainable(&self, id: ParamId) -> bool {
        self.trainable[id.0]
    }

    /// A buffer of `len` floats, contents unspecified, from the tape's recycled ones: for an op's
    /// output (its kernel overwrites it), an input or a backward seed to fill and hand back, so
    /// that a loop reusing the tape allocates nothing per step.
    pub fn take_buffer(&mut self, len: usize) -> Vec<f32> {
        self.pool.get_mut().take(len)
    }

    /// A leaf that gets no gradient (a batch of images, cached features).
    pub fn input(&mut self, t: Tensor) -> NodeId {
        let (shape, value) = t.into_parts();
        self.push(shape, value, Op::Input, false)
    }

    /// A leaf whose gradient the backward pass computes (for gradient checks).
    pub fn input_with_grad(&mut self, t: Tensor) -> NodeId {
        let (shape, value) = t.into_parts();
        self.push(shape, value, Op::Input, true)
    }

    pub fn value(&self, id: NodeId) -> &[f32] {
        &self.nodes[id.0].value
    }
    pub fn shape(&self, id: NodeId) -> &[usize] {
        &self.nodes[id.0].shape
    }
    /// Whether a gradient flows into node `id` (it depends on a trainable parameter or an input
    /// that asks for one).
    pub fn needs_grad(&self, id: NodeId) -> bool {
        self.nodes[id.0].needs_grad
    }

    fn push(&mut self, shape: Vec<usize>, value: Vec<f32>, op: Op, needs_grad: bool) -> NodeId {
        debug_assert_eq!(shape.iter().product::<usize>(), value.len());
        self.nodes.push(Node {
            shape,
            value,
            op,
            needs_grad,
        });
        NodeId(self.nodes.len() - 1)
    }

    /// Back-propagates from a scalar `loss` node: writes ∂loss/∂θ into `grads` (laid out like
    /// `params.flat()`) for every trainable parameter, zero for those the loss does not reach (no
    /// stale value survives a step); the entries of frozen parameters are left as they were.
    pub fn backward(&self, loss: NodeId, params: &ParamStore, grads: &mut [f32]) -> NodeGrads {
        assert_eq!(
            self.value(loss).len(),
            1,
            "backward() starts from a scalar loss"
        );
        let mut seed = self.pool.borrow_mut().take(1);
        seed[0] = 1.0;
        self.backward_with(vec![(loss, seed)], params, grads)
    }

    /// Back-propagates `L = Σ_s ⟨seed_s, value(node_s)⟩` from any nodes at once: each seed is a
    /// node and ∂L/∂(that node's value); `grads` as in [`Tape::backward`]. A loss node seeded with `[1.0]` plus a logits node
    /// seeded with an extra term's gradient (LwF's distillation) is one backward pass.
    pub fn backward_with(
        &self,
        seeds: Vec<(NodeId, Vec<f32>)>,
        params: &ParamStore,
        grads: &mut [f32],
    ) -> NodeGrads {
        self.backward_impl(seeds, params, grads, false)
    }

    /// Like [`Tape::backward_with`], but each trainable parameter's entry gets `Σ_n (∂L_n/∂θ)²`,
    /// the sum over the batch of the squares of the per-sample gradients, where `L_n` is sample
    /// n's part of `L` (the seeds' rows of sample n). Valid where samples do not interact (every
    /// op of the `small` and `cifar` presets): a linear layer's is one GEMM of squared operands,
    /// a convolution's is formed sample by sample and squared. What the diagonal Fisher sums.
    pub fn backward_per_sample_squares(
        &self,
        seeds: Vec<(NodeId, Vec<f32>)>,
        params: &ParamStore,
        grads: &mut [f32],
    ) -> NodeGrads {
        self.backward_impl(seeds, params, grads, true)
    }

    fn backward_impl(
        &self,
        seeds: Vec<(NodeId, Vec<f32>)>,
        params: &ParamStore,
        grads: &mut [f32],
        per_sample: bool,
    ) -> NodeGrads {
        assert_eq!(
            grads.len(),
            params.len(),
            "gradient buffer must match the parameter store"
        );
        let mut g: Vec<Option<Vec<f32>>> = vec![None; self.nodes.len()];
        let mut top = 0;
        for (node, d) in seeds {
            assert_eq!(
                d.len(),
                self.value(node).len(),
                "a seed must match its node's shape"
            );
            self.accumulate(&mut g[node.0], d);
            top = top.max(node.0);
        }
        let mut written = vec![false; self.trainable.len()];
        let mut reached = vec![false; self.nodes.len()];
        for i in (0..=top).rev() {
            reached[i] = g[i].is_some();
            if matches!(self.nodes[i].op, Op::Input) {
                continue; // a leaf: its gradient is kept for the caller
            }
            // Each node's gradient is handed to its op and freed there: a backward pass holds
            // only the gradients still to be propagated.
            let Some(dy) = g[i].take() else { continue };
            let mut sink = GradSink {
                params,
                grads,
                written: &mut written,
                trainable: &self.trainable,
                per_sample,
            };
            for (input, dx) in ops::backward(self, NodeId(i), dy, &mut sink) {
                self.accumulate(&mut g[input.0], dx);
            }
        }
        for id in params.ids() {
            if self.trainable[id.0] && !written[id.0] {
                grads[params.info(id).range.clone()].fill(0.0);
            }
        }
        NodeGrads { inputs: g, reached }
    }

    /// Adds gradient `d` into `slot` (or stores it there, the first time).
    fn accumulate(&self, slot: &mut Option<Vec<f32>>, d: Vec<f32>) {
        match slot {
            Some(acc) => {
                acc.iter_mut().zip(&d).for_each(|(a, d)| *a += d);
                self.pool.borrow_mut().give(d);
            }
            None => *slot = Some(d),
        }
    }
}

/// Where an op's backward puts parameter gradients: the first write to a parameter stores, later
/// ones (a parameter used twice) add.
pub(crate) struct GradSink<'a> {
    params: &'a ParamStore,
    grads: &'a mut [f32],
    written: &'a mut [bool],
    trainable: &'a [bool],
    /// Write `Σ_n g_n²` (per-sample squares) instead of `Σ_n g_n`.
    pub(crate) per_sample: bool,
}

impl GradSink<'_> {
    pub(crate) fn wants(&self, id: ParamId) -> bool {
        self.trainable[id.0]
    }
    /// Computes a parameter's gradient with `f` (which overwrites its argument) into place.
    pub(crate) fn write(&mut self, id: ParamId, f: impl FnOnce(&mut [f32])) {
        let range = self.params.info(id).range.clone();
        if self.written[id.0] {
            let mut tmp = vec![0.0; range.len()];
            f(&mut tmp);
            self.grads[range]
                .iter_mut()
                .zip(&tmp)
                .for_each(|(a, d)| *a += d);
        } else {
            f(&mut self.grads[range]);
            self.written[id.0] = true;
        }
    }
    /// Two gradients computed by one kernel call (a layer's weight and bias).
    pub(crate) fn write2(
        &mut self,
        a: ParamId,
        b: ParamId,
        f: impl FnOnce(&mut [f32], &mut [f32]),
    ) {
        let (ra, rb) = (
            self.params.info(a).range.clone(),
            self.params.info(b).range.clone(),
        );
        if !self.written[a.0] && !self.written[b.0] && ra.end <= rb.start {
            let (lo, hi) = self.grads.split_at_mut(rb.start);
            f(&mut lo[ra], &mut hi[..rb.len()]);
            self.written[a.0] = true;
            self.written[b.0] = true;
            return;
        }
        let mut ta = vec![0.0; ra.len()];
        let mut tb = vec![0.0; rb.len()];
        f(&mut ta, &mut tb);
        self.write(a, |d| d.copy_from_slice(&ta));
        self.write(b, |d| d.copy_from_slice(&tb));
    }
    pub(crate) fn param(&self, id: ParamId) -> &[f32] {
        self.params.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::Tape;
    use crate::params::{Group, ParamStore};
    use crate::tensor::Tensor;

    /// A training-loop-shaped use (input from `take_buffer`, forward, backward, clear) keeps a
    /// fixed set of buffers: nothing piles up in the pool step after step.
    #[test]
    fn a_reused_tape_keeps_a_fixed_set_of_buffers() {
        let mut p = ParamStore::new();
        let (w, b) = (p.add("w", Group::G5, &[3, 4]), p.add("b", Group::G5, &[3]));
        let mut grads = vec![0.0; p.len()];
        let mut tape = Tape::new(&p, &Group::ALL);
        let mut sizes = Vec::new();
        for step in 0..50 {
            tape.clear();
            sizes.push(tape.pool.borrow().free_buffers());
            let mut x = tape.take_buffer(8);
            x.iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v = (i + step) as f32);
            let x = tape.input(Tensor::new(&[2, 4], x));
            let z = tape.linear(&p, x, w, b);
            let l = tape.softmax_xent(z, &[0, 2]);
            tape.backward(l, &p, &mut grads);
        }
        assert!(sizes[2..].iter().all(|&n| n == sizes[2]), "{sizes:?}");
    }

    /// A trainable parameter that the loss does not reach gets a zero gradient, not the stale
    /// value of an earlier step; a frozen one's entry is left alone.
    #[test]
    fn unreached_trainable_gradients_are_zeroed_and_frozen_ones_left_alone() {
        let mut p = ParamStore::new();
        let (w, b) = (p.add("w", Group::G4, &[2, 2]), p.add("b", Group::G4, &[2]));
        let unused = p.add("unused", Group::G5, &[3]);
        let frozen = p.add("frozen", Group::G1, &[1]);
        let mut grads = vec![9.0; p.len()];
        let mut tape = Tape::new(&p, &[Group::G4, Group::G5]);
        let x = tape.input(Tensor::new(&[1, 2], vec![1.0, 2.0]));
        let z = tape.linear(&p, x, w, b);
        let l = tape.softmax_xent(z, &[0]);
        tape.backward(l, &p, &mut grads);
        assert_eq!(&grads[p.info(unused).range.clone()], &[0.0; 3]);
        assert_eq!(&grads[p.info(frozen).range.clone()], &[9.0]);
        assert!(grads[p.info(w).range.clone()]
            .iter()
            .all(|&g| g != 9.0 && g != 0.0));
    }
}
