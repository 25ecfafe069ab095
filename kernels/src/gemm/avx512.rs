//! AVX-512F micro-kernel: `std::arch` zmm intrinsics, compiled behind `#[target_feature]`.

use super::avx2::{pack_avx2, Ymm};
use super::dot::{dot_body, DotBlock, DotKernel};
use super::params::{Blocking, AVX512_BLOCKING, AVX512_MR, AVX512_NR};
use super::tile::{tile_body, MicroKernel, TileOut, Vector};
use std::arch::x86_64::{
    __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_set1_ps,
    _mm512_storeu_ps, _mm512_sub_ps, _mm_prefetch, _MM_HINT_T0,
};

/// The AVX-512F path ([`crate::Isa::Avx512`]).
pub(super) struct Avx512;

#[derive(Clone, Copy)]
pub(crate) struct Zmm(pub(crate) __m512);

// SAFETY (every method): the trait's contract is that the CPU has AVX-512F and the pointers
// cover 16 floats; the methods are inlined into `tile_avx512` (and the Winograd transforms' AVX-512 build), which
// enable those features.
impl Vector for Zmm {
    const LANES: usize = 16;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY: see the impl.
        unsafe { Zmm(_mm512_set1_ps(x)) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: see the impl.
        unsafe { Zmm(_mm512_loadu_ps(p)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: see the impl.
        unsafe { _mm512_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        // SAFETY: see the impl.
        unsafe { Zmm(_mm512_mul_ps(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        // SAFETY: see the impl.
        unsafe { Zmm(_mm512_add_ps(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn sub(self, b: Self) -> Self {
        // SAFETY: see the impl.
        unsafe { Zmm(_mm512_sub_ps(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        // SAFETY: see the impl.
        unsafe { Zmm(_mm512_fmadd_ps(self.0, b.0, c.0)) }
    }
    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        // SAFETY: see the impl; a prefetch never faults.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
    }
}

impl MicroKernel<AVX512_MR, AVX512_NR> for Avx512 {
    const BLOCKING: Blocking = AVX512_BLOCKING;
    #[inline(always)]
    unsafe fn tile(k: usize, a: *const f32, b: *const f32, ldb: usize, out: TileOut) {
        // SAFETY: forwarded contract of `MicroKernel::tile`.
        unsafe { tile_avx512(k, a, b, ldb, out) }
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

/// The deep-k kernel on 8-lane ymm vectors, exactly as on the AVX2 path, so that both paths
/// give bit-identical results there too.
impl DotKernel for Avx512 {
    #[inline(always)]
    unsafe fn block(len: usize, first: bool, blk: &DotBlock) {
        // SAFETY: forwarded contract of `DotKernel::block`.
        unsafe { dot_avx512(len, first, blk) }
    }
}

/// `avx512f` implies `avx2` and `fma` (Rust's target-feature implications), so the ymm FMA
/// intrinsics behind [`Ymm`] are enabled here.
#[target_feature(enable = "avx512f")]
unsafe fn dot_avx512(len: usize, first: bool, blk: &DotBlock) {
    // SAFETY: forwarded contract of `DotKernel::block`; this function enables AVX-512F, which
    // includes AVX2 + FMA.
    unsafe { dot_body::<Ymm>(len, first, blk) }
}

#[target_feature(enable = "avx512f")]
unsafe fn tile_avx512(k: usize, a: *const f32, b: *const f32, ldb: usize, out: TileOut) {
    // SAFETY: forwarded contract of `MicroKernel::tile`; this function enables AVX-512F; each
    // arm's row count covers `out.rows`.
    unsafe {
        match out.rows {
            0..=4 => tile_body::<Zmm, AVX512_MR, 4, { AVX512_NR / 16 }>(k, a, b, ldb, out),
            _ => tile_body::<Zmm, AVX512_MR, AVX512_MR, { AVX512_NR / 16 }>(k, a, b, ldb, out),
        }
    }
}
