//! A convolution followed by a 2×2 max-pool, computed a chunk of images at a time (at least
//! [`WEIGHT_GRAD_CHUNK`], whole groups of the convolution's GEMMs) so that the convolution's output, four times the size of the pooled one, stays in the
//! cache between the two: the forward convolves a chunk into a per-thread buffer and pools it from
//! there; the weight gradient unpools a chunk's gradient into that buffer and takes the chunk's
//! partial gradient from it. The unfused ops write the whole batch's convolution output (3.2 MB
//! on the `small` preset's first layer) and read it back in each direction.
//!
//! Same bits as the unfused ops: a chunk's convolution gives each output the operations the
//! whole batch's does (per image, or per GEMM element with the same depth order), the pool works
//! window by window, and the weight gradient's chunks are [`conv2d_bwd_weight`]'s own, each with
//! the same partial-gradient function on the same `dy` values, added in the same order.
//! `conv/tests.rs` checks it on every path.
//!
//! [`conv2d_bwd_weight`]: super::conv2d_bwd_weight

#[cfg(test)]
mod tests;

use super::scratch::with_conv_out;
use super::weight_grad::{chunk_grads_for, of_images, reduce_chunks, WEIGHT_GRAD_CHUNK};
use super::{check, fwd_group, fwd_with};
use crate::pool::{self, check_positions};
use crate::{active_isa, ConvGeom, Isa};
use rayon::prelude::*;

/// `y = maxpool2(conv(x, w) + b)` with each window's position in `pos`, as [`super::conv2d_fwd`]
/// then [`crate::maxpool2_fwd`] on its output. Overwrites `y` and `pos`
/// (`n × c_out × ⌊out_h/2⌋ × ⌊out_w/2⌋`).
///
/// # Panics
/// When a slice length does not match `g`, or `g` is degenerate (as [`super::conv2d_fwd`]).
pub fn conv2d_maxpool2_fwd(
    g: &ConvGeom,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    y: &mut [f32],
    pos: &mut [u8],
) {
    fwd_pooled_with(active_isa(), g, x, w, b, y, pos)
}

/// `dw`, `db` of [`conv2d_maxpool2_fwd`]'s convolution from the pooled output's gradient `dy` and
/// the forward's `pos`, as [`crate::maxpool2_bwd`] then [`super::conv2d_bwd_weight`]. Overwrites
/// both; `db` is summed in f64.
///
/// # Panics
/// As [`conv2d_maxpool2_fwd`], and when a position is not below 4.
pub fn conv2d_maxpool2_bwd_weight(
    g: &ConvGeom,
    x: &[f32],
    dy: &[f32],
    pos: &[u8],
    dw: &mut [f32],
    db: &mut [f32],
) {
    bwd_weight_pooled_with(active_isa(), g, x, dy, pos, dw, db)
}

/// Floats of one image's pooled output.
fn pooled_img(g: &ConvGeom) -> usize {
    g.c_out * (g.out_h() / 2) * (g.out_w() / 2)
}

/// The pooled output's length and the contract of the two entry points.
fn check_pooled(g: &ConvGeom, x: usize, w: usize, b: usize, y: usize, pos: usize) {
    check(g, x, w, g.y_len(), b);
    assert_eq!(
        (y, pos),
        (g.n * pooled_img(g), g.n * pooled_img(g)),
        "conv2d_maxpool2: (pooled, positions) lengths for {g:?}"
    );
}

/// [`conv2d_maxpool2_fwd`] on `isa`.
pub(super) fn fwd_pooled_with(
    isa: Isa,
    g: &ConvGeom,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    y: &mut [f32],
    pos: &mut [u8],
) {
    check_pooled(g, x.len(), w.len(), b.len(), y.len(), pos.len());
    let (x_img, pooled) = (g.c_in * g.in_plane(), pooled_img(g));
    if pooled == 0 {
        return;
    }
    // Whole groups of the convolution per chunk: a chunk that cut one would leave a narrow GEMM.
    let group = fwd_group(isa, g);
    let images = group * WEIGHT_GRAD_CHUNK.div_ceil(group);
    y.par_chunks_mut(images * pooled)
        .zip(pos.par_chunks_mut(images * pooled))
        .zip(x.par_chunks(images * x_img))
        .for_each(|((y, pos), x)| {
            let chunk = ConvGeom {
                n: x.len() / x_img,
                ..*g
            };
            with_conv_out(chunk.y_len(), |out| {
                fwd_with(isa, &chunk, x, w, b, out);
                pool::fwd_with(isa, (g.out_h(), g.out_w()), out, y, pos)
            })
        });
}

/// [`conv2d_maxpool2_bwd_weight`] on `isa`.
pub(super) fn bwd_weight_pooled_with(
    isa: Isa,
    g: &ConvGeom,
    x: &[f32],
    dy: &[f32],
    pos: &[u8],
    dw: &mut [f32],
    db: &mut [f32],
) {
    check_pooled(g, x.len(), dw.len(), db.len(), dy.len(), pos.len());
    check_positions("conv2d_maxpool2_bwd_weight", pos);
    let chunk_grads = chunk_grads_for(g);
    let (x_img, y_img, pooled) = (
        g.c_in * g.in_plane(),
        g.c_out * g.out_plane(),
        pooled_img(g),
    );
    reduce_chunks(g, dw, db, |images, dw, db| {
        let x = of_images(x, x_img, &images);
        let (dy, pos) = (
            of_images(dy, pooled, &images),
            of_images(pos, pooled, &images),
        );
        with_conv_out(images.len() * y_img, |dconv| {
            if pooled == 0 {
                dconv.fill(0.0);
            } else {
                pool::bwd_with(isa, (g.out_h(), g.out_w()), dy, pos, dconv);
            }
            chunk_grads(isa, g, x, dconv, dw, db)
        })
    })
}
