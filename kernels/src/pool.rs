//! 2×2 max-pooling, stride 2, floor (a 7×7 plane pools to 3×3). (Interim body: the reference.)

use crate::reference;

/// Pools `planes` planes of `h×w` from `x` into `y` (`planes × h/2 × w/2`), recording in `argmax`
/// the flat index into `x` of each window's first maximum. Overwrites `y` and `argmax`.
pub fn maxpool2_fwd(
    planes: usize,
    h: usize,
    w: usize,
    x: &[f32],
    y: &mut [f32],
    argmax: &mut [u32],
) {
    let (yy, aa) = reference::maxpool2_fwd(planes, h, w, x);
    y.copy_from_slice(&yy);
    argmax.copy_from_slice(&aa);
}

/// Routes each `dy` to the input position its window's maximum came from. Overwrites `dx`.
pub fn maxpool2_bwd(dy: &[f32], argmax: &[u32], dx: &mut [f32]) {
    dx.fill(0.0);
    for (&d, &i) in dy.iter().zip(argmax) {
        dx[i as usize] += d;
    }
}
