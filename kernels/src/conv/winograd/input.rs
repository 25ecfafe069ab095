//! The input transforms: a plane split by the parities of its coordinates ([`split`]), then the
//! transform-domain tiles of its 4×4 input patches (`Bᵀ d B`) or of its 2×2 output-gradient
//! tiles (`A e Aᵀ`), plane after plane into `V[ξ][c][t]` (see the parent module).

use super::deinterleave;
use super::transform::{Bt, Lanes, Transform, A};
use super::{Grid, LANES};
#[cfg(target_arch = "x86_64")]
use crate::fma_width::zmm_full_width;
use crate::gemm::Vector;
#[cfg(target_arch = "x86_64")]
use crate::gemm::{Ymm, Zmm};
use crate::Isa;
use std::array::from_fn;
use wide::f32x8;

/// Splits plane `x` (`h × w`, the first `h·w` floats of `x`; the rest, the caller's later planes,
/// may be read but not used) by the parities of its coordinates shifted by `origin`:
/// `q[2ra + cb][k·qw + l] = x[2k + ra − origin][2l + cb − origin]`, zero where that is outside
/// `x` (so `origin = 1` is the zero padding of the forward). Then the 2×2-strided reads of a tile
/// become contiguous: element `(a, b)` of the patches of tiles `tj, tj+1, …` of tile row `ti` is
/// `q[2(a%2) + b%2][(ti + a/2)·qw + tj + b/2 ..]`. Stores each element of `x` at its position of
/// `q` (`4 ·` [`Grid::quarter`]) and only zeros elsewhere, so after the caller zeroes `q` once,
/// every other position stays zero for all its planes, whichever path each row takes.
/// `AVX2`: the rows' column split runs in AVX2 shuffles (the caller is compiled with AVX2); rows
/// of at most 8 floats in one step of 4 pairs, reading past the row (while within `x`) and
/// storing zeros past its values. Those zeros land on padding, on the slack, or on later parity
/// rows of the same parity plane, which later input rows of the plane write (never on rows
/// already written: each parity row gets one input row, in increasing order). `AVX512` (the
/// caller is compiled with AVX-512F): rows of at least 32 floats split in zmm permutes instead.
#[inline(always)]
pub(super) fn split<const AVX2: bool, const AVX512: bool>(
    grid: &Grid,
    origin: usize,
    x: &[f32],
    q: &mut [f32],
) {
    let (len, qw, w) = (grid.quarter(), grid.qw(), grid.w);
    let (n_even, n_odd) = (w.div_ceil(2), w / 2);
    for (r, row) in x[..grid.h * w].chunks_exact(w).enumerate() {
        let (ra, k) = ((r + origin) % 2, (r + origin) / 2);
        let (c0, c1) = q[2 * ra * len..][..2 * len].split_at_mut(len);
        // Column 2l lands in parity `origin` at l; column 2l + 1 in parity 1 − origin at l + origin.
        let (even, odd) = if origin == 0 { (c0, c1) } else { (c1, c0) };
        #[cfg(target_arch = "x86_64")]
        if AVX2 && n_even <= 4 && r * w + 8 <= x.len() {
            let (even, odd) = (&mut even[k * qw..][..4], &mut odd[k * qw + origin..][..4]);
            let src = x[r * w..][..8].as_ptr();
            // SAFETY: `AVX2` says the CPU has it; the slices hold what the step reads and writes
            // (past the row and past its parity row: within the quarter, whose LANES floats of
            // slack take the last row's overrun).
            unsafe {
                deinterleave::avx2_short(src, (n_even, n_odd), even.as_mut_ptr(), odd.as_mut_ptr())
            };
            continue;
        }
        let even = &mut even[k * qw..][..n_even];
        let odd = &mut odd[k * qw + origin..][..n_odd];
        let pairs = &mut even[..n_odd];
        #[cfg(target_arch = "x86_64")]
        if AVX512 && n_odd >= 16 {
            // SAFETY: `AVX512` says the CPU has it.
            unsafe { deinterleave::avx512(row, pairs, odd) };
        } else if AVX2 {
            // SAFETY: `AVX2` says the CPU has it.
            unsafe { deinterleave::avx2(row, pairs, odd) };
        } else {
            deinterleave::portable(row, pairs, odd);
        }
        #[cfg(not(target_arch = "x86_64"))]
        deinterleave::portable(row, pairs, odd);
        if w % 2 == 1 {
            even[w / 2] = row[w - 1];
        }
    }
}

/// The transform-domain tiles of one split plane `q` (see [`split`]): for every tile `t` of the
/// grid, the `R × R` patch `d` (element `(a, b)` as in [`split`]) goes through the 2-D transform
/// of `F`, whose 16 results `X_ξ` are stored at `v[ξ·ld + t]`. Writes up to `LANES − 1` floats
/// past the last tile of each tile row in each row ξ: those positions belong to later tiles (or
/// to the slack after the last).
///
/// One pass over the tiles per column `Q` of the transform domain (the four `X_(p, Q)`), each
/// loading only the patch columns that column needs (two of four for `Bᵀ`): with all 16 results
/// of a tile at once, their 16 store addresses and the patch's 16 values did not fit in registers
/// and spilled on every vector.
///
/// # Safety
/// The CPU supports `V`.
#[inline(always)]
unsafe fn to_tiles<V: Vector, F: Transform<Lanes<V>, R, 4>, const R: usize>(
    grid: &Grid,
    q: &[f32],
    v: &mut [f32],
    ld: usize,
) {
    // Every read of `to_tiles_column` is within `q`: at most
    // `3·len + (th − 1 + 1)·qw + tw − 1 + 1 + LANES − 1`; every write within `v`: at most
    // `15·ld + tiles − 1 + LANES − 1`.
    assert!(q.len() >= 4 * grid.quarter() && v.len() >= 15 * ld + grid.tiles() + LANES - 1);
    // SAFETY (all four): the assert; the CPU supports `V`.
    unsafe {
        to_tiles_column::<V, F, R, 0>(grid, q, v, ld);
        to_tiles_column::<V, F, R, 1>(grid, q, v, ld);
        to_tiles_column::<V, F, R, 2>(grid, q, v, ld);
        to_tiles_column::<V, F, R, 3>(grid, q, v, ld);
    }
}

/// The results `X_(p, Q)`, p = 0 … 3, of [`to_tiles`] (column `Q` of the transform domain):
/// `F` on the patch columns, as in [`two_d`](super::transform::two_d), then row `Q` of `F` on
/// those. The same operations, in the same order, as [`two_d`](super::transform::two_d) gives
/// that column.
///
/// # Safety
/// The CPU supports `V`; `q` and `v` as asserted by [`to_tiles`].
#[inline(always)]
unsafe fn to_tiles_column<
    V: Vector,
    F: Transform<Lanes<V>, R, 4>,
    const R: usize,
    const Q: usize,
>(
    grid: &Grid,
    q: &[f32],
    v: &mut [f32],
    ld: usize,
) {
    let (len, qw) = (grid.quarter(), grid.qw());
    let offsets: [[usize; R]; R] =
        from_fn(|a| from_fn(|b| (2 * (a % 2) + b % 2) * len + a / 2 * qw + b / 2));
    // Steps between vectors: two tile rows when paired, else a vector's tiles of one row.
    let (row_step, col_step) = if grid.paired() {
        (2, grid.tw)
    } else {
        (1, V::LANES)
    };
    for ti in (0..grid.th).step_by(row_step) {
        for tj in (0..grid.tw).step_by(col_step) {
            let q = q[ti * qw + tj..].as_ptr();
            // SAFETY: the CPU supports `V`.
            let zero = Lanes(unsafe { V::splat(0.0) });
            // `F` on each patch column b (over rows a); the loads of the columns that row Q of
            // `F` does not use are dead, and compiled away.
            let mut cols = [[zero; 4]; R];
            for (b, col) in cols.iter_mut().enumerate() {
                let mut d = [zero; R];
                for (a, d) in d.iter_mut().enumerate() {
                    // SAFETY: within `q`, see the assert of `to_tiles` (paired: the upper half's
                    // row, one below, reads at most `qw + LANES / 2` past the lower's start); the
                    // CPU supports `V`.
                    *d = unsafe {
                        let at = q.add(offsets[a][b]);
                        if grid.paired() {
                            Lanes::load_halves(at, at.add(qw))
                        } else {
                            Lanes::load(at)
                        }
                    };
                }
                *col = F::apply(d);
            }
            let v = v[ti * grid.tw + tj..].as_mut_ptr();
            for p in 0..4 {
                let row = cols.map(|col| col[p]);
                // SAFETY: within `v`, see the assert of `to_tiles`; the CPU supports `V`.
                unsafe { F::apply(row)[Q].0.store(v.add((4 * p + Q) * ld)) };
            }
        }
    }
}

/// Which transform [`transform_planes`] applies.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    /// `Bᵀ d B` of each tile's 4×4 input patch (zero padding of 1).
    Input,
    /// `A e Aᵀ` of each tile's 2×2 output gradient (zero past an odd side).
    OutputGrad,
}

/// Transforms `images` images of `chans` planes each (`x`, NCHW) into `v[ξ][c][t]` (rows of `ld`
/// floats, row `ξ·chans + c`, tile `t` of image `i` at `i·tiles + t`), splitting each plane in `q`
/// (`4 ·` [`Grid::quarter`] floats) first. Images go in order for each channel, so the floats a
/// plane writes past its tiles are overwritten by the next image's.
pub(super) fn transform_planes(
    isa: Isa,
    grid: &Grid,
    kind: Kind,
    x: &[f32],
    chans: usize,
    q: &mut [f32],
    (v, ld): (&mut [f32], usize),
) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && zmm_fits(grid) && zmm_full_width() {
        // SAFETY: the Avx512 path runs only on CPUs with AVX-512F.
        return unsafe { transform_planes_avx512(grid, kind, x, chans, q, (v, ld)) };
    }
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable {
        // SAFETY: the Avx2Fma and Avx512 paths run only on CPUs with AVX2 and FMA.
        return unsafe { transform_planes_avx2(grid, kind, x, chans, q, (v, ld)) };
    }
    // SAFETY: `f32x8` needs no CPU feature.
    unsafe { transform_planes_body::<f32x8, false, false>(grid, kind, x, chans, q, (v, ld)) }
}

/// Whether [`to_tiles`] can run on zmm vectors of 16 tiles: tile rows of a multiple of 16 tiles
/// (planes 32 wide), which no vector overruns. The AVX-512 path takes them where zmm FMAs run at
/// full width (`fma_width.rs`); the same operations per tile, so the same bits as ymm.
fn zmm_fits(grid: &Grid) -> bool {
    grid.tw.is_multiple_of(16)
}

/// [`transform_planes_body`] on zmm vectors (see [`zmm_fits`]), compiled with AVX-512F.
///
/// # Safety
/// The CPU supports AVX-512F; `zmm_fits(grid)`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn transform_planes_avx512(
    grid: &Grid,
    kind: Kind,
    x: &[f32],
    chans: usize,
    q: &mut [f32],
    (v, ld): (&mut [f32], usize),
) {
    debug_assert!(zmm_fits(grid));
    // SAFETY: this function's contract (AVX-512F implies AVX2).
    unsafe { transform_planes_body::<Zmm, true, true>(grid, kind, x, chans, q, (v, ld)) }
}

/// [`transform_planes_body`] on ymm vectors, compiled with AVX2 and FMA.
///
/// # Safety
/// The CPU supports AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn transform_planes_avx2(
    grid: &Grid,
    kind: Kind,
    x: &[f32],
    chans: usize,
    q: &mut [f32],
    (v, ld): (&mut [f32], usize),
) {
    // SAFETY: this function's contract.
    unsafe { transform_planes_body::<Ymm, true, false>(grid, kind, x, chans, q, (v, ld)) }
}

/// See [`transform_planes`]; `AVX2` and `AVX512` as in [`split`].
///
/// # Safety
/// The CPU supports `V`, AVX2 when `AVX2` and AVX-512F when `AVX512`.
#[inline(always)]
unsafe fn transform_planes_body<V: Vector, const AVX2: bool, const AVX512: bool>(
    grid: &Grid,
    kind: Kind,
    x: &[f32],
    chans: usize,
    q: &mut [f32],
    (v, ld): (&mut [f32], usize),
) {
    let (plane, tiles) = (grid.h * grid.w, grid.tiles());
    // The positions of no element (the padding, and the slack read past the last tile) only
    // ever get zeros from `split`: they stay zero from plane to plane.
    q.fill(0.0);
    for i in 0..x.len() / (chans * plane) {
        for c in 0..chans {
            // From the plane on: `split` may read past a row, into the next planes.
            let x = &x[(i * chans + c) * plane..];
            let v = &mut v[c * ld + i * tiles..];
            let ld = chans * ld;
            // SAFETY (both): the CPU supports `V`.
            match kind {
                Kind::Input => {
                    split::<AVX2, AVX512>(grid, 1, x, q);
                    unsafe { to_tiles::<V, Bt, 4>(grid, q, v, ld) };
                }
                Kind::OutputGrad => {
                    split::<AVX2, AVX512>(grid, 0, x, q);
                    unsafe { to_tiles::<V, A, 2>(grid, q, v, ld) };
                }
            }
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::test_common::signed_values;

    /// The zmm build of the transforms gives the ymm build's bits, on planes 32 and 64 wide.
    #[test]
    fn zmm_transforms_match_ymm_bit_for_bit() {
        if !crate::Isa::Avx512.is_available() {
            return;
        }
        for (h, w) in [(32, 32), (5, 64), (31, 32)] {
            let grid = Grid::new(h, w);
            assert!(zmm_fits(&grid));
            let (chans, images) = (3, 2);
            let x = signed_values(images * chans * h * w, (h * w) as u64);
            let ld = images * grid.tiles() + LANES;
            for kind in [Kind::Input, Kind::OutputGrad] {
                let run = |zmm: bool| {
                    let mut q = vec![f32::NAN; 4 * grid.quarter()];
                    let mut v = vec![0.0f32; 16 * chans * ld];
                    // SAFETY: AVX-512F checked above (it implies AVX2 and FMA).
                    unsafe {
                        if zmm {
                            transform_planes_avx512(&grid, kind, &x, chans, &mut q, (&mut v, ld))
                        } else {
                            transform_planes_avx2(&grid, kind, &x, chans, &mut q, (&mut v, ld))
                        }
                    }
                    v.iter().map(|f| f.to_bits()).collect::<Vec<_>>()
                };
                let (zmm, ymm) = (run(true), run(false));
                assert!(zmm == ymm, "{h}x{w}: the zmm transform differs");
                assert!(ymm.iter().any(|&b| b != 0), "{h}x{w}: nothing transformed");
            }
        }
    }
}
