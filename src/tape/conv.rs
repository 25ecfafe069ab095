//! The convolution ops of the tape (with or without a bias, any stride and padding; and the fused
//! conv + 2×2 max-pool of the small presets), each forward beside its backward, and the
//! per-sample squared weight gradients the Fisher needs.

use super::ops::Op;
use super::{GradSink, NodeId, Tape};
use crate::params::{ParamId, ParamStore};
use regimebench_kernels as k;

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
        self.conv2d_with(p, x, w, Some(b), stride, pad)
    }

    /// [`Tape::conv2d`] without a bias (a convolution followed by batch norm, whose β plays the
    /// bias's part).
    pub fn conv2d_no_bias(
        &mut self,
        p: &ParamStore,
        x: NodeId,
        w: ParamId,
        stride: usize,
        pad: usize,
    ) -> NodeId {
        self.conv2d_with(p, x, w, None, stride, pad)
    }

    fn conv2d_with(
        &mut self,
        p: &ParamStore,
        x: NodeId,
        w: ParamId,
        b: Option<ParamId>,
        stride: usize,
        pad: usize,
    ) -> NodeId {
        let geom = self.conv_geom(p, x, w, stride, pad);
        let mut y = self.take_buffer(geom.y_len());
        let zeros;
        let bias = match b {
            Some(b) => p.get(b),
            None => {
                zeros = vec![0.0; geom.c_out];
                &zeros
            }
        };
        k::conv2d_fwd(&geom, self.value(x), p.get(w), bias, &mut y);
        let needs =
            self.needs_grad(x) || self.is_trainable(w) || b.is_some_and(|b| self.is_trainable(b));
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
}

/// Whether a layer's weight (and bias, when it has one) get gradients: both or neither.
fn wants(sink: &GradSink, w: ParamId, b: Option<ParamId>) -> bool {
    let (ww, wb) = (sink.wants(w), b.map(|b| sink.wants(b)));
    assert!(
        wb.is_none_or(|wb| wb == ww),
        "a layer's weight and bias are frozen together"
    );
    ww
}

/// Writes a layer's weight and bias gradients computed together by `f(dw, db)`; without a bias,
/// `db` is scratch.
fn write(
    sink: &mut GradSink,
    w: ParamId,
    b: Option<ParamId>,
    c_out: usize,
    f: impl FnOnce(&mut [f32], &mut [f32]),
) {
    match b {
        Some(b) => sink.write2(w, b, f),
        None => sink.write(w, |dw| f(dw, &mut vec![0.0; c_out])),
    }
}

/// The backward of [`Op::Conv2d`]: the layer's gradients through `sink`, and `x`'s if it needs one.
pub(super) fn conv2d_backward(
    tape: &Tape,
    sink: &mut GradSink,
    (x, w, b): (NodeId, ParamId, Option<ParamId>),
    geom: &k::ConvGeom,
    dy: &[f32],
) -> Option<(NodeId, Vec<f32>)> {
    if wants(sink, w, b) {
        let xv = tape.value(x);
        let per_sample = sink.per_sample;
        write(sink, w, b, geom.c_out, |dw, db| {
            if per_sample {
                squares_per_sample(geom, dw, db, |n, g1, dw, db| {
                    let (xs, ys) = (g1.x_len(), g1.y_len());
                    let (xn, dyn_) = (&xv[n * xs..(n + 1) * xs], &dy[n * ys..(n + 1) * ys]);
                    k::conv2d_bwd_weight(g1, xn, dyn_, dw, db)
                })
            } else {
                k::conv2d_bwd_weight(geom, xv, dy, dw, db)
            }
        });
    }
    tape.needs_grad(x).then(|| {
        let mut dx = tape.pool.borrow_mut().take(geom.x_len());
        k::conv2d_bwd_input(geom, dy, sink.param(w), &mut dx);
        (x, dx)
    })
}

/// The backward of [`Op::ConvMaxPool2`].
pub(super) fn conv2d_maxpool2_backward(
    tape: &Tape,
    sink: &mut GradSink,
    (x, w, b): (NodeId, ParamId, ParamId),
    geom: &k::ConvGeom,
    pos: &[u8],
    dy: &[f32],
) -> Option<(NodeId, Vec<f32>)> {
    let wants = wants(sink, w, Some(b));
    let (planes, oh, ow) = (geom.n * geom.c_out, geom.out_h(), geom.out_w());
    let xv = tape.value(x);
    if tape.needs_grad(x) {
        // Both gradients read the whole convolution gradient: unpool it once.
        let mut dconv = tape.pool.borrow_mut().take(geom.y_len());
        k::maxpool2_bwd(planes, oh, ow, dy, pos, &mut dconv);
        if wants {
            let dx = conv2d_backward(tape, sink, (x, w, Some(b)), geom, &dconv);
            tape.pool.borrow_mut().give(dconv);
            return dx;
        }
        let mut dx = tape.pool.borrow_mut().take(geom.x_len());
        k::conv2d_bwd_input(geom, &dconv, sink.param(w), &mut dx);
        tape.pool.borrow_mut().give(dconv);
        return Some((x, dx));
    }
    if wants && sink.per_sample {
        let pooled = geom.c_out * (oh / 2) * (ow / 2);
        sink.write2(w, b, |dw, db| {
            squares_per_sample(geom, dw, db, |n, g1, dw, db| {
                let xs = g1.x_len();
                let at = n * pooled..(n + 1) * pooled;
                let xn = &xv[n * xs..(n + 1) * xs];
                k::conv2d_maxpool2_bwd_weight(g1, xn, &dy[at.clone()], &pos[at], dw, db)
            })
        });
    } else if wants {
        sink.write2(w, b, |dw, db| {
            k::conv2d_maxpool2_bwd_weight(geom, xv, dy, pos, dw, db)
        });
    }
    None
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
