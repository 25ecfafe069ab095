//! `sgemm_with` on every path this CPU runs, against the f64 oracle `reference::gemm` and against
//! matrixmultiply: all four transpose combinations, awkward sizes, padded leading dimensions,
//! α/β special values, NaN-filled C under β = 0, and bit-identity across rayon thread counts.

mod common;
use regimebench_kernels::{available_isas, reference, sgemm_with, Isa, Trans};

/// Error allowed per term of the k-term dot product, in units of `k · max|a| · max|b| · |α|`, on
/// paths that fuse the multiply-add (one rounding per step, plus the α/β write-back).
const TOL_FUSED: f64 = 2.0 * f32::EPSILON as f64;
/// The same for paths that may round the product and the sum separately (the portable path
/// compiled without FMA): two roundings per step.
const TOL_UNFUSED: f64 = 3.0 * f32::EPSILON as f64;

/// The sizes the shape sweep draws m, n and k from.
const SIZES: [usize; 9] = [1, 2, 3, 7, 17, 63, 65, 129, 300];
const TRANS: [(Trans, Trans); 4] = [
    (Trans::N, Trans::N),
    (Trans::N, Trans::T),
    (Trans::T, Trans::N),
    (Trans::T, Trans::T),
];
/// (α, β) pairs; shapes cycle through them.
const ALPHA_BETA: [(f32, f32); 6] = [
    (1.0, 0.0),
    (1.0, 1.0),
    (-0.5, 2.0),
    (2.0, -0.5),
    (0.0, -0.5),
    (2.0, 0.0),
];

fn tol(isa: Isa) -> f64 {
    match isa {
        Isa::Avx512 | Isa::Avx2Fma => TOL_FUSED,
        Isa::Portable => TOL_UNFUSED,
    }
}

/// Every path to test: all available ones (Portable always is).
fn paths() -> Vec<Isa> {
    let isas = available_isas();
    assert!(isas.contains(&Isa::Portable));
    isas
}

/// Small deterministic generator (xorshift64*), so the tests need no RNG crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    /// An integer in [-4, 4], so that products and sums stay exact in f32.
    fn small_int(&mut self) -> f32 {
        (self.next() % 9) as f32 - 4.0
    }
}

/// One GEMM problem with stored operands.
struct Case {
    ta: Trans,
    tb: Trans,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    beta: f32,
    a: Vec<f32>,
    lda: usize,
    b: Vec<f32>,
    ldb: usize,
    c: Vec<f32>,
    ldc: usize,
}

impl Case {
    /// Operands filled by `fill`, every leading dimension padded by `pad`.
    #[allow(clippy::too_many_arguments)]
    fn new(
        (ta, tb): (Trans, Trans),
        (m, n, k): (usize, usize, usize),
        (alpha, beta): (f32, f32),
        pad: usize,
        mut fill: impl FnMut() -> f32,
    ) -> Case {
        let (a_rows, a_cols) = if ta == Trans::N { (m, k) } else { (k, m) };
        let (b_rows, b_cols) = if tb == Trans::N { (k, n) } else { (n, k) };
        let (lda, ldb, ldc) = (a_cols + pad, b_cols + pad, n + pad);
        let a = (0..a_rows * lda).map(|_| fill()).collect();
        let b = (0..b_rows * ldb).map(|_| fill()).collect();
        let c = (0..m * ldc)
            .map(|_| if beta == 0.0 { f32::NAN } else { fill() })
            .collect();
        Case {
            ta,
            tb,
            m,
            n,
            k,
            alpha,
            beta,
            a,
            lda,
            b,
            ldb,
            c,
            ldc,
        }
    }

    fn run(&self, isa: Isa) -> Vec<f32> {
        let mut c = self.c.clone();
        sgemm_with(
            isa, self.ta, self.tb, self.m, self.n, self.k, self.alpha, &self.a, self.lda, &self.b,
            self.ldb, self.beta, &mut c, self.ldc,
        );
        c
    }

    /// `α op(A) op(B) + β C` in f64 (C not read when β = 0), in C's layout.
    fn reference(&self) -> Vec<f64> {
        let ab = reference::gemm(
            self.ta, self.tb, self.m, self.n, self.k, &self.a, self.lda, &self.b, self.ldb,
        );
        let mut want: Vec<f64> = self.c.iter().map(|&x| x as f64).collect();
        for i in 0..self.m {
            for j in 0..self.n {
                let c0 = if self.beta == 0.0 {
                    0.0
                } else {
                    self.beta as f64 * want[i * self.ldc + j]
                };
                want[i * self.ldc + j] = self.alpha as f64 * ab[i * self.n + j] + c0;
            }
        }
        want
    }

    fn matrixmultiply(&self) -> Vec<f32> {
        let (rsa, csa) = if self.ta == Trans::N {
            (self.lda, 1)
        } else {
            (1, self.lda)
        };
        let (rsb, csb) = if self.tb == Trans::N {
            (self.ldb, 1)
        } else {
            (1, self.ldb)
        };
        let mut c = self.c.clone();
        if self.beta == 0.0 {
            c.fill(0.0);
        }
        // SAFETY: the strides describe `a`, `b` and `c` as `Case::new` allocated them.
        unsafe {
            matrixmultiply::sgemm(
                self.m,
                self.k,
                self.n,
                self.alpha,
                self.a.as_ptr(),
                rsa as isize,
                csa as isize,
                self.b.as_ptr(),
                rsb as isize,
                csb as isize,
                self.beta,
                c.as_mut_ptr(),
                self.ldc as isize,
                1,
            )
        }
        c
    }

    /// The allowed |error| of an element with initial value `c0` and true value `want`:
    /// `tol_per_term · (k |α| max|a| max|b| + |β c0|)` plus one rounding of the result.
    fn bound(&self, tol_per_term: f64, amax_bmax: f64, c0: f32, want: f64) -> f64 {
        let c_term = if self.beta == 0.0 {
            0.0
        } else {
            (self.beta * c0).abs() as f64
        };
        tol_per_term * (self.k as f64 * (self.alpha as f64).abs() * amax_bmax + c_term)
            + f32::EPSILON as f64 * want.abs()
    }

    /// Checks `got` against `want` inside C's m×n part (bounded by `bound`, or exactly when
    /// `tol_per_term` is zero) and that the padding columns of C are untouched.
    fn check(&self, what: &str, got: &[f32], want: &[f64], tol_per_term: f64) {
        let amax = self.a.iter().fold(0.0f32, |x, y| x.max(y.abs())) as f64;
        let bmax = self.b.iter().fold(0.0f32, |x, y| x.max(y.abs())) as f64;
        for i in 0..self.m {
            for j in 0..self.ldc {
                let at = i * self.ldc + j;
                let (g, w, c0) = (got[at], want[at], self.c[at]);
                if j >= self.n {
                    assert!(
                        g.to_bits() == c0.to_bits(),
                        "{what}: padding of C changed at ({i},{j})"
                    );
                    continue;
                }
                let ok = if tol_per_term == 0.0 {
                    g as f64 == w
                } else {
                    (g as f64 - w).abs() <= self.bound(tol_per_term, amax * bmax, c0, w)
                };
                assert!(
                    ok,
                    "{what}: {:?}{:?} m={} n={} k={} α={} β={}: C[{i}][{j}] = {g}, want {w}",
                    self.ta, self.tb, self.m, self.n, self.k, self.alpha, self.beta
                );
            }
        }
    }
}

/// m, n, k over `SIZES` plus k = 0: every pair (m, n) against a spread of depths, and every k
/// against a spread of (m, n), instead of the whole cube.
fn shapes() -> Vec<(usize, usize, usize)> {
    let mut out = vec![];
    for (x, &m) in SIZES.iter().enumerate() {
        for (y, &n) in SIZES.iter().enumerate() {
            out.push((m, n, SIZES[(x + 2 * y) % SIZES.len()]));
        }
        out.push((m, SIZES[(x + 4) % SIZES.len()], 0));
    }
    for &k in &SIZES {
        out.push((1, 129, k));
        out.push((65, 1, k));
        out.push((17, 63, k));
    }
    out
}

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
