//! AVX2 + FMA micro-kernel: `std::arch` ymm intrinsics, compiled behind `#[target_feature]`.

use super::dot::{dot_body, DotBlock, DotKernel};
use super::pack::pack;
use super::params::{Blocking, AVX2_BLOCKING, AVX2_MR, AVX2_NR};
use super::tile::{tile_body, MicroKernel, TileOut, Vector};
use std::arch::x86_64::{
    __m256, _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu2_m128, _mm256_loadu_ps, _mm256_mul_ps,
    _mm256_permute2f128_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_storeu_ps,
    _mm256_sub_ps, _mm256_unpackhi_ps, _mm256_unpacklo_ps, _mm_prefetch, _MM_HINT_T0,
};

/// The AVX2 + FMA path ([`crate::Isa::Avx2Fma`]).
pub(super) struct Avx2Fma;

/// An AVX ymm register of 8 floats; also the vector of the AVX-512 path's deep-k kernel.
#[derive(Clone, Copy)]
pub(crate) struct Ymm(pub(crate) __m256);

// SAFETY (every method): the trait's contract is that the CPU has AVX2 + FMA and the pointers
// cover 8 floats; the methods are inlined into `tile_avx2`, which enables those features.
impl Vector for Ymm {
    const LANES: usize = 8;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY: see the impl.
        unsafe { Ymm(_mm256_set1_ps(x)) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: see the impl.
        unsafe { Ymm(_mm256_loadu_ps(p)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: see the impl.
        unsafe { _mm256_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        // SAFETY: see the impl.
        unsafe { Ymm(_mm256_mul_ps(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        // SAFETY: see the impl.
        unsafe { Ymm(_mm256_add_ps(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn sub(self, b: Self) -> Self {
        // SAFETY: see the impl.
        unsafe { Ymm(_mm256_sub_ps(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        // SAFETY: see the impl.
        unsafe { Ymm(_mm256_fmadd_ps(self.0, b.0, c.0)) }
    }
    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        // SAFETY: see the impl; a prefetch never faults.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
    }
    #[inline(always)]
    unsafe fn load_halves(lo: *const f32, hi: *const f32) -> Self {
        // SAFETY: see the impl; `lo` and `hi` cover 4 floats each.
        unsafe { Ymm(_mm256_loadu2_m128(hi, lo)) }
    }
    #[inline(always)]
    unsafe fn zip_halves(self, b: Self) -> (Self, Self) {
        // SAFETY: see the impl.
        unsafe {
            // (a0 b0 a1 b1 | a4 b4 a5 b5) and (a2 b2 a3 b3 | a6 b6 a7 b7), then their low and
            // high halves.
            let l = _mm256_unpacklo_ps(self.0, b.0);
            let h = _mm256_unpackhi_ps(self.0, b.0);
            (
                Ymm(_mm256_permute2f128_ps::<0x20>(l, h)),
                Ymm(_mm256_permute2f128_ps::<0x31>(l, h)),
            )
        }
    }
}

impl MicroKernel<AVX2_MR, AVX2_NR> for Avx2Fma {
    const BLOCKING: Blocking = AVX2_BLOCKING;
    #[inline(always)]
    unsafe fn tile(k: usize, a: *const f32, b: *const f32, ldb: usize, out: TileOut) {
        // SAFETY: forwarded contract of `MicroKernel::tile`.
        unsafe { tile_avx2(k, a, b, ldb, out) }
    }
    #[inline(always)]
    unsafe fn pack<const W: usize>(
        len: usize,
        kb: usize,
        src: *const f32,
        ws: usize,
        ks: usize,
        dst: *mut f32,
    ) {
        // SAFETY: forwarded contract of `MicroKernel::pack`.
        unsafe { pack_avx2::<W>(len, kb, src, ws, ks, dst) }
    }
}

impl DotKernel for Avx2Fma {
    #[inline(always)]
    unsafe fn block(len: usize, first: bool, blk: &DotBlock) {
        // SAFETY: forwarded contract of `DotKernel::block`.
        unsafe { dot_avx2(len, first, blk) }
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(len: usize, first: bool, blk: &DotBlock) {
    // SAFETY: forwarded contract of `DotKernel::block`; this function enables AVX2 + FMA.
    unsafe { dot_body::<Ymm>(len, first, blk) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2(k: usize, a: *const f32, b: *const f32, ldb: usize, out: TileOut) {
    // SAFETY: forwarded contract of `MicroKernel::tile`; this function enables AVX2 + FMA; each
    // arm's row count covers `out.rows`.
    unsafe {
        match out.rows {
            0..=2 => tile_body::<Ymm, AVX2_MR, 2, { AVX2_NR / 8 }>(k, a, b, ldb, out),
            3..=4 => tile_body::<Ymm, AVX2_MR, 4, { AVX2_NR / 8 }>(k, a, b, ldb, out),
            _ => tile_body::<Ymm, AVX2_MR, AVX2_MR, { AVX2_NR / 8 }>(k, a, b, ldb, out),
        }
    }
}

/// [`pack`] with AVX2, plus a fast path for gathered panels (each line contiguous along the depth:
/// A as stored, B transposed) of W = 6 or a multiple of 8 lines: 8 lines × 8 depths at a time,
/// transposed in registers; the lines past the last panel's own load as zeros, its padding. With
/// W = 6, each depth's 8-float store runs 2 floats into the next depth's, which the next store
/// (in order) overwrites; the block's last depth stores its 6 alone. Also the AVX-512 path's
/// packing (every CPU with AVX-512F has AVX2).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn pack_avx2<const W: usize>(
    len: usize,
    kb: usize,
    src: *const f32,
    ws: usize,
    ks: usize,
    dst: *mut f32,
) {
    // SAFETY: forwarded contract of `MicroKernel::pack` (this function enables the features): the
    // fast path reads lines l < len at depths p < kb, and writes inside the len.div_ceil(W)
    // panels (with W = 6, no 8-float store starts at a block's last depth).
    unsafe {
        if ws == 1 || ks != 1 || !(W == 6 || W.is_multiple_of(8)) {
            return pack::<W>(len, kb, src, ws, ks, dst);
        }
        let kb8 = kb / 8 * 8;
        for q in 0..len.div_ceil(W) {
            let lines = W.min(len - q * W);
            let (s, d) = (src.add(q * W * ws), dst.add(q * W * kb));
            for l0 in (0..W).step_by(8) {
                let live = lines.saturating_sub(l0).min(8);
                for p0 in (0..kb8).step_by(8) {
                    let mut rows = [_mm256_setzero_ps(); 8];
                    for (i, row) in rows.iter_mut().enumerate().take(live) {
                        *row = _mm256_loadu_ps(s.add((l0 + i) * ws + p0));
                    }
                    let depths = transpose8(rows);
                    for (j, &depth) in depths.iter().enumerate().take(7) {
                        _mm256_storeu_ps(d.add((p0 + j) * W + l0), depth);
                    }
                    let last = d.add((p0 + 7) * W + l0);
                    if W.is_multiple_of(8) {
                        _mm256_storeu_ps(last, depths[7]);
                    } else {
                        let mut buf = [0.0f32; 8];
                        _mm256_storeu_ps(buf.as_mut_ptr(), depths[7]);
                        std::ptr::copy_nonoverlapping(buf.as_ptr(), last, W);
                    }
                }
            }
            // The depths past kb8, zero past `lines`.
            for p in kb8..kb {
                for l in 0..W {
                    *d.add(p * W + l) = if l < lines { *s.add(l * ws + p) } else { 0.0 };
                }
            }
        }
    }
}

/// Transposes an 8×8 block held as 8 rows: output j holds element j of every input row.
#[inline(always)]
unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    // SAFETY: register-only AVX operations; the caller enables AVX2.
    unsafe {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        // Elements (0, 4), (1, 5), (2, 6), (3, 7) of rows 0–3 in u0..u3, of rows 4–7 in u4..u7.
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }
}
