//! NCHW convolution (OIHW weights): forward, backward-data and backward-weights, each as im2col
//! plus [`sgemm`](crate::sgemm): forward and backward-data one GEMM per group of images,
//! backward-weights one per image; the groups (chunks) split over rayon.
//!
//! Determinism: forward and backward-data split the batch into groups of images whose size
//! depends only on the geometry, and each group is computed by one task in one fixed order.
//! Backward-weights reduces over the batch (`conv/weight_grad.rs`); it cuts the batch into chunks
//! of [`WEIGHT_GRAD_CHUNK`](weight_grad::WEIGHT_GRAD_CHUNK) images (a constant, never the thread
//! count), accumulates each chunk's partial image by image, and adds the partials in chunk order.
//! So every result is bit-identical for any rayon thread count (given that `sgemm` is).
//!
//! 3×3, stride-1, pad-1 layers may run as Winograd F(2×2, 3×3) instead (`conv/winograd.rs`),
//! by a rule on the geometry only (`winograd::faster`), so a result never depends on the thread
//! count. Measured 2026-11-25 on the 2-core Zen 3 host under load from another process (±20%
//! between runs), batch 64, one thread, `cargo bench --bench conv -- 'conv/.*/1t'` interleaved
//! with the im2col-only build (ms, im2col → Winograd for the op forced through Winograd):
//! small-g2 (16→32, 14×14) fwd 2.25–2.8 → 2.36–2.5, bwd-data 2.6–2.9 → 2.3–2.6, bwd-weight
//! 2.9–3.1 → 3.0–3.3; small-g3 (32→64, 7×7, 8×8 computed) fwd 2.4–2.5 → 2.4–2.9, bwd-data
//! 2.3–2.5 → 2.7, bwd-weight 2.7–3.0 → 3.9–4.2; c_in = 1 or 3 first layers 2–4× slower;
//! cifar-g2 (32→64, 16×16) fwd 8.7–9.1 → 7.6–7.9, bwd-data 8.9–9.8 → 7.9–8.4, bwd-weight
//! 10.4–11.5 → 9.0–10.2; cifar-g3 (64→128, 8×8) fwd 9.1–9.3 → 7.9–8.0, bwd-data 9.0–9.3 →
//! 8.4–10.8, bwd-weight 9.9–12.1 → 11.3–11.6. With the transforms' column split in AVX2
//! shuffles (`winograd/deinterleave.rs`), three interleaved runs each: small-g2 fwd 1.70–2.32 →
//! 1.66–1.98, bwd-data 1.95–2.84 → 1.64–2.45, bwd-weight 2.37–2.92 (im2col) → 2.21–2.58;
//! small-g3 (7×7) still no better (fwd 2.21–2.39 → 2.29–2.33, bwd-data 2.16–2.28 → 2.49–2.62).
//! 2026-11-28 (Zen 4, fifth session), after the GEMM read B unpacked for few rows and packed
//! 6-row A panels by register transposes, the 7×7 layer turned (`cargo bench --bench conv --
//! 'conv/small-g3/.*/1t'`, two interleaved rounds, ms): fwd 1.43–1.44 → 1.33–1.36, bwd-data
//! 1.53–1.64 → 1.38–1.39, bwd-weight still slower (1.43–1.78 → 1.76–2.08).
//! 2026-11-28 (sixth session), after the transforms ran one pass per transform-domain column
//! and `Gᵀ S G` on vectors of kernels, the weight gradient through Winograd on 7×7 and 8×8 planes
//! too: `cargo bench --bench conv -- 'conv/(small|cifar)-g[23]/.*/1t'`, two rounds interleaved
//! with the session's first build (`4bffb01`, weight gradient there im2col), ms: small-g3
//! bwd-weight 1.38–1.40 → 1.28–1.30, cifar-g3 bwd-weight 6.31–6.46 → 4.46–4.55 (the data ops:
//! small-g2 fwd 1.11–1.16 → 1.00–1.01, bwd-data 1.13–1.20 → 1.05–1.06, bwd-weight 1.47–1.58 →
//! 1.31–1.32; small-g3 fwd 1.08–1.11 → 0.99–1.00, bwd-data 1.15–1.16 → 1.05–1.07; cifar within
//! noise but cifar-g3 bwd-data 4.12–4.20 → 3.76–3.79).
//! Hence Winograd for all three ops when both channel counts are at least 16 (odd planes too: a
//! 7×7 plane computes 8×8 and drops the rest). The transforms, not the GEMMs (which do 2.25×
//! fewer FLOPs), are what keeps the gain small.
//!
//! First layers (at most `direct::MAX_C_IN` input channels, 3×3, stride 1, pad 1) run their
//! forward as a direct convolution on AVX2 paths (`conv/direct.rs`): im2col + GEMM would multiply
//! by a depth of only 9 or 27. Interleaved with the im2col build (`cargo bench --bench conv --
//! 'conv/(small|cifar)-g1/fwd/1t'`, three rounds): small-g1 0.57-0.76 ms → 0.57-0.69, cifar-g1
//! 3.2-3.9 → 2.5-3.3. Its weight gradient stays on im2col + the deep-k dot path: a direct version
//! measured slower.

#[cfg(target_arch = "x86_64")]
mod direct;
mod im2col;
mod pooled;
mod scratch;
#[cfg(test)]
mod tests;
mod weight_grad;
mod winograd;

use crate::{active_isa, sgemm_with, ConvGeom, Isa, Trans};
use im2col::{col2im_add, im2col};
pub use pooled::{conv2d_maxpool2_bwd_weight, conv2d_maxpool2_fwd};
use rayon::prelude::*;
use scratch::with_scratch;
use weight_grad::bwd_weight_with;

/// `y = conv(x, w) + b`; see [`ConvGeom`] for the layouts. Overwrites `y`.
///
/// # Panics
/// When a slice length does not match `g`, or `g` has a zero channel count, kernel size or stride.
pub fn conv2d_fwd(g: &ConvGeom, x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    fwd_with(active_isa(), g, x, w, b, y)
}

/// `dx = ∂L/∂x` from `dy = ∂L/∂y`. Overwrites `dx`.
///
/// # Panics
/// As [`conv2d_fwd`].
pub fn conv2d_bwd_input(g: &ConvGeom, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    bwd_input_with(active_isa(), g, dy, w, dx)
}

/// `dw = ∂L/∂w`, `db = ∂L/∂b` from `dy`. Overwrites both. `db` is summed in f64.
///
/// # Panics
/// As [`conv2d_fwd`].
pub fn conv2d_bwd_weight(g: &ConvGeom, x: &[f32], dy: &[f32], dw: &mut [f32], db: &mut [f32]) {
    bwd_weight_with(active_isa(), g, x, dy, dw, db)
}

/// The contract shared by the three entry points.
fn check(g: &ConvGeom, x: usize, w: usize, y: usize, b: usize) {
    assert!(
        g.c_in > 0 && g.c_out > 0 && g.kh > 0 && g.kw > 0 && g.stride > 0,
        "conv2d: degenerate geometry {g:?}"
    );
    assert!(
        g.h + 2 * g.pad >= g.kh && g.w + 2 * g.pad >= g.kw,
        "conv2d: kernel larger than the padded input in {g:?}"
    );
    let want = (g.x_len(), g.w_len(), g.y_len(), g.c_out);
    assert_eq!(
        (x, w, y, b),
        want,
        "conv2d: (x, w, y, bias) lengths for {g:?}"
    );
}

/// Images per GEMM in the forward and backward-data passes: enough that the GEMM has at least
/// [`MIN_GEMM_COLS`] columns (output pixels), so a 7×7 plane does not waste most of a 16-wide
/// register tile and the packed weights are reused across images.
fn images_per_gemm(g: &ConvGeom) -> usize {
    MIN_GEMM_COLS.div_ceil(g.out_plane()).max(1)
}

/// How [`fwd_with`] computes a geometry.
#[derive(Clone, Copy)]
enum FwdPath {
    Winograd,
    #[cfg(target_arch = "x86_64")]
    Direct,
    Im2col,
}

/// The path of [`fwd_with`] for `g` on `isa`: Winograd where it measured faster, else the direct
/// first-layer kernel where it serves, else im2col. A rule on the geometry and path only.
fn fwd_path(isa: Isa, g: &ConvGeom) -> FwdPath {
    if winograd::faster(g) {
        return FwdPath::Winograd;
    }
    #[cfg(target_arch = "x86_64")]
    if direct_serves(isa, g) {
        return FwdPath::Direct;
    }
    let _ = isa; // read above on x86_64 only
    FwdPath::Im2col
}

/// Images per group of [`fwd_with`] on `isa`: one image on the direct path, else as many as its
/// Winograd or im2col GEMMs take.
fn fwd_group(isa: Isa, g: &ConvGeom) -> usize {
    match fwd_path(isa, g) {
        FwdPath::Winograd => winograd::images_per_group(g),
        #[cfg(target_arch = "x86_64")]
        FwdPath::Direct => 1,
        FwdPath::Im2col => images_per_gemm(g),
    }
}

/// See [`images_per_gemm`]. 256 = 16 tiles of the AVX2 kernel's 16 columns; 512 measured no
/// better, and keeps a group's im2col matrix under 600 KB on the protocol's layers.
const MIN_GEMM_COLS: usize = 256;

/// `(op(a), op(b))` of the forward GEMM `w · col` and of the backward-data GEMM `wᵀ · dy`.
const NN: (Trans, Trans) = (Trans::N, Trans::N);
/// See [`NN`].
const TN: (Trans, Trans) = (Trans::T, Trans::N);

/// `c = op_a(a) · op_b(b)` through `sgemm` on `isa`: `op_a(a)` m×k (stored m×k for `N`, k×m for
/// `T`, packed), `op_b(b)` k×n (stored k×n for `N`, n×k for `T`) with row stride `ldb`, `c` m×n.
fn mul(
    isa: Isa,
    (ta, tb): (Trans, Trans),
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    (b, ldb): (&[f32], usize),
    c: &mut [f32],
) {
    let lda = match ta {
        Trans::N => k,
        Trans::T => m,
    };
    sgemm_with(isa, ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, n)
}

/// [`conv2d_fwd`] through `sgemm` on `isa`: per group of images, `w · im2col(x)`, then `+ b`.
/// The bias is added after the GEMM (never as its `β·C`), the same way whatever the grouping.
fn fwd_with(isa: Isa, g: &ConvGeom, x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    check(g, x.len(), w.len(), y.len(), b.len());
    if g.n == 0 {
        return;
    }
    let (taps, plane, group) = (g.taps(), g.out_plane(), images_per_gemm(g));
    let (x_img, y_img) = (g.c_in * g.in_plane(), g.c_out * plane);
    match fwd_path(isa, g) {
        FwdPath::Winograd => return winograd::fwd(isa, g, x, w, b, y),
        #[cfg(target_arch = "x86_64")]
        FwdPath::Direct => {
            y.par_chunks_mut(y_img)
                .zip(x.par_chunks(x_img))
                .for_each(|(y, x)| {
                    with_scratch(direct::padded_len(g), |xp| {
                        direct::pad_images(g, x, xp);
                        // SAFETY: `direct_serves` checked the CPU (AVX2 + FMA) and the geometry.
                        unsafe { direct::fwd_image(g, xp, w, b, y) }
                    })
                });
            return;
        }
        FwdPath::Im2col => {}
    }
    let add_bias = |y: &mut [f32]| {
        for (row, &bias) in y.chunks_exact_mut(plane).zip(b.iter().cycle()) {
            row.iter_mut().for_each(|v| *v += bias);
        }
    };
    let groups = x.par_chunks(group * x_img);
    let serial = serial_groups(g.n.div_ceil(group));
    y.par_chunks_mut(group * y_img)
        .zip(groups)
        .for_each(|(y, x)| {
            in_group(serial, || {
                let cols = x.len() / x_img * plane;
                let shape = (g.c_out, cols, taps);
                if cols == plane && g.is_pointwise() {
                    mul(isa, NN, shape, w, (x, cols), y);
                    add_bias(y);
                } else if cols == plane {
                    with_scratch(taps * cols, |col| {
                        im2col(isa, g, x, col, cols);
                        mul(isa, NN, shape, w, (col, cols), y)
                    });
                    add_bias(y);
                } else {
                    with_scratch((taps + g.c_out) * cols, |buf| {
                        let (col, out) = buf.split_at_mut(taps * cols);
                        for (i, x) in x.chunks_exact(x_img).enumerate() {
                            im2col(isa, g, x, &mut col[i * plane..], cols);
                        }
                        mul(isa, NN, shape, w, (col, cols), out);
                        // Each image's rows out of the group's columns, plus the bias on the way.
                        for (i, y) in y.chunks_exact_mut(y_img).enumerate() {
                            let rows = y.chunks_exact_mut(plane).zip(out.chunks_exact(cols));
                            for ((y, out), &bias) in rows.zip(b) {
                                for (y, &o) in y.iter_mut().zip(&out[i * plane..][..plane]) {
                                    *y = o + bias;
                                }
                            }
                        }
                    });
                }
            })
        });
}

/// [`conv2d_bwd_input`] through `sgemm` on `isa`: per group of images, `dx = col2im(wᵀ · dy)`.
fn bwd_input_with(isa: Isa, g: &ConvGeom, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    check(g, dx.len(), w.len(), dy.len(), g.c_out);
    if g.n == 0 {
        return;
    }
    if winograd::faster(g) {
        return winograd::bwd_input(isa, g, dy, w, dx);
    }
    let (taps, plane, group) = (g.taps(), g.out_plane(), images_per_gemm(g));
    let (x_img, y_img) = (g.c_in * g.in_plane(), g.c_out * plane);
    let groups = dy.par_chunks(group * y_img);
    let serial = serial_groups(g.n.div_ceil(group));
    dx.par_chunks_mut(group * x_img)
        .zip(groups)
        .for_each(|(dx, dy)| {
            in_group(serial, || {
                let cols = dy.len() / y_img * plane;
                let shape = (taps, cols, g.c_out);
                if cols == plane && g.is_pointwise() {
                    mul(isa, TN, shape, w, (dy, cols), dx);
                } else if cols == plane {
                    with_scratch(taps * cols, |dcol| {
                        mul(isa, TN, shape, w, (dy, cols), dcol);
                        dx.fill(0.0);
                        col2im_add(g, dcol, cols, dx)
                    });
                } else {
                    with_scratch((taps + g.c_out) * cols, |buf| {
                        let (dcol, dyc) = buf.split_at_mut(taps * cols);
                        gather_columns(dy, plane, cols, dyc);
                        mul(isa, TN, shape, w, (dyc, cols), dcol);
                        dx.fill(0.0);
                        for (i, dx) in dx.chunks_exact_mut(x_img).enumerate() {
                            col2im_add(g, &mut dcol[i * plane..], cols, dx);
                        }
                    });
                }
            })
        });
}

/// Whether the direct forward (`conv/direct.rs`) serves `g` on `isa`: a 3×3, stride 1, pad 1
/// layer with at most `direct::MAX_C_IN` input channels and rows of at least 8 pixels, on an
/// AVX2 + FMA path (`Avx512` CPUs have both). A rule on the geometry only, so the results never
/// depend on the thread count.
#[cfg(target_arch = "x86_64")]
fn direct_serves(isa: Isa, g: &ConvGeom) -> bool {
    let same3x3 = (g.kh, g.kw, g.stride, g.pad) == (3, 3, 1, 1);
    isa != Isa::Portable && same3x3 && g.c_in <= direct::MAX_C_IN && g.w >= 8
}

/// Whether a convolution keeps its image groups' GEMMs on their own threads: when there are at
/// least as many groups as threads, the groups are the parallelism, and splitting each GEMM again
/// would only add tasks.
fn serial_groups(groups: usize) -> bool {
    groups >= rayon::current_num_threads()
}

/// Runs one image group's work `f`, its GEMMs without a parallel split when `serial`.
fn in_group(serial: bool, f: impl FnOnce()) {
    if serial {
        crate::gemm::serial(f)
    } else {
        f()
    }
}

/// Lays images `src` (each `rows × plane`) side by side in `dst` (`rows × cols`, image `i` in
/// columns `i·plane ..`).
fn gather_columns(src: &[f32], plane: usize, cols: usize, dst: &mut [f32]) {
    let rows = dst.len() / cols;
    for (i, img) in src.chunks_exact(rows * plane).enumerate() {
        for (r, src) in img.chunks_exact(plane).enumerate() {
            dst[r * cols + i * plane..][..plane].copy_from_slice(src);
        }
    }
}
