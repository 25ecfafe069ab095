//! The 1-D transforms of F(2,3) and of its transposition F(3,2), their 2-D nesting, and the
//! vector type they run on (see the parent module for the algorithm).

use crate::gemm::Vector;
use std::ops::{Add, Neg, Sub};

/// One of the algorithm's 1-D transforms, `v ↦ F v` for an `S × R` matrix `F`, on values `T`.
/// A trait (not a closure or function value) so that the 2-D transforms of [`two_d`] call it
/// directly and it inlines into the AVX2 builds.
pub(super) trait Transform<T, const R: usize, const S: usize> {
    fn apply(v: [T; R]) -> [T; S];
}

/// `Bᵀ d`, the input transform of F(2,3).
pub(super) struct Bt;
/// `Aᵀ m`, the output transform of F(2,3).
pub(super) struct At;
/// `A e`, `A = [[1, 0], [1, 1], [1, −1], [0, −1]]`: the filter transform of F(3,2), applied to a
/// 2-element output gradient `e`.
pub(super) struct A;
/// `G g`, the filter transform of F(2,3).
pub(super) struct G;
/// `Gᵀ s`, `Gᵀ = [[1, ½, ½, 0], [0, ½, −½, 0], [0, ½, ½, 1]]`: the output transform of F(3,2).
pub(super) struct Gt;

impl<T: Copy + Add<Output = T> + Sub<Output = T>> Transform<T, 4, 4> for Bt {
    #[inline(always)]
    fn apply(d: [T; 4]) -> [T; 4] {
        [d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]]
    }
}

impl<T: Copy + Add<Output = T> + Sub<Output = T>> Transform<T, 4, 2> for At {
    #[inline(always)]
    fn apply(m: [T; 4]) -> [T; 2] {
        [m[0] + m[1] + m[2], m[1] - m[2] - m[3]]
    }
}

impl<T: Copy + Add<Output = T> + Sub<Output = T> + Neg<Output = T>> Transform<T, 2, 4> for A {
    #[inline(always)]
    fn apply(e: [T; 2]) -> [T; 4] {
        [e[0], e[0] + e[1], e[0] - e[1], -e[1]]
    }
}

impl<T: Copy + Add<Output = T> + Sub<Output = T> + Halve> Transform<T, 3, 4> for G {
    #[inline(always)]
    fn apply(w: [T; 3]) -> [T; 4] {
        [
            w[0],
            (w[0] + w[1] + w[2]).half(),
            (w[0] - w[1] + w[2]).half(),
            w[2],
        ]
    }
}

impl<T: Copy + Add<Output = T> + Sub<Output = T> + Halve> Transform<T, 4, 3> for Gt {
    #[inline(always)]
    fn apply(s: [T; 4]) -> [T; 3] {
        [
            s[0] + (s[1] + s[2]).half(),
            (s[1] - s[2]).half(),
            (s[1] + s[2]).half() + s[3],
        ]
    }
}

/// Multiplication by ½, the one product in [`G`] and [`Gt`] (exact but for underflow).
pub(super) trait Halve {
    fn half(self) -> Self;
}

impl Halve for f32 {
    #[inline(always)]
    fn half(self) -> f32 {
        self * 0.5
    }
}

/// The 2-D transform `F x Fᵀ` of the 1-D transform `F`: `F` on every column of `x`, then on
/// every row of the result.
#[inline(always)]
pub(super) fn two_d<T: Copy, F: Transform<T, R, S>, const R: usize, const S: usize>(
    x: [[T; R]; R],
) -> [[T; S]; S] {
    // Constant-bound loops over arrays built in place (no `from_fn`): fully unrolled, they keep
    // vectors in registers where `from_fn`'s moves went through the stack.
    let mut cols = [[x[0][0]; S]; R];
    for (b, col) in cols.iter_mut().enumerate() {
        let mut v = x[0];
        for (a, v) in v.iter_mut().enumerate() {
            *v = x[a][b];
        }
        *col = F::apply(v);
    }
    let mut out = [[x[0][0]; S]; S];
    for (p, out) in out.iter_mut().enumerate() {
        let mut v = x[0];
        for (b, v) in v.iter_mut().enumerate() {
            *v = cols[b][p];
        }
        *out = F::apply(v);
    }
    out
}

/// [`super::LANES`] tiles' values of one transform entry, in a vector `V` of the path's instruction set.
/// A `Lanes` is made only by the unsafe [`Lanes::load`], whose contract is that the CPU supports
/// `V`: so once one exists, its arithmetic is safe.
#[derive(Clone, Copy)]
pub(super) struct Lanes<V>(pub(super) V);

impl<V: Vector> Lanes<V> {
    /// # Safety
    /// The CPU supports `V`, and `p` is valid for reading [`super::LANES`] floats.
    #[inline(always)]
    pub(super) unsafe fn load(p: *const f32) -> Self {
        // SAFETY: as the caller guarantees.
        Lanes(unsafe { V::load(p) })
    }

    /// [`super::LANES`]` / 2` floats from `lo`, then as many from `hi`.
    ///
    /// # Safety
    /// The CPU supports `V`, and `lo`, `hi` are valid for reading [`super::LANES`]` / 2` floats.
    #[inline(always)]
    pub(super) unsafe fn load_halves(lo: *const f32, hi: *const f32) -> Self {
        // SAFETY: as the caller guarantees.
        Lanes(unsafe { V::load_halves(lo, hi) })
    }
}

impl<V: Vector> Add for Lanes<V> {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: a `Lanes<V>` exists, so the CPU supports `V`.
        Lanes(unsafe { self.0.add(o.0) })
    }
}

impl<V: Vector> Sub for Lanes<V> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: as for `add`.
        Lanes(unsafe { self.0.sub(o.0) })
    }
}

impl<V: Vector> Neg for Lanes<V> {
    type Output = Self;
    /// `0 − x` (so a zero stays +0).
    #[inline(always)]
    fn neg(self) -> Self {
        // SAFETY: as for `add`.
        Lanes(unsafe { V::splat(0.0).sub(self.0) })
    }
}

impl<V: Vector> Halve for Lanes<V> {
    #[inline(always)]
    fn half(self) -> Self {
        // SAFETY: as for `add`.
        Lanes(unsafe { self.0.mul(V::splat(0.5)) })
    }
}
