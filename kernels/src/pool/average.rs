//! Global average pooling: `y[p] = (1 / HW) Σ_i x[p][i]` for each plane p of an NCHW tensor (the
//! ResNet's pool before its head), and its backward `dx[p][i] = dy[p] / HW`. A plane's sum runs in
//! f64 in pixel order, inside one task: the same bits for any thread count.

use rayon::prelude::*;

/// Averages each of the `y.len()` planes of `hw` pixels in `x` into `y`. Overwrites `y`.
///
/// # Panics
/// When `x` does not hold `y.len()` planes of `hw` pixels, or `hw` is 0.
pub fn global_avg_pool_fwd(hw: usize, x: &[f32], y: &mut [f32]) {
    assert!(hw > 0, "global_avg_pool_fwd: empty planes");
    assert_eq!(
        x.len(),
        y.len() * hw,
        "global_avg_pool_fwd: x and y lengths"
    );
    y.par_iter_mut()
        .zip(x.par_chunks(hw))
        .for_each(|(y, x)| *y = (x.iter().map(|&v| f64::from(v)).sum::<f64>() / hw as f64) as f32);
}

/// `dx[p][i] = dy[p] / hw`. Overwrites `dx`.
///
/// # Panics
/// As [`global_avg_pool_fwd`].
pub fn global_avg_pool_bwd(hw: usize, dy: &[f32], dx: &mut [f32]) {
    assert!(hw > 0, "global_avg_pool_bwd: empty planes");
    assert_eq!(
        dx.len(),
        dy.len() * hw,
        "global_avg_pool_bwd: dx and dy lengths"
    );
    let scale = 1.0 / hw as f32;
    dx.par_chunks_mut(hw)
        .zip(dy.par_iter())
        .for_each(|(dx, &d)| dx.fill(d * scale));
}
