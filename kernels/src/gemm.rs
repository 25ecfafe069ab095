//! Single-precision GEMM: the public entry points, their contract checks and the dispatch to one
//! micro-kernel per instruction set. BLIS-style: the loops and the parallel split are in
//! `gemm/blocked.rs`, packing in `gemm/pack.rs`, the one register-tile body in `gemm/tile.rs`, its
//! per-ISA instantiations in `gemm/{avx512,avx2,portable}.rs`, every tuning constant in
//! `gemm/params.rs`. Deep-k products with a narrow C and both operands contiguous along k (weight
//! gradients) take the unpacked dot-product path of `gemm/dot.rs` instead, chosen from the shape
//! alone, alike on every path.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod blocked;
mod dot;
mod pack;
mod params;
mod portable;
mod tile;

use crate::fma_width::zmm_full_width;
use crate::{active_isa, Isa};
#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::Ymm;
#[cfg(target_arch = "x86_64")]
pub(crate) use avx512::Zmm;
pub(crate) use blocked::serial;
use blocked::{Out, Problem};
use pack::Strided;
pub(crate) use tile::Vector;

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
/// not read (it need not be initialised, and NaNs in it are overwritten). When `α == 0` or
/// `k == 0`, A and B are not read and C ← β C.
///
/// Runs on the [`active_isa`] path, split over the current rayon pool when m·n·k is large enough.
/// The split cuts C only, never the k reduction, so results are bit-identical for any thread
/// count.
///
/// # Panics
/// When a slice is too short for its shape and stride, or when `ldc < n` with `m > 1`.
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
///
/// # Panics
/// As [`sgemm`], and when this CPU cannot run `isa`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_with(
    isa: Isa,
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
    assert!(
        isa.is_available(),
        "sgemm_with: this CPU cannot run the {isa} path"
    );
    let a = strided("A", ta, m, k, a, lda);
    let b = strided("B", tb, k, n, b, ldb);
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        m == 1 || ldc >= n,
        "sgemm: ldc = {ldc} < n = {n} would make rows of C overlap"
    );
    let c_len = c.len();
    assert!(
        c_len > (m - 1) * ldc + n - 1,
        "sgemm: C has {c_len} elements, too few for {m}×{n} with ldc = {ldc}"
    );
    if k == 0 || alpha == 0.0 {
        for row in c.chunks_mut(ldc.max(n)).take(m) {
            let row = &mut row[..n];
            if beta == 0.0 {
                row.fill(0.0);
            } else {
                row.iter_mut().for_each(|x| *x *= beta);
            }
        }
        return;
    }
    let c = Out {
        ptr: c.as_mut_ptr(),
        ldc,
    };
    let p = Problem {
        m,
        n,
        k,
        alpha,
        a,
        b,
        beta,
        c,
    };
    use params::*;
    // SAFETY: `isa.is_available()` was asserted; `strided` and the C asserts above bound every
    // element the strides reach; rows of C are disjoint (ldc >= n); k > 0.
    unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 if dot::fits(&p) => dot::gemm::<avx512::Avx512>(&p),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma if dot::fits(&p) => dot::gemm::<avx2::Avx2Fma>(&p),
            Isa::Portable if dot::fits(&p) => dot::gemm::<portable::Portable>(&p),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 if ymm_tile_faster(&p) => {
                blocked::gemm::<avx2::Avx2Fma, AVX2_MR, AVX2_NR>(&p)
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => blocked::gemm::<avx512::Avx512, AVX512_MR, AVX512_NR>(&p),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => blocked::gemm::<avx2::Avx2Fma, AVX2_MR, AVX2_NR>(&p),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx512 | Isa::Avx2Fma => unreachable!("{isa} is never available off x86_64"),
            Isa::Portable => blocked::gemm::<portable::Portable, PORTABLE_MR, PORTABLE_NR>(&p),
        }
    }
}

/// Whether the AVX-512 path runs `p` on the AVX2 micro-kernel (6×16 ymm) rather than its own
/// (8×32 zmm). Never on a core that runs zmm FMAs at full width ([`zmm_full_width`], measured at
/// run time): there the zmm tile won everywhere (Zen 5, 2026-12-04: the `small` step +19%, the
/// `resnet18` step +10% at width 20 and +12% at width 64). On a core that splits them into two
/// 256-bit halves (Zen 4) the wider tile gains only fewer instructions, and the ymm one measured
/// faster when op(B) is B transposed (packing 32-wide panels across B's rows: `fc576x128_fwd`
/// 99 against 79 GFLOP/s) and when B is read unpacked ([`blocked::direct_b`]: Winograd's 16-
/// and 32-row GEMMs, 81-91 against 66-77). Both kernels give the same bits (same per-element
/// operations, same depth blocking), so this choice changes no result.
fn ymm_tile_faster(p: &Problem) -> bool {
    if zmm_full_width() {
        return false;
    }
    let kc = blocked::depth_block(p.k, params::AVX2_BLOCKING.kc);
    p.b.cs != 1 || blocked::direct_b(p, kc)
}

/// op(X) (`rows`×`cols`) as strides into `x`, after checking that `x` covers every element.
fn strided(name: &str, t: Trans, rows: usize, cols: usize, x: &[f32], ld: usize) -> Strided {
    let (rs, cs) = match t {
        Trans::N => (ld, 1),
        Trans::T => (1, ld),
    };
    if rows > 0 && cols > 0 {
        let last = (rows - 1) * rs + (cols - 1) * cs;
        assert!(
            x.len() > last,
            "sgemm: {name} has {} elements, too few for op({name}) {rows}×{cols} ({t:?}, ld = {ld})",
            x.len()
        );
    }
    Strided {
        ptr: x.as_ptr(),
        rs,
        cs,
    }
}
