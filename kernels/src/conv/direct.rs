//! Direct 3×3 convolution (stride 1, pad 1) for layers with few input channels, in AVX2 + FMA
//! intrinsics: the forward of a first layer (1 or 3 input channels), where im2col + GEMM would
//! write and pack 9·c_in rows per output pixel to multiply them by a K of 9 or 27.
//!
//! `y[o][i][j] = b[o] + Σ_{c,u,v} w[o][c][u][v] · x[c][i+u−1][j+v−1]`, summed with FMAs in
//! `(c, u, v)` order from the bias, per output pixel, in vectors of 8 adjacent `j`, from a
//! zero-padded copy of the image (`pad_images`), so every tap's load is in bounds and reads zero
//! in the padding. Blocks of up to 4 output channels × 16 (or 8) columns keep 8 accumulators in
//! registers; a row's last block is moved back to end at the row's end (the shared columns get
//! the same bits twice). Each output is computed in one fixed order, whatever the threads: bit-identical for any split.

use crate::steps::overlapping_steps;
use crate::ConvGeom;
use std::arch::x86_64::*;

/// The most input channels the direct forward serves (the protocol's first layers have 1 and 3);
/// see `super::direct_serves`.
pub(super) const MAX_C_IN: usize = 4;

/// The padded row length: a column of padding on each side.
fn padded_width(w: usize) -> usize {
    w + 2
}

/// Floats of one image's padded copy.
pub(super) fn padded_len(g: &ConvGeom) -> usize {
    g.c_in * (g.h + 2) * padded_width(g.w)
}

/// Writes the padded copies of the images `x` (each `c_in × h × w`) into `xp` (each
/// [`padded_len`]): zeros, then input row `r` of each plane at column 1 of padded row `r + 1`.
pub(super) fn pad_images(g: &ConvGeom, x: &[f32], xp: &mut [f32]) {
    let pw = padded_width(g.w);
    xp.fill(0.0);
    for (plane, padded) in x
        .chunks_exact(g.in_plane())
        .zip(xp.chunks_exact_mut((g.h + 2) * pw))
    {
        for (row, dst) in plane
            .chunks_exact(g.w)
            .zip(padded[pw..].chunks_exact_mut(pw))
        {
            dst[1..=g.w].copy_from_slice(row);
        }
    }
}

/// Forward of one image: `xp` its padded copy, `y` its output (`c_out × h × w`, overwritten).
///
/// # Safety
/// The CPU supports AVX2 and FMA; `g.w ≥ 8`, `g` is 3×3, stride 1, pad 1.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn fwd_image(g: &ConvGeom, xp: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    assert!(g.w >= 8 && xp.len() == padded_len(g) && y.len() == g.c_out * g.out_plane());
    let mut o = 0;
    while o < g.c_out {
        let block = (g.c_out - o).min(4);
        // SAFETY: forwarded; the block's channels exist.
        unsafe {
            match (block, g.w >= 16) {
                (4, true) => fwd_block::<4, 2>(g, xp, w, b, o, y),
                (4, false) => fwd_block::<4, 1>(g, xp, w, b, o, y),
                (3, true) => fwd_block::<3, 2>(g, xp, w, b, o, y),
                (3, false) => fwd_block::<3, 1>(g, xp, w, b, o, y),
                (2, true) => fwd_block::<2, 2>(g, xp, w, b, o, y),
                (2, false) => fwd_block::<2, 1>(g, xp, w, b, o, y),
                (_, true) => fwd_block::<1, 2>(g, xp, w, b, o, y),
                (_, false) => fwd_block::<1, 1>(g, xp, w, b, o, y),
            }
        }
        o += block;
    }
}

/// Output channels `o0 .. o0 + OB` of one image, `8·NC` columns per block.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn fwd_block<const OB: usize, const NC: usize>(
    g: &ConvGeom,
    xp: &[f32],
    w: &[f32],
    b: &[f32],
    o0: usize,
    y: &mut [f32],
) {
    let (pw, ph, plane) = (padded_width(g.w), g.h + 2, g.out_plane());
    for i in 0..g.h {
        for j in overlapping_steps(g.w, 8 * NC) {
            let mut acc = [[_mm256_setzero_ps(); NC]; OB];
            for (q, acc) in acc.iter_mut().enumerate() {
                *acc = [_mm256_set1_ps(b[o0 + q]); NC];
            }
            for c in 0..g.c_in {
                for u in 0..3 {
                    let row = &xp[(c * ph + i + u) * pw + j..][..8 * NC + 2];
                    for v in 0..3 {
                        let mut xs = [_mm256_setzero_ps(); NC];
                        for (k, xs) in xs.iter_mut().enumerate() {
                            // SAFETY: `row` holds 8·NC + 2 floats; k·8 + v + 8 ≤ 8·NC + 2.
                            *xs = unsafe { _mm256_loadu_ps(row[8 * k + v..][..8].as_ptr()) };
                        }
                        for (q, acc) in acc.iter_mut().enumerate() {
                            let wq = _mm256_set1_ps(w[((o0 + q) * g.c_in + c) * 9 + u * 3 + v]);
                            for (a, &x) in acc.iter_mut().zip(&xs) {
                                *a = _mm256_fmadd_ps(wq, x, *a);
                            }
                        }
                    }
                }
            }
            for (q, acc) in acc.iter().enumerate() {
                let out = &mut y[(o0 + q) * plane + i * g.w + j..][..8 * NC];
                for (k, &a) in acc.iter().enumerate() {
                    // SAFETY: `out` holds 8·NC floats.
                    unsafe { _mm256_storeu_ps(out[8 * k..][..8].as_mut_ptr(), a) };
                }
            }
        }
    }
}
