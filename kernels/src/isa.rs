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

/// The paths this CPU can run, preferred first: [`Isa::Avx2Fma`], [`Isa::Avx512`], then
/// [`Isa::Portable`].
///
/// Why AVX2 before AVX-512, measured 2026-11-28 on the development host, an "AMD EPYC" reporting
/// family 25 model 17 (Zen 4), 2 vCPUs, where 512-bit FMAs issue as two 256-bit halves (both
/// paths peak at ~32 FLOP/cycle; `benches/clock_peak.c`: 115-117 GFLOP/s per core at 3.61-3.66
/// GHz). On GEMM squares, one thread (`cargo bench --bench gemm -- square`), AVX-512's 8×32 tile
/// is 2-3% ahead (512³: 111.1 against 108.6 GFLOP/s); on the training step it is behind
/// (`REGIMEBENCH_ISA=… regimebench bench`, three interleaved rounds: `small` at 1 thread
/// 5,511-5,564 img/s against 5,793-6,156, at 2 threads 8,897-10,146 against 10,430-10,748),
/// probably because the step's GEMMs are narrow (m = 16…64 channels, n a few hundred columns),
/// where the 32-wide tile leaves more columns empty (not measured apart). The two FMA paths give bit-identical results
/// (same per-element operations, same depth blocking), so `REGIMEBENCH_ISA=avx512` changes the
/// speed and never a number. On Zen 3 (no AVX-512 exposed) the AVX2 path is the only choice.
pub fn available_isas() -> Vec<Isa> {
    [Isa::Avx2Fma, Isa::Avx512, Isa::Portable]
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
