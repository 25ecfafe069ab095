//! Reductions of f32 planes in f64: the bias gradient of a convolution and batch norm's
//! statistics and backward sums.
//!
//! Each reduces a [`Planes`] (one channel of a batch: a plane per image; or one row) in sixteen
//! interleaved lanes: element `i` of every plane goes to lane `i mod 16`, plane after plane, except
//! each plane's last `len mod 16` (its tail). The lanes are combined in a fixed order, then the
//! tails added, left to right and plane after plane. Each body is written once (a [`Body`]) and
//! compiled three times (`width.rs`): for AVX-512 (the lanes are two zmm of f64: two chains of
//! dependent adds), for AVX2 (four ymm) and for the build target. Each lane performs the same
//! additions in the same order on every path, so all three give the same bits; [`active_isa`]
//! picks the path, as for every other kernel.

use crate::active_isa;
use crate::width::{on, Body};

/// `count` planes of `len` floats of `x`, plane `j` at `x[first + j·stride ..]`: one channel of a
/// batch of NCHW images, or one row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Planes<'a> {
    x: &'a [f32],
    first: usize,
    stride: usize,
    len: usize,
    count: usize,
}

impl<'a> Planes<'a> {
    /// The whole of `x` as one plane.
    pub(crate) fn row(x: &'a [f32]) -> Self {
        Planes {
            x,
            first: 0,
            stride: x.len(),
            len: x.len(),
            count: 1,
        }
    }

    /// Channel `c` of the images `x`, each `channels` planes of `hw` floats.
    ///
    /// # Panics
    /// When `x` is not a whole number of images or `c` is not a channel.
    pub(crate) fn channel(x: &'a [f32], channels: usize, hw: usize, c: usize) -> Self {
        let image = (channels * hw).max(1);
        assert!(
            c < channels && x.len() % image == 0,
            "Planes::channel: channel {c} of {channels} × {hw} in {} floats",
            x.len()
        );
        Planes {
            x,
            first: c * hw,
            stride: image,
            len: hw,
            count: x.len() / image,
        }
    }

    fn each(self) -> impl Iterator<Item = &'a [f32]> {
        (0..self.count).map(move |j| &self.x[self.first + j * self.stride..][..self.len])
    }

    /// Each plane's tail: its last `len mod LANES` floats.
    fn tails(self) -> impl Iterator<Item = &'a [f32]> {
        let body = self.len - self.len % LANES;
        self.each().map(move |p| &p[body..])
    }
}

/// `Σ planes` in f64.
pub(crate) fn sum(planes: Planes) -> f64 {
    on(active_isa(), Sum(planes))
}

/// `Σ (planes − μ)²` in f64 (the second pass of a two-pass variance).
pub(crate) fn sum_sq_dev(planes: Planes, mu: f64) -> f64 {
    on(active_isa(), SumSqDev(planes, mu))
}

/// `(Σ dy, Σ dy · x̂)` in f64, `x̂ = (x − μ) · s` rounded to f32 as batch norm's forward computes
/// it.
///
/// # Panics
/// When `dy` and `x` differ in shape.
pub(crate) fn sum_dy_dy_xhat(dy: Planes, x: Planes, mu: f32, s: f32) -> (f64, f64) {
    assert!(
        (dy.len, dy.count) == (x.len, x.count),
        "sum_dy_dy_xhat: shapes {dy:?} and {x:?}"
    );
    on(active_isa(), DyXhat { dy, x, mu, s })
}

struct Sum<'a>(Planes<'a>);
struct SumSqDev<'a>(Planes<'a>, f64);
struct DyXhat<'a> {
    dy: Planes<'a>,
    x: Planes<'a>,
    mu: f32,
    s: f32,
}

impl Body for Sum<'_> {
    type Out = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        let mut acc = [0.0f64; LANES];
        for plane in self.0.each() {
            for c in plane.chunks_exact(LANES) {
                for (a, &v) in acc.iter_mut().zip(c) {
                    *a += f64::from(v);
                }
            }
        }
        combine(&acc, self.0.tails().flatten().map(|&v| f64::from(v)))
    }
}

impl Body for SumSqDev<'_> {
    type Out = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        let (mut acc, mu) = ([0.0f64; LANES], self.1);
        for plane in self.0.each() {
            for c in plane.chunks_exact(LANES) {
                for (a, &v) in acc.iter_mut().zip(c) {
                    let d = f64::from(v) - mu;
                    *a += d * d;
                }
            }
        }
        let tails = self.0.tails().flatten();
        combine(&acc, tails.map(|&v| (f64::from(v) - mu).powi(2)))
    }
}

impl Body for DyXhat<'_> {
    type Out = (f64, f64);
    #[inline(always)]
    fn run(self) -> (f64, f64) {
        let (mu, s) = (self.mu, self.s);
        let (mut sd, mut sdx) = ([0.0f64; LANES], [0.0f64; LANES]);
        let mut xhat = [0.0f32; BLOCK];
        let body = self.dy.len - self.dy.len % LANES;
        for (dy, x) in self.dy.each().zip(self.x.each()) {
            // x̂ a block at a time in its own loop (which vectorises), then the lanes; a block is
            // a multiple of LANES floats, so element i still goes to lane i mod LANES.
            for at in (0..body).step_by(BLOCK) {
                let n = BLOCK.min(body - at);
                let (dy, x, xhat) = (&dy[at..at + n], &x[at..at + n], &mut xhat[..n]);
                for (h, &x) in xhat.iter_mut().zip(x) {
                    *h = (x - mu) * s;
                }
                // The two sums in loops of their own: together they stayed scalar.
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
        }
        let (dy_tails, x_tails) = (self.dy.tails().flatten(), self.x.tails().flatten());
        (
            combine(&sd, self.dy.tails().flatten().map(|&d| f64::from(d))),
            combine(
                &sdx,
                dy_tails
                    .zip(x_tails)
                    .map(|(&d, &x)| f64::from(d) * f64::from((x - mu) * s)),
            ),
        )
    }
}

/// The lanes of every reduction.
const LANES: usize = 16;
/// Floats of x̂ [`DyXhat`] computes at a time (a multiple of [`LANES`]).
const BLOCK: usize = 256;

/// The lanes added in order, then the tails left to right.
#[inline(always)]
fn combine(acc: &[f64; LANES], tail: impl Iterator<Item = f64>) -> f64 {
    acc.iter().sum::<f64>() + tail.sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_common::signed_values as values;
    use crate::Isa;

    /// The documented order, written out element by element: lane `i mod 16` of every plane's
    /// body, plane after plane, the lanes combined in order, then the tails.
    /// `f` gets each element's index in the planes' slice.
    fn in_documented_order(planes: Planes, f: impl Fn(usize) -> f64) -> f64 {
        let mut lanes = [0.0f64; LANES];
        let body = planes.len - planes.len % LANES;
        for j in 0..planes.count {
            for i in 0..body {
                lanes[i % LANES] += f(planes.first + j * planes.stride + i);
            }
        }
        let mut tails = Vec::new();
        for j in 0..planes.count {
            for i in body..planes.len {
                tails.push(f(planes.first + j * planes.stride + i));
            }
        }
        lanes.iter().sum::<f64>() + tails.into_iter().sum::<f64>()
    }

    /// On rows and on channels of image batches (planes with and without tails, shorter than a
    /// lane set), every path this CPU has gives the bits of the documented order, and the sums
    /// are close to naive ones.
    #[test]
    fn every_path_gives_the_bits_of_the_documented_order() {
        let mut shapes: Vec<(usize, usize, usize)> = (0..70).map(|len| (1, 1, len)).collect();
        shapes.extend([(3, 2, 16), (5, 3, 7), (4, 1, 33), (2, 4, 1), (64, 2, 49)]);
        for (k, &(n, channels, hw)) in shapes.iter().enumerate() {
            let len = n * channels * hw;
            let x: Vec<f32> = values(len, k as u64).iter().map(|v| v * 1e3).collect();
            let dy = values(len, 7 + k as u64);
            for c in 0..channels {
                let view = |v| match len {
                    0 => Planes::row(v),
                    _ => Planes::channel(v, channels, hw, c),
                };
                let (px, pdy) = (view(&x), view(&dy));
                let (mu, s) = (0.5f32, 1.5f32);
                let run = |isa| {
                    let (sd, sdx) = on(
                        isa,
                        DyXhat {
                            dy: pdy,
                            x: px,
                            mu,
                            s,
                        },
                    );
                    [on(isa, Sum(px)), on(isa, SumSqDev(px, 0.25)), sd, sdx].map(f64::to_bits)
                };
                let xhat = |v: f32| (v - mu) * s;
                let want = [
                    in_documented_order(px, |i| f64::from(x[i])),
                    in_documented_order(px, |i| (f64::from(x[i]) - 0.25).powi(2)),
                    in_documented_order(px, |i| f64::from(dy[i])),
                    in_documented_order(px, |i| f64::from(dy[i]) * f64::from(xhat(x[i]))),
                ];
                let got = run(Isa::Portable);
                for (i, w) in want.iter().enumerate() {
                    assert_eq!(
                        got[i],
                        w.to_bits(),
                        "sum {i}, shape {n}×{channels}×{hw}, c {c}"
                    );
                }
                for isa in crate::available_isas() {
                    assert_eq!(run(isa), got, "{isa}, shape {n}×{channels}×{hw}, c {c}");
                }
                let naive: f64 = px.each().flatten().map(|&v| f64::from(v)).sum();
                let sum = f64::from_bits(got[0]);
                assert!((sum - naive).abs() <= 1e-9 * (1.0 + naive.abs()));
            }
        }
    }
}
