//! The output transform: the outputs `Aᵀ M A + bias` of each tile from the transform-domain
//! products `M[ξ][o][t]` (see the parent module).

use super::transform::{two_d, At, Lanes};
use super::{Grid, LANES, POINTS};
use crate::gemm::Vector;
#[cfg(target_arch = "x86_64")]
use crate::gemm::Ymm;
use crate::Isa;
use wide::f32x8;

/// The outputs of the images of `y` (`bias.len()` planes each, NCHW) from the transform-domain
/// products `m[ξ][o][t]` (rows of `ld` floats, as in
/// [`transform_planes`](super::input::transform_planes)): per tile, `Aᵀ M A` plus `bias[o]`, the
/// outputs past an odd side dropped. Overwrites `y`.
pub(super) fn untransform(
    isa: Isa,
    grid: &Grid,
    m: &[f32],
    ld: usize,
    bias: &[f32],
    y: &mut [f32],
) {
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
