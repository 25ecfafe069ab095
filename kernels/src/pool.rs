//! 2×2 max-pooling, stride 2, floor (a 7×7 plane pools to 3×3): forward with the position of
//! each window's maximum, and the backward that routes each gradient to that position.
//!
//! A window's position is 0 (top left), 1 (top right), 2 (bottom left) or 3 (bottom right): one
//! byte per output instead of an index into `x`, so the backward knows every `dx` element it
//! writes and overwrites `dx` whole (no zeroing pass, no scatter). Both passes split over planes
//! and compute each window alone, so any split gives the same bits. On the AVX2 paths a plane's
//! rows go through the intrinsics of `pool/avx2.rs` (8 or 4 windows per step); the portable path
//! runs the same window rule one window at a time.

mod average;
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(test)]
mod tests;

use crate::{active_isa, Isa};
pub use average::{global_avg_pool_bwd, global_avg_pool_fwd};
use rayon::prelude::*;

/// Outputs per rayon task: below this a task costs more to schedule than to run.
const MIN_OUTPUTS_PER_TASK: usize = 4096;

/// Pools `planes` planes of `h×w` from `x` into `y` (`planes × h/2 × w/2`), recording in `pos`
/// the position (0..4, row-major) of each window's first maximum in row-major order (a NaN is
/// never greater, so it wins only in the first position). Overwrites `y` and `pos`.
///
/// # Panics
/// When a slice length does not match the shape.
pub fn maxpool2_fwd(planes: usize, h: usize, w: usize, x: &[f32], y: &mut [f32], pos: &mut [u8]) {
    let out_plane = (h / 2) * (w / 2);
    assert_eq!(
        x.len(),
        planes * h * w,
        "maxpool2_fwd: x length for {planes}×{h}×{w}"
    );
    assert_eq!(y.len(), planes * out_plane, "maxpool2_fwd: y length");
    assert_eq!(pos.len(), y.len(), "maxpool2_fwd: pos length");
    if out_plane == 0 {
        return;
    }
    fwd_with(active_isa(), (h, w), x, y, pos)
}

/// [`maxpool2_fwd`] on `isa`'s row kernels, after its checks; `out_plane > 0`.
pub(crate) fn fwd_with(isa: Isa, (h, w): (usize, usize), x: &[f32], y: &mut [f32], pos: &mut [u8]) {
    let out_plane = (h / 2) * (w / 2);
    y.par_chunks_mut(out_plane)
        .zip(pos.par_chunks_mut(out_plane))
        .zip(x.par_chunks(h * w))
        .with_min_len(MIN_OUTPUTS_PER_TASK.div_ceil(out_plane))
        .for_each(|((y, pos), x)| {
            #[cfg(target_arch = "x86_64")]
            if isa != Isa::Portable {
                // SAFETY: the Avx2Fma and Avx512 paths are active only on CPUs with AVX2.
                return unsafe { avx2::pool_plane(x, w, y, pos) };
            }
            let _ = isa; // read above on x86_64 only
            let rows = y.chunks_exact_mut(w / 2).zip(pos.chunks_exact_mut(w / 2));
            for ((y, pos), pair) in rows.zip(x.chunks_exact(2 * w)) {
                let (top, bottom) = pair.split_at(w);
                for (j, (y, pos)) in y.iter_mut().zip(pos).enumerate() {
                    let (t, b) = (&top[2 * j..], &bottom[2 * j..]);
                    (*y, *pos) = window(t[0], t[1], b[0], b[1]);
                }
            }
        });
}

/// The maximum of one window (top row `t0 t1`, bottom row `b0 b1`) and its position: the first
/// maximum in row-major order. The first of each pair unless the second is strictly greater,
/// then the bottom pair's only if strictly greater; a NaN that is not first must lose, so a NaN
/// `b0` yields to `b1`. Selects, not branches, so that blocks of windows vectorise.
#[inline(always)]
fn window(t0: f32, t1: f32, b0: f32, b1: f32) -> (f32, u8) {
    let t_right = t1 > t0;
    let t_max = if t_right { t1 } else { t0 };
    let b_right = b1 > b0 || b0.is_nan();
    let b_max = if b_right { b1 } else { b0 };
    let bottom_wins = b_max > t_max;
    let right = if bottom_wins { b_right } else { t_right };
    (
        if bottom_wins { b_max } else { t_max },
        (u8::from(bottom_wins) << 1) | u8::from(right),
    )
}

/// `dx = ∂L/∂x` from `dy = ∂L/∂y` and the forward's `pos`: each window's `dy` goes to its
/// maximum, every other element of `dx` (the window's others, and the last row or column of an
/// odd plane) is zero. Overwrites `dx`.
///
/// # Panics
/// When a slice length does not match the shape, or a position is not below 4.
pub fn maxpool2_bwd(planes: usize, h: usize, w: usize, dy: &[f32], pos: &[u8], dx: &mut [f32]) {
    let out_plane = (h / 2) * (w / 2);
    assert_eq!(
        dx.len(),
        planes * h * w,
        "maxpool2_bwd: dx length for {planes}×{h}×{w}"
    );
    assert_eq!(dy.len(), planes * out_plane, "maxpool2_bwd: dy length");
    assert_eq!(pos.len(), dy.len(), "maxpool2_bwd: pos length");
    check_positions("maxpool2_bwd", pos);
    if out_plane == 0 {
        dx.fill(0.0);
        return;
    }
    bwd_with(active_isa(), (h, w), dy, pos, dx)
}

/// Panics, naming `caller`, when a window position is not below 4. One OR over all positions (it
/// vectorises; an early-exit `all` does not): every position is below 4 exactly when no bit above
/// the lowest two is set anywhere.
pub(crate) fn check_positions(caller: &str, pos: &[u8]) {
    assert!(
        pos.iter().fold(0, |bits, &p| bits | p) < 4,
        "{caller}: a window position is not in 0..4"
    );
}

/// [`maxpool2_bwd`] on `isa`'s row kernels, after its checks; `out_plane > 0`.
pub(crate) fn bwd_with(isa: Isa, (h, w): (usize, usize), dy: &[f32], pos: &[u8], dx: &mut [f32]) {
    let out_plane = (h / 2) * (w / 2);
    dx.par_chunks_mut(h * w)
        .zip(dy.par_chunks(out_plane))
        .zip(pos.par_chunks(out_plane))
        .with_min_len(MIN_OUTPUTS_PER_TASK.div_ceil(out_plane))
        .for_each(|((dx, dy), pos)| {
            if w / 2 < NARROW {
                return unpool_narrow(dy, pos, w, dx);
            }
            #[cfg(target_arch = "x86_64")]
            if isa != Isa::Portable {
                // SAFETY: the Avx2Fma and Avx512 paths are active only on CPUs with AVX2.
                return unsafe { avx2::unpool_plane(dy, pos, w, dx) };
            }
            let _ = isa; // read above on x86_64 only
            unpool_plane(dy, pos, w, dx)
        });
}

/// Rows of fewer windows than this take [`unpool_narrow`] in the backward: too short for the AVX2
/// steps, and a select per element costs more there than zeroing the plane first.
/// Measured on 64×64 planes of 7×7 (`cargo bench --bench conv -- small-g3/maxpool2_bwd`, one
/// thread): 183 µs with a select per element, 81 µs this way.
const NARROW: usize = 4;

/// One plane of [`maxpool2_bwd`] with narrow rows (any path): the plane zeroed, then each
/// window's gradient stored at its maximum. The same values as [`unpool_plane`].
fn unpool_narrow(dy: &[f32], pos: &[u8], w: usize, dx: &mut [f32]) {
    dx.fill(0.0);
    let ow = w / 2;
    for (k, (&d, &p)) in dy.iter().zip(pos).enumerate() {
        let (row, col) = (
            2 * (k / ow) + usize::from(p >> 1),
            2 * (k % ow) + usize::from(p & 1),
        );
        dx[row * w + col] = d;
    }
}

/// One plane of [`maxpool2_bwd`], portable.
fn unpool_plane(dy: &[f32], pos: &[u8], w: usize, dx: &mut [f32]) {
    let ow = w / 2;
    let (pairs, odd_row) = dx.split_at_mut(dy.len() / ow * 2 * w);
    odd_row.fill(0.0);
    let rows = dy.chunks_exact(ow).zip(pos.chunks_exact(ow));
    for ((dy, pos), pair) in rows.zip(pairs.chunks_exact_mut(2 * w)) {
        let (top, bottom) = pair.split_at_mut(w);
        top[2 * ow..].fill(0.0);
        bottom[2 * ow..].fill(0.0);
        let windows = top.chunks_exact_mut(2).zip(bottom.chunks_exact_mut(2));
        for ((&d, &p), (t, b)) in dy.iter().zip(pos).zip(windows) {
            let at = |q: u8| if p == q { d } else { 0.0 };
            (t[0], t[1], b[0], b[1]) = (at(0), at(1), at(2), at(3));
        }
    }
}
