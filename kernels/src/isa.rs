//! Instruction-set detection and the process-wide choice of kernel path.

use std::sync::OnceLock;

/// A kernel path. Every result and benchmark records which one ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// `std::arch` AVX-512F intrinsics behind `#[target_feature]`.
    Avx512,
    /// `std::arch` AVX2 + FMA intrinsics behind `#[target_feature]`.
    Avx2Fma,
    /// `wide` vectors compiled for the build target (no run-time features assumed).
    Portable,
}

impl Isa {
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2Fma => "avx2-fma",
            Isa::Portable => "portable",
        }
    }
    /// Whether this CPU can run the path.
    pub fn is_available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx512 | Isa::Avx2Fma => false,
            Isa::Portable => true,
        }
    }
    pub fn parse(s: &str) -> Option<Isa> {
        [Isa::Avx512, Isa::Avx2Fma, Isa::Portable]
            .into_iter()
            .find(|i| i.name() == s)
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The paths this CPU can run, preferred first: [`Isa::Avx512`], [`Isa::Avx2Fma`], then
/// [`Isa::Portable`].
///
/// Measured 2026-11-28 on the development host, an "AMD EPYC" reporting family 25 model 17
/// (Zen 4), 2 vCPUs, where 512-bit FMAs issue as two 256-bit halves (both paths peak at ~32
/// FLOP/cycle; `benches/clock_peak.c`: ~117 GFLOP/s per core at 3.60-3.66 GHz). The AVX-512
/// path runs its 8×32 zmm GEMM tile only where that measured faster than the AVX2 6×16 one, and
/// the AVX2 tile elsewhere (B transposed, B read unpacked: see `gemm.rs`, `ymm_tile_faster`);
/// its other kernels (Winograd transforms, pooling, im2col) are the AVX2 ones. So it is never
/// behind the AVX2 path by construction but for the measuring noise: training step
/// (`REGIMEBENCH_ISA=… regimebench bench`, three interleaved rounds) `small` at 1 thread 6,054-6,528
/// img/s against 5,865-6,599, `cifar` 1,541-1,661 against 1,450-1,581; GEMM against
/// matrixmultiply (which runs its own AVX-512 kernel here) e.g. `mnist1_fwd` 1.19 against 0.87-0.92,
/// `fc576x128_bwd_weight` 1.01 against 0.93-0.94. (Before the choice of tile per shape, the
/// AVX-512 path was 12% behind on the `small` step.) On a core whose zmm FMAs run at full width
/// (Zen 5; measured at run time, `fma_width.rs`) the path takes the zmm tile on every shape and zmm
/// Winograd transforms on planes 32 wide. The two FMA paths give bit-identical results
/// (same per-element operations, same depth blocking), so `REGIMEBENCH_ISA=avx2-fma` changes the
/// speed and never a number. On Zen 3 (no AVX-512 exposed) the AVX2 path is the only choice.
pub fn available_isas() -> Vec<Isa> {
    [Isa::Avx512, Isa::Avx2Fma, Isa::Portable]
        .into_iter()
        .filter(|i| i.is_available())
        .collect()
}

/// The path every kernel uses: `REGIMEBENCH_ISA` (`avx512`, `avx2-fma`, `portable`) when set and
/// available, otherwise the preferred available path. Decided once per process.
///
/// # Panics
/// When `REGIMEBENCH_ISA` names an unknown path or one this CPU lacks: a silent fallback would
/// make a benchmark or a run report the wrong thing.
pub fn active_isa() -> Isa {
    static ACTIVE: OnceLock<Isa> = OnceLock::new();
    *ACTIVE.get_or_init(|| match std::env::var("REGIMEBENCH_ISA") {
        Ok(s) => match Isa::parse(&s) {
            Some(isa) if isa.is_available() => isa,
            Some(isa) => panic!("REGIMEBENCH_ISA={s}: this CPU cannot run the {isa} path"),
            None => panic!("REGIMEBENCH_ISA={s}: expected one of avx512, avx2-fma, portable"),
        },
        Err(_) => available_isas()[0],
    })
}
