//! Portable micro-kernel: `wide::f32x8`, compiled for the build target's baseline features (on
//! x86_64 without `-C target-feature`, SSE2 and a separate multiply and add).

use super::dot::{dot_body, DotBlock, DotKernel};
use super::params::{Blocking, PORTABLE_BLOCKING, PORTABLE_MR, PORTABLE_NR};
use super::tile::{tile_body, MicroKernel, TileOut, Vector};
use wide::f32x8;

/// The portable path ([`crate::Isa::Portable`]).
pub(super) struct Portable;

// SAFETY (every method): `wide` needs no run-time CPU feature; the pointer methods require the
// caller to pass pointers valid for 8 floats, which `read_unaligned`/`write_unaligned` then access.
impl Vector for f32x8 {
    const LANES: usize = 8;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        f32x8::splat(x)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: see the impl.
        f32x8::new(unsafe { p.cast::<[f32; 8]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: see the impl.
        unsafe { p.cast::<[f32; 8]>().write_unaligned(self.to_array()) }
    }
    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        self * b
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        self + b
    }
    #[inline(always)]
    unsafe fn sub(self, b: Self) -> Self {
        self - b
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        f32x8::mul_add(self, b, c)
    }
}

impl MicroKernel<PORTABLE_MR, PORTABLE_NR> for Portable {
    const BLOCKING: Blocking = PORTABLE_BLOCKING;
    unsafe fn tile(k: usize, a: *const f32, b: *const f32, ldb: usize, out: TileOut) {
        // SAFETY: forwarded contract of `MicroKernel::tile` (no CPU feature needed).
        unsafe {
            tile_body::<f32x8, PORTABLE_MR, PORTABLE_MR, { PORTABLE_NR / 8 }>(k, a, b, ldb, out)
        }
    }
}

impl DotKernel for Portable {
    unsafe fn block(len: usize, first: bool, blk: &DotBlock) {
        // SAFETY: forwarded contract of `DotKernel::block` (no CPU feature needed).
        unsafe { dot_body::<f32x8>(len, first, blk) }
    }
}
