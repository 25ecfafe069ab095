//! The ops a residual network adds to the tape: batch norm (batch or running statistics), the
//! residual add, and global average pooling, each forward beside its backward. The math is in
//! `regimebench_kernels` (`norm.rs`, `pool/average.rs`); running statistics are not the tape's:
//! a training-mode node keeps its batch's statistics ([`Tape::batch_statistics`]) for the network to
//! update its own.

use super::ops::Op;
use super::{GradSink, NodeId, Tape};
use crate::params::{ParamId, ParamStore};
use regimebench_kernels as k;

/// The statistics a batch norm normalises with.
#[derive(Clone, Copy, Debug)]
pub enum BnStats<'a> {
    /// The batch's own (training mode): μ and the biased σ² over (N, H, W).
    Batch,
    /// Fixed running mean and variance (evaluation mode).
    Running { mean: &'a [f32], var: &'a [f32] },
}

/// What a batch-norm node keeps for its backward (and its caller).
pub(crate) struct BnNode {
    pub(crate) x: NodeId,
    pub(crate) gamma: ParamId,
    pub(crate) beta: ParamId,
    pub(crate) shape: k::BnShape,
    pub(crate) mean: Vec<f32>,
    /// The biased variance the node normalised with.
    pub(crate) var: Vec<f32>,
    pub(crate) inv_std: Vec<f32>,
    /// Whether μ and σ² were the batch's (so depend on `x`).
    pub(crate) batch: bool,
}

impl Tape {
    /// `y = γ (x − μ) / √(σ² + ε) + β` per channel of `x` `[N, C, H, W]` (ε = 1e-5, PyTorch's),
    /// with the batch's statistics or running ones.
    pub fn batch_norm(
        &mut self,
        p: &ParamStore,
        x: NodeId,
        gamma: ParamId,
        beta: ParamId,
        stats: BnStats,
    ) -> NodeId {
        let &[n, c, h, w] = self.shape(x) else {
            panic!("batch_norm: expected NCHW, got {:?}", self.shape(x))
        };
        let shape = k::BnShape { n, c, hw: h * w };
        assert!(
            p.get(gamma).len() == c && p.get(beta).len() == c,
            "batch_norm: γ and β must have {c} entries"
        );
        let (mean, var, batch) = match stats {
            BnStats::Batch => {
                let (mut mean, mut var) = (vec![0.0; c], vec![0.0; c]);
                k::batch_norm_stats(&shape, self.value(x), &mut mean, &mut var);
                (mean, var, true)
            }
            BnStats::Running { mean, var } => {
                assert!(
                    mean.len() == c && var.len() == c,
                    "batch_norm: running statistics of {c} channels"
                );
                (mean.to_vec(), var.to_vec(), false)
            }
        };
        let inv_std = k::batch_norm_inv_std(&var, k::BN_EPS);
        let mut y = self.take_buffer(shape.len());
        k::batch_norm_fwd(
            &shape,
            self.value(x),
            &mean,
            &inv_std,
            p.get(gamma),
            p.get(beta),
            &mut y,
        );
        let needs = self.needs_grad(x) || self.is_trainable(gamma) || self.is_trainable(beta);
        let node = BnNode {
            x,
            gamma,
            beta,
            shape,
            mean,
            var,
            inv_std,
            batch,
        };
        self.push(vec![n, c, h, w], y, Op::BatchNorm(Box::new(node)), needs)
    }

    /// Every batch norm node that normalised with its batch's statistics, in tape order: its γ
    /// (which names the layer), its input's shape, μ and the biased σ²: what the running
    /// statistics are updated from.
    pub fn batch_statistics(&self) -> impl Iterator<Item = (ParamId, &k::BnShape, &[f32], &[f32])> {
        self.nodes.iter().filter_map(|node| match &node.op {
            Op::BatchNorm(bn) if bn.batch => Some((bn.gamma, &bn.shape, &bn.mean[..], &bn.var[..])),
            _ => None,
        })
    }

    /// `y = a + b`, same shapes (a residual connection).
    pub fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        assert_eq!(self.shape(a), self.shape(b), "add: shapes differ");
        let mut y = self.take_buffer(self.value(a).len());
        y.copy_from_slice(self.value(a));
        k::add_assign(&mut y, self.value(b));
        let needs = self.needs_grad(a) || self.needs_grad(b);
        let shape = self.shape(a).to_vec();
        self.push(shape, y, Op::Add { a, b }, needs)
    }

    /// `[N, C, H, W] -> [N, C]`: the mean of each plane.
    pub fn global_avg_pool(&mut self, x: NodeId) -> NodeId {
        let &[n, c, h, w] = self.shape(x) else {
            panic!("global_avg_pool: expected NCHW, got {:?}", self.shape(x))
        };
        let mut y = self.take_buffer(n * c);
        k::global_avg_pool_fwd(h * w, self.value(x), &mut y);
        let needs = self.needs_grad(x);
        self.push(vec![n, c], y, Op::GlobalAvgPool { x, hw: h * w }, needs)
    }
}

/// The backward of [`Op::BatchNorm`]. Per-sample squares exist only with running statistics:
/// with the batch's, every sample's output depends on every other sample.
pub(super) fn batch_norm_backward(
    tape: &Tape,
    sink: &mut GradSink,
    bn: &BnNode,
    dy: &[f32],
) -> Option<(NodeId, Vec<f32>)> {
    let (s, x) = (&bn.shape, tape.value(bn.x));
    let wants = sink.wants(bn.gamma);
    assert_eq!(
        wants,
        sink.wants(bn.beta),
        "a batch norm's γ and β are frozen together"
    );
    assert!(
        !(sink.per_sample && bn.batch),
        "per-sample gradients through batch statistics are not defined: run batch norm on running statistics"
    );
    let gamma = sink.param(bn.gamma).to_vec();
    let mut dx = tape
        .needs_grad(bn.x)
        .then(|| tape.pool.borrow_mut().take(s.len()));
    if wants && sink.per_sample {
        sink.write2(bn.gamma, bn.beta, |dg, db| {
            k::batch_norm_bwd_param_squares(s, x, dy, &bn.mean, &bn.inv_std, dg, db)
        });
        if let Some(dx) = dx.as_deref_mut() {
            k::batch_norm_bwd(
                s,
                false,
                x,
                dy,
                &bn.mean,
                &bn.inv_std,
                &gamma,
                None,
                Some(dx),
            );
        }
    } else if wants {
        sink.write2(bn.gamma, bn.beta, |dg, db| {
            k::batch_norm_bwd(
                s,
                bn.batch,
                x,
                dy,
                &bn.mean,
                &bn.inv_std,
                &gamma,
                Some((dg, db)),
                dx.as_deref_mut(),
            )
        });
    } else if let Some(dx) = dx.as_deref_mut() {
        k::batch_norm_bwd(
            s,
            bn.batch,
            x,
            dy,
            &bn.mean,
            &bn.inv_std,
            &gamma,
            None,
            Some(dx),
        );
    }
    dx.map(|dx| (bn.x, dx))
}

/// The backward of [`Op::Add`]: `dy` to both inputs (the one that needs it, or a copy for the
/// second when both do).
pub(super) fn add_backward(
    tape: &Tape,
    a: NodeId,
    b: NodeId,
    dy: Vec<f32>,
) -> Vec<(NodeId, Vec<f32>)> {
    match (tape.needs_grad(a), tape.needs_grad(b)) {
        (true, true) => {
            let mut db = tape.pool.borrow_mut().take(dy.len());
            db.copy_from_slice(&dy);
            vec![(a, dy), (b, db)]
        }
        (true, false) => vec![(a, dy)],
        (false, true) => vec![(b, dy)],
        (false, false) => Vec::new(),
    }
}

/// The backward of [`Op::GlobalAvgPool`].
pub(super) fn global_avg_pool_backward(
    tape: &Tape,
    x: NodeId,
    hw: usize,
    dy: &[f32],
) -> (NodeId, Vec<f32>) {
    let mut dx = tape.pool.borrow_mut().take(dy.len() * hw);
    k::global_avg_pool_bwd(hw, dy, &mut dx);
    (x, dx)
}
