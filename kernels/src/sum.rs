//! Reductions of f32 planes in f64, per channel of a batch of NCHW images: the bias gradient of a
//! convolution and batch norm's statistics and backward sums.
//!
//! Each reduces every channel of a [`Channels`] in sixteen interleaved lanes of its own: element
//! `i` of each of the channel's planes goes to lane `i mod 16`, the images in order, except each
//! plane's last `len mod 16` (its tail). A channel's lanes are combined in a fixed order, then its
//! tails added, left to right and image after image. The planes are read in memory order (image
//! after image, each image's channels in order), so the whole batch streams through once, and
//! each channel's additions are the same whichever channels are reduced with it. Each body is
//! written once (a [`Body`]) and compiled three times (`width.rs`): for AVX-512 (the lanes are two
//! zmm of f64: two chains of dependent adds), for AVX2 (four ymm) and for the build target. Each
//! lane performs the same additions in the same order on every path, so all three give the same
//! bits; [`active_isa`] picks the path, as for every other kernel.

use crate::active_isa;
use crate::width::{on, Body};
use std::ops::Range;

/// Channels `range` of the images `x`, each `channels` planes of `hw` floats.
#[derive(Clone, Debug)]
pub(crate) struct Channels<'a> {
    x: &'a [f32],
    channels: usize,
    hw: usize,
    range: Range<usize>,
}

impl<'a> Channels<'a> {
    /// # Panics
    /// When `x` is not a whole number of images or `range` is not within `0..channels`.
    pub(crate) fn new(x: &'a [f32], channels: usize, hw: usize, range: Range<usize>) -> Self {
        let image = (channels * hw).max(1);
        assert!(
            range.start <= range.end && range.end <= channels && x.len().is_multiple_of(image),
            "Channels: {range:?} of {channels} × {hw} in {} floats",
            x.len()
        );
        Channels {
            x,
            channels,
            hw,
            range,
        }
    }

    fn count(&self) -> usize {
        self.range.len()
    }

    fn images(&self) -> usize {
        self.x.len() / (self.channels * self.hw).max(1)
    }

    /// The plane of channel `range.start + j` of image `n`, split into its body (whole vectors
    /// of LANES floats) and its tail. (Called in plain loops: the bodies below use no closures
    /// or iterator adapters over planes, which were not inlined into the per-path builds.)
    #[inline(always)]
    fn plane(&self, n: usize, j: usize) -> (&'a [f32], &'a [f32]) {
        let at = (n * self.channels + self.range.start + j) * self.hw;
        self.x[at..at + self.hw].split_at(self.hw - self.hw % LANES)
    }
}

/// `Σ` of each channel, in f64.
pub(crate) fn sum(x: &Channels) -> Vec<f64> {
    on(active_isa(), Sum(x))
}

/// `Σ (x − μ_c)²` of each channel (`mu[j]` for the range's `j`-th), in f64: the second pass of a
/// two-pass variance.
///
/// # Panics
/// When `mu` is not one per channel.
pub(crate) fn sum_sq_dev(x: &Channels, mu: &[f64]) -> Vec<f64> {
    assert_eq!(mu.len(), x.count(), "sum_sq_dev: one μ per channel");
    on(active_isa(), SumSqDev(x, mu))
}

/// `(Σ dy, Σ dy · x̂)` of each channel in f64, `x̂ = (x − μ_c) · s_c` rounded to f32 as batch
/// norm's forward computes it (`mu[j]`, `s[j]` for the range's `j`-th channel).
///
/// # Panics
/// When `dy` and `x` differ in shape, or `mu`, `s` are not one per channel.
pub(crate) fn sum_dy_dy_xhat(
    dy: &Channels,
    x: &Channels,
    mu: &[f32],
    s: &[f32],
) -> Vec<(f64, f64)> {
    assert!(
        (dy.x.len(), dy.channels, dy.hw, &dy.range) == (x.x.len(), x.channels, x.hw, &x.range),
        "sum_dy_dy_xhat: shapes {dy:?} and {x:?}"
    );
    assert!(
        mu.len() == x.count() && s.len() == x.count(),
        "sum_dy_dy_xhat: one μ, s per channel"
    );
    on(active_isa(), DyXhat { dy, x, mu, s })
}

struct Sum<'a, 'b>(&'b Channels<'a>);
struct SumSqDev<'a, 'b>(&'b Channels<'a>, &'b [f64]);
struct DyXhat<'a, 'b> {
    dy: &'b Channels<'a>,
    x: &'b Channels<'a>,
    mu: &'b [f32],
    s: &'b [f32],
}

/// One channel's sixteen lanes and its tails' sum (a left-to-right fold from −0.0, as
/// `Iterator::sum`).
#[derive(Clone, Copy)]
struct Lanes {
    lanes: [f64; LANES],
    tails: f64,
}

impl Lanes {
    const ZERO: Lanes = Lanes {
        lanes: [0.0; LANES],
        tails: -0.0,
    };

    /// The lanes added in order, then the tails.
    #[inline(always)]
    fn total(&self) -> f64 {
        self.lanes.iter().sum::<f64>() + self.tails
    }
}

impl Body for Sum<'_, '_> {
    type Out = Vec<f64>;
    #[inline(always)]
    fn run(self) -> Vec<f64> {
        let x = self.0;
        let mut acc = vec![Lanes::ZERO; x.count()];
        for n in 0..x.images() {
            for (j, acc) in acc.iter_mut().enumerate() {
                let (body, tail) = x.plane(n, j);
                // A local copy of the lanes (kept in registers; through `acc` they were loaded and
                // stored element by element, as `acc` might alias the plane).
                let mut lanes = acc.lanes;
                for c in body.chunks_exact(LANES) {
                    for (a, &v) in lanes.iter_mut().zip(c) {
                        *a += f64::from(v);
                    }
                }
                acc.lanes = lanes;
                for &v in tail {
                    acc.tails += f64::from(v);
                }
            }
        }
        acc.iter().map(Lanes::total).collect()
    }
}

impl Body for SumSqDev<'_, '_> {
    type Out = Vec<f64>;
    #[inline(always)]
    fn run(self) -> Vec<f64> {
        let (x, mu) = (self.0, self.1);
        let mut acc = vec![Lanes::ZERO; x.count()];
        for n in 0..x.images() {
            for (j, (acc, &mu)) in acc.iter_mut().zip(mu).enumerate() {
                let (body, tail) = x.plane(n, j);
                // A local copy, as in `Sum`.
                let mut lanes = acc.lanes;
                for c in body.chunks_exact(LANES) {
                    for (a, &v) in lanes.iter_mut().zip(c) {
                        let d = f64::from(v) - mu;
                        *a += d * d;
                    }
                }
                acc.lanes = lanes;
                for &v in tail {
                    acc.tails += (f64::from(v) - mu).powi(2);
                }
            }
        }
        acc.iter().map(Lanes::total).collect()
    }
}

impl Body for DyXhat<'_, '_> {
    type Out = Vec<(f64, f64)>;
    #[inline(always)]
    fn run(self) -> Vec<(f64, f64)> {
        let mut acc = vec![(Lanes::ZERO, Lanes::ZERO); self.x.count()];
        let mut xhat = [0.0f32; BLOCK];
        for n in 0..self.x.images() {
            for (j, (sd_acc, sdx_acc)) in acc.iter_mut().enumerate() {
                let (mu, s) = (self.mu[j], self.s[j]);
                let ((x, x_tail), (dy, dy_tail)) = (self.x.plane(n, j), self.dy.plane(n, j));
                // Local copies, as in `Sum`.
                let (mut sd, mut sdx) = (sd_acc.lanes, sdx_acc.lanes);
                // x̂ a block at a time in its own loop (which vectorises), then each sum in a
                // loop of its own (together they stayed scalar); a block is a multiple of LANES
                // floats, so element i still goes to lane i mod LANES.
                for at in (0..x.len()).step_by(BLOCK) {
                    let n = BLOCK.min(x.len() - at);
                    let (dy, x, xhat) = (&dy[at..at + n], &x[at..at + n], &mut xhat[..n]);
                    for (h, &x) in xhat.iter_mut().zip(x) {
                        *h = (x - mu) * s;
                    }
                    for dy in dy.chunks_exact(LANES) {
                        for (a, &d) in sd.iter_mut().zip(dy) {
                            *a += f64::from(d);
                        }
                    }
                    for (dy, h) in dy.chunks_exact(LANES).zip(xhat.chunks_exact(LANES)) {
                        for ((a, &d), &h) in sdx.iter_mut().zip(dy).zip(h) {
                            *a += f64::from(d) * f64::from(h);
                        }
                    }
                }
                (sd_acc.lanes, sdx_acc.lanes) = (sd, sdx);
                for (&d, &x) in dy_tail.iter().zip(x_tail) {
                    sd_acc.tails += f64::from(d);
                    sdx_acc.tails += f64::from(d) * f64::from((x - mu) * s);
                }
            }
        }
        acc.iter()
            .map(|(sd, sdx)| (sd.total(), sdx.total()))
            .collect()
    }
}

/// The lanes of every reduction.
const LANES: usize = 16;
/// Floats of x̂ [`DyXhat`] computes at a time (a multiple of [`LANES`]).
const BLOCK: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_common::signed_values as values;
    use crate::Isa;

    /// The documented order, element by element, for channel `c` of `n` images of `channels ×
    /// hw`: lane `i mod 16` of each plane's body, image after image, the lanes combined in
    /// order, then the tails. `f` gets each element's index in the images.
    fn in_documented_order(
        (n, channels, hw): (usize, usize, usize),
        c: usize,
        f: impl Fn(usize) -> f64,
    ) -> f64 {
        let mut lanes = [0.0f64; LANES];
        let body = hw - hw % LANES;
        for image in 0..n {
            let at = (image * channels + c) * hw;
            for i in 0..body {
                lanes[i % LANES] += f(at + i);
            }
        }
        let tails: Vec<f64> = (0..n)
            .flat_map(|image| (body..hw).map(move |i| (image * channels + c) * hw + i))
            .map(f)
            .collect();
        lanes.iter().sum::<f64>() + tails.into_iter().sum::<f64>()
    }

    /// On batches of images (planes with and without tails, shorter than a lane set, one image
    /// or many) and on every range of their channels, every path this CPU has gives the bits of
    /// the documented order.
    #[test]
    fn every_path_gives_the_bits_of_the_documented_order() {
        let mut shapes: Vec<(usize, usize, usize)> = (0..40).map(|hw| (1, 1, hw)).collect();
        shapes.extend([
            (3, 2, 16),
            (5, 3, 7),
            (4, 1, 33),
            (2, 4, 1),
            (6, 3, 49),
            (2, 5, 300),
        ]);
        for (k, &(n, channels, hw)) in shapes.iter().enumerate() {
            let len = n * channels * hw;
            let x: Vec<f32> = values(len, k as u64).iter().map(|v| v * 1e3).collect();
            let dy = values(len, 7 + k as u64);
            let mu: Vec<f32> = (0..channels).map(|c| 0.5 - c as f32).collect();
            let sc: Vec<f32> = (0..channels).map(|c| 1.5 + c as f32).collect();
            let mu64: Vec<f64> = (0..channels).map(|c| 0.25 * c as f64).collect();
            for lo in 0..channels {
                for hi in lo + 1..=channels {
                    let (cx, cdy) = (
                        Channels::new(&x, channels, hw, lo..hi),
                        Channels::new(&dy, channels, hw, lo..hi),
                    );
                    let (mu, sc, mu64) = (&mu[lo..hi], &sc[lo..hi], &mu64[lo..hi]);
                    let run = |isa| {
                        let pairs = on(
                            isa,
                            DyXhat {
                                dy: &cdy,
                                x: &cx,
                                mu,
                                s: sc,
                            },
                        );
                        let (sd, sdx): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
                        [on(isa, Sum(&cx)), on(isa, SumSqDev(&cx, mu64)), sd, sdx]
                            .map(|v| v.into_iter().map(f64::to_bits).collect::<Vec<_>>())
                    };
                    let got = run(Isa::Portable);
                    for (j, c) in (lo..hi).enumerate() {
                        let xhat = |i: usize| (x[i] - mu[j]) * sc[j];
                        let want = [
                            in_documented_order((n, channels, hw), c, |i| f64::from(x[i])),
                            in_documented_order((n, channels, hw), c, |i| {
                                (f64::from(x[i]) - mu64[j]).powi(2)
                            }),
                            in_documented_order((n, channels, hw), c, |i| f64::from(dy[i])),
                            in_documented_order((n, channels, hw), c, |i| {
                                f64::from(dy[i]) * f64::from(xhat(i))
                            }),
                        ];
                        for (which, w) in want.iter().enumerate() {
                            assert_eq!(
                                got[which][j],
                                w.to_bits(),
                                "sum {which}, shape {n}×{channels}×{hw}, channel {c} of {lo}..{hi}"
                            );
                        }
                    }
                    for isa in crate::available_isas() {
                        assert_eq!(
                            run(isa),
                            got,
                            "{isa}, shape {n}×{channels}×{hw}, {lo}..{hi}"
                        );
                    }
                }
            }
        }
    }
}
