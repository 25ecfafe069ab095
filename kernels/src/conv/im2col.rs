//! The im2col matrix of one image and its transpose map col2im (built in `conv/scratch.rs`'s
//! per-thread buffers).
//!
//! For image `x` (`c_in × h × w`) the im2col matrix has one row per tap `(c, u, v)` (row index
//! `(c·kh + u)·kw + v`, the order of a weight row in OIHW) and one column per output pixel `(i, j)`
//! (column `i·out_w + j`): `col[(c,u,v)][(i,j)] = x[c][i·s+u−p][j·s+v−p]`, zero in the padding.
//! So the forward convolution of one image is the GEMM `y = w · col`.

#[cfg(target_arch = "x86_64")]
mod narrow;

use crate::{ConvGeom, Isa};
use std::ops::Range;

/// Output columns `j` whose tap `v` lands inside a row of width `w` (the rest read padding):
/// `0 ≤ j·stride + v − pad < w`.
fn valid_cols(g: &ConvGeom, v: usize) -> Range<usize> {
    let s = g.stride;
    let lo = g.pad.saturating_sub(v).div_ceil(s);
    let hi = (g.w + g.pad).saturating_sub(v).div_ceil(s).min(g.out_w());
    lo.min(hi)..hi
}

/// The input row read by output row `i` at tap row `u`, or `None` in the padding.
fn input_row(g: &ConvGeom, i: usize, u: usize) -> Option<usize> {
    (i * g.stride + u).checked_sub(g.pad).filter(|&r| r < g.h)
}

/// Writes the im2col matrix of image `x` into `col`, row `t` at `col[t·ld ..][.. out_plane]`.
/// Narrow planes take AVX2 rows on the AVX2 paths (`im2col/narrow.rs`); the same matrix.
pub(super) fn im2col(isa: Isa, g: &ConvGeom, x: &[f32], col: &mut [f32], ld: usize) {
    let plane = g.out_plane();
    debug_assert_eq!(x.len(), g.c_in * g.in_plane());
    debug_assert!(col.len() >= (g.taps() - 1) * ld + plane);
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable && narrow::fits(g) {
        // SAFETY: the AVX2 and AVX-512 paths run only on CPUs with AVX2; `fits` checked `g`.
        return unsafe { narrow::im2col(g, x, col, ld) };
    }
    let _ = isa; // read above on x86_64 only
    let same_width = g.stride == 1 && g.out_w() == g.w;
    for c in 0..g.c_in {
        let xc = &x[c * g.in_plane()..][..g.in_plane()];
        for u in 0..g.kh {
            for v in 0..g.kw {
                let t = (c * g.kh + u) * g.kw + v;
                let row = &mut col[t * ld..][..plane];
                if same_width {
                    tap_same_width(g, xc, u, v, row)
                } else {
                    tap(g, xc, u, v, row)
                }
            }
        }
    }
}

/// The im2col row of tap `(u, v)` of channel plane `xc`, any geometry.
fn tap(g: &ConvGeom, xc: &[f32], u: usize, v: usize, row: &mut [f32]) {
    let js = valid_cols(g, v);
    for (i, out) in row.chunks_exact_mut(g.out_w()).enumerate() {
        let Some(r) = input_row(g, i, u).filter(|_| !js.is_empty()) else {
            out.fill(0.0);
            continue;
        };
        out[..js.start].fill(0.0);
        out[js.end..].fill(0.0);
        // First input column read by the valid outputs (`js.start·s + v ≥ pad`).
        let xr = &xc[r * g.w + js.start * g.stride + v - g.pad..];
        gather_strided(&mut out[js.clone()], xr, g.stride);
    }
}

/// `out[j] = xr[j · stride]`; stride 2 (the strided layers of `resnet18`) as pairs, which
/// vectorises.
fn gather_strided(out: &mut [f32], xr: &[f32], stride: usize) {
    match (stride, out.split_last_mut()) {
        (2, Some((last, body))) => {
            for (d, pair) in body.iter_mut().zip(xr.chunks_exact(2)) {
                *d = pair[0];
            }
            *last = xr[2 * body.len()];
        }
        _ => {
            for (d, &x) in out.iter_mut().zip(xr.iter().step_by(stride)) {
                *d = x;
            }
        }
    }
}

/// [`tap`] for stride 1 and `out_w == w` (the protocol's 3×3, pad 1): the output rows that read
/// the input are one contiguous copy of the shifted plane, after which the at most `pad` columns
/// on each side that read padding are zeroed.
fn tap_same_width(g: &ConvGeom, xc: &[f32], u: usize, v: usize, row: &mut [f32]) {
    let (rows, first) = same_width_block(g, u, v);
    row[..rows.start].fill(0.0);
    row[rows.end..].fill(0.0);
    let block = &mut row[rows];
    if block.is_empty() {
        return;
    }
    let skip = (-first).max(0) as usize;
    let src = &xc[first.max(0) as usize..];
    let len = block.len().saturating_sub(skip).min(src.len());
    block[skip..][..len].copy_from_slice(&src[..len]);
    zero_padding_cols(g, v, block);
}

/// The output rows of a stride-1, `out_w == w` tap `(u, v)` that read the input (as a range of
/// the tap's im2col row), and the flat index into the channel plane read by the range's first
/// element. Within the range, the elements before the plane (a negative index) or past it read
/// padding columns, as do the columns outside [`valid_cols`] of each row.
fn same_width_block(g: &ConvGeom, u: usize, v: usize) -> (Range<usize>, isize) {
    let i_lo = g.pad.saturating_sub(u).min(g.out_h());
    let i_hi = (g.h + g.pad).saturating_sub(u).clamp(i_lo, g.out_h());
    let first = ((i_lo + u).saturating_sub(g.pad) * g.w + v) as isize - g.pad as isize;
    (i_lo * g.w..i_hi * g.w, first)
}

/// Zeroes the columns of each row of `block` (width `w`) that read padding at tap column `v`: at
/// most `pad` columns on each side, so one strided pass per column (a slice `fill` per row would
/// be a `memset` call per one or two floats).
fn zero_padding_cols(g: &ConvGeom, v: usize, block: &mut [f32]) {
    let js = valid_cols(g, v);
    for j in (0..js.start).chain(js.end..g.w) {
        block.iter_mut().skip(j).step_by(g.w).for_each(|d| *d = 0.0);
    }
}

/// Adds the transpose of [`im2col`] applied to `dcol` (rows at stride `ld`) into image `dx`:
/// every column entry goes back to the input pixel it was read from. Taps are visited in row
/// order, so each `dx` element is summed in one fixed order. Entries of `dcol` that belong to
/// padding may be zeroed on the way.
pub(super) fn col2im_add(g: &ConvGeom, dcol: &mut [f32], ld: usize, dx: &mut [f32]) {
    let plane = g.out_plane();
    debug_assert_eq!(dx.len(), g.c_in * g.in_plane());
    debug_assert!(dcol.len() >= (g.taps() - 1) * ld + plane);
    let same_width = g.stride == 1 && g.out_w() == g.w;
    for c in 0..g.c_in {
        let dxc = &mut dx[c * g.in_plane()..][..g.in_plane()];
        for u in 0..g.kh {
            for v in 0..g.kw {
                let t = (c * g.kh + u) * g.kw + v;
                let row = &mut dcol[t * ld..][..plane];
                if same_width {
                    add_tap_same_width(g, row, u, v, dxc)
                } else {
                    add_tap(g, row, u, v, dxc)
                }
            }
        }
    }
}

/// Adds im2col row `row` of tap `(u, v)` back into channel plane `dxc`, any geometry.
fn add_tap(g: &ConvGeom, row: &[f32], u: usize, v: usize, dxc: &mut [f32]) {
    let js = valid_cols(g, v);
    for (i, src) in row.chunks_exact(g.out_w()).enumerate() {
        let Some(r) = input_row(g, i, u).filter(|_| !js.is_empty()) else {
            continue;
        };
        let dxr = &mut dxc[r * g.w + js.start * g.stride + v - g.pad..];
        scatter_add_strided(dxr, &src[js.clone()], g.stride);
    }
}

/// `dxr[j · stride] += src[j]`, the transpose of [`gather_strided`] (stride 2 as pairs).
fn scatter_add_strided(dxr: &mut [f32], src: &[f32], stride: usize) {
    match (stride, src.split_last()) {
        (2, Some((last, body))) => {
            for (pair, &s) in dxr.chunks_exact_mut(2).zip(body) {
                pair[0] += s;
            }
            dxr[2 * body.len()] += last;
        }
        _ => {
            for (d, &s) in dxr.iter_mut().step_by(stride).zip(src) {
                *d += s;
            }
        }
    }
}

/// [`add_tap`] for stride 1 and `out_w == w`: zeroes the entries that read padding, then adds the
/// rows that read the input as one contiguous shifted block (adding a zero leaves `dx` unchanged).
fn add_tap_same_width(g: &ConvGeom, row: &mut [f32], u: usize, v: usize, dxc: &mut [f32]) {
    let (rows, first) = same_width_block(g, u, v);
    let block = &mut row[rows];
    if block.is_empty() {
        return;
    }
    zero_padding_cols(g, v, block);
    let skip = (-first).max(0) as usize;
    let dst = &mut dxc[first.max(0) as usize..];
    let len = block.len().saturating_sub(skip).min(dst.len());
    for (d, &s) in dst[..len].iter_mut().zip(&block[skip..][..len]) {
        *d += s;
    }
}
