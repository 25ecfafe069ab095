//! Winograd F(2×2, 3×3) for the 3×3, stride-1, pad-1 convolution (Lavin & Gray 2015): each 2×2
//! block of outputs (a tile) costs 16 multiplies per (input, output) channel pair instead of 36.
//!
//! The 1-D algorithm F(2,3) computes the two outputs `y_i = Σ_u g_u d_{i+u}` of a 3-tap filter
//! `g` on four inputs `d` as `y = Aᵀ [(G g) ⊙ (Bᵀ d)]`, with
//!
//! ```text
//!      ⎡1  0 −1  0⎤       ⎡ 1   0   0⎤
//! Bᵀ = ⎢0  1  1  0⎥   G = ⎢ ½   ½   ½⎥   Aᵀ = ⎡1  1  1  0⎤
//!      ⎢0 −1  1  0⎥       ⎢ ½  −½   ½⎥        ⎣0  1 −1 −1⎦
//!      ⎣0  1  0 −1⎦       ⎣ 0   0   1⎦
//! ```
//!
//! and the 2-D one nests it: `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` for a 4×4 input patch `d`. Summed
//! over input channels, the product ⊙ becomes, per transform-domain point ξ = (p, q) of the 4×4
//! grid, one GEMM `M_ξ = U_ξ · V_ξ` with `U_ξ[o][c] = (G g_oc Gᵀ)_ξ` (c_out × c_in) and
//! `V_ξ[c][t] = (Bᵀ d_ct B)_ξ` (c_in × tiles).
//!
//! * Forward: the above, tile `(ti, tj)` reading the input patch of rows `2ti−1 ..= 2ti+2`, columns
//!   `2tj−1 ..= 2tj+2` (zero outside the image); an odd side's last tile row or column of outputs
//!   is dropped. The bias is added in the output transform.
//! * Backward-data: the same on `dy`, with the weights flipped and their channel axes swapped,
//!   `w'[c][o][u][v] = w[o][c][2−u][2−v]`.
//! * Backward-weight: `dW = Σ_tiles Gᵀ [(A e Aᵀ) ⊙ (Bᵀ d B)] G` for the 2×2 `dy` tile `e` and the
//!   4×4 input patch `d` of each tile. This is the transposition of the 2-D algorithm: pairing
//!   `Σ e_ij Y_ij` with `Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A` gives `Σ_uv g_uv [Gᵀ((A e Aᵀ) ⊙ (Bᵀ d B))G]_uv`,
//!   i.e. F(3×3, 2×2) with `Gᵀ` as output and `A` as filter transform. Summed over tiles, per ξ, it
//!   is the GEMM `S_ξ = E_ξ · V_ξᵀ` (c_out × tiles times tiles × c_in, the deep-k shape), then
//!   `dW = Gᵀ S G` per (o, c). An odd side's missing `dy` entries are zeros.
//!
//! Layout: a group of images' transformed inputs are `V[ξ][c][t]` with rows of `tiles + LANES`
//! floats (tile `t = image·th·tw + ti·tw + tj`); the slack takes the lanes a vector of
//! [`LANES`] tiles writes past a row of tiles (their values are never read). The transforms run on
//! [`LANES`] consecutive tiles of a tile row at once (two tile rows of `LANES / 2` tiles on planes
//! 7 or 8 wide, see [`Grid::paired`]), compiled for AVX2 on the AVX2 and AVX-512 paths. They only add, subtract and halve, so they give the same bits on every path; the GEMMs
//! are [`sgemm_with`] on the path asked for.
//!
//! Determinism: as the im2col path, groups of images sized by the geometry only, each done by one
//! task in a fixed order; the weight gradient of a chunk of images is one deterministic GEMM per ξ.

mod deinterleave;
#[cfg(test)]
mod tests;
mod transform;

use super::scratch::with_scratch;
use super::{bias_grads, in_group, serial_groups};
use crate::gemm::Vector;
#[cfg(target_arch = "x86_64")]
use crate::gemm::Ymm;
use crate::{sgemm_with, ConvGeom, Isa, Trans};
use rayon::prelude::*;
use std::array::from_fn;
use transform::{two_d, At, Bt, Gt, Lanes, Transform, A, G};
use wide::f32x8;

/// Points of the transform domain: 4 × 4, point ξ = (p, q) at index `4p + q`.
const POINTS: usize = 16;
/// Tiles transformed at once: one AVX2 vector.
const LANES: usize = 8;
/// Tiles per GEMM column block in the forward and backward-data passes: images are grouped until
/// their tiles reach this (see [`images_per_group`]).
const MIN_TILES: usize = 256;

/// The tile grid of an `h × w` plane: `th × tw` tiles of 2×2 outputs, and the four parity planes
/// of a (padded) plane that the transforms read, `(th + 1) × (tw + 1)` each (see [`split`]).
#[derive(Clone, Copy, Debug)]
struct Grid {
    h: usize,
    w: usize,
    th: usize,
    tw: usize,
}

impl Grid {
    fn new(h: usize, w: usize) -> Self {
        Grid {
            h,
            w,
            th: h.div_ceil(2),
            tw: w.div_ceil(2),
        }
    }
    fn tiles(&self) -> usize {
        self.th * self.tw
    }
    /// Row length of a parity plane.
    fn qw(&self) -> usize {
        self.tw + 1
    }
    /// Floats per parity plane: `(th + 1)` rows, plus the [`LANES`] read past the last tile.
    fn quarter(&self) -> usize {
        (self.th + 1) * self.qw() + LANES
    }
    /// Whether a vector holds two tile rows (tiles `t .. t + LANES` of a plane, `t` a multiple of
    /// `2·tw`) rather than one row's tiles: planes whose rows have `LANES / 2` tiles (7 or 8
    /// wide), where one row per vector would leave half of every vector empty.
    fn paired(&self) -> bool {
        2 * self.tw == LANES
    }
}

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
/// already written: each parity row gets one input row, in increasing order).
#[inline(always)]
fn split<const AVX2: bool>(grid: &Grid, origin: usize, x: &[f32], q: &mut [f32]) {
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
        if AVX2 {
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
/// `F` on the patch columns, as in [`two_d`], then row `Q` of `F` on those. The same operations,
/// in the same order, as [`two_d`] gives that column.
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
    // Steps between vectors: two tile rows when paired, else LANES tiles of one row.
    let (row_step, col_step) = if grid.paired() {
        (2, grid.tw)
    } else {
        (1, LANES)
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
enum Kind {
    /// `Bᵀ d B` of each tile's 4×4 input patch (zero padding of 1).
    Input,
    /// `A e Aᵀ` of each tile's 2×2 output gradient (zero past an odd side).
    OutputGrad,
}

/// Transforms `images` images of `chans` planes each (`x`, NCHW) into `v[ξ][c][t]` (rows of `ld`
/// floats, row `ξ·chans + c`, tile `t` of image `i` at `i·tiles + t`), splitting each plane in `q`
/// (`4 ·` [`Grid::quarter`] floats) first. Images go in order for each channel, so the floats a
/// plane writes past its tiles are overwritten by the next image's.
fn transform_planes(
    isa: Isa,
    grid: &Grid,
    kind: Kind,
    x: &[f32],
    chans: usize,
    q: &mut [f32],
    (v, ld): (&mut [f32], usize),
) {
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable {
        // SAFETY: the Avx2Fma and Avx512 paths run only on CPUs with AVX2 and FMA.
        return unsafe { transform_planes_avx2(grid, kind, x, chans, q, (v, ld)) };
    }
    // SAFETY: `f32x8` needs no CPU feature.
    unsafe { transform_planes_body::<f32x8, false>(grid, kind, x, chans, q, (v, ld)) }
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
    unsafe { transform_planes_body::<Ymm, true>(grid, kind, x, chans, q, (v, ld)) }
}

/// See [`transform_planes`]; `AVX2` as in [`split`].
///
/// # Safety
/// The CPU supports `V`, and AVX2 when `AVX2`.
#[inline(always)]
unsafe fn transform_planes_body<V: Vector, const AVX2: bool>(
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
                    split::<AVX2>(grid, 1, x, q);
                    unsafe { to_tiles::<V, Bt, 4>(grid, q, v, ld) };
                }
                Kind::OutputGrad => {
                    split::<AVX2>(grid, 0, x, q);
                    unsafe { to_tiles::<V, A, 2>(grid, q, v, ld) };
                }
            }
        }
    }
}

/// The outputs of the images of `y` (`bias.len()` planes each, NCHW) from the transform-domain
/// products `m[ξ][o][t]` (rows of `ld` floats, as in [`transform_planes`]): per tile, `Aᵀ M A`
/// plus `bias[o]`, the outputs past an odd side dropped. Overwrites `y`.
fn untransform(isa: Isa, grid: &Grid, m: &[f32], ld: usize, bias: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable {
        // SAFETY: the Avx2Fma and Avx512 paths run only on CPUs with AVX2 and FMA.
        return unsafe { untransform_avx2(grid, m, ld, bias, y) };
    }
    // SAFETY: `f32x8` needs no CPU feature.
    unsafe { untransform_body::<f32x8>(grid, m, ld, bias, y) }
}

/// [`untransform_body`] on ymm vectors, compiled with AVX2 and FMA.
///
/// # Safety
/// The CPU supports AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn untransform_avx2(grid: &Grid, m: &[f32], ld: usize, bias: &[f32], y: &mut [f32]) {
    // SAFETY: this function's contract.
    unsafe { untransform_body::<Ymm>(grid, m, ld, bias, y) }
}

/// See [`untransform`]. One plane after the other, and in a plane one tile row after the other,
/// [`LANES`] tiles (`2·LANES` columns of two output rows) at a time, those of a tile row from
/// the last to the first, each writing its upper row before its lower. Where a vector runs past
/// its row, the extra floats land on later outputs of `y`, which are written after: the next
/// row's first columns (written by the tile row's first vector, or by the next tile row) or the
/// next plane's; only where it would run past `y` are the row's own columns written alone.
///
/// # Safety
/// The CPU supports `V`.
#[inline(always)]
unsafe fn untransform_body<V: Vector>(
    grid: &Grid,
    m: &[f32],
    ld: usize,
    bias: &[f32],
    y: &mut [f32],
) {
    let (plane, tiles, chans) = (grid.h * grid.w, grid.tiles(), bias.len());
    let ld_xi = chans * ld;
    for img in 0..y.len() / (chans * plane) {
        for (o, &bias) in bias.iter().enumerate() {
            let m = &m[o * ld + img * tiles..];
            // Every read below is within `m`: at most `15·ld_xi + tiles − 1 + LANES − 1`.
            assert!(m.len() >= 15 * ld_xi + tiles + LANES - 1);
            let y = &mut y[(img * chans + o) * plane..];
            // SAFETY: the CPU supports `V`.
            let bias = Lanes(unsafe { V::splat(bias) });
            if grid.paired() {
                // SAFETY: as below.
                unsafe { untransform_paired(grid, m, ld_xi, bias, y) };
                continue;
            }
            for ti in 0..grid.th {
                for tj in (0..grid.tw).step_by(LANES).rev() {
                    // SAFETY: within `m`, see the assert; the CPU supports `V`.
                    let out = unsafe { output_tiles(&m[ti * grid.tw + tj..], ld_xi, bias) };
                    for (a, [y0, y1]) in out.into_iter().enumerate().take(grid.h - 2 * ti) {
                        let at = (2 * ti + a) * grid.w + 2 * tj;
                        // SAFETY: the CPU supports `V`.
                        let (lo, hi) = unsafe { y0.0.zip_halves(y1.0) };
                        let n = (grid.w - 2 * tj).min(2 * LANES);
                        // SAFETY: the CPU supports `V`.
                        unsafe { store_clipped(&[lo, hi], y, at, n) };
                    }
                }
            }
        }
    }
}

/// One plane of [`untransform_body`] on a [`Grid::paired`] grid: `m` from the plane's first
/// tile (rows `ld_xi` floats apart), `y` from its first output. Each vector holds tile rows `ti`
/// (low lanes) and `ti + 1` (high lanes), whose `2·tw = LANES` outputs per output row are stored
/// at once, rows in increasing order: where the plane is 7 wide, each store's last float runs onto
/// the next row's first, which the next store (or the next vector, or plane) writes after; only
/// where a store would run past `y` is the row's own part written alone.
///
/// # Safety
/// The CPU supports `V`; `m` holds the plane's tiles plus `LANES − 1` floats, at each ξ.
#[inline(always)]
unsafe fn untransform_paired<V: Vector>(
    grid: &Grid,
    m: &[f32],
    ld_xi: usize,
    bias: Lanes<V>,
    y: &mut [f32],
) {
    for ti in (0..grid.th).step_by(2) {
        // SAFETY: within `m`, as the caller guarantees; the CPU supports `V`.
        let [[a0, b0], [a1, b1]] = unsafe { output_tiles(&m[ti * grid.tw..], ld_xi, bias) };
        // SAFETY: the CPU supports `V`.
        let (lo0, hi0) = unsafe { a0.0.zip_halves(b0.0) };
        // SAFETY: as above.
        let (lo1, hi1) = unsafe { a1.0.zip_halves(b1.0) };
        for (r, row) in [lo0, lo1, hi0, hi1].into_iter().enumerate() {
            let out_row = 2 * ti + r;
            if out_row >= grid.h {
                break;
            }
            // SAFETY: the CPU supports `V`.
            unsafe { store_clipped(&[row], y, out_row * grid.w, grid.w) };
        }
    }
}

/// The 2×2 outputs plus `bias` of the [`LANES`] tiles whose transform-domain products start at
/// `m` (point ξ at `m[ξ·ld_xi ..]`): `Aᵀ M A + bias`, output `[a][b]` of each tile in lanes.
///
/// # Safety
/// The CPU supports `V`; `m` holds `15·ld_xi + LANES` floats.
#[inline(always)]
unsafe fn output_tiles<V: Vector>(m: &[f32], ld_xi: usize, bias: Lanes<V>) -> [[Lanes<V>; 2]; 2] {
    let mut row = m.as_ptr();
    // The rows' stride, hidden from the optimiser: otherwise it computes the 16 offsets `ξ·ld_xi`
    // once, outside the loops, and they spill (a reload per load); a running pointer needs
    // two registers.
    let ld_xi = std::hint::black_box(ld_xi);
    let mut mt = [[bias; 4]; 4];
    for xi in 0..POINTS {
        // SAFETY: within `m`, as the caller guarantees; the CPU supports `V`.
        mt[xi / 4][xi % 4] = unsafe { Lanes::load(row) };
        row = row.wrapping_add(ld_xi);
    }
    let [[a0, b0], [a1, b1]] = two_d::<_, At, 4, 2>(mt);
    [[a0 + bias, b0 + bias], [a1 + bias, b1 + bias]]
}

/// Stores `parts` (at most two vectors) one after the other at `y[at ..]` when they fit, else
/// only their first `n` floats (through a buffer): the floats past `n` are overwritten by later
/// stores, see [`untransform_body`].
///
/// # Safety
/// The CPU supports `V`.
#[inline(always)]
unsafe fn store_clipped<V: Vector>(parts: &[V], y: &mut [f32], at: usize, n: usize) {
    assert!(parts.len() <= 2 && n <= parts.len() * LANES);
    let len = parts.len() * LANES;
    let mut buf = [0.0; 2 * LANES];
    let direct = at + len <= y.len();
    let dst = if direct {
        y[at..].as_mut_ptr()
    } else {
        buf.as_mut_ptr()
    };
    for (i, part) in parts.iter().enumerate() {
        // SAFETY: `dst` covers `len` floats (`y` checked, or `buf`); the CPU supports `V`.
        unsafe { part.store(dst.add(i * LANES)) };
    }
    if !direct {
        y[at..at + n].copy_from_slice(&buf[..n]);
    }
}

/// The transformed weights `U[ξ][o][c] = (G w_oc Gᵀ)_ξ` (`c_out × c_in` per ξ) of OIHW 3×3
/// weights `w`; when `flip`, those of the backward-data convolution instead,
/// `U[ξ][c][o] = (G w'_co Gᵀ)_ξ` with `w'_co[u][v] = w[o][c][2−u][2−v]` (`c_in × c_out` per ξ).
/// [`per_point`] floats per ξ.
fn weights(isa: Isa, g: &ConvGeom, w: &[f32], flip: bool) -> Vec<f32> {
    let row = per_point(g);
    // The kernels tap by tap, `taps[tap·row + at]`, `at` the kernel's position in each `U_ξ`
    // (zero past the last), so that the transform runs on LANES kernels at once. Written tap by
    // tap, in order (kernel by kernel, the nine rows' stores went to nine streams `row` apart).
    let mut taps = vec![0.0; 9 * row];
    let (rows_u, cols_u) = if flip {
        (g.c_in, g.c_out)
    } else {
        (g.c_out, g.c_in)
    };
    for (tap, dst) in taps.chunks_exact_mut(row).enumerate() {
        let tap = if flip { 8 - tap } else { tap };
        for (r, dst) in dst.chunks_exact_mut(cols_u).take(rows_u).enumerate() {
            for (col, d) in dst.iter_mut().enumerate() {
                // U's row r, column col holds the kernel (o, c) = (r, col), or (col, r) when
                // flipped.
                let (o, c) = if flip { (col, r) } else { (r, col) };
                *d = w[(o * g.c_in + c) * 9 + tap];
            }
        }
    }
    let mut u = vec![0.0; POINTS * row];
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable {
        // SAFETY: the Avx2Fma and Avx512 paths run only on CPUs with AVX2 and FMA.
        unsafe { filters_avx2(&taps, &mut u, row) };
        return u;
    }
    // SAFETY: `f32x8` needs no CPU feature.
    unsafe { filters_body::<f32x8>(&taps, &mut u, row) };
    u
}

/// Floats per transform-domain point ξ of the kernel-shaped matrices `U` (from [`weights`]) and
/// `S` (in [`chunk_grads`]): one per kernel, rounded up to whole vectors of [`LANES`].
fn per_point(g: &ConvGeom) -> usize {
    (g.c_out * g.c_in).next_multiple_of(LANES)
}

/// [`filters_body`] on ymm vectors, compiled with AVX2 and FMA.
///
/// # Safety
/// The CPU supports AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn filters_avx2(taps: &[f32], u: &mut [f32], row: usize) {
    // SAFETY: this function's contract.
    unsafe { filters_body::<Ymm>(taps, u, row) }
}

/// `G k Gᵀ` of the kernels `k` stored tap by tap in `taps` (rows of `row` floats, a multiple of
/// [`LANES`]), result ξ of every kernel into row ξ of `u`, [`LANES`] kernels at a time.
///
/// # Safety
/// The CPU supports `V`.
#[inline(always)]
unsafe fn filters_body<V: Vector>(taps: &[f32], u: &mut [f32], row: usize) {
    assert!(row.is_multiple_of(LANES) && taps.len() >= 9 * row && u.len() >= POINTS * row);
    for i in (0..row).step_by(LANES) {
        let k: [[Lanes<V>; 3]; 3] = from_fn(|a| {
            from_fn(|b| {
                // SAFETY: `(3a + b)·row + i + LANES ≤ 9·row`, see the assert; the CPU
                // supports `V`.
                unsafe { Lanes::load(taps[(3 * a + b) * row + i..].as_ptr()) }
            })
        });
        for (xi, t) in two_d::<_, G, 3, 4>(k).iter().flatten().enumerate() {
            // SAFETY: `ξ·row + i + LANES ≤ 16·row`, see the assert; the CPU supports `V`.
            unsafe { t.0.store(u[xi * row + i..].as_mut_ptr()) };
        }
    }
}

/// Whether `g` is the geometry this module computes: a 3×3 kernel, stride 1, padding 1.
fn fits(g: &ConvGeom) -> bool {
    g.kh == 3 && g.kw == 3 && g.stride == 1 && g.pad == 1
}

/// Whether `g` runs here rather than through im2col (forward, backward-data and backward-weight
/// alike): where it measured faster (see the module docs of `conv`). A function of the geometry
/// only: a geometry that [`fits`], both channel counts at least 16 (with fewer, a GEMM of depth
/// or height below 16 does not pay for the transforms).
pub(super) fn faster(g: &ConvGeom) -> bool {
    fits(g) && g.c_in.min(g.c_out) >= 16
}

/// Images per group in the forward and backward-data passes: enough for [`MIN_TILES`] tiles.
pub(super) fn images_per_group(g: &ConvGeom) -> usize {
    let grid = Grid::new(g.h, g.w);
    MIN_TILES.div_ceil(grid.tiles())
}

/// The forward convolution `y = conv(x, w) + b` of a geometry that [`fits`], `g.n > 0`; slice
/// lengths as checked by the caller. Overwrites `y`.
pub(super) fn fwd(isa: Isa, g: &ConvGeom, x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    let u = weights(isa, g, w, false);
    convolve(isa, g, (g.c_in, g.c_out), x, &u, b, y)
}

/// The backward-data convolution `dx` from `dy` of a geometry that [`fits`], `g.n > 0`: the
/// forward convolution of `dy` with the flipped, transposed weights. Overwrites `dx`.
pub(super) fn bwd_input(isa: Isa, g: &ConvGeom, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    let u = weights(isa, g, w, true);
    convolve(isa, g, (g.c_out, g.c_in), dy, &u, &vec![0.0; g.c_in], dx)
}

/// `y = conv(x, u) + bias` in the transform domain, on `g`'s batch and plane, `x` with `c_in` and
/// `y` with `c_out` channels (`(c_in, c_out)` is `chans`), `u` as from [`weights`]: per group of
/// images, the input transform, one GEMM `M_ξ = U_ξ · V_ξ` per ξ, and the output transform.
fn convolve(
    isa: Isa,
    g: &ConvGeom,
    chans: (usize, usize),
    x: &[f32],
    u: &[f32],
    bias: &[f32],
    y: &mut [f32],
) {
    let (c_in, c_out) = chans;
    let (grid, u_row) = (Grid::new(g.h, g.w), per_point(g));
    let group = images_per_group(g);
    let (x_img, y_img) = (c_in * g.in_plane(), c_out * g.in_plane());
    let serial = serial_groups(g.n.div_ceil(group));
    y.par_chunks_mut(group * y_img)
        .zip(x.par_chunks(group * x_img))
        .for_each(|(y, x)| {
            in_group(serial, || {
                let cols = x.len() / x_img * grid.tiles();
                let ld = cols + LANES;
                let len = 4 * grid.quarter() + POINTS * (c_in + c_out) * ld;
                with_scratch(len, |buf| {
                    let (q, buf) = buf.split_at_mut(4 * grid.quarter());
                    let (v, m) = buf.split_at_mut(POINTS * c_in * ld);
                    transform_planes(isa, &grid, Kind::Input, x, c_in, q, (v, ld));
                    for xi in 0..POINTS {
                        sgemm_with(
                            isa,
                            Trans::N,
                            Trans::N,
                            c_out,
                            cols,
                            c_in,
                            1.0,
                            &u[xi * u_row..],
                            c_in,
                            &v[xi * c_in * ld..],
                            ld,
                            0.0,
                            &mut m[xi * c_out * ld..],
                            ld,
                        );
                    }
                    untransform(isa, &grid, m, ld, bias, y);
                })
            })
        });
}

/// The weight gradient of the images in `x`/`dy` (a whole number of images, at least one) into
/// `dw` (overwritten), and their bias gradient into `db` (overwritten, f64, image by image as
/// the im2col path): `S_ξ = E_ξ · V_ξᵀ` per ξ over all the images' tiles, then `dw = Gᵀ S G`.
pub(super) fn chunk_grads(
    isa: Isa,
    g: &ConvGeom,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: &mut [f64],
) {
    let grid = Grid::new(g.h, g.w);
    let plane = g.in_plane();
    let cols = x.len() / (g.c_in * plane) * grid.tiles();
    let ld = cols + LANES;
    bias_grads(g, dy, db);
    // Floats per ξ of `S`: whole vectors, see `kernel_grads`.
    let per_point = per_point(g);
    let len = 4 * grid.quarter() + POINTS * ((g.c_in + g.c_out) * ld + per_point);
    with_scratch(len, |buf| {
        let (q, buf) = buf.split_at_mut(4 * grid.quarter());
        let (v, buf) = buf.split_at_mut(POINTS * g.c_in * ld);
        let (e, s) = buf.split_at_mut(POINTS * g.c_out * ld);
        transform_planes(isa, &grid, Kind::Input, x, g.c_in, q, (v, ld));
        transform_planes(isa, &grid, Kind::OutputGrad, dy, g.c_out, q, (e, ld));
        for xi in 0..POINTS {
            sgemm_with(
                isa,
                Trans::N,
                Trans::T,
                g.c_out,
                g.c_in,
                cols,
                1.0,
                &e[xi * g.c_out * ld..],
                ld,
                &v[xi * g.c_in * ld..],
                ld,
                0.0,
                &mut s[xi * per_point..],
                g.c_in,
            );
        }
        kernel_grads(isa, s, per_point, dw);
    })
}

/// `dw = Gᵀ S G` of every kernel (o, c) (OIHW, overwritten), from `S_ξ[o][c]` at
/// `s[ξ·per_point + o·c_in + c]` (`per_point` as [`per_point`]: the kernel count rounded up to a
/// multiple of [`LANES`]).
fn kernel_grads(isa: Isa, s: &[f32], per_point: usize, dw: &mut [f32]) {
    assert!(dw.len().is_multiple_of(9) && per_point == (dw.len() / 9).next_multiple_of(LANES));
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable {
        // SAFETY: the Avx2Fma and Avx512 paths run only on CPUs with AVX2 and FMA.
        return unsafe { kernel_grads_avx2(s, per_point, dw) };
    }
    // SAFETY: `f32x8` needs no CPU feature.
    unsafe { kernel_grads_body::<f32x8>(s, per_point, dw) }
}

/// [`kernel_grads_body`] on ymm vectors, compiled with AVX2 and FMA.
///
/// # Safety
/// The CPU supports AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_grads_avx2(s: &[f32], per_point: usize, dw: &mut [f32]) {
    // SAFETY: this function's contract.
    unsafe { kernel_grads_body::<Ymm>(s, per_point, dw) }
}

/// See [`kernel_grads`]: [`LANES`] kernels at a time (the rows of `S` are read a vector at a
/// time, `Gᵀ S G` runs on vectors, and its nine results go out kernel by kernel).
///
/// # Safety
/// The CPU supports `V`.
#[inline(always)]
unsafe fn kernel_grads_body<V: Vector>(s: &[f32], per_point: usize, dw: &mut [f32]) {
    assert!(per_point.is_multiple_of(LANES) && s.len() >= POINTS * per_point);
    for (i, dw) in (0..per_point).step_by(LANES).zip(dw.chunks_mut(9 * LANES)) {
        let st: [[Lanes<V>; 4]; 4] = from_fn(|p| {
            from_fn(|q| {
                // SAFETY: `ξ·per_point + i + LANES ≤ 16·per_point`, see the assert; the CPU
                // supports `V`.
                unsafe { Lanes::load(s[(4 * p + q) * per_point + i..].as_ptr()) }
            })
        });
        // The nine results tap by tap, then kernel by kernel into `dw`.
        let mut taps = [[0.0f32; LANES]; 9];
        for (t, r) in taps
            .iter_mut()
            .zip(two_d::<_, Gt, 4, 3>(st).iter().flatten())
        {
            // SAFETY: `t` holds LANES floats; the CPU supports `V`.
            unsafe { r.0.store(t.as_mut_ptr()) };
        }
        for (l, dw) in dw.chunks_exact_mut(9).enumerate() {
            for (d, t) in dw.iter_mut().zip(&taps) {
                *d = t[l];
            }
        }
    }
}
