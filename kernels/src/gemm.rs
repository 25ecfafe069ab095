//! Single-precision GEMM. (Interim body: delegates to matrixmultiply until the packed kernels land.)

use crate::{active_isa, Isa};

/// Whether a GEMM operand is used as stored (`N`) or transposed (`T`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trans {
    N,
    T,
}

/// `C ← α op(A) op(B) + β C`, all row-major.
///
/// `op(A)` is m×k: with `Trans::N`, A is stored m×k with row stride `lda`; with `Trans::T`, A is
/// stored k×m with row stride `lda` and used transposed. Likewise `op(B)` is k×n, stored k×n
/// (`N`) or n×k (`T`) with row stride `ldb`. C is m×n with row stride `ldc`. When `β == 0`, C is
/// not read (it need not be initialised, and NaNs in it are overwritten).
///
/// # Panics
/// When a slice is too short for its shape and stride.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    ta: Trans,
    tb: Trans,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    sgemm_with(
        active_isa(),
        ta,
        tb,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc,
    )
}

/// [`sgemm`] on a named path (tests and benchmarks compare the paths).
#[allow(clippy::too_many_arguments)]
pub fn sgemm_with(
    _isa: Isa,
    ta: Trans,
    tb: Trans,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    let (rsa, csa) = match ta {
        Trans::N => (lda, 1),
        Trans::T => (1, lda),
    };
    let (rsb, csb) = match tb {
        Trans::N => (ldb, 1),
        Trans::T => (1, ldb),
    };
    assert!(a.len() >= (m - 1) * rsa + k.saturating_sub(1) * csa + usize::from(k > 0));
    assert!(b.len() >= k.saturating_sub(1) * rsb + (n - 1) * csb + usize::from(k > 0));
    assert!(c.len() >= (m - 1) * ldc + n);
    if beta == 0.0 {
        for i in 0..m {
            c[i * ldc..i * ldc + n].fill(0.0);
        }
    }
    // SAFETY: the asserts above bound every index the strides reach.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            beta,
            c.as_mut_ptr(),
            ldc as isize,
            1,
        )
    }
}
