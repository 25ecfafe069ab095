//! The one micro-kernel body, generic over a vector type: an MR×NR tile of C held in registers
//! over k rank-1 updates, then `C ← α·acc + β·C`. Each ISA file instantiates it inside one
//! `#[target_feature]` function.

use super::params::{A_PREFETCH_DEPTHS, K_UNROLL};

/// The vector operations the micro-kernel needs. Implementations are `#[inline(always)]` so that
/// they are compiled with the target features of the function they are inlined into.
pub(crate) trait Vector: Copy {
    /// f32 lanes per vector.
    const LANES: usize;
    /// # Safety
    /// The CPU supports the implementation's instruction set.
    unsafe fn splat(x: f32) -> Self;
    /// # Safety
    /// As [`Vector::splat`], and `p` is valid for reading `LANES` floats (any alignment).
    unsafe fn load(p: *const f32) -> Self;
    /// # Safety
    /// As [`Vector::splat`], and `p` is valid for writing `LANES` floats (any alignment).
    unsafe fn store(self, p: *mut f32);
    /// # Safety
    /// As [`Vector::splat`].
    unsafe fn mul(self, b: Self) -> Self;
    /// # Safety
    /// As [`Vector::splat`].
    unsafe fn add(self, b: Self) -> Self;
    /// # Safety
    /// As [`Vector::splat`].
    unsafe fn sub(self, b: Self) -> Self;
    /// Stores `self` and `b` interleaved: `p[2l] = self[l]`, `p[2l + 1] = b[l]` for every lane
    /// `l` (the two vectors of [`Vector::zip_halves`], one after the other).
    ///
    /// # Safety
    /// As [`Vector::splat`], and `p` is valid for writing `2·LANES` floats (any alignment).
    #[inline(always)]
    unsafe fn store_zipped(self, b: Self, p: *mut f32) {
        // SAFETY: `p` covers both vectors, as the caller guarantees.
        unsafe {
            let (lo, hi) = self.zip_halves(b);
            lo.store(p);
            hi.store(p.add(Self::LANES));
        }
    }
    /// Loads `LANES / 2` floats from `lo` into the low lanes and `LANES / 2` from `hi` into the
    /// high ones. By default through a buffer (at most 16 lanes).
    ///
    /// # Safety
    /// As [`Vector::splat`], and `lo`, `hi` are valid for reading `LANES / 2` floats each.
    #[inline(always)]
    unsafe fn load_halves(lo: *const f32, hi: *const f32) -> Self {
        let half = Self::LANES / 2;
        let mut buf = [0.0f32; 16];
        // SAFETY: `buf` holds 16 ≥ LANES floats; `lo` and `hi` as the caller guarantees.
        unsafe {
            std::ptr::copy_nonoverlapping(lo, buf.as_mut_ptr(), half);
            std::ptr::copy_nonoverlapping(hi, buf.as_mut_ptr().add(half), half);
            Self::load(buf.as_ptr())
        }
    }
    /// `self` and `b` interleaved, as two vectors: the first holds the low halves zipped
    /// (`self[0], b[0], self[1], b[1], …`), the second the high halves. By default through a
    /// buffer, lane by lane (at most 16 lanes).
    ///
    /// # Safety
    /// As [`Vector::splat`].
    #[inline(always)]
    unsafe fn zip_halves(self, b: Self) -> (Self, Self) {
        let (mut buf, mut zipped) = ([[0.0f32; 16]; 2], [0.0f32; 32]);
        // SAFETY: each half of `buf` holds 16 ≥ LANES floats, `zipped` 32 ≥ 2·LANES.
        unsafe {
            self.store(buf[0].as_mut_ptr());
            b.store(buf[1].as_mut_ptr());
            for (l, (&a, &b)) in buf[0].iter().zip(&buf[1]).take(Self::LANES).enumerate() {
                zipped[2 * l] = a;
                zipped[2 * l + 1] = b;
            }
            let p = zipped.as_ptr();
            (Self::load(p), Self::load(p.add(Self::LANES)))
        }
    }
    /// `self · b + c`, fused where the instruction set has FMA.
    ///
    /// # Safety
    /// As [`Vector::splat`].
    unsafe fn mul_add(self, b: Self, c: Self) -> Self;
    /// Hints that the cache line holding `p` is about to be accessed; a no-op by default.
    ///
    /// # Safety
    /// As [`Vector::splat`] (`p` need not be valid: a prefetch never faults).
    #[inline(always)]
    unsafe fn prefetch(_p: *const f32) {}
}

/// Where and how a micro-kernel writes its tile: rows `0..rows` (at most MR) of NR floats at
/// `c`, row stride `ldc`, as `C ← α·acc + β·C`; when `β == 0`, C is not read.
#[derive(Clone, Copy)]
pub(super) struct TileOut {
    pub c: *mut f32,
    pub ldc: usize,
    pub rows: usize,
    pub alpha: f32,
    pub beta: f32,
}

/// A micro-kernel with an MR×NR register tile, and the blocking tuned for it.
pub(super) trait MicroKernel<const MR: usize, const NR: usize> {
    /// The cache blocking of the loops around this kernel.
    const BLOCKING: super::params::Blocking;

    /// `C ← α · Ã B̃ + β C` on one tile, where `Ã` is a packed MR×k micro-panel (k columns of MR
    /// values) and `B̃` a k×NR micro-panel: k rows of NR values, row `p` at `b + p·ldb` (`ldb` =
    /// NR when packed; B's own row stride when read where it is stored); C is described by `out`.
    ///
    /// # Safety
    /// The CPU supports the kernel's instruction set; `a` is valid for reading MR·k floats, `b`
    /// for k rows of NR floats at stride `ldb`; `out.c` is valid for reading and writing
    /// `out.rows` ≤ MR rows of NR floats with row stride `out.ldc`, and overlaps neither.
    unsafe fn tile(k: usize, a: *const f32, b: *const f32, ldb: usize, out: TileOut);

    /// [`pack`](super::pack::pack) compiled for this kernel's instruction set.
    ///
    /// # Safety
    /// As [`pack`](super::pack::pack), and the CPU supports the kernel's instruction set.
    #[inline(always)]
    unsafe fn pack<const W: usize>(
        len: usize,
        kb: usize,
        src: *const f32,
        ws: usize,
        ks: usize,
        dst: *mut f32,
    ) {
        // SAFETY: forwarded contract.
        unsafe { super::pack::pack::<W>(len, kb, src, ws, ks, dst) }
    }
}

/// The shared body of every micro-kernel: the first R of a packed panel's MR rows × NV vectors
/// of `V`. R = MR but for a last panel of fewer rows (`out.rows ≤ R`), which then skips the
/// multiplications of the panel's zero padding rather than compute and drop them.
///
/// Every element of C goes through the same operations whatever its position in the tile and
/// whatever R, and the accumulation runs over k in order, so the result does not depend on how C
/// is tiled.
///
/// # Safety
/// As [`MicroKernel::tile`] with NR = NV · `V::LANES`, and `out.rows ≤ R ≤ MR`.
#[inline(always)]
pub(super) unsafe fn tile_body<V: Vector, const MR: usize, const R: usize, const NV: usize>(
    k: usize,
    a: *const f32,
    b: *const f32,
    ldb: usize,
    out: TileOut,
) {
    const { assert!(R <= MR) };
    debug_assert!(out.rows <= R);
    let nr = NV * V::LANES;
    let TileOut {
        c,
        ldc,
        rows,
        alpha,
        beta,
    } = out;
    // SAFETY: the caller guarantees the instruction set, that `a` covers MR·k floats and `b` k
    // rows of NR at stride `ldb`, and that `c` covers `rows` rows of NR floats at stride `ldc`;
    // every offset below is inside those ranges.
    unsafe {
        // C is used only after the k loop: start loading its rows (first and last line of each).
        for i in 0..rows {
            V::prefetch(c.add(i * ldc));
            V::prefetch(c.add(i * ldc + nr - 1));
        }
        let mut acc = [[V::splat(0.0); NV]; R];
        let k_unrolled = k / K_UNROLL * K_UNROLL;
        for p0 in (0..k_unrolled).step_by(K_UNROLL) {
            V::prefetch(a.add((p0 + A_PREFETCH_DEPTHS) * MR));
            for p in p0..p0 + K_UNROLL {
                rank1::<V, R, NV>(&mut acc, a.add(p * MR), b.add(p * ldb));
            }
        }
        for p in k_unrolled..k {
            rank1::<V, R, NV>(&mut acc, a.add(p * MR), b.add(p * ldb));
        }
        let alpha_v = V::splat(alpha);
        let beta_v = V::splat(beta);
        for (i, row) in acc.iter().enumerate().take(rows) {
            for (j, acc_ij) in row.iter().enumerate() {
                let cp = c.add(i * ldc + j * V::LANES);
                let out = if beta == 0.0 {
                    acc_ij.mul(alpha_v)
                } else {
                    acc_ij.mul_add(alpha_v, V::load(cp).mul(beta_v))
                };
                out.store(cp);
            }
        }
    }
}

/// One rank-1 update of the accumulators: `acc[i][j] += a[i] · b[j·LANES ..]`, R values of A at
/// `a` and NV vectors of B at `b`. The B vectors are loaded first, then each A value is broadcast
/// once against all of them.
///
/// # Safety
/// The CPU supports `V`'s instruction set; `a` is valid for reading R floats, `b` for
/// NV·`V::LANES` floats.
#[inline(always)]
unsafe fn rank1<V: Vector, const R: usize, const NV: usize>(
    acc: &mut [[V; NV]; R],
    a: *const f32,
    b: *const f32,
) {
    // SAFETY: the offsets stay below R and NV·LANES, as the caller guarantees.
    unsafe {
        let mut bv = [V::splat(0.0); NV];
        for (j, b_j) in bv.iter_mut().enumerate() {
            *b_j = V::load(b.add(j * V::LANES));
        }
        for (i, row) in acc.iter_mut().enumerate() {
            let a_i = V::splat(*a.add(i));
            for (acc_ij, &b_j) in row.iter_mut().zip(&bv) {
                *acc_ij = a_i.mul_add(b_j, *acc_ij);
            }
        }
    }
}
