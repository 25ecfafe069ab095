//! The deep-k path: C small next to k, and both operands contiguous along k (op(A) = A as
//! stored, op(B) = Bᵀ as stored: the weight-gradient GEMMs `dy · colᵀ`). Every element of C is
//! then the dot product of two contiguous rows, so nothing is packed, and no register tile is
//! wasted on a C narrower than the packed path's NR (a 3×3 kernel's 9 or 27 taps).
//!
//! A DOT_MR×DOT_NR block of C is held in registers as vectors of partial sums along k: lane `l`
//! of element (i, j) sums, by fused multiply-adds in order, the products at depths `p ≡ l` (mod
//! LANES) below the last multiple of LANES. k is cut into chunks of [`DOT_KC`] depths, so that
//! a chunk of B's rows stays in cache while every block of A's rows runs against it; between
//! chunks the partial sums wait in a buffer (stored and reloaded exactly). At the end the lanes of
//! each element are added in a fixed tree, the depths past the last multiple of LANES are added
//! in order by fused multiply-adds, and `C ← α·sum + β·C` (fused; C not read when β = 0).
//! That order depends only on k and LANES, never on the split of C, and the AVX2 and AVX-512
//! paths both run it on 8-lane ymm vectors, so they agree bit for bit.

use super::blocked::Problem;
use super::pack::{with_buffer, Buffer};
use super::params::{
    AVX2_NR, DOT_KC, DOT_LANES, DOT_MAX_N, DOT_MIN_K, DOT_MR, DOT_NR, PAR_MIN_MACS,
};
use super::tile::Vector;
use rayon::prelude::*;

/// Whether `p` runs on this path: op(A) rows and op(B) columns contiguous along k, C at most
/// [`DOT_MAX_N`] columns wide, and k deep enough for the lane sums at the end to pay off: the more
/// of the packed path's last AVX2_NR-wide tile column C would leave empty, the shallower (see
/// [`DOT_MIN_K`]). A function of (n, k) only, so the AVX2 and AVX-512 paths choose alike.
pub(super) fn fits(p: &Problem) -> bool {
    let padded = p.n.next_multiple_of(AVX2_NR);
    let min_k = match padded - p.n {
        empty if 3 * empty >= padded => DOT_MIN_K,
        0 => 4 * DOT_MIN_K,
        _ => 2 * DOT_MIN_K,
    };
    p.a.cs == 1 && p.b.rs == 1 && p.n <= DOT_MAX_N && p.k >= min_k
}

/// One chunk of one register block: the rows of A and B at their first depth of the chunk, and
/// where the block's partial sums wait between chunks (DOT_MR·DOT_NR vectors, element (i, j) at
/// vector `i·DOT_NR + j`).
pub(super) struct DotBlock {
    pub a: [*const f32; DOT_MR],
    pub b: [*const f32; DOT_NR],
    pub sums: *mut f32,
}

/// A deep-k kernel for one instruction set: [`dot_body`] compiled with its features, on vectors
/// of [`DOT_LANES`] floats.
pub(super) trait DotKernel {
    /// [`dot_body`] on this instruction set's vectors.
    ///
    /// # Safety
    /// As [`dot_body`], and the CPU supports the kernel's instruction set.
    unsafe fn block(len: usize, first: bool, blk: &DotBlock);
}

/// Runs the `len` depths (a multiple of DOT_LANES) of one chunk on one register block: starts
/// from zero when `first`, else from the partial sums in `blk.sums`, and leaves them there.
///
/// # Safety
/// The CPU supports `V`'s instruction set; every row pointer is valid for `len` floats;
/// `blk.sums` for DOT_MR·DOT_NR·DOT_LANES floats, overlapping none of the rows.
#[inline(always)]
pub(super) unsafe fn dot_body<V: Vector>(len: usize, first: bool, blk: &DotBlock) {
    const { assert!(V::LANES == DOT_LANES) };
    let at = |i: usize, j: usize| (i * DOT_NR + j) * V::LANES;
    // SAFETY: the reads stay below `len` in each row, and the partial sums below
    // DOT_MR·DOT_NR·LANES, as the caller guarantees.
    unsafe {
        let mut acc = [[V::splat(0.0); DOT_NR]; DOT_MR];
        if !first {
            for (i, row) in acc.iter_mut().enumerate() {
                for (j, acc_ij) in row.iter_mut().enumerate() {
                    *acc_ij = V::load(blk.sums.add(at(i, j)));
                }
            }
        }
        for p in (0..len).step_by(V::LANES) {
            let b = blk.b.map(|b_j| V::load(b_j.add(p)));
            for (row, a_i) in acc.iter_mut().zip(blk.a) {
                let a = V::load(a_i.add(p));
                for (acc_ij, &b_j) in row.iter_mut().zip(&b) {
                    *acc_ij = a.mul_add(b_j, *acc_ij);
                }
            }
        }
        for (i, row) in acc.iter().enumerate() {
            for (j, acc_ij) in row.iter().enumerate() {
                acc_ij.store(blk.sums.add(at(i, j)));
            }
        }
    }
}

/// Runs `p` (which [`fits`]) with kernel `K`, split over the current rayon pool when large enough:
/// tasks take whole register blocks, along C's rows when it has more blocks that way, else
/// along its columns.
///
/// # Safety
/// As [`super::blocked::gemm`], and the CPU supports `K`'s instruction set.
pub(super) unsafe fn gemm<K: DotKernel>(p: &Problem) {
    let (mb, nb) = (p.m.div_ceil(DOT_MR), p.n.div_ceil(DOT_NR));
    let threads = super::blocked::threads();
    let parallel = threads > 1 && p.m.saturating_mul(p.n).saturating_mul(p.k) >= PAR_MIN_MACS;
    let (rows, cols) = match (parallel, mb >= nb) {
        (false, _) => (p.m, p.n),
        (true, true) => (mb.div_ceil(threads) * DOT_MR, p.n),
        (true, false) => (p.m, nb.div_ceil(threads) * DOT_NR),
    };
    let pn = p.n.div_ceil(cols);
    let task = |t: usize| {
        let (m0, n0) = (t / pn * rows, t % pn * cols);
        // SAFETY: the rectangles of distinct tasks are disjoint and inside C; the rest is the
        // caller's contract.
        unsafe { rect::<K>(p, m0, rows.min(p.m - m0), n0, cols.min(p.n - n0)) }
    };
    let tasks = p.m.div_ceil(rows) * pn;
    if tasks == 1 {
        task(0)
    } else {
        (0..tasks).into_par_iter().for_each(task)
    }
}

/// The deep-k loops on the rectangle `[m0, m0+mt) × [n0, n0+nt)` of C.
///
/// # Safety
/// As [`gemm`], and the rectangle lies inside C and no other thread touches it.
unsafe fn rect<K: DotKernel>(p: &Problem, m0: usize, mt: usize, n0: usize, nt: usize) {
    let lanes = DOT_LANES;
    let (mb, nb) = (mt.div_ceil(DOT_MR), nt.div_ceil(DOT_NR));
    let block_len = DOT_MR * DOT_NR * lanes;
    let k_vec = p.k / lanes * lanes;
    // Row r of op(A) and column c of op(B) (clamped into the rectangle: a block's rows past its
    // edge repeat the last one, and their sums are never written out).
    let a_row = |r: usize| p.a.ptr.wrapping_add((m0 + r.min(mt - 1)) * p.a.rs);
    let b_col = |c: usize| p.b.ptr.wrapping_add((n0 + c.min(nt - 1)) * p.b.cs);
    with_buffer(Buffer::A, mb * nb * block_len, |sums| {
        // SAFETY: rows of op(A) and columns of op(B) are contiguous along k (see `fits`) and were
        // validated for k floats; the partial sums hold mb·nb blocks; C is written only inside
        // this task's rectangle.
        unsafe {
            for p0 in (0..k_vec).step_by(DOT_KC) {
                let len = DOT_KC.min(k_vec - p0);
                for ib in 0..mb {
                    let a = std::array::from_fn(|i| a_row(ib * DOT_MR + i).add(p0));
                    for jb in 0..nb {
                        let blk = DotBlock {
                            a,
                            b: std::array::from_fn(|j| b_col(jb * DOT_NR + j).add(p0)),
                            sums: sums.add((ib * nb + jb) * block_len),
                        };
                        K::block(len, p0 == 0, &blk);
                    }
                }
            }
            for r in 0..mt {
                let (ib, i) = (r / DOT_MR, r % DOT_MR);
                let a = a_row(r);
                for c in 0..nt {
                    let (jb, j) = (c / DOT_NR, c % DOT_NR);
                    let b = b_col(c);
                    let lanes_ij = sums.add((ib * nb + jb) * block_len + (i * DOT_NR + j) * lanes);
                    let mut s = lane_sum(lanes_ij.cast::<[f32; DOT_LANES]>().read());
                    for q in k_vec..p.k {
                        s = (*a.add(q)).mul_add(*b.add(q), s);
                    }
                    let cp = p.c.ptr.add((m0 + r) * p.c.ldc + n0 + c);
                    *cp = if p.beta == 0.0 {
                        p.alpha * s
                    } else {
                        p.alpha.mul_add(s, p.beta * *cp)
                    };
                }
            }
        }
    })
}

/// The sum of the lanes of one element's partial sums, by halves (lane l + lane l+4, then
/// l + l+2, then l + l+1).
#[inline(always)]
fn lane_sum(l: [f32; DOT_LANES]) -> f32 {
    ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}
