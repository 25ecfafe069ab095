//! NCHW convolution. (Interim body: the f64 reference, until im2col + GEMM lands.)

use crate::{reference, ConvGeom};

/// `y = conv(x, w) + b`; see [`ConvGeom`] for the layouts. Overwrites `y`.
pub fn conv2d_fwd(g: &ConvGeom, x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    copy(&reference::conv2d_fwd(g, x, w, b), y)
}

/// `dx = ∂L/∂x` from `dy = ∂L/∂y`. Overwrites `dx`.
pub fn conv2d_bwd_input(g: &ConvGeom, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    copy(&reference::conv2d_bwd_input(g, dy, w), dx)
}

/// `dw = ∂L/∂w`, `db = ∂L/∂b` from `dy`. Overwrites both.
pub fn conv2d_bwd_weight(g: &ConvGeom, x: &[f32], dy: &[f32], dw: &mut [f32], db: &mut [f32]) {
    let (w64, b64) = reference::conv2d_bwd_weight(g, x, dy);
    copy(&w64, dw);
    copy(&b64, db);
}

fn copy(src: &[f64], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len());
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s as f32;
    }
}
