//! The max-pool on every path this CPU has (the AVX2 row kernels and the portable loops) against
//! the reference, on every row width from 1 to 40 windows (scalar, 4-wide and 8-wide steps, with
//! and without an overlapping last step), odd planes, ties and NaNs (the public entry points, on the
//! active path only, are tested in tests/pool.rs).

use super::{bwd_with, fwd_with};
use crate::test_common::{bits, Lcg};
use crate::{available_isas, reference};

/// Values with many ties (integers in -2..=2), a NaN in about one element in eleven.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = Lcg::new(seed);
    (0..len)
        .map(|_| match rng.next_u64() >> 33 {
            r if r % 11 == 0 => f32::NAN,
            r => (r % 5) as f32 - 2.0,
        })
        .collect()
}

#[test]
fn every_isa_matches_reference_on_every_row_width() {
    let planes = 3;
    for isa in available_isas() {
        for h in [2, 3, 5] {
            for w in 2..=81 {
                let x = values(planes * h * w, (h * 100 + w) as u64);
                let len = planes * (h / 2) * (w / 2);
                let (mut y, mut pos) = (vec![f32::NAN; len], vec![u8::MAX; len]);
                fwd_with(isa, (h, w), &x, &mut y, &mut pos);
                let (ry, rpos) = reference::maxpool2_fwd(planes, h, w, &x);
                assert_eq!((bits(&y), &pos), (bits(&ry), &rpos), "{isa} fwd {h}×{w}");

                // A NaN gradient must reach only its own window's maximum.
                let dy = values(len, w as u64);
                let mut dx = vec![1.5; planes * h * w];
                bwd_with(isa, (h, w), &dy, &pos, &mut dx);
                let mut want = vec![0.0f32; dx.len()];
                for (o, (&d, &p)) in dy.iter().zip(&pos).enumerate() {
                    let (per_plane, ow) = (len / planes, w / 2);
                    let (plane, i, j) = (o / per_plane, o % per_plane / ow, o % ow);
                    let (u, v) = (usize::from(p / 2), usize::from(p % 2));
                    want[plane * h * w + (2 * i + u) * w + 2 * j + v] = d;
                }
                assert_eq!(bits(&dx), bits(&want), "{isa} bwd {h}×{w}");
            }
        }
    }
}
