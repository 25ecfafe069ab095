//! Batch normalisation over NCHW activations (PROTOCOL section 3, preset `resnet18`), PyTorch's
//! `BatchNorm2d`:
//!
//! ```text
//!     training:    μ_c = mean over (n, h, w) of x,  σ²_c = the biased variance (divide by M = N·H·W)
//!     evaluation:  μ_c, σ²_c = the running mean and variance
//!     x̂ = (x − μ_c) · s_c,  s_c = 1 / √(σ²_c + ε),   y = γ_c x̂ + β_c
//!     running update (training): r_μ ← (1 − m) r_μ + m μ,  r_σ² ← (1 − m) r_σ² + m σ² · M / (M − 1)
//! ```
//!
//! Backward, with batch statistics (training) and with fixed ones (evaluation):
//!
//! ```text
//!     ∂L/∂β_c = Σ dy,  ∂L/∂γ_c = Σ dy · x̂
//!     training:    dx = γ_c s_c (dy − Σdy / M − x̂ · Σ(dy x̂) / M)
//!     evaluation:  dx = γ_c s_c dy
//! ```
//!
//! Every channel's sums run in f64 inside one rayon task, in one fixed order: the channel's planes
//! reduced together by `sum.rs` (sixteen lanes across all of them, the same bits on every path and
//! whichever channels share the task). Every output element is computed alone: the same bits for
//! any thread count.

use crate::sum::{self, Channels};
use rayon::prelude::*;
use std::ops::Range;

/// PyTorch's default ε.
pub const BN_EPS: f32 = 1e-5;
/// PyTorch's default momentum m of the running statistics.
pub const BN_MOMENTUM: f32 = 0.1;

/// The shape of one batch norm: `n` images of `c` channels of `hw` pixels (NCHW).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BnShape {
    pub n: usize,
    pub c: usize,
    pub hw: usize,
}

impl BnShape {
    pub fn len(&self) -> usize {
        self.n * self.c * self.hw
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// M = N·H·W: the values each channel's statistics are taken over.
    pub fn per_channel(&self) -> usize {
        self.n * self.hw
    }
    fn check(&self, what: &str, lens: &[usize]) {
        assert!(
            lens.iter().all(|&l| l == self.len()),
            "{what}: tensor lengths {lens:?} for {self:?}"
        );
    }
}

/// `f(channels)` on a block of consecutive channels per thread, the results in channel order. A
/// block streams through the batch once (`sum.rs`), where a task per channel read planes a batch
/// apart; each channel's result is the same in any block.
fn per_channel_block<T: Send>(s: &BnShape, f: impl Fn(Range<usize>) -> Vec<T> + Sync) -> Vec<T> {
    let per = s.c.div_ceil(rayon::current_num_threads()).max(1);
    let blocks: Vec<Range<usize>> = (0..s.c).step_by(per).map(|c| c..s.c.min(c + per)).collect();
    blocks.into_par_iter().flat_map_iter(&f).collect()
}

/// `f(c, at, plane)` on every plane of `out` (channel `c`, starting at `at`), an image per rayon
/// task: planes of a few pixels are too small for a task of their own.
fn per_plane(s: &BnShape, out: &mut [f32], f: impl Fn(usize, usize, &mut [f32]) + Sync) {
    let image = (s.c * s.hw).max(1);
    out.par_chunks_mut(image).enumerate().for_each(|(n, out)| {
        for (c, plane) in out.chunks_mut(s.hw.max(1)).enumerate() {
            f(c, n * image + c * s.hw, plane);
        }
    });
}

/// The batch statistics of `x`: per channel the mean and the biased variance (two passes, in f64),
/// written to `mean` and `var`.
///
/// # Panics
/// When a length does not match `s`, or a channel has no values.
pub fn batch_norm_stats(s: &BnShape, x: &[f32], mean: &mut [f32], var: &mut [f32]) {
    s.check("batch_norm_stats", &[x.len()]);
    assert!(s.per_channel() > 0, "batch_norm_stats: empty channels");
    assert!(
        mean.len() == s.c && var.len() == s.c,
        "batch_norm_stats: {} channels",
        s.c
    );
    let m = s.per_channel() as f64;
    let stats = per_channel_block(s, |range| {
        let x = Channels::new(x, s.c, s.hw, range);
        let mu: Vec<f64> = sum::sum(&x).into_iter().map(|t| t / m).collect();
        let var = sum::sum_sq_dev(&x, &mu);
        mu.iter()
            .zip(var)
            .map(|(&mu, v)| (mu as f32, (v / m) as f32))
            .collect()
    });
    for (c, (mu, v)) in stats.into_iter().enumerate() {
        (mean[c], var[c]) = (mu, v);
    }
}

/// `s_c = 1 / √(σ²_c + ε)` per channel, in f64 and rounded once.
pub fn batch_norm_inv_std(var: &[f32], eps: f32) -> Vec<f32> {
    var.iter()
        .map(|&v| (1.0 / (f64::from(v) + f64::from(eps)).sqrt()) as f32)
        .collect()
}

/// `y = γ_c (x − μ_c) s_c + β_c`, overwriting `y` (training and evaluation alike: only where μ and
/// s come from differs).
///
/// # Panics
/// When a length does not match `s`.
pub fn batch_norm_fwd(
    s: &BnShape,
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    y: &mut [f32],
) {
    s.check("batch_norm_fwd", &[x.len(), y.len()]);
    for v in [mean, inv_std, gamma, beta] {
        assert_eq!(v.len(), s.c, "batch_norm_fwd: per-channel vector length");
    }
    per_plane(s, y, |c, at, y| {
        let (mu, sc, g, b) = (mean[c], inv_std[c], gamma[c], beta[c]);
        for (y, &x) in y.iter_mut().zip(&x[at..]) {
            *y = g * ((x - mu) * sc) + b;
        }
    });
}

/// Updates the running statistics from a batch's (`var` biased): `r ← (1 − m) r + m v`, the
/// variance made unbiased by `M / (M − 1)` first (PyTorch's rule; M = 1 keeps the biased one).
pub fn batch_norm_update_running(
    s: &BnShape,
    mean: &[f32],
    var: &[f32],
    momentum: f32,
    running_mean: &mut [f32],
    running_var: &mut [f32],
) {
    let m = s.per_channel();
    let unbias = if m > 1 {
        m as f64 / (m - 1) as f64
    } else {
        1.0
    };
    let mom = f64::from(momentum);
    let blend = |r: &mut f32, v: f64| *r = ((1.0 - mom) * f64::from(*r) + mom * v) as f32;
    for c in 0..s.c {
        blend(&mut running_mean[c], f64::from(mean[c]));
        blend(&mut running_var[c], f64::from(var[c]) * unbias);
    }
}

/// `(Σ dy, Σ dy · x̂)` per channel, in f64, `x̂ = (x − μ) s` as the forward computed it.
fn sums(s: &BnShape, x: &[f32], dy: &[f32], mean: &[f32], inv_std: &[f32]) -> Vec<(f64, f64)> {
    per_channel_block(s, |range| {
        let (dy, x) = (
            Channels::new(dy, s.c, s.hw, range.clone()),
            Channels::new(x, s.c, s.hw, range.clone()),
        );
        sum::sum_dy_dy_xhat(&dy, &x, &mean[range.clone()], &inv_std[range])
    })
}

/// The backward of [`batch_norm_fwd`]: `dgamma`, `dbeta` (when given) and `dx` (when given), each
/// overwritten. `batch_stats` says μ and s were the batch's own (training mode), so that `dx`
/// carries their dependence on `x`; otherwise they were constants (evaluation mode).
///
/// # Panics
/// When a length does not match `s`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_bwd(
    s: &BnShape,
    batch_stats: bool,
    x: &[f32],
    dy: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    dgamma_dbeta: Option<(&mut [f32], &mut [f32])>,
    dx: Option<&mut [f32]>,
) {
    s.check("batch_norm_bwd", &[x.len(), dy.len()]);
    let sums = sums(s, x, dy, mean, inv_std);
    if let Some((dg, db)) = dgamma_dbeta {
        for (c, &(sd, sdx)) in sums.iter().enumerate() {
            (dg[c], db[c]) = (sdx as f32, sd as f32);
        }
    }
    let Some(dx) = dx else { return };
    s.check("batch_norm_bwd dx", &[dx.len()]);
    let m = s.per_channel() as f64;
    per_plane(s, dx, |c, at, dx| {
        let (mu, sc, k) = (mean[c], inv_std[c], gamma[c] * inv_std[c]);
        let (x, dy) = (&x[at..at + s.hw], &dy[at..at + s.hw]);
        if batch_stats {
            let (md, mdx) = ((sums[c].0 / m) as f32, (sums[c].1 / m) as f32);
            for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
                *dx = k * (dy - md - ((x - mu) * sc) * mdx);
            }
        } else {
            for (dx, &dy) in dx.iter_mut().zip(dy) {
                *dx = k * dy;
            }
        }
    });
}

/// `Σ_n (∂L_n/∂γ)²` and `Σ_n (∂L_n/∂β)²` with fixed statistics (evaluation mode, where samples do
/// not interact): per image, `∂L_n/∂γ_c = Σ_hw dy x̂` and `∂L_n/∂β_c = Σ_hw dy`, squared and summed
/// over the images in order, in f64.
pub fn batch_norm_bwd_param_squares(
    s: &BnShape,
    x: &[f32],
    dy: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    s.check("batch_norm_bwd_param_squares", &[x.len(), dy.len()]);
    let image = s.c * s.hw;
    let per = per_channel_block(s, |range| {
        let (mu, sc) = (&mean[range.clone()], &inv_std[range.clone()]);
        let mut squares = vec![(0.0, 0.0); range.len()];
        for (dy, x) in dy.chunks_exact(image).zip(x.chunks_exact(image)) {
            let (dy, x) = (
                Channels::new(dy, s.c, s.hw, range.clone()),
                Channels::new(x, s.c, s.hw, range.clone()),
            );
            for ((qd, qdx), (sd, sdx)) in
                squares.iter_mut().zip(sum::sum_dy_dy_xhat(&dy, &x, mu, sc))
            {
                (*qd, *qdx) = (*qd + sd * sd, *qdx + sdx * sdx);
            }
        }
        squares
    });
    for (c, (qd, qdx)) in per.into_iter().enumerate() {
        (dgamma[c], dbeta[c]) = (qdx as f32, qd as f32);
    }
}
