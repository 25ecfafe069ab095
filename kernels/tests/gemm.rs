//! `sgemm_with` on every path this CPU runs, against the f64 oracle `reference::gemm` and against
//! matrixmultiply: all four transpose combinations, awkward sizes, padded leading dimensions,
//! α/β special values, NaN-filled C under β = 0, and bit-identity across rayon thread counts.

mod common;
mod gemm_cases;
use gemm_cases::{paths, shapes, tol, Case, Rng, ALPHA_BETA, TRANS};
use regimebench_kernels::{available_isas, sgemm_with, Isa, Trans};

#[test]
fn random_inputs_match_reference_and_matrixmultiply() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (s, &(m, n, k)) in shapes().iter().enumerate() {
        for (t, &trans) in TRANS.iter().enumerate() {
            let ab = ALPHA_BETA[(s + t) % ALPHA_BETA.len()];
            let case = Case::new(trans, (m, n, k), ab, (s + t) % 3 * 2, || rng.unit());
            let want = case.reference();
            let mm: Vec<f64> = case.matrixmultiply().iter().map(|&x| x as f64).collect();
            for isa in paths() {
                let got = case.run(isa);
                case.check(&format!("{isa} vs reference"), &got, &want, tol(isa));
                // Two f32 results, each within `tol` of the truth.
                case.check(
                    &format!("{isa} vs matrixmultiply"),
                    &got,
                    &mm,
                    2.0 * tol(isa),
                );
            }
        }
    }
}

#[test]
fn integer_inputs_are_exact() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for (s, &(m, n, k)) in shapes().iter().enumerate() {
        for (t, &trans) in TRANS.iter().enumerate() {
            let ab = ALPHA_BETA[(s + 3 * t) % ALPHA_BETA.len()];
            let case = Case::new(trans, (m, n, k), ab, (s + t) % 2 * 5, || rng.small_int());
            let want = case.reference();
            for isa in paths() {
                case.check(&format!("{isa} exact"), &case.run(isa), &want, 0.0);
            }
        }
    }
}

#[test]
fn beta_zero_overwrites_nan() {
    for isa in paths() {
        for &(m, n, k) in &[(7, 17, 0), (7, 17, 3), (65, 33, 300)] {
            let case = Case::new((Trans::N, Trans::N), (m, n, k), (1.0, 0.0), 1, || 1.0);
            let got = case.run(isa);
            for i in 0..m {
                assert!(
                    got[i * case.ldc..i * case.ldc + n]
                        .iter()
                        .all(|&x| x == k as f32),
                    "{isa}: m={m} n={n} k={k}: C row {i} not overwritten"
                );
            }
        }
    }
}

/// The bits of `case` on `isa` under rayon pools of 1, 2 and 3 threads.
fn on_1_2_3_threads(case: &Case, isa: Isa) -> Vec<Vec<u32>> {
    [1, 2, 3]
        .iter()
        .map(|&threads| common::bits(&common::in_threads(threads, || case.run(isa))))
        .collect()
}

/// Results are bit-identical under rayon pools of 1, 2 and 3 threads, on shapes the parallel split
/// cuts into row tasks (many rows) and into rows × columns (few rows, n wider than one `nc`
/// block), with k deep enough for several depth blocks.
#[test]
fn bit_identical_across_thread_counts() {
    let mut rng = Rng(42);
    let shapes = [(130, 300, 520), (300, 40, 300), (17, 5000, 20)];
    for isa in paths() {
        for (s, &shape) in shapes.iter().enumerate() {
            let trans = TRANS[s % TRANS.len()];
            let case = Case::new(trans, shape, (0.5, 1.0), 1, || rng.unit());
            let runs = on_1_2_3_threads(&case, isa);
            assert!(runs[0] == runs[1], "{isa} {shape:?}: 1 vs 2 threads differ");
            assert!(runs[0] == runs[2], "{isa} {shape:?}: 1 vs 3 threads differ");
        }
    }
}

/// The deep-k path (op(A) = A, op(B) = Bᵀ, C at most 48 columns, k deep): the weight-gradient
/// shapes of this project's conv layers (taps = 9·c_in) at one chunk of images, and edges: rows
/// and columns that do not fill a 4×3 register block, several 2048-deep chunks, k not a multiple
/// of 8, and each of the three depth thresholds just above and below. Against the reference,
/// exact on integers, and bit-identical across thread counts (split along rows and along
/// columns).
#[test]
fn deep_k_path() {
    let shapes = [
        (16, 9, 6272),
        (32, 27, 1568),
        (5, 10, 256),
        (5, 10, 255),
        (7, 27, 512),
        (7, 27, 509),
        (3, 48, 4101),
        (9, 32, 1024),
        (9, 32, 1023),
        (1, 1, 300),
        (4, 45, 8000),
        (64, 9, 20_000),
    ];
    let mut rng = Rng(0xDEE9);
    for (s, &shape) in shapes.iter().enumerate() {
        let ab = ALPHA_BETA[s % ALPHA_BETA.len()];
        let trans = (Trans::N, Trans::T);
        let case = Case::new(trans, shape, ab, s % 2 * 3, || rng.unit());
        let exact = Case::new(trans, shape, ab, s % 2 * 3, || rng.small_int());
        let (want, want_exact) = (case.reference(), exact.reference());
        for isa in paths() {
            case.check(&format!("{isa} deep k"), &case.run(isa), &want, tol(isa));
            exact.check(
                &format!("{isa} deep k exact"),
                &exact.run(isa),
                &want_exact,
                0.0,
            );
            let runs = on_1_2_3_threads(&case, isa);
            assert!(
                runs[0] == runs[1] && runs[0] == runs[2],
                "{isa} {shape:?}: deep k differs across thread counts"
            );
        }
    }
}

/// The two FMA paths do the same operations on every element (same depth blocking), so where a
/// CPU has both they must agree bit for bit; this also checks AVX-512 against the AVX2 path.
#[test]
fn fma_paths_bit_identical() {
    if !(Isa::Avx512.is_available() && Isa::Avx2Fma.is_available()) {
        return;
    }
    let mut rng = Rng(7);
    for (s, &shape) in shapes().iter().enumerate() {
        let trans = TRANS[s % TRANS.len()];
        let case = Case::new(trans, shape, ALPHA_BETA[s % ALPHA_BETA.len()], 2, || {
            rng.unit()
        });
        let bits = |isa| common::bits(&case.run(isa));
        assert!(
            bits(Isa::Avx512) == bits(Isa::Avx2Fma),
            "{trans:?} {shape:?}: avx512 ≠ avx2-fma"
        );
    }
}

#[test]
fn unavailable_path_panics() {
    for isa in [Isa::Avx512, Isa::Avx2Fma]
        .into_iter()
        .filter(|i| !i.is_available())
    {
        let mut c = [0.0];
        let r = std::panic::catch_unwind(move || {
            sgemm_with(
                isa,
                Trans::N,
                Trans::N,
                1,
                1,
                1,
                1.0,
                &[1.0],
                1,
                &[1.0],
                1,
                0.0,
                &mut c,
                1,
            )
        });
        assert!(r.is_err(), "{isa} is unavailable but sgemm_with ran it");
    }
}

#[test]
#[should_panic(expected = "too few")]
fn short_operand_panics() {
    let mut c = [0.0; 4];
    sgemm_with(
        Isa::Portable,
        Trans::T,
        Trans::N,
        2,
        2,
        2,
        1.0,
        &[1.0; 3],
        2,
        &[1.0; 4],
        2,
        0.0,
        &mut c,
        2,
    );
}

/// Under CI on an x86_64 CPU with AVX2 + FMA, the AVX2 path must be among those tested above, so
/// a detection regression cannot silently leave only the portable path covered.
#[test]
fn ensure_fast_paths_tested() {
    if std::env::var("CI").as_deref() != Ok("true") {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        assert!(
            available_isas().contains(&Isa::Avx2Fma),
            "AVX2 + FMA CPU, but the avx2-fma path is not tested"
        );
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        assert!(
            available_isas().contains(&Isa::Avx512),
            "AVX-512F CPU, but the avx512 path is not tested"
        );
    }
}
