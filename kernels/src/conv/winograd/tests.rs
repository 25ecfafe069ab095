//! F(2,3) by hand, and the Winograd convolution on every GEMM path against the f64 reference.

use super::input::split;
use super::transform::{At, Bt, Gt, Transform, A, G};
use super::*;
use crate::conv::tests::{assert_close, values};
use crate::test_common::{bits, in_threads};
use crate::{available_isas, reference};
use std::array::from_fn;

#[test]
fn f23_by_hand() {
    // y_i = Σ_u g_u d_{i+u}: d = (1, 2, 3, 4), g = (1, 10, 100) → (321, 432).
    let (d, w) = ([1.0f32, 2.0, 3.0, 4.0], [1.0f32, 10.0, 100.0]);
    let (gd, bd) = (G::apply(w), Bt::apply(d));
    assert_eq!(gd, [1.0, 55.5, 45.5, 100.0]);
    assert_eq!(bd, [-2.0, 5.0, 1.0, -2.0]);
    assert_eq!(At::apply(from_fn(|i| gd[i] * bd[i])), [321.0, 432.0]);
}

#[test]
fn f32_transposed_by_hand() {
    // dW_u = Σ_i e_i d_{i+u}: d = (1, 2, 3, 4), e = (1, 10) → (21, 32, 43).
    let (d, e) = ([1.0f32, 2.0, 3.0, 4.0], [1.0f32, 10.0]);
    let (ae, bd) = (A::apply(e), Bt::apply(d));
    assert_eq!(ae, [1.0, 11.0, -9.0, -10.0]);
    assert_eq!(Gt::apply(from_fn(|i| ae[i] * bd[i])), [21.0, 32.0, 43.0]);
}

/// Forward and backward-data tolerance, in the direct path's units (`TOL_PER_TERM` per summed
/// product of magnitude at most 1, see `assert_close`), for `k` summed channels. On data in
/// [−1, 1] an output is the sum over at most 9 points ξ (`Aᵀ ⊗ Aᵀ`, rows of `|Aᵀ|` summing to 3)
/// of a `k`-term dot product of `U` (`|U| ≤ ‖G‖∞² = 9/4`) and `V` (`|V| ≤ ‖Bᵀ‖∞² = 4`): 81 units
/// per channel. The transforms' own roundings (two levels of sums on each side, of values within
/// those bounds) are counted as two more channels.
fn conv_terms(k: usize) -> usize {
    81 * (k + 2)
}

/// Backward-weight tolerance in the same units for `t` summed tiles: `dW = Gᵀ S G` (rows of `|Gᵀ|`
/// summing to 2, so 4 per entry) of `S`, a `t`-term sum of products bounded by `‖A‖∞²·‖Bᵀ‖∞² =
/// 4·4`: 64 units per tile, plus two tiles' worth for the transforms.
fn weight_terms(t: usize) -> usize {
    64 * (t + 2)
}

/// Awkward shapes: every side of {1, 2, 3, 5, 7, 14, 17} as height and as width, every channel
/// count of {1, 3, 16, 33} in and out, every batch of {1, 9, 17} (9 and 17 span more than one
/// image group and weight-gradient chunk).
fn awkward() -> Vec<ConvGeom> {
    let (sides, chans, batches) = ([1, 2, 3, 5, 7, 14, 17], [1, 3, 16, 33], [1, 9, 17]);
    (0..21)
        .map(|i| {
            let (h, w) = (sides[i % 7], sides[(3 * i + 2) % 7]);
            let (c_in, c_out) = (chans[i % 4], chans[(3 * i / 2 + 1) % 4]);
            ConvGeom::same3x3(batches[i % 3], c_in, h, w, c_out)
        })
        .collect()
}

/// The three ops of the Winograd path on `isa`: `(y, dx, dw, db)`, into NaN-filled buffers.
fn run(isa: Isa, g: &ConvGeom, x: &[f32], w: &[f32], b: &[f32], dy: &[f32]) -> [Vec<f32>; 4] {
    let mut y = vec![f32::NAN; g.y_len()];
    fwd(isa, g, x, w, b, &mut y);
    let mut dx = vec![f32::NAN; g.x_len()];
    bwd_input(isa, g, dy, w, &mut dx);
    let (mut dw, mut db) = (vec![f32::NAN; g.w_len()], vec![f32::NAN; g.c_out]);
    crate::conv::weight_grad::bwd_weight_by(isa, g, x, dy, &mut dw, &mut db, chunk_grads);
    [y, dx, dw, db]
}

/// The inputs `(x, w, b, dy)` of `g` drawn from seed `s`.
fn inputs(g: &ConvGeom, s: u64) -> [Vec<f32>; 4] {
    [
        values(g.x_len(), s),
        values(g.w_len(), s + 1),
        values(g.c_out, s + 2),
        values(g.y_len(), s + 3),
    ]
}

#[test]
fn every_isa_matches_reference() {
    let geoms = awkward();
    for isa in available_isas() {
        for (s, g) in geoms.iter().enumerate() {
            let [x, w, b, dy] = inputs(g, 10 * s as u64);
            let [y, dx, dw, db] = run(isa, g, &x, &w, &b, &dy);
            let what = |op: &str| format!("{isa} winograd {op} {g:?}");
            let fwd = reference::conv2d_fwd(g, &x, &w, &b);
            assert_close(&what("fwd"), &y, &fwd, conv_terms(g.c_in));
            let dx_ref = reference::conv2d_bwd_input(g, &dy, &w);
            assert_close(&what("bwd_input"), &dx, &dx_ref, conv_terms(g.c_out));
            let (rw, rb) = reference::conv2d_bwd_weight(g, &x, &dy);
            let tiles = g.n * g.h.div_ceil(2) * g.w.div_ceil(2);
            assert_close(&what("dw"), &dw, &rw, weight_terms(tiles));
            assert_close(&what("db"), &db, &rb, g.n * g.out_plane());
        }
    }
}

/// A weight gradient whose chunk takes several passes, the last one shorter
/// ([`images_per_pass`](super::images_per_pass)): each pass's GEMMs add to the previous ones'.
#[test]
fn weight_gradient_in_several_passes_matches_reference() {
    let g = ConvGeom::same3x3(5, 16, 32, 32, 33);
    let pass = super::images_per_pass(&g);
    assert!(
        pass > 1 && pass < g.n && !g.n.is_multiple_of(pass),
        "{pass} images per pass"
    );
    let [x, _, _, dy] = inputs(&g, 77);
    let (rw, rb) = reference::conv2d_bwd_weight(&g, &x, &dy);
    let tiles = g.n * g.h.div_ceil(2) * g.w.div_ceil(2);
    for isa in available_isas() {
        let (mut dw, mut db) = (vec![f32::NAN; g.w_len()], vec![f32::NAN; g.c_out]);
        crate::conv::weight_grad::bwd_weight_by(isa, &g, &x, &dy, &mut dw, &mut db, chunk_grads);
        assert_close(&format!("{isa} dw"), &dw, &rw, weight_terms(tiles));
        assert_close(&format!("{isa} db"), &db, &rb, g.n * g.out_plane());
    }
}

#[test]
fn bit_identical_for_one_two_and_three_threads() {
    // 17 images: 2 groups of 7×7 images, 3 groups of 14×14, 3 weight-gradient chunks.
    for (i, side) in [7, 14, 5].into_iter().enumerate() {
        let g = ConvGeom::same3x3(17, 6, side, side, 10);
        let [x, w, b, dy] = inputs(&g, 300 + 4 * i as u64);
        for isa in available_isas() {
            let in_pool = |t: usize| in_threads(t, || run(isa, &g, &x, &w, &b, &dy));
            let bits = |r: [Vec<f32>; 4]| r.map(|v| bits(&v));
            let one = bits(in_pool(1));
            for t in [2, 3] {
                assert!(
                    one == bits(in_pool(t)),
                    "{t} threads changed a result: {isa} {g:?}"
                );
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn split_avx2_matches_portable_plane_after_plane() {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return;
    }
    // Three planes in a row, each split into its own zeroed `q` once, as `transform_planes`
    // does; the AVX2 path reads past rows into the later planes (NaN in the middle one, huge
    // values in the last), and must store exactly what the portable path stores.
    for w in 1..=17 {
        for h in 1..=9 {
            let grid = Grid::new(h, w);
            let plane = h * w;
            let x: Vec<f32> = (0..3 * plane)
                .map(|i| match i / plane {
                    0 => i as f32 + 1.0,
                    1 if i % 3 == 0 => f32::NAN,
                    1 => -(i as f32),
                    _ => 1e30,
                })
                .collect();
            for origin in [0, 1] {
                let mut q = [vec![0.0; 4 * grid.quarter()], vec![0.0; 4 * grid.quarter()]];
                for p in 0..3 {
                    let x = &x[p * plane..];
                    split::<true, false>(&grid, origin, x, &mut q[0]);
                    split::<false, false>(&grid, origin, x, &mut q[1]);
                    assert!(
                        bits(&q[0]) == bits(&q[1]),
                        "{h}×{w}, origin {origin}, plane {p}"
                    );
                }
            }
        }
    }
}
