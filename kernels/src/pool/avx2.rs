//! The max-pool's rows in AVX2 intrinsics: 8 windows per step (4 in rows of 4 to 7 windows), the
//! row's last step moved back so that it ends at the row's end. The steps then overlap, and the
//! windows they share are computed twice from the same inputs, so with the same bits.
//!
//! A step's inputs are 16 consecutive floats of the top row and 16 of the bottom row; the window
//! rule is [`super::window`]'s, as compares and blends: the first maximum in row-major order, a NaN
//! winning only first.

use super::window;
use crate::gemm::{Vector, Ymm};
use crate::steps::overlapping_steps as steps;
use std::arch::x86_64::*;

/// One plane of [`super::maxpool2_fwd`] (`x` is `h × w`, `y` and `pos` `h/2 × w/2`, `w ≥ 2`).
///
/// # Safety
/// The CPU supports AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn pool_plane(x: &[f32], w: usize, y: &mut [f32], pos: &mut [u8]) {
    let rows = y.chunks_exact_mut(w / 2).zip(pos.chunks_exact_mut(w / 2));
    for ((y, pos), pair) in rows.zip(x.chunks_exact(2 * w)) {
        let (top, bottom) = pair.split_at(w);
        // SAFETY: AVX2 is enabled in this function.
        unsafe { pool_row(top, bottom, y, pos) }
    }
}

/// One output row: window `j` of `y`/`pos` reads `top[2j..2j+2]` and `bottom[2j..2j+2]`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn pool_row(top: &[f32], bottom: &[f32], y: &mut [f32], pos: &mut [u8]) {
    let n = y.len();
    assert!(top.len() >= 2 * n && bottom.len() >= 2 * n && pos.len() == n);
    let (t, b) = (top.as_ptr(), bottom.as_ptr());
    if n >= 8 {
        for j in steps(n, 8) {
            // SAFETY: windows j..j+8 lie in the row (asserted above), so do their 16 inputs.
            unsafe {
                pool8(
                    t.add(2 * j),
                    b.add(2 * j),
                    &mut y[j..][..8],
                    &mut pos[j..][..8],
                )
            }
        }
    } else if n >= 4 {
        for j in steps(n, 4) {
            // SAFETY: as above, for 4 windows.
            unsafe {
                pool4(
                    t.add(2 * j),
                    b.add(2 * j),
                    &mut y[j..][..4],
                    &mut pos[j..][..4],
                )
            }
        }
    } else {
        for j in 0..n {
            let (t, b) = (&top[2 * j..], &bottom[2 * j..]);
            (y[j], pos[j]) = window(t[0], t[1], b[0], b[1]);
        }
    }
}

/// Eight windows from 16 floats at `t` and 16 at `b`. The even/odd split (`shufps`) leaves the
/// windows in the order 0 1 4 5 | 2 3 6 7; one 64-bit permute puts them back.
#[target_feature(enable = "avx2")]
unsafe fn pool8(t: *const f32, b: *const f32, y: &mut [f32], pos: &mut [u8]) {
    const EVEN: i32 = 0b10_00_10_00;
    const ODD: i32 = 0b11_01_11_01;
    const IN_ORDER: i32 = 0b11_01_10_00;
    // SAFETY: the caller gives 16 readable floats at each pointer.
    let (t0, t1, b0, b1) = unsafe {
        (
            _mm256_loadu_ps(t),
            _mm256_loadu_ps(t.add(8)),
            _mm256_loadu_ps(b),
            _mm256_loadu_ps(b.add(8)),
        )
    };
    let (tl, tr) = (
        _mm256_shuffle_ps::<EVEN>(t0, t1),
        _mm256_shuffle_ps::<ODD>(t0, t1),
    );
    let (bl, br) = (
        _mm256_shuffle_ps::<EVEN>(b0, b1),
        _mm256_shuffle_ps::<ODD>(b0, b1),
    );
    let t_right = _mm256_cmp_ps::<_CMP_GT_OQ>(tr, tl);
    let t_max = _mm256_blendv_ps(tl, tr, t_right);
    let b_right = _mm256_or_ps(
        _mm256_cmp_ps::<_CMP_GT_OQ>(br, bl),
        _mm256_cmp_ps::<_CMP_UNORD_Q>(bl, bl),
    );
    let b_max = _mm256_blendv_ps(bl, br, b_right);
    let bottom = _mm256_cmp_ps::<_CMP_GT_OQ>(b_max, t_max);
    let max = _mm256_blendv_ps(t_max, b_max, bottom);
    let right = _mm256_blendv_ps(t_right, b_right, bottom);
    let max = _mm256_castpd_ps(_mm256_permute4x64_pd::<IN_ORDER>(_mm256_castps_pd(max)));
    let p = _mm256_or_si256(
        _mm256_and_si256(_mm256_castps_si256(bottom), _mm256_set1_epi32(2)),
        _mm256_and_si256(_mm256_castps_si256(right), _mm256_set1_epi32(1)),
    );
    let p = _mm256_permute4x64_epi64::<IN_ORDER>(p);
    // Bytes 0..4 of each 128-bit lane hold that lane's four positions.
    let bytes = _mm256_packus_epi16(_mm256_packs_epi32(p, p), _mm256_packs_epi32(p, p));
    let lo = _mm256_cvtsi256_si32(bytes) as u32;
    let hi = _mm256_extract_epi32::<4>(bytes) as u32;
    // SAFETY: `y` holds 8 floats (the caller's slice).
    unsafe { _mm256_storeu_ps(y[..8].as_mut_ptr(), max) };
    pos[..8].copy_from_slice(&(u64::from(lo) | u64::from(hi) << 32).to_le_bytes());
}

/// Four windows from 8 floats at `t` and 8 at `b` ([`pool8`] at half width; the even/odd split
/// keeps the windows in order).
#[target_feature(enable = "avx2")]
unsafe fn pool4(t: *const f32, b: *const f32, y: &mut [f32], pos: &mut [u8]) {
    const EVEN: i32 = 0b10_00_10_00;
    const ODD: i32 = 0b11_01_11_01;
    // SAFETY: the caller gives 8 readable floats at each pointer.
    let (t0, t1, b0, b1) = unsafe {
        (
            _mm_loadu_ps(t),
            _mm_loadu_ps(t.add(4)),
            _mm_loadu_ps(b),
            _mm_loadu_ps(b.add(4)),
        )
    };
    let (tl, tr) = (
        _mm_shuffle_ps::<EVEN>(t0, t1),
        _mm_shuffle_ps::<ODD>(t0, t1),
    );
    let (bl, br) = (
        _mm_shuffle_ps::<EVEN>(b0, b1),
        _mm_shuffle_ps::<ODD>(b0, b1),
    );
    let t_right = _mm_cmp_ps::<_CMP_GT_OQ>(tr, tl);
    let t_max = _mm_blendv_ps(tl, tr, t_right);
    let b_right = _mm_or_ps(
        _mm_cmp_ps::<_CMP_GT_OQ>(br, bl),
        _mm_cmp_ps::<_CMP_UNORD_Q>(bl, bl),
    );
    let b_max = _mm_blendv_ps(bl, br, b_right);
    let bottom = _mm_cmp_ps::<_CMP_GT_OQ>(b_max, t_max);
    let max = _mm_blendv_ps(t_max, b_max, bottom);
    let right = _mm_blendv_ps(t_right, b_right, bottom);
    let p = _mm_or_si128(
        _mm_and_si128(_mm_castps_si128(bottom), _mm_set1_epi32(2)),
        _mm_and_si128(_mm_castps_si128(right), _mm_set1_epi32(1)),
    );
    let bytes = _mm_packus_epi16(_mm_packs_epi32(p, p), _mm_packs_epi32(p, p));
    // SAFETY: `y` holds 4 floats (the caller's slice).
    unsafe { _mm_storeu_ps(y[..4].as_mut_ptr(), max) };
    pos[..4].copy_from_slice(&(_mm_cvtsi128_si32(bytes) as u32).to_le_bytes());
}

/// One plane of [`super::maxpool2_bwd`] (`dy` and `pos` are `h/2 × w/2`, `dx` `h × w`, `w ≥ 8`:
/// narrower planes take `super::unpool_narrow`).
///
/// # Safety
/// The CPU supports AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn unpool_plane(dy: &[f32], pos: &[u8], w: usize, dx: &mut [f32]) {
    let (pairs, odd_row) = dx.split_at_mut(dy.len() / (w / 2) * 2 * w);
    odd_row.fill(0.0);
    let rows = dy.chunks_exact(w / 2).zip(pos.chunks_exact(w / 2));
    for ((dy, pos), pair) in rows.zip(pairs.chunks_exact_mut(2 * w)) {
        let (top, bottom) = pair.split_at_mut(w);
        if w % 2 == 1 {
            (top[w - 1], bottom[w - 1]) = (0.0, 0.0);
        }
        // SAFETY: AVX2 is enabled in this function.
        unsafe { unpool_row(dy, pos, top, bottom) }
    }
}

/// One row pair of at least 4 windows: window `j`'s gradient `dy[j]` goes to the element of
/// `top[2j..2j+2]`, `bottom[2j..2j+2]` that `pos[j]` names, zeros to the other three.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn unpool_row(dy: &[f32], pos: &[u8], top: &mut [f32], bottom: &mut [f32]) {
    let n = dy.len();
    assert!(n >= 4 && top.len() >= 2 * n && bottom.len() >= 2 * n && pos.len() == n);
    if n >= 8 {
        for j in steps(n, 8) {
            let (t, b) = (&mut top[2 * j..][..16], &mut bottom[2 * j..][..16]);
            // SAFETY: AVX2 is enabled in this function.
            unsafe { unpool8(&dy[j..][..8], &pos[j..][..8], t, b) }
        }
    } else {
        for j in steps(n, 4) {
            let (t, b) = (&mut top[2 * j..][..8], &mut bottom[2 * j..][..8]);
            // SAFETY: AVX2 is enabled in this function.
            unsafe { unpool4(&dy[j..][..4], &pos[j..][..4], t, b) }
        }
    }
}

/// Eight windows: each position's gradient is `dy` masked by `pos == q`, and the top row
/// interleaves positions 0 and 1 ([`Vector::store_zipped`]), the bottom row positions 2 and 3.
#[target_feature(enable = "avx2")]
unsafe fn unpool8(dy: &[f32], pos: &[u8], top: &mut [f32], bottom: &mut [f32]) {
    let p8 = u64::from_le_bytes(pos[..8].try_into().expect("8 positions"));
    let p = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(p8 as i64));
    // SAFETY: `dy` holds 8 floats.
    let d = unsafe { _mm256_loadu_ps(dy[..8].as_ptr()) };
    // Not a closure: a closure would not get this function's target features.
    let mut at = [d; 4];
    for (q, a) in at.iter_mut().enumerate() {
        let is_q = _mm256_cmpeq_epi32(p, _mm256_set1_epi32(q as i32));
        *a = _mm256_and_ps(_mm256_castsi256_ps(is_q), d);
    }
    for (row, (l, r)) in [(top, (at[0], at[1])), (bottom, (at[2], at[3]))] {
        // SAFETY: each row slice holds 16 floats; AVX2 is enabled here.
        unsafe { Ymm(l).store_zipped(Ymm(r), row[..16].as_mut_ptr()) };
    }
}

/// Four windows ([`unpool8`] at half width; no lane permute needed).
#[target_feature(enable = "avx2")]
unsafe fn unpool4(dy: &[f32], pos: &[u8], top: &mut [f32], bottom: &mut [f32]) {
    let p4 = u32::from_le_bytes(pos[..4].try_into().expect("4 positions"));
    let p = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(p4 as i32));
    // SAFETY: `dy` holds 4 floats.
    let d = unsafe { _mm_loadu_ps(dy[..4].as_ptr()) };
    let mut at = [d; 4];
    for (q, a) in at.iter_mut().enumerate() {
        *a = _mm_and_ps(
            _mm_castsi128_ps(_mm_cmpeq_epi32(p, _mm_set1_epi32(q as i32))),
            d,
        );
    }
    for (row, (l, r)) in [(top, (at[0], at[1])), (bottom, (at[2], at[3]))] {
        // SAFETY: each row slice holds 8 floats.
        unsafe {
            _mm_storeu_ps(row[..8].as_mut_ptr(), _mm_unpacklo_ps(l, r));
            _mm_storeu_ps(row[4..8].as_mut_ptr(), _mm_unpackhi_ps(l, r));
        }
    }
}
