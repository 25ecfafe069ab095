//! The GEMM problems of the tests: stored operands with padded leading dimensions from a small
//! deterministic generator, their f64 reference and matrixmultiply's result, the error bound they
//! are checked against, and the shapes, transposes and (α, β) pairs the tests sweep.

use regimebench_kernels::{available_isas, reference, sgemm_with, Isa, Trans};

/// Error allowed per term of the k-term dot product, in units of `k · max|a| · max|b| · |α|`, on
/// paths that fuse the multiply-add (one rounding per step, plus the α/β write-back).
const TOL_FUSED: f64 = 2.0 * f32::EPSILON as f64;
/// The same for paths that may round the product and the sum separately (the portable path
/// compiled without FMA): two roundings per step.
const TOL_UNFUSED: f64 = 3.0 * f32::EPSILON as f64;

/// The sizes the shape sweep draws m, n and k from.
const SIZES: [usize; 9] = [1, 2, 3, 7, 17, 63, 65, 129, 300];
pub const TRANS: [(Trans, Trans); 4] = [
    (Trans::N, Trans::N),
    (Trans::N, Trans::T),
    (Trans::T, Trans::N),
    (Trans::T, Trans::T),
];
/// (α, β) pairs; shapes cycle through them.
pub const ALPHA_BETA: [(f32, f32); 6] = [
    (1.0, 0.0),
    (1.0, 1.0),
    (-0.5, 2.0),
    (2.0, -0.5),
    (0.0, -0.5),
    (2.0, 0.0),
];

pub fn tol(isa: Isa) -> f64 {
    match isa {
        Isa::Avx512 | Isa::Avx2Fma => TOL_FUSED,
        Isa::Portable => TOL_UNFUSED,
    }
}

/// Every path to test: all available ones (Portable always is).
pub fn paths() -> Vec<Isa> {
    let isas = available_isas();
    assert!(isas.contains(&Isa::Portable));
    isas
}

/// Small deterministic generator (xorshift64*), so the tests need no RNG crate.
pub struct Rng(pub u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    /// An integer in [-4, 4], so that products and sums stay exact in f32.
    pub fn small_int(&mut self) -> f32 {
        (self.next() % 9) as f32 - 4.0
    }
}

/// One GEMM problem with stored operands.
pub struct Case {
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
    pub ldc: usize,
}

impl Case {
    /// Operands filled by `fill`, every leading dimension padded by `pad`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
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

    pub fn run(&self, isa: Isa) -> Vec<f32> {
        let mut c = self.c.clone();
        sgemm_with(
            isa, self.ta, self.tb, self.m, self.n, self.k, self.alpha, &self.a, self.lda, &self.b,
            self.ldb, self.beta, &mut c, self.ldc,
        );
        c
    }

    /// `α op(A) op(B) + β C` in f64 (C not read when β = 0), in C's layout.
    pub fn reference(&self) -> Vec<f64> {
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

    pub fn matrixmultiply(&self) -> Vec<f32> {
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
    pub fn check(&self, what: &str, got: &[f32], want: &[f64], tol_per_term: f64) {
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
pub fn shapes() -> Vec<(usize, usize, usize)> {
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
