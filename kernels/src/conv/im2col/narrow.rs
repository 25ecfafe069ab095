//! im2col of narrow planes (stride 1, `out_w == w ≤ 8`, e.g. the `small` preset's 7×7 layer) in
//! AVX2: each channel plane is copied once into a zero-padded buffer, then every output row of
//! every tap is one 8-float load and one store. The generic path copies a tap's rows as one
//! `memmove` of a few dozen floats plus a strided zeroing pass per padding column, whose call
//! overheads dominate at this width.

use crate::ConvGeom;
use std::arch::x86_64::*;

/// Floats of the padded plane buffer (on the stack): `(h + 2p)·(w + 2p)` plus the 8 a row's load
/// may read past the last padded row.
const PADDED: usize = 256;

/// `[-1; 8]` then `[0; 8]`: the 8 floats from index `8 − n` are the mask of the first `n` lanes.
const MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// Whether [`im2col`] computes `g`.
pub(super) fn fits(g: &ConvGeom) -> bool {
    let (ph, pw) = (g.h + 2 * g.pad, g.w + 2 * g.pad);
    g.stride == 1 && g.out_w() == g.w && g.w <= 8 && ph * pw + 8 <= PADDED
}

/// The first `n ≤ 8` lanes as a mask.
#[inline]
#[target_feature(enable = "avx2")]
fn lanes(n: usize) -> __m256i {
    // SAFETY: MASKS holds 16 ints, so 8 from index 8 − n ≥ 0 are in bounds.
    unsafe { _mm256_loadu_si256(MASKS[8 - n..].as_ptr().cast()) }
}

/// [`super::im2col`] of a geometry that [`fits`]: the same matrix, row `t` at `col[t·ld ..]`.
///
/// # Safety
/// The CPU supports AVX2; `g` [`fits`]; `x` and `col` are as [`super::im2col`] asserts.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn im2col(g: &ConvGeom, x: &[f32], col: &mut [f32], ld: usize) {
    let (h, w, p) = (g.h, g.w, g.pad);
    let (ph, pw) = (h + 2 * p, w + 2 * p);
    let (oh, plane) = (g.out_h(), g.out_plane());
    assert!(fits(g) && x.len() >= g.c_in * h * w && col.len() >= (g.taps() - 1) * ld + plane);
    let row_mask = lanes(w);
    let mut padded = [0.0f32; PADDED];
    for (c, xc) in x.chunks_exact(h * w).take(g.c_in).enumerate() {
        padded[..ph * pw + 8].fill(0.0);
        // Each row of the plane lands at (r + p, p), a full 8-float store: the lanes past `w`
        // are zeros (masked load), landing in padding or in the next row, which is copied after.
        for (r, xr) in xc.chunks_exact(w).enumerate() {
            // SAFETY: the load reads `w` floats of `xr` (masked); the store's 8 floats end at most
            // at (h − 1 + p)·pw + p + 8 ≤ ph·pw + 8 ≤ PADDED.
            unsafe {
                let v = _mm256_maskload_ps(xr.as_ptr(), row_mask);
                _mm256_storeu_ps(padded.as_mut_ptr().add((r + p) * pw + p), v);
            }
        }
        for u in 0..g.kh {
            for v in 0..g.kw {
                let t = (c * g.kh + u) * g.kw + v;
                let out = col[t * ld..][..plane].as_mut_ptr();
                for i in 0..oh {
                    // SAFETY: the load ends at (oh − 1 + u)·pw + v + 8 ≤ ph·pw + 8 (as
                    // kh = ph − oh + 1, kw ≤ pw); a full store ends within the tap's row
                    // (checked), the last rows' stores are masked to their `w` floats. Rows go
                    // in order, so a full store's spill into the next row is overwritten.
                    unsafe {
                        let src = _mm256_loadu_ps(padded.as_ptr().add((i + u) * pw + v));
                        let dst = out.add(i * w);
                        if i * w + 8 <= plane {
                            _mm256_storeu_ps(dst, src);
                        } else {
                            _mm256_maskstore_ps(dst, row_mask, src);
                        }
                    }
                }
            }
        }
    }
}
