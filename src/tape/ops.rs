//! The ops of the tape, each forward beside its backward. Shape letters: N batch, C/K channels in/out,
//! H, W spatial, D features in, O features out.

use super::pool::Pool;
use super::{GradSink, NodeId, Tape};
use crate::params::{ParamId, ParamStore};
use regimebench_kernels as k;

pub(crate) enum Op {
    Input,
    /// `y[N,K,H',W'] = conv(x[N,C,H,W], w[K,C,kh,kw]) + b[K]`.
    Conv2d {
        x: NodeId,
        w: ParamId,
        b: ParamId,
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
    /// Convolution with square kernel taken from `w`'s shape, the given stride and zero padding.
    pub fn conv2d(
        &mut self,
        p: &ParamStore,
        x: NodeId,
        w: ParamId,
        b: ParamId,
        stride: usize,
        pad: usize,
    ) -> NodeId {
        let geom = self.conv_geom(p, x, w, stride, pad);
        let mut y = self.take_buffer(geom.y_len());
        k::conv2d_fwd(&geom, self.value(x), p.get(w), p.get(b), &mut y);
        let needs = self.needs_grad(x) || self.is_trainable(w) || self.is_trainable(b);
        let shape = vec![geom.n, geom.c_out, geom.out_h(), geom.out_w()];
        self.push(shape, y, Op::Conv2d { x, w, b, geom }, needs)
    }

    /// `maxpool2(conv2d(x))` as one op: the same values and gradients as [`Tape::conv2d`] then
    /// [`Tape::maxpool2`], bit for bit, without storing the convolution's output (the kernels run
    /// both a chunk of images at a time, in cache).
    pub fn conv2d_maxpool2(
        &mut self,
        p: &ParamStore,
        x: NodeId,
        w: ParamId,
        b: ParamId,
        stride: usize,
        pad: usize,
    ) -> NodeId {
        let geom = self.conv_geom(p, x, w, stride, pad);
        let shape = vec![geom.n, geom.c_out, geom.out_h() / 2, geom.out_w() / 2];
        let len = shape.iter().product();
        let (mut y, mut pos) = (self.take_buffer(len), vec![0; len]);
        k::conv2d_maxpool2_fwd(&geom, self.value(x), p.get(w), p.get(b), &mut y, &mut pos);
        let needs = self.needs_grad(x) || self.is_trainable(w) || self.is_trainable(b);
        let op = Op::ConvMaxPool2 { x, w, b, geom, pos };
        self.push(shape, y, op, needs)
    }

    /// The geometry of a convolution of `x` with `w` (square kernel from `w`'s shape).
    fn conv_geom(
        &self,
        p: &ParamStore,
        x: NodeId,
        w: ParamId,
        stride: usize,
        pad: usize,
    ) -> k::ConvGeom {
        let (xs, ws) = (self.shape(x), &p.info(w).shape);
        match (xs, &ws[..]) {
            (&[n, c_in, h, wd], &[c_out, wc, kh, kw]) if wc == c_in => k::ConvGeom {
                n,
                c_in,
                h,
                w: wd,
                c_out,
                kh,
                kw,
                stride,
                pad,
            },
            _ => panic!("conv2d: input {xs:?} does not fit weights {ws:?}"),
        }
    }

    /// `max(x, 0)`. When `x` is a conv, conv + max-pool, linear or max-pool output, whose backward does not read
    /// its own value, the ReLU takes `x`'s buffer over instead of copying it (`value(x)` is then
    /// empty).
    pub fn relu(&mut self, x: NodeId) -> NodeId {
        let mut y = match self.nodes[x.0].op {
            Op::Conv2d { .. }
            | Op::ConvMaxPool2 { .. }
            | Op::Linear { .. }
            | Op::MaxPool2 { .. } => std::mem::take(&mut self.nodes[x.0].value),
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
            if sink.wants(*w) || sink.wants(*b) {
                assert!(
                    sink.wants(*w) && sink.wants(*b),
                    "a layer's weight and bias are frozen together"
                );
                let x = tape.value(*x);
                if sink.per_sample {
                    sink.write2(*w, *b, |dw, db| {
                        squares_per_sample(geom, dw, db, |n, g1, dw, db| {
                            let (xs, ys) = (g1.x_len(), g1.y_len());
                            let (xn, dyn_) = (&x[n * xs..(n + 1) * xs], &dy[n * ys..(n + 1) * ys]);
                            k::conv2d_bwd_weight(g1, xn, dyn_, dw, db)
                        })
                    });
                } else {
                    sink.write2(*w, *b, |dw, db| k::conv2d_bwd_weight(geom, x, &dy, dw, db));
                }
            }
            if needs(*x) {
                let mut dx = buffer(geom.x_len());
                k::conv2d_bwd_input(geom, &dy, sink.param(*w), &mut dx);
                out.push((*x, dx));
            }
        }
        Op::ConvMaxPool2 { x, w, b, geom, pos } => {
            let wants = sink.wants(*w) || sink.wants(*b);
            assert!(
                !wants || (sink.wants(*w) && sink.wants(*b)),
                "a layer's weight and bias are frozen together"
            );
            let (planes, oh, ow) = (geom.n * geom.c_out, geom.out_h(), geom.out_w());
            if needs(*x) {
                // Both gradients read the whole convolution gradient: unpool it once.
                let mut dconv = buffer(geom.y_len());
                k::maxpool2_bwd(planes, oh, ow, &dy, pos, &mut dconv);
                let xv = tape.value(*x);
                if wants && sink.per_sample {
                    sink.write2(*w, *b, |dw, db| {
                        squares_per_sample(geom, dw, db, |n, g1, dw, db| {
                            let (xs, ys) = (g1.x_len(), g1.y_len());
                            let dc = &dconv[n * ys..(n + 1) * ys];
                            k::conv2d_bwd_weight(g1, &xv[n * xs..(n + 1) * xs], dc, dw, db)
                        })
                    });
                } else if wants {
                    sink.write2(*w, *b, |dw, db| {
                        k::conv2d_bwd_weight(geom, xv, &dconv, dw, db)
                    });
                }
                let mut dx = buffer(geom.x_len());
                k::conv2d_bwd_input(geom, &dconv, sink.param(*w), &mut dx);
                tape.pool.borrow_mut().give(dconv);
                out.push((*x, dx));
            } else if wants && sink.per_sample {
                let xv = tape.value(*x);
                let pooled = geom.c_out * (oh / 2) * (ow / 2);
                sink.write2(*w, *b, |dw, db| {
                    squares_per_sample(geom, dw, db, |n, g1, dw, db| {
                        let xs = g1.x_len();
                        let at = n * pooled..(n + 1) * pooled;
                        let (dyn_, posn) = (&dy[at.clone()], &pos[at]);
                        k::conv2d_maxpool2_bwd_weight(
                            g1,
                            &xv[n * xs..(n + 1) * xs],
                            dyn_,
                            posn,
                            dw,
                            db,
                        )
                    })
                });
            } else if wants {
                sink.write2(*w, *b, |dw, db| {
                    k::conv2d_maxpool2_bwd_weight(geom, tape.value(*x), &dy, pos, dw, db)
                });
            }
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

/// Samples per task of [`squares_per_sample`]: fixed, so the order of the sum does not depend on
/// the thread count.
const SAMPLES_PER_TASK: usize = 4;

/// `Σ_n g_n²` for a layer's weight and bias over the `geom.n` samples of a batch, elementwise:
/// `one(n, g1, dw, db)` writes sample n's gradients for the one-sample geometry `g1`. Groups of
/// [`SAMPLES_PER_TASK`] consecutive samples run in parallel, each summing its squares in sample
/// order; the groups' sums are then added in group order: the same bits for any thread count.
fn squares_per_sample(
    geom: &k::ConvGeom,
    dw: &mut [f32],
    db: &mut [f32],
    one: impl Fn(usize, &k::ConvGeom, &mut [f32], &mut [f32]) + Sync,
) {
    use rayon::prelude::*;
    let g1 = k::ConvGeom { n: 1, ..*geom };
    let samples: Vec<usize> = (0..geom.n).collect();
    let (lw, lb) = (dw.len(), db.len());
    let partial: Vec<(Vec<f32>, Vec<f32>)> = samples
        .par_chunks(SAMPLES_PER_TASK)
        .map(|group| {
            let (mut w1, mut b1) = (vec![0.0; lw], vec![0.0; lb]);
            let (mut sw, mut sb) = (vec![0.0f32; lw], vec![0.0f32; lb]);
            for &n in group {
                one(n, &g1, &mut w1, &mut b1);
                sw.iter_mut().zip(&w1).for_each(|(s, g)| *s += g * g);
                sb.iter_mut().zip(&b1).for_each(|(s, g)| *s += g * g);
            }
            (sw, sb)
        })
        .collect();
    dw.fill(0.0);
    db.fill(0.0);
    for (sw, sb) in &partial {
        dw.iter_mut().zip(sw).for_each(|(s, g)| *s += g);
        db.iter_mut().zip(sb).for_each(|(s, g)| *s += g);
    }
}
