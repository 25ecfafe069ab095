//! Max-pooling against `reference::maxpool2_fwd` (exact: both pick the first maximum), its
//! backward against a naive unpooling, on odd and tiny planes, ties, NaN, and both thread counts.

mod common;
use regimebench_kernels::{maxpool2_bwd, maxpool2_fwd, reference};

/// Deterministic values: integers in `0..levels` (many ties when `levels` is small).
fn values(len: usize, seed: u64, levels: u64) -> Vec<f32> {
    let mut rng = common::Lcg::new(seed);
    (0..len)
        .map(|_| ((rng.next_u64() >> 33) % levels) as f32 - (levels / 2) as f32)
        .collect()
}

fn pool(planes: usize, h: usize, w: usize, x: &[f32]) -> (Vec<f32>, Vec<u8>) {
    let len = planes * (h / 2) * (w / 2);
    let (mut y, mut pos) = (vec![f32::NAN; len], vec![u8::MAX; len]);
    maxpool2_fwd(planes, h, w, x, &mut y, &mut pos);
    (y, pos)
}

/// Starts from NaN everywhere, so an element the backward fails to write shows.
fn unpool(planes: usize, h: usize, w: usize, dy: &[f32], pos: &[u8]) -> Vec<f32> {
    let mut dx = vec![f32::NAN; planes * h * w];
    maxpool2_bwd(planes, h, w, dy, pos, &mut dx);
    dx
}

/// The backward written out: zeros, then each `dy` at its window's position.
fn naive_unpool(planes: usize, h: usize, w: usize, dy: &[f32], pos: &[u8]) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut dx = vec![0.0; planes * h * w];
    for p in 0..planes {
        for i in 0..oh {
            for j in 0..ow {
                let o = (p * oh + i) * ow + j;
                let (u, v) = (usize::from(pos[o] / 2), usize::from(pos[o] % 2));
                dx[p * h * w + (2 * i + u) * w + 2 * j + v] = dy[o];
            }
        }
    }
    dx
}

#[test]
fn forward_matches_reference_with_ties_and_floor() {
    let sides = [1, 2, 3, 7, 8, 17, 28, 33];
    for (planes, levels) in [(1, 3), (3, 2), (7, 1000)] {
        for h in sides {
            for w in sides {
                let x = values(planes * h * w, (h * 31 + w) as u64, levels);
                let (y, pos) = pool(planes, h, w, &x);
                let (ry, rpos) = reference::maxpool2_fwd(planes, h, w, &x);
                assert_eq!((y, pos), (ry, rpos), "{planes}×{h}×{w}, {levels} levels");
            }
        }
    }
}

#[test]
fn forward_matches_reference_with_nans_anywhere() {
    let (planes, h, w) = (40, 6, 6);
    let mut x = values(planes * h * w, 11, 3);
    let mut rng = common::Lcg::new(12);
    for v in x.iter_mut() {
        if rng.next_u64().is_multiple_of(4) {
            *v = f32::NAN;
        }
    }
    let (y, pos) = pool(planes, h, w, &x);
    let (ry, rpos) = reference::maxpool2_fwd(planes, h, w, &x);
    assert_eq!((common::bits(&y), pos), (common::bits(&ry), rpos));
}

#[test]
fn first_maximum_wins() {
    // Windows: all equal; bottom row ties; top right ties bottom left (scan order picks top right).
    let x = [
        5.0, 5.0, 5.0, 5.0, //
        1.0, 2.0, 2.0, 2.0, //
        1.0, 5.0, 5.0, 0.0,
    ];
    let (y, pos) = pool(3, 2, 2, &x);
    assert_eq!((y, pos), (vec![5.0, 2.0, 5.0], vec![0, 1, 1]));
}

#[test]
fn nan_wins_only_in_first_position() {
    let n = f32::NAN;
    let x = [n, 1.0, 2.0, 3.0, 1.0, n, 0.0, 0.0, 0.0, 0.0, n, 4.0];
    let (y, pos) = pool(3, 2, 2, &x);
    assert!(y[0].is_nan() && pos[0] == 0);
    assert_eq!((y[1], pos[1]), (1.0, 0));
    assert_eq!((y[2], pos[2]), (4.0, 3));
    let (ry, rpos) = reference::maxpool2_fwd(3, 2, 2, &x);
    assert_eq!(rpos, pos);
    assert_eq!(ry[1..], y[1..]);
}

#[test]
fn backward_routes_to_the_maximum_and_zeroes_the_rest() {
    for (planes, h, w) in [
        (1, 2, 2),
        (1, 1, 5),
        (3, 7, 7),
        (5, 17, 8),
        (300, 16, 16),
        (64 * 32, 7, 7),
        (4, 28, 28),
        (3, 29, 14),
        (2, 14, 33),
    ] {
        let x = values(planes * h * w, planes as u64, 7);
        let (_, pos) = pool(planes, h, w, &x);
        let dy = values(pos.len(), 9, 1000);
        assert_eq!(
            unpool(planes, h, w, &dy, &pos),
            naive_unpool(planes, h, w, &dy, &pos),
            "{planes}×{h}×{w}"
        );
    }
}

#[test]
#[should_panic(expected = "window position")]
fn backward_rejects_a_bad_position() {
    unpool(1, 2, 2, &[1.0], &[4]);
}

#[test]
#[should_panic(expected = "dy length")]
fn backward_rejects_a_short_gradient() {
    unpool(2, 2, 2, &[1.0], &[0]);
}

#[test]
fn bit_identical_for_one_and_two_threads() {
    let (planes, h, w) = (64 * 16, 14, 14);
    let x: Vec<f32> = values(planes * h * w, 1, 1 << 20)
        .iter()
        .map(|v| v * 1e-3)
        .collect();
    let dy = values(planes * (h / 2) * (w / 2), 2, 1 << 20);
    let run = |t: usize| {
        common::in_threads(t, || {
            let (y, pos) = pool(planes, h, w, &x);
            let dx = unpool(planes, h, w, &dy, &pos);
            (common::bits(&y), pos, common::bits(&dx))
        })
    };
    assert_eq!(run(1), run(2));
}
