//! Whether this CPU runs 512-bit FMAs at full width, measured: some AVX-512 cores (Zen 4) issue a
//! zmm FMA as two 256-bit halves, so that zmm code peaks where ymm code does; others (Zen 5, Intel
//! server cores with two FMA units) run zmm at twice the ymm rate. Which GEMM micro-kernel the
//! AVX-512 path runs on some shapes depends on it (`gemm.rs`). The answer changes speed only:
//! both kernels give the same bits.
//!
//! The probe times the same chains of independent FMAs, 12 ymm and then 12 zmm accumulators, the
//! best of several short repetitions each (about a millisecond in all, once per process), and
//! calls zmm full-width when it does at least 1.5 times the ymm FLOP rate.

#[cfg(target_arch = "x86_64")]
use crate::gemm::{Vector, Ymm, Zmm};
use std::sync::OnceLock;
use std::time::Instant;

/// The two rates the probe measured, in GFLOP/s on one core.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FmaRates {
    pub ymm: f64,
    pub zmm: f64,
}

impl FmaRates {
    /// zmm at least 1.5 times the ymm rate: two full-width 512-bit FMA pipes.
    pub fn zmm_full_width(&self) -> bool {
        self.zmm >= 1.5 * self.ymm
    }
}

/// The measured rates, or `None` when this CPU has no AVX-512F. Measured once per process.
pub fn fma_rates() -> Option<FmaRates> {
    static RATES: OnceLock<Option<FmaRates>> = OnceLock::new();
    *RATES.get_or_init(measure)
}

/// Whether the AVX-512 path should prefer its zmm kernels everywhere (see the module doc).
pub(crate) fn zmm_full_width() -> bool {
    fma_rates().is_some_and(|r| r.zmm_full_width())
}

/// The active kernel path, with what the probe measured when the path is AVX-512, e.g.
/// `avx512 (zmm FMA full width: 281 against 142 GFLOP/s per core)`: benchmark tables print it.
pub fn kernel_path_description() -> String {
    let isa = crate::active_isa();
    match fma_rates() {
        Some(r) if isa == crate::Isa::Avx512 => format!(
            "{isa} (zmm FMA {}: {:.0} against ymm {:.0} GFLOP/s per core)",
            if r.zmm_full_width() {
                "full width"
            } else {
                "split in halves"
            },
            r.zmm,
            r.ymm
        ),
        _ => isa.to_string(),
    }
}

/// Iterations of the 12-accumulator loop per repetition, and repetitions per width.
const ITERS: u32 = 20_000;
const REPS: usize = 7;

#[cfg(target_arch = "x86_64")]
fn measure() -> Option<FmaRates> {
    if !std::arch::is_x86_feature_detected!("avx512f")
        || !std::arch::is_x86_feature_detected!("fma")
    {
        return None;
    }
    let best = |run: &dyn Fn() -> f32, lanes: f64| {
        let seconds = (0..REPS)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(run());
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        // Two flops per lane per FMA, 12 FMAs per iteration.
        2.0 * lanes * 12.0 * f64::from(ITERS) / seconds.max(1e-9) / 1e9
    };
    // SAFETY: AVX-512F and FMA (hence AVX2's ymm FMAs) were detected above.
    let ymm = best(&|| unsafe { chains_ymm(ITERS) }, 8.0);
    let zmm = best(&|| unsafe { chains_zmm(ITERS) }, 16.0);
    Some(FmaRates { ymm, zmm })
}

#[cfg(not(target_arch = "x86_64"))]
fn measure() -> Option<FmaRates> {
    None
}

/// 12 independent chains of `iters` FMAs on `V`; returns a lane of their sum so none is dead.
///
/// # Safety
/// The CPU supports `V`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn chains<V: Vector>(iters: u32) -> f32 {
    // SAFETY: the CPU supports `V`; `out` holds 16 ≥ V::LANES floats.
    unsafe {
        let (a, b) = (V::splat(0.999_99), V::splat(1e-7));
        let mut acc = [V::splat(1.0); 12];
        for _ in 0..std::hint::black_box(iters) {
            for x in acc.iter_mut() {
                *x = x.mul_add(a, b);
            }
        }
        let sum = acc.iter().fold(V::splat(0.0), |s, &x| s.add(x));
        let mut out = [0.0f32; 16];
        sum.store(out.as_mut_ptr());
        out[0]
    }
}

/// [`chains`] on ymm vectors.
///
/// # Safety
/// The CPU supports AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn chains_ymm(iters: u32) -> f32 {
    // SAFETY: this function's contract.
    unsafe { chains::<Ymm>(iters) }
}

/// [`chains`] on zmm vectors.
///
/// # Safety
/// The CPU supports AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn chains_zmm(iters: u32) -> f32 {
    // SAFETY: this function's contract.
    unsafe { chains::<Zmm>(iters) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_measures_positive_rates_when_it_can() {
        match fma_rates() {
            Some(r) => assert!(r.ymm > 0.1 && r.zmm > 0.1, "{r:?}"),
            None => assert!(!crate::Isa::Avx512.is_available()),
        }
    }

    #[test]
    fn full_width_means_at_least_one_and_a_half_times_the_ymm_rate() {
        let r = |ymm, zmm| FmaRates { ymm, zmm };
        assert!(r(140.0, 280.0).zmm_full_width());
        assert!(!r(117.0, 117.0).zmm_full_width());
        assert!(!r(100.0, 149.0).zmm_full_width());
    }
}
