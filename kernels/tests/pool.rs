//! Max-pooling against `reference::maxpool2_fwd` (exact: both pick the first maximum), its
//! backward against a one-pass scatter, on odd and tiny planes, ties, and both thread counts.

mod common;
use regimebench_kernels::{maxpool2_bwd, maxpool2_fwd, reference};

/// Deterministic values: integers in `0..levels` (many ties when `levels` is small).
fn values(len: usize, seed: u64, levels: u64) -> Vec<f32> {
    let mut rng = common::Lcg::new(seed);
    (0..len)
        .map(|_| ((rng.next_u64() >> 33) % levels) as f32 - (levels / 2) as f32)
        .collect()
}

fn pool(planes: usize, h: usize, w: usize, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let len = planes * (h / 2) * (w / 2);
    let (mut y, mut arg) = (vec![f32::NAN; len], vec![u32::MAX; len]);
    maxpool2_fwd(planes, h, w, x, &mut y, &mut arg);
    (y, arg)
}

/// `dx[argmax[i]] += dy[i]` in one pass: what the backward must equal bit for bit.
fn scatter(dy: &[f32], arg: &[u32], len: usize) -> Vec<f32> {
    let mut dx = vec![0.0; len];
    for (&d, &i) in dy.iter().zip(arg) {
        dx[i as usize] += d;
    }
    dx
}

fn unpool(dy: &[f32], arg: &[u32], len: usize) -> Vec<f32> {
    let mut dx = vec![f32::NAN; len];
    maxpool2_bwd(dy, arg, &mut dx);
    dx
}

#[test]
fn forward_matches_reference_with_ties_and_floor() {
    let sides = [1, 2, 3, 7, 8, 17];
    for (planes, levels) in [(1, 3), (3, 2), (7, 1000)] {
        for h in sides {
            for w in sides {
                let x = values(planes * h * w, (h * 31 + w) as u64, levels);
                let (y, arg) = pool(planes, h, w, &x);
                let (ry, rarg) = reference::maxpool2_fwd(planes, h, w, &x);
                assert_eq!((y, arg), (ry, rarg), "{planes}×{h}×{w}, {levels} levels");
            }
        }
    }
}

#[test]
fn first_maximum_wins() {
    let x = [5.0, 5.0, 5.0, 5.0, 1.0, 2.0, 2.0, 2.0];
    let (y, arg) = pool(2, 2, 2, &x);
    assert_eq!((y, arg), (vec![5.0, 2.0], vec![0, 5]));
}

#[test]
fn backward_routes_to_argmax() {
    for (planes, h, w) in [
        (1, 2, 2),
        (3, 7, 7),
        (5, 17, 8),
        (300, 16, 16),
        (64 * 32, 7, 7),
    ] {
        let x = values(planes * h * w, planes as u64, 7);
        let (_, arg) = pool(planes, h, w, &x);
        let dy = values(arg.len(), 9, 1000);
        assert_eq!(
            unpool(&dy, &arg, x.len()),
            scatter(&dy, &arg, x.len()),
            "{planes}×{h}×{w}"
        );
    }
}

#[test]
fn backward_accepts_any_argmax() {
    // Not from the forward: indices out of order and repeated, across many chunks.
    let n = 70_000;
    let arg: Vec<u32> = (0..n as u32).map(|i| (i * 7919) % 5000).collect();
    let dy = values(n, 3, 1000);
    assert_eq!(unpool(&dy, &arg, 5000), scatter(&dy, &arg, 5000));
}

#[test]
#[should_panic]
fn backward_index_out_of_range_panics() {
    let arg: Vec<u32> = (0..40_000).collect();
    unpool(&vec![1.0; arg.len()], &arg, 39_999);
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
        let pool_t = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .expect("pool");
        pool_t.install(|| {
            let (y, arg) = pool(planes, h, w, &x);
            let dx = unpool(&dy, &arg, x.len());
            (
                y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                arg,
                dx.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            )
        })
    };
    assert_eq!(run(1), run(2));
}
