//! The weight and bias gradients of a batch ([`conv2d_bwd_weight`](super::conv2d_bwd_weight)):
//! a partial per chunk of [`WEIGHT_GRAD_CHUNK`] images (im2col + one GEMM per image, or
//! Winograd's), the chunks in parallel, their partials added in chunk order.

use super::im2col::im2col;
use super::scratch::{with_partials, with_scratch};
use super::{check, winograd};
use crate::{sgemm_with, sum, ConvGeom, Isa, Trans};
use rayon::prelude::*;
use std::ops::Range;

/// Images per partial sum in [`conv2d_bwd_weight`](super::conv2d_bwd_weight). A constant so that
/// the reduction order does not depend on the thread count. Eight gives a batch of 64 eight
/// parallel tasks; fewer partials would leave a thread idle, more would cost a `dw`-sized partial
/// each.
pub(super) const WEIGHT_GRAD_CHUNK: usize = 8;

/// [`conv2d_bwd_weight`](super::conv2d_bwd_weight) through `sgemm` on `isa`: per chunk of images,
/// the chunk's partial gradient (see [`chunk_grads`]); the chunks' partials are then added in
/// chunk order.
pub(super) fn bwd_weight_with(
    isa: Isa,
    g: &ConvGeom,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
) {
    bwd_weight_by(isa, g, x, dy, dw, db, chunk_grads_for(g))
}

/// How `g`'s weight gradient takes a chunk's partials: Winograd where it measured faster,
/// otherwise im2col ([`chunk_grads`]).
pub(super) fn chunk_grads_for(g: &ConvGeom) -> ChunkGrads {
    if winograd::faster(g) {
        winograd::chunk_grads
    } else {
        chunk_grads
    }
}

/// The gradient of one chunk of images, as [`chunk_grads`].
type ChunkGrads = fn(Isa, &ConvGeom, &[f32], &[f32], &mut [f32], &mut [f64]);

/// [`bwd_weight_with`] with each chunk's partial gradients from `chunk_grads`.
pub(super) fn bwd_weight_by(
    isa: Isa,
    g: &ConvGeom,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
    chunk_grads: ChunkGrads,
) {
    check(g, x.len(), dw.len(), dy.len(), db.len());
    let (x_img, y_img) = (g.c_in * g.in_plane(), g.c_out * g.out_plane());
    reduce_chunks(g, dw, db, |images, dw, db| {
        let (x, dy) = (of_images(x, x_img, &images), of_images(dy, y_img, &images));
        chunk_grads(isa, g, x, dy, dw, db)
    })
}

/// The part of a batch `v` (`per_image` elements per image) that holds images `images`.
pub(super) fn of_images<'a, T>(v: &'a [T], per_image: usize, images: &Range<usize>) -> &'a [T] {
    &v[images.start * per_image..images.end * per_image]
}

/// The weight gradient `dw` and bias gradient `db` of `g`'s batch (both overwritten) as the sum
/// of per-chunk partials: `chunk(images, dw, db)` overwrites `dw` and `db` (f64) with the partials
/// of the images in `images`, one chunk of [`WEIGHT_GRAD_CHUNK`] consecutive images at a time (in
/// parallel); the partials are then added in chunk order, so the result does not depend on the
/// thread count. A batch of one chunk is written straight into `dw`.
pub(super) fn reduce_chunks(
    g: &ConvGeom,
    dw: &mut [f32],
    db: &mut [f32],
    chunk: impl Fn(Range<usize>, &mut [f32], &mut [f64]) + Sync,
) {
    let mut db64 = vec![0.0f64; g.c_out];
    if g.n == 0 {
        dw.fill(0.0);
    } else if g.n <= WEIGHT_GRAD_CHUNK {
        chunk(0..g.n, dw, &mut db64);
    } else {
        let chunks = g.n.div_ceil(WEIGHT_GRAD_CHUNK);
        let mut part_db = vec![0.0f64; chunks * g.c_out];
        with_partials(chunks * g.w_len(), |part_dw| {
            part_dw
                .par_chunks_mut(g.w_len())
                .zip(part_db.par_chunks_mut(g.c_out))
                .enumerate()
                .for_each(|(i, (dw, db))| {
                    let first = i * WEIGHT_GRAD_CHUNK;
                    chunk(first..g.n.min(first + WEIGHT_GRAD_CHUNK), dw, db)
                });
            dw.fill(0.0);
            for pw in part_dw.chunks_exact(g.w_len()) {
                for (d, p) in dw.iter_mut().zip(pw) {
                    *d += p;
                }
            }
        });
        for pb in part_db.chunks_exact(g.c_out) {
            for (d, p) in db64.iter_mut().zip(pb) {
                *d += p;
            }
        }
    }
    for (d, s) in db.iter_mut().zip(&db64) {
        *d = *s as f32;
    }
}

/// The weight gradient of the images in `x`/`dy` (a whole number of images, at least one) into
/// `dw` (overwritten), and their bias gradient into `db` (overwritten, f64): one GEMM per image,
/// `dw (+)= dy_i · im2col(x_i)ᵀ`, accumulated in image order. An image's `dy` is already its
/// `c_out × out_plane` matrix, so nothing is gathered.
fn chunk_grads(isa: Isa, g: &ConvGeom, x: &[f32], dy: &[f32], dw: &mut [f32], db: &mut [f64]) {
    let (taps, plane) = (g.taps(), g.out_plane());
    bias_grads(g, dy, db);
    with_scratch(taps * plane, |col| {
        let images = x.chunks_exact(g.c_in * g.in_plane());
        for (i, (x, dy)) in images.zip(dy.chunks_exact(g.c_out * plane)).enumerate() {
            im2col(isa, g, x, col, plane);
            let beta = if i == 0 { 0.0 } else { 1.0 };
            let (m, n, k) = (g.c_out, taps, plane);
            sgemm_with(
                isa,
                Trans::N,
                Trans::T,
                m,
                n,
                k,
                1.0,
                dy,
                k,
                col,
                k,
                beta,
                dw,
                n,
            );
        }
    })
}

/// The bias gradient of the images of `dy` (each `c_out` planes) into `db` (overwritten): per
/// channel, each image's plane summed by [`sum::sum`], the images added in order.
pub(super) fn bias_grads(g: &ConvGeom, dy: &[f32], db: &mut [f64]) {
    db.fill(0.0);
    let image = g.c_out * g.out_plane();
    for dy in dy.chunks_exact(image) {
        let planes = sum::Channels::new(dy, g.c_out, g.out_plane(), 0..g.c_out);
        for (d, plane) in db.iter_mut().zip(sum::sum(&planes)) {
            *d += plane;
        }
    }
}
