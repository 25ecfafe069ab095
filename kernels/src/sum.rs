//! Reductions of f32 rows in f64: the bias gradient of a convolution and batch norm's statistics
//! and backward sums.
//!
//! Each runs in sixteen interleaved lanes (element `i` goes to lane `i mod 16`), the lanes
//! combined in a fixed order and the tail (fewer than sixteen) added last, left to right. Each
//! body is written once (a [`Body`]) and compiled three times (`width.rs`): for AVX-512 (the lanes
//! are two zmm of f64: two chains of dependent adds), for AVX2 (four ymm) and for the build
//! target. Each lane performs the same additions in the same order on every path, so all three
//! give the same bits; [`active_isa`] picks the path, as for every other kernel.

use crate::active_isa;
use crate::width::{on, Body};

/// `Σ row` in f64.
pub(crate) fn sum(row: &[f32]) -> f64 {
    on(active_isa(), Sum(row))
}

/// `Σ (row − μ)²` in f64 (the second pass of a two-pass variance).
pub(crate) fn sum_sq_dev(row: &[f32], mu: f64) -> f64 {
    on(active_isa(), SumSqDev(row, mu))
}

/// `(Σ dy, Σ dy · x̂)` in f64, `x̂ = (x − μ) · s` rounded to f32 as batch norm's forward computes it.
///
/// # Panics
/// When the lengths differ.
pub(crate) fn sum_dy_dy_xhat(dy: &[f32], x: &[f32], mu: f32, s: f32) -> (f64, f64) {
    assert_eq!(dy.len(), x.len(), "sum_dy_dy_xhat: lengths");
    on(active_isa(), DyXhat { dy, x, mu, s })
}

struct Sum<'a>(&'a [f32]);
struct SumSqDev<'a>(&'a [f32], f64);
struct DyXhat<'a> {
    dy: &'a [f32],
    x: &'a [f32],
    mu: f32,
    s: f32,
}

impl Body for Sum<'_> {
    type Out = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        let mut acc = [0.0f64; LANES];
        let chunks = self.0.chunks_exact(LANES);
        let tail = chunks.remainder();
        for c in chunks {
            for (a, &v) in acc.iter_mut().zip(c) {
                *a += f64::from(v);
            }
        }
        combine(&acc, tail.iter().map(|&v| f64::from(v)))
    }
}

impl Body for SumSqDev<'_> {
    type Out = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        let (mut acc, mu) = ([0.0f64; LANES], self.1);
        let chunks = self.0.chunks_exact(LANES);
        let tail = chunks.remainder();
        for c in chunks {
            for (a, &v) in acc.iter_mut().zip(c) {
                let d = f64::from(v) - mu;
                *a += d * d;
            }
        }
        combine(&acc, tail.iter().map(|&v| (f64::from(v) - mu).powi(2)))
    }
}

impl Body for DyXhat<'_> {
    type Out = (f64, f64);
    #[inline(always)]
    fn run(self) -> (f64, f64) {
        let (mu, s) = (self.mu, self.s);
        let (mut sd, mut sdx) = ([0.0f64; LANES], [0.0f64; LANES]);
        let mut xhat = [0.0f32; BLOCK];
        let (body, len) = (self.dy.len() - self.dy.len() % LANES, self.dy.len());
        // x̂ a block at a time in its own loop (which vectorises), then the lanes; a block is a
        // multiple of LANES floats, so element i still goes to lane i mod LANES.
        for at in (0..body).step_by(BLOCK) {
            let n = BLOCK.min(body - at);
            let (dy, x, xhat) = (&self.dy[at..at + n], &self.x[at..at + n], &mut xhat[..n]);
            for (h, &x) in xhat.iter_mut().zip(x) {
                *h = (x - mu) * s;
            }
            for (dy, h) in dy.chunks_exact(LANES).zip(xhat.chunks_exact(LANES)) {
                for (((a, b), &d), &h) in sd.iter_mut().zip(&mut sdx).zip(dy).zip(h) {
                    *a += f64::from(d);
                    *b += f64::from(d) * f64::from(h);
                }
            }
        }
        let tail = self.dy[body..len].iter().zip(&self.x[body..len]);
        (
            combine(&sd, self.dy[body..len].iter().map(|&d| f64::from(d))),
            combine(
                &sdx,
                tail.map(|(&d, &x)| f64::from(d) * f64::from((x - mu) * s)),
            ),
        )
    }
}

/// The lanes of every reduction.
const LANES: usize = 16;
/// Floats of x̂ [`DyXhat`] computes at a time (a multiple of [`LANES`]).
const BLOCK: usize = 256;

/// The lanes added in order, then the tail left to right.
#[inline(always)]
fn combine(acc: &[f64; LANES], tail: impl Iterator<Item = f64>) -> f64 {
    acc.iter().sum::<f64>() + tail.sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_common::signed_values as values;
    use crate::Isa;

    /// Every path this CPU has gives the bits of the portable path, and the value of a naive sum.
    #[test]
    fn every_path_gives_the_same_bits() {
        for len in 0..70 {
            let x: Vec<f32> = values(len, len as u64).iter().map(|v| v * 1e3).collect();
            let dy = values(len, 7 + len as u64);
            let run = |isa| {
                let (mu, s) = (0.5, 1.5);
                let (sd, sdx) = on(
                    isa,
                    DyXhat {
                        dy: &dy,
                        x: &x,
                        mu,
                        s,
                    },
                );
                let sums = [on(isa, Sum(&x)), on(isa, SumSqDev(&x, 0.25)), sd, sdx];
                sums.map(f64::to_bits)
            };
            let want = run(Isa::Portable);
            for isa in crate::available_isas() {
                assert_eq!(run(isa), want, "{isa}, length {len}");
            }
            let naive: f64 = x.iter().map(|&v| f64::from(v)).sum();
            let got = f64::from_bits(want[0]);
            assert!(
                (got - naive).abs() <= 1e-9 * (1.0 + naive.abs()),
                "length {len}"
            );
            let naive: f64 = x.iter().map(|&v| (f64::from(v) - 0.25).powi(2)).sum();
            let got = f64::from_bits(want[1]);
            assert!(
                (got - naive).abs() <= 1e-9 * (1.0 + naive.abs()),
                "length {len}"
            );
        }
    }
}
