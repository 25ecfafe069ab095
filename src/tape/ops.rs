//! The ops of the tape, each forward beside its backward. Shape letters: N batch, C/K channels in/out,
//! H, W spatial, D features in, O features out.

use super::pool::Pool;
use super::{conv, residual};
use super::{GradSink, NodeId, Tape};
use crate::params::{ParamId, ParamStore};
use regimebench_kernels as k;

pub(crate) enum Op {
    Input,
    /// `y[N,K,H',W'] = conv(x[N,C,H,W], w[K,C,kh,kw]) + b[K]` (no `b`: no bias).
    Conv2d {
        x: NodeId,
        w: ParamId,
        b: Option<ParamId>,
        geom: k::ConvGeom,
    },
    /// `y[N,K,H'/2,W'/2] = maxpool2(conv(x, w) + b)`, fused (the convolution's output is never
    /// stored); `pos` as in [`Op::MaxPool2`].
    ConvMaxPool2 {
        x: NodeId,
        w: ParamId,
        b: ParamId,
        geom: k::ConvGeom,
        pos: Vec<u8>,
    },
    /// `y = max(x, 0)`.
    Relu {
        x: NodeId,
    },
    /// 2×2 max-pool, stride 2, floor; `pos` is each window's maximum (0..4, row-major).
    MaxPool2 {
        x: NodeId,
        pos: Vec<u8>,
    },
    /// `[N, ...] -> [N, D]`, the same buffer.
    Flatten {
        x: NodeId,
    },
    /// `y[N,O] = x[N,D] wᵀ + b`, `w[O,D]` (PyTorch's Linear layout).
    Linear {
        x: NodeId,
        w: ParamId,
        b: ParamId,
    },
    /// Batch norm over the channels of `[N,C,H,W]` ([`residual::BnNode`]).
    BatchNorm(Box<residual::BnNode>),
    /// `y = a + b`.
    Add {
        a: NodeId,
        b: NodeId,
    },
    /// `[N,C,H,W] -> [N,C]`, each plane's mean over its `hw` pixels.
    GlobalAvgPool {
        x: NodeId,
        hw: usize,
    },
    /// Mean softmax cross-entropy of logits `[N,O]` against labels; keeps ∂loss/∂logits.
    SoftmaxXent {
        logits: NodeId,
        dlogits: Vec<f32>,
    },
}

impl Op {
    /// Gives the buffers this op owns back to `pool` (when its tape is cleared).
    pub(super) fn recycle(self, pool: &mut Pool) {
        if let Op::SoftmaxXent { dlogits, .. } = self {
            pool.give(dlogits);
        }
    }
}

impl Tape {
    /// `max(x, 0)`. When `x` is a conv, conv + max-pool, linear, max-pool, batch-norm or add output, whose backward does not read
    /// its own value, the ReLU takes `x`'s buffer over instead of copying it (`value(x)` is then
    /// empty).
    pub fn relu(&mut self, x: NodeId) -> NodeId {
        let mut y = match self.nodes[x.0].op {
            Op::Conv2d { .. }
            | Op::ConvMaxPool2 { .. }
            | Op::Linear { .. }
            | Op::MaxPool2 { .. }
            | Op::BatchNorm(_)
            | Op::Add { .. } => std::mem::take(&mut self.nodes[x.0].value),
            _ => self.value(x).to_vec(),
        };
        k::relu_fwd(&mut y);
        let (shape, needs) = (self.shape(x).to_vec(), self.needs_grad(x));
        self.push(shape, y, Op::Relu { x }, needs)
    }

    pub fn maxpool2(&mut self, x: NodeId) -> NodeId {
        let [n, c, h, w] = self.shape(x)[..] else {
            panic!("maxpool2: expected NCHW, got {:?}", self.shape(x))
        };
        let len = n * c * (h / 2) * (w / 2);
        let (mut y, mut pos) = (self.take_buffer(len), vec![0; len]);
        k::maxpool2_fwd(n * c, h, w, self.value(x), &mut y, &mut pos);
        let needs = self.needs_grad(x);
        self.push(vec![n, c, h / 2, w / 2], y, Op::MaxPool2 { x, pos }, needs)
    }

    pub fn flatten(&mut self, x: NodeId) -> NodeId {
        let n = self.shape(x)[0];
        let d = self.value(x).len() / n.max(1);
        let mut value = self.take_buffer(n * d);
        value.copy_from_slice(self.value(x));
        let needs = self.needs_grad(x);
        self.push(vec![n, d], value, Op::Flatten { x }, needs)
    }

    pub fn linear(&mut self, p: &ParamStore, x: NodeId, w: ParamId, b: ParamId) -> NodeId {
        let (xs, ws) = (self.shape(x), &p.info(w).shape);
        let (n, d, o) = match (xs, &ws[..]) {
            (&[n, d], &[o, wd]) if wd == d => (n, d, o),
            _ => panic!("linear: input {xs:?} does not fit weights {ws:?}"),
        };
        let mut y = self.take_buffer(n * o);
        k::sgemm(
            k::Trans::N,
            k::Trans::T,
            n,
            o,
            d,
            1.0,
            self.value(x),
            d,
            p.get(w),
            d,
            0.0,
            &mut y,
            o,
        );
        k::add_bias_rows(&mut y, p.get(b));
        let needs = self.needs_grad(x) || self.is_trainable(w) || self.is_trainable(b);
        self.push(vec![n, o], y, Op::Linear { x, w, b }, needs)
    }

    /// Mean cross-entropy of `logits` `[N,O]` against `labels` (each `< O`): a scalar node.
    pub fn softmax_xent(&mut self, logits: NodeId, labels: &[u32]) -> NodeId {
        let [n, o] = self.shape(logits)[..] else {
            panic!("softmax_xent: expected [N,O] logits")
        };
        assert_eq!(
            labels.len(),
            n,
            "softmax_xent: {n} rows but {} labels",
            labels.len()
        );
        let mut dlogits = self.take_buffer(n * o);
        let loss = k::softmax_xent(self.value(logits), labels, o, &mut dlogits);
        let mut value = self.take_buffer(1);
        value[0] = loss;
        let needs = self.needs_grad(logits);
        self.push(vec![], value, Op::SoftmaxXent { logits, dlogits }, needs)
    }
}

/// The backward of node `id`: writes parameter gradients through `sink` and returns the
/// gradients of the inputs that need one.
pub(super) fn backward(
    tape: &Tape,
    id: NodeId,
    mut dy: Vec<f32>,
    sink: &mut GradSink,
) -> Vec<(NodeId, Vec<f32>)> {
    let needs = |x: NodeId| tape.needs_grad(x);
    let buffer = |len| tape.pool.borrow_mut().take(len);
    let mut out = Vec::new();
    match &tape.nodes[id.0].op {
        Op::Input => {}
        Op::Conv2d { x, w, b, geom } => {
            out.extend(conv::conv2d_backward(tape, sink, (*x, *w, *b), geom, &dy))
        }
        Op::ConvMaxPool2 { x, w, b, geom, pos } => out.extend(conv::conv2d_maxpool2_backward(
            tape,
            sink,
            (*x, *w, *b),
            geom,
            pos,
            &dy,
        )),
        Op::BatchNorm(bn) => out.extend(residual::batch_norm_backward(tape, sink, bn, &dy)),
        Op::Add { a, b } => return residual::add_backward(tape, *a, *b, dy),
        Op::GlobalAvgPool { x, hw } => {
            out.push(residual::global_avg_pool_backward(tape, *x, *hw, &dy))
        }
        // ReLU and flatten pass `dy` on as their input's gradient, so they return here.
        Op::Relu { x } => {
            k::relu_bwd(&tape.nodes[id.0].value, &mut dy);
            return vec![(*x, dy)];
        }
        Op::MaxPool2 { x, pos } => {
            let &[n, c, h, w] = tape.shape(*x) else {
                unreachable!("checked in forward")
            };
            let mut dx = buffer(n * c * h * w);
            k::maxpool2_bwd(n * c, h, w, &dy, pos, &mut dx);
            out.push((*x, dx));
        }
        Op::Flatten { x } => return vec![(*x, dy)],
        Op::Linear { x, w, b } => {
            let [n, d] = tape.shape(*x)[..] else {
                unreachable!("checked in forward")
            };
            let o = dy.len() / n;
            if sink.wants(*w) || sink.wants(*b) {
                assert!(
                    sink.wants(*w) && sink.wants(*b),
                    "a layer's weight and bias are frozen together"
                );
                // dw[O,D] = dyᵀ[O,N] x[N,D];  db[O] = Σ_n dy[n,:]. Per sample, dw_n = dy_n x_nᵀ,
                // so Σ_n dw_n² = (dy²)ᵀ (x²) elementwise-squared operands: one GEMM, and
                // Σ_n db_n² = Σ_n dy[n,:]².
                if sink.per_sample {
                    let sq = |v: &[f32]| -> Vec<f32> {
                        let mut out = buffer(v.len());
                        out.iter_mut().zip(v).for_each(|(o, a)| *o = a * a);
                        out
                    };
                    let (dy2, x2) = (sq(&dy), sq(tape.value(*x)));
                    sink.write2(*w, *b, |dw, db| {
                        k::sgemm(
                            k::Trans::T,
                            k::Trans::N,
                            o,
                            d,
                            n,
                            1.0,
                            &dy2,
                            o,
                            &x2,
                            d,
                            0.0,
                            dw,
                            d,
                        );
                        k::sum_rows(&dy2, db);
                    });
                    let mut pool = tape.pool.borrow_mut();
                    pool.give(dy2);
                    pool.give(x2);
                } else {
                    sink.write2(*w, *b, |dw, db| {
                        k::sgemm(
                            k::Trans::T,
                            k::Trans::N,
                            o,
                            d,
                            n,
                            1.0,
                            &dy,
                            o,
                            tape.value(*x),
                            d,
                            0.0,
                            dw,
                            d,
                        );
                        k::sum_rows(&dy, db);
                    });
                }
            }
            if needs(*x) {
                // dx[N,D] = dy[N,O] w[O,D]
                let mut dx = buffer(n * d);
                k::sgemm(
                    k::Trans::N,
                    k::Trans::N,
                    n,
                    d,
                    o,
                    1.0,
                    &dy,
                    o,
                    sink.param(*w),
                    d,
                    0.0,
                    &mut dx,
                    d,
                );
                out.push((*x, dx));
            }
        }
        Op::SoftmaxXent { logits, dlogits } => {
            let mut dx = buffer(dlogits.len());
            dx.iter_mut().zip(dlogits).for_each(|(d, g)| *d = g * dy[0]);
            out.push((*logits, dx));
        }
    }
    tape.pool.borrow_mut().give(dy);
    // Only inputs that need a gradient are returned: nothing flows into a frozen prefix.
    out.retain(|(x, _)| needs(*x));
    out
}
