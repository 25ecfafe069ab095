//! One loop body compiled per vector width: a [`Body`] is written once, in plain Rust that the
//! compiler vectorises, and [`on`] runs it compiled for AVX-512 (zmm), for AVX2 (ymm) or for the
//! build target, as the kernel path asks. The same scalar operations in the same order on every
//! path (no fused multiply-adds are formed, nothing is reassociated), so the same bits.

use crate::Isa;

/// A loop body, compiled per path by [`on`].
pub(crate) trait Body {
    type Out;
    /// Marked `#[inline(always)]` by every implementation, so that it compiles into [`on`]'s
    /// per-path functions.
    fn run(self) -> Self::Out;
}

/// Runs `body` compiled for `isa`'s vector width.
///
/// # Panics
/// When this CPU cannot run `isa` (callers pass [`crate::active_isa`], or an available path in
/// tests).
#[inline(always)]
pub(crate) fn on<B: Body>(isa: Isa, body: B) -> B::Out {
    assert!(isa.is_available(), "this CPU cannot run the {isa} path");
    match isa {
        // SAFETY: the CPU has AVX-512F (asserted).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { with_avx512(body) },
        // SAFETY: the CPU has AVX2 and FMA (asserted).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { with_avx2(body) },
        _ => body.run(),
    }
}

/// # Safety
/// The CPU supports AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn with_avx512<B: Body>(body: B) -> B::Out {
    body.run()
}

/// # Safety
/// The CPU supports AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn with_avx2<B: Body>(body: B) -> B::Out {
    body.run()
}
