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
//! 7 or 8 wide, see [`Grid::paired`]), compiled for AVX2 on the AVX2 and AVX-512 paths; the input
//! transforms of planes 32 wide run 16 tiles per zmm vector on the AVX-512 path where zmm FMAs run
//! at full width. They only add, subtract and halve, so they give the same bits on every path; the
//! GEMMs are [`sgemm_with`] on the path asked for.
//!
//! Determinism: as the im2col path, groups of images sized by the geometry only, each done by one
//! task in a fixed order; the weight gradient of a chunk of images is a fixed sequence of passes
//! (images per pass from the geometry), each one deterministic GEMM per ξ adding to the last.

mod deinterleave;
mod filters;
mod input;
mod output;
#[cfg(test)]
mod tests;
mod transform;

use super::scratch::with_scratch;
use super::weight_grad::bias_grads;
use super::{in_group, serial_groups};
use crate::{sgemm_with, ConvGeom, Isa, Trans};
use filters::{kernel_grads, per_point, weights};
use input::{transform_planes, Kind};
use output::untransform;
use rayon::prelude::*;

/// Points of the transform domain: 4 × 4, point ξ = (p, q) at index `4p + q`.
const POINTS: usize = 16;
/// Tiles transformed at once: one AVX2 vector.
const LANES: usize = 8;
/// Tiles per GEMM column block in the forward and backward-data passes: images are grouped until
/// their tiles reach this (see [`images_per_group`]). 128 against 256 (Zen 4, 2026-12-04,
/// interleaved, img/s): `resnet18` width 20 +4% at 2 threads (its 4×4 stage was one group, its
/// transforms on one thread), width 64 +5% at 1 thread and +9–12% at 2; `small` and `cifar`
/// within noise. 64 measured no better than 128; 512 no better than 256.
const MIN_TILES: usize = 128;
/// Bytes of transformed inputs and output gradients per pass of the weight gradient.
const PASS_BYTES: usize = 2 << 20;

/// The tile grid of an `h × w` plane: `th × tw` tiles of 2×2 outputs, and the four parity planes
/// of a (padded) plane that the transforms read, `(th + 1) × (tw + 1)` each (see
/// [`split`](input::split)).
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
/// the im2col path): `S_ξ = Σ E_ξ · V_ξᵀ` per ξ over all the images' tiles, then `dw = Gᵀ S G`.
/// The images go [`images_per_pass`] at a time (transforms, then one GEMM per ξ adding to `S`),
/// so that a pass's `V` and `E` stay in cache.
pub(super) fn chunk_grads(
    isa: Isa,
    g: &ConvGeom,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: &mut [f64],
) {
    let grid = Grid::new(g.h, g.w);
    let (x_img, dy_img) = (g.c_in * g.in_plane(), g.c_out * g.in_plane());
    let pass = images_per_pass(g).min(x.len() / x_img);
    let ld = pass * grid.tiles() + LANES;
    bias_grads(g, dy, db);
    // Floats per ξ of `S`: whole vectors, see `kernel_grads`.
    let per_point = per_point(g);
    let len = 4 * grid.quarter() + POINTS * ((g.c_in + g.c_out) * ld + per_point);
    with_scratch(len, |buf| {
        let (q, buf) = buf.split_at_mut(4 * grid.quarter());
        let (v, buf) = buf.split_at_mut(POINTS * g.c_in * ld);
        let (e, s) = buf.split_at_mut(POINTS * g.c_out * ld);
        let passes = x.chunks(pass * x_img).zip(dy.chunks(pass * dy_img));
        for (p, (x, dy)) in passes.enumerate() {
            let cols = x.len() / x_img * grid.tiles();
            transform_planes(isa, &grid, Kind::Input, x, g.c_in, q, (v, ld));
            transform_planes(isa, &grid, Kind::OutputGrad, dy, g.c_out, q, (e, ld));
            let beta = if p == 0 { 0.0 } else { 1.0 };
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
                    beta,
                    &mut s[xi * per_point..],
                    g.c_in,
                );
            }
        }
        kernel_grads(isa, s, per_point, dw);
    })
}

/// Images per pass of [`chunk_grads`]: as many as keep one pass's `V` and `E` within
/// [`PASS_BYTES`], at least one. A function of the geometry only.
fn images_per_pass(g: &ConvGeom) -> usize {
    let per_image = POINTS * (g.c_in + g.c_out) * Grid::new(g.h, g.w).tiles() * 4;
    (PASS_BYTES / per_image.max(1)).max(1)
}
