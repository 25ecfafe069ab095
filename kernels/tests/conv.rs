//! The public convolution kernels against `reference` (f64) on awkward shapes, exactly on
//! small-integer inputs, bit-identically across rayon thread counts, and on the protocol's layers.
//! (Each GEMM path is exercised by the unit test in src/conv/tests.rs.)

mod common;
use regimebench_kernels::{conv2d_bwd_input, conv2d_bwd_weight, conv2d_fwd, reference, ConvGeom};

/// Allowed error per summed product of two values in [-1, 1]: a `k`-term f32 dot product is off by
/// at most about `k · ε/2` of the sum of magnitudes, and FMA or a different order only shrink it.
const TOL_PER_TERM: f64 = f32::EPSILON as f64;

/// Deterministic values: uniform in [-1, 1), or integers in [-2, 2] when `ints`.
fn values(len: usize, seed: u64, ints: bool) -> Vec<f32> {
    let mut rng = common::Lcg::new(seed);
    (0..len)
        .map(|_| {
            let u = rng.unit();
            if ints {
                (u * 5.0).floor() - 2.0
            } else {
                u * 2.0 - 1.0
            }
        })
        .collect()
}

/// All three ops' outputs: `(y, dx, dw, db)`, computed into NaN-filled buffers.
fn run(g: &ConvGeom, x: &[f32], w: &[f32], b: &[f32], dy: &[f32]) -> [Vec<f32>; 4] {
    let mut y = vec![f32::NAN; g.y_len()];
    conv2d_fwd(g, x, w, b, &mut y);
    let mut dx = vec![f32::NAN; g.x_len()];
    conv2d_bwd_input(g, dy, w, &mut dx);
    let (mut dw, mut db) = (vec![f32::NAN; g.w_len()], vec![f32::NAN; g.c_out]);
    conv2d_bwd_weight(g, x, dy, &mut dw, &mut db);
    [y, dx, dw, db]
}

/// Checks all three ops on `g` against the reference; exact when `ints`.
fn check(g: &ConvGeom, seed: u64, ints: bool) {
    let (x, w) = (
        values(g.x_len(), seed, ints),
        values(g.w_len(), seed + 1, ints),
    );
    let (b, dy) = (
        values(g.c_out, seed + 2, ints),
        values(g.y_len(), seed + 3, ints),
    );
    let got = run(g, &x, &w, &b, &dy);
    let (rw, rb) = reference::conv2d_bwd_weight(g, &x, &dy);
    let want = [
        reference::conv2d_fwd(g, &x, &w, &b),
        reference::conv2d_bwd_input(g, &dy, &w),
        rw,
        rb,
    ];
    let terms = [
        g.taps(),
        g.c_out * g.kh * g.kw,
        g.n * g.out_plane(),
        g.n * g.out_plane(),
    ];
    for (op, ((got, want), terms)) in ["fwd", "bwd_input", "dw", "db"]
        .iter()
        .zip(got.iter().zip(&want).zip(terms))
    {
        let tol = if ints {
            0.0
        } else {
            TOL_PER_TERM * (terms as f64 + 1.0)
        };
        assert_eq!(got.len(), want.len());
        for (i, (&a, &e)) in got.iter().zip(want).enumerate() {
            assert!(
                (f64::from(a) - e).abs() <= tol,
                "{op}[{i}] = {a}, reference {e} (tol {tol:e}) for {g:?}"
            );
        }
    }
}

/// A spread of awkward geometries: batch {1, 3}, channels {1, 3, 7, 17}, sides {1, 2, 3, 7, 8, 17}
/// (rectangular too), stride {1, 2}, padding {0, 1}, kernel {1, 3}; those with a kernel larger than
/// the padded input are skipped. A fixed pseudo-random subset keeps the f64 reference fast.
fn awkward_geoms() -> Vec<ConvGeom> {
    let (chans, sides) = ([1, 3, 7, 17], [1, 2, 3, 7, 8, 17]);
    let mut s = 12345u64;
    let mut pick = |len: usize| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as usize % len
    };
    let mut geoms = Vec::new();
    for kernel in [1, 3] {
        for stride in [1, 2] {
            for pad in [0, 1] {
                for _ in 0..12 {
                    let (n, c_in, c_out) = ([1, 3][pick(2)], chans[pick(4)], chans[pick(4)]);
                    let (h, w) = (sides[pick(6)], sides[pick(6)]);
                    let g = ConvGeom {
                        n,
                        c_in,
                        h,
                        w,
                        c_out,
                        kh: kernel,
                        kw: kernel,
                        stride,
                        pad,
                    };
                    if h + 2 * pad >= kernel && w + 2 * pad >= kernel {
                        geoms.push(g);
                    }
                }
            }
        }
    }
    geoms
}

#[test]
fn matches_reference_on_awkward_shapes() {
    let geoms = awkward_geoms();
    assert!(
        geoms.len() > 60,
        "too few geometries survived: {}",
        geoms.len()
    );
    for (i, g) in geoms.iter().enumerate() {
        check(g, i as u64 * 8, false);
    }
}

#[test]
fn exact_on_small_integers() {
    for (i, g) in awkward_geoms().iter().enumerate().step_by(3) {
        check(g, i as u64 * 8 + 1, true);
    }
    // A batch larger than one weight-gradient chunk: partials are added too.
    check(&ConvGeom::same3x3(19, 3, 5, 6, 4), 7, true);
}

#[test]
fn matches_reference_on_protocol_layers() {
    for (i, &(c_in, side, c_out)) in [
        (1, 28, 16),
        (16, 14, 32),
        (32, 7, 64),
        (3, 32, 32),
        (32, 16, 64),
        (64, 8, 128),
    ]
    .iter()
    .enumerate()
    {
        check(
            &ConvGeom::same3x3(2, c_in, side, side, c_out),
            100 + i as u64,
            false,
        );
    }
}

#[test]
fn bit_identical_for_one_and_two_threads() {
    let geoms = [
        ConvGeom::same3x3(19, 5, 9, 9, 6),
        ConvGeom {
            stride: 2,
            ..ConvGeom::same3x3(17, 4, 8, 7, 3)
        },
        ConvGeom {
            kh: 1,
            kw: 1,
            pad: 0,
            stride: 2,
            ..ConvGeom::same3x3(9, 8, 6, 6, 5)
        },
    ];
    for (i, g) in geoms.iter().enumerate() {
        let s = 200 + 8 * i as u64;
        let (x, w, b, dy) = (
            values(g.x_len(), s, false),
            values(g.w_len(), s + 1, false),
            values(g.c_out, s + 2, false),
            values(g.y_len(), s + 3, false),
        );
        let in_pool = |t: usize| common::in_threads(t, || run(g, &x, &w, &b, &dy));
        let (one, two) = (in_pool(1), in_pool(2));
        for (a, b) in one.iter().zip(&two) {
            let (a, b) = (common::bits(a), common::bits(b));
            assert_eq!(a, b, "thread count changed a result for {g:?}");
        }
    }
}

#[test]
fn empty_batch_gives_zero_gradients() {
    let g = ConvGeom::same3x3(0, 3, 4, 4, 2);
    let [y, dx, dw, db] = run(&g, &[], &values(g.w_len(), 1, false), &[0.5, 0.5], &[]);
    assert!(y.is_empty() && dx.is_empty());
    assert!(dw.iter().chain(&db).all(|&v| v == 0.0));
}

#[test]
#[should_panic(expected = "lengths")]
fn wrong_length_panics() {
    let g = ConvGeom::same3x3(1, 2, 3, 3, 2);
    let mut y = vec![0.0; g.y_len()];
    conv2d_fwd(&g, &[0.0; 5], &vec![0.0; g.w_len()], &[0.0; 2], &mut y);
}
