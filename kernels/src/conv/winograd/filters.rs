//! The kernel-shaped transforms: the weight transform `G g Gᵀ` into `U[ξ]` ([`weights`]) and
//! the weight gradient's output transform `Gᵀ S G` from `S[ξ]` ([`kernel_grads`]), [`LANES`]
//! kernels at a time (see the parent module).

use super::transform::{two_d, Gt, Lanes, G};
use super::{LANES, POINTS};
use crate::gemm::Vector;
#[cfg(target_arch = "x86_64")]
use crate::gemm::Ymm;
use crate::{ConvGeom, Isa};
use std::array::from_fn;
use wide::f32x8;

/// The transformed weights `U[ξ][o][c] = (G w_oc Gᵀ)_ξ` (`c_out × c_in` per ξ) of OIHW 3×3
/// weights `w`; when `flip`, those of the backward-data convolution instead,
/// `U[ξ][c][o] = (G w'_co Gᵀ)_ξ` with `w'_co[u][v] = w[o][c][2−u][2−v]` (`c_in × c_out` per ξ).
/// [`per_point`] floats per ξ.
pub(super) fn weights(isa: Isa, g: &ConvGeom, w: &[f32], flip: bool) -> Vec<f32> {
    let row = per_point(g);
    // The kernels tap by tap, `taps[tap·row + at]`, `at` the kernel's position in each `U_ξ`
    // (zero past the last), so that the transform runs on LANES kernels at once. Written tap by
    // tap, in order (kernel by kernel, the nine rows' stores went to nine streams `row` apart).
    let mut taps = vec![0.0; 9 * row];
    let (rows_u, cols_u) = if flip {
        (g.c_in, g.c_out)
    } else {
        (g.c_out, g.c_in)
    };
    for (tap, dst) in taps.chunks_exact_mut(row).enumerate() {
        let tap = if flip { 8 - tap } else { tap };
        for (r, dst) in dst.chunks_exact_mut(cols_u).take(rows_u).enumerate() {
            for (col, d) in dst.iter_mut().enumerate() {
                // U's row r, column col holds the kernel (o, c) = (r, col), or (col, r) when
                // flipped.
                let (o, c) = if flip { (col, r) } else { (r, col) };
                *d = w[(o * g.c_in + c) * 9 + tap];
            }
        }
    }
    let mut u = vec![0.0; POINTS * row];
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable {
        // SAFETY: the Avx2Fma and Avx512 paths run only on CPUs with AVX2 and FMA.
        unsafe { filters_avx2(&taps, &mut u, row) };
        return u;
    }
    // SAFETY: `f32x8` needs no CPU feature.
    unsafe { filters_body::<f32x8>(&taps, &mut u, row) };
    u
}

/// Floats per transform-domain point ξ of the kernel-shaped matrices `U` (from [`weights`]) and
/// `S` (in [`chunk_grads`](super::chunk_grads)): one per kernel, rounded up to whole vectors of
/// [`LANES`].
pub(super) fn per_point(g: &ConvGeom) -> usize {
    (g.c_out * g.c_in).next_multiple_of(LANES)
}

/// [`filters_body`] on ymm vectors, compiled with AVX2 and FMA.
///
/// # Safety
/// The CPU supports AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn filters_avx2(taps: &[f32], u: &mut [f32], row: usize) {
    // SAFETY: this function's contract.
    unsafe { filters_body::<Ymm>(taps, u, row) }
}

/// `G k Gᵀ` of the kernels `k` stored tap by tap in `taps` (rows of `row` floats, a multiple of
/// [`LANES`]), result ξ of every kernel into row ξ of `u`, [`LANES`] kernels at a time.
///
/// # Safety
/// The CPU supports `V`.
#[inline(always)]
unsafe fn filters_body<V: Vector>(taps: &[f32], u: &mut [f32], row: usize) {
    assert!(row.is_multiple_of(LANES) && taps.len() >= 9 * row && u.len() >= POINTS * row);
    for i in (0..row).step_by(LANES) {
        let k: [[Lanes<V>; 3]; 3] = from_fn(|a| {
            from_fn(|b| {
                // SAFETY: `(3a + b)·row + i + LANES ≤ 9·row`, see the assert; the CPU
                // supports `V`.
                unsafe { Lanes::load(taps[(3 * a + b) * row + i..].as_ptr()) }
            })
        });
        for (xi, t) in two_d::<_, G, 3, 4>(k).iter().flatten().enumerate() {
            // SAFETY: `ξ·row + i + LANES ≤ 16·row`, see the assert; the CPU supports `V`.
            unsafe { t.0.store(u[xi * row + i..].as_mut_ptr()) };
        }
    }
}

/// `dw = Gᵀ S G` of every kernel (o, c) (OIHW, overwritten), from `S_ξ[o][c]` at
/// `s[ξ·per_point + o·c_in + c]` (`per_point` as [`per_point`]: the kernel count rounded up to a
/// multiple of [`LANES`]).
pub(super) fn kernel_grads(isa: Isa, s: &[f32], per_point: usize, dw: &mut [f32]) {
    assert!(dw.len().is_multiple_of(9) && per_point == (dw.len() / 9).next_multiple_of(LANES));
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable {
        // SAFETY: the Avx2Fma and Avx512 paths run only on CPUs with AVX2 and FMA.
        return unsafe { kernel_grads_avx2(s, per_point, dw) };
    }
    // SAFETY: `f32x8` needs no CPU feature.
    unsafe { kernel_grads_body::<f32x8>(s, per_point, dw) }
}

/// [`kernel_grads_body`] on ymm vectors, compiled with AVX2 and FMA.
///
/// # Safety
/// The CPU supports AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_grads_avx2(s: &[f32], per_point: usize, dw: &mut [f32]) {
    // SAFETY: this function's contract.
    unsafe { kernel_grads_body::<Ymm>(s, per_point, dw) }
}

/// See [`kernel_grads`]: [`LANES`] kernels at a time (the rows of `S` are read a vector at a
/// time, `Gᵀ S G` runs on vectors, and its nine results go out kernel by kernel).
///
/// # Safety
/// The CPU supports `V`.
#[inline(always)]
unsafe fn kernel_grads_body<V: Vector>(s: &[f32], per_point: usize, dw: &mut [f32]) {
    assert!(per_point.is_multiple_of(LANES) && s.len() >= POINTS * per_point);
    for (i, dw) in (0..per_point).step_by(LANES).zip(dw.chunks_mut(9 * LANES)) {
        let st: [[Lanes<V>; 4]; 4] = from_fn(|p| {
            from_fn(|q| {
                // SAFETY: `ξ·per_point + i + LANES ≤ 16·per_point`, see the assert; the CPU
                // supports `V`.
                unsafe { Lanes::load(s[(4 * p + q) * per_point + i..].as_ptr()) }
            })
        });
        // The nine results tap by tap, then kernel by kernel into `dw`.
        let mut taps = [[0.0f32; LANES]; 9];
        for (t, r) in taps
            .iter_mut()
            .zip(two_d::<_, Gt, 4, 3>(st).iter().flatten())
        {
            // SAFETY: `t` holds LANES floats; the CPU supports `V`.
            unsafe { r.0.store(t.as_mut_ptr()) };
        }
        for (l, dw) in dw.chunks_exact_mut(9).enumerate() {
            for (d, t) in dw.iter_mut().zip(&taps) {
                *d = t[l];
            }
        }
    }
}
