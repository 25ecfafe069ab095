//! The convolution on every GEMM path this CPU has, against the f64 reference (the public entry
//! points, on the active path only, are tested in tests/conv.rs).

use super::{bwd_input_with, bwd_weight_with, fwd_with};
use crate::{available_isas, reference, ConvGeom};

/// Per summed product of two values in [-1, 1]: the worst-case f32 rounding of a dot product of
/// `k` terms is about `k · ε/2`, plus the final rounding to f32; FMA or not only shrinks it.
const TOL_PER_TERM: f64 = f32::EPSILON as f64;

pub(super) use crate::test_common::signed_values as values;

/// Asserts `|got − want| ≤ TOL_PER_TERM · (terms + 1)` element by element.
pub(super) fn assert_close(what: &str, got: &[f32], want: &[f64], terms: usize) {
    let tol = TOL_PER_TERM * (terms as f64 + 1.0);
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= tol,
            "{what}[{i}]: {g} vs {w} (tol {tol:e})"
        );
    }
}

#[test]
fn every_isa_matches_reference() {
    let geoms = [
        ConvGeom::same3x3(3, 5, 9, 7, 6),
        ConvGeom {
            stride: 2,
            pad: 0,
            ..ConvGeom::same3x3(2, 4, 8, 9, 3)
        },
        ConvGeom {
            kh: 1,
            kw: 1,
            pad: 0,
            ..ConvGeom::same3x3(2, 7, 5, 5, 4)
        },
        ConvGeom::same3x3(17, 3, 4, 4, 5),
        // The direct kernels' layers (c_in ≤ 4, rows ≥ 8): one and two column blocks, a moved-back
        // and a masked last block, channel blocks of 4 and the rest, more than one gradient chunk.
        ConvGeom::same3x3(3, 1, 9, 8, 5),
        ConvGeom::same3x3(9, 2, 3, 28, 7),
        ConvGeom::same3x3(2, 3, 5, 17, 6),
        ConvGeom::same3x3(1, 4, 1, 33, 4),
        ConvGeom::same3x3(2, 1, 2, 12, 3),
        ConvGeom {
            kh: 5,
            kw: 5,
            pad: 2,
            ..ConvGeom::same3x3(2, 3, 1, 4, 2)
        },
        ConvGeom {
            kh: 5,
            kw: 3,
            pad: 2,
            ..ConvGeom::same3x3(3, 2, 6, 5, 3)
        },
    ];
    for isa in available_isas() {
        for (s, g) in geoms.iter().enumerate() {
            let seed = s as u64 * 4;
            let (x, w, b) = (
                values(g.x_len(), seed),
                values(g.w_len(), seed + 1),
                values(g.c_out, seed + 2),
            );
            let dy = values(g.y_len(), seed + 3);
            let what = |op: &str| format!("{isa} {op} {g:?}");

            let mut y = vec![f32::NAN; g.y_len()];
            fwd_with(isa, g, &x, &w, &b, &mut y);
            assert_close(
                &what("fwd"),
                &y,
                &reference::conv2d_fwd(g, &x, &w, &b),
                g.taps(),
            );

            let mut dx = vec![f32::NAN; g.x_len()];
            bwd_input_with(isa, g, &dy, &w, &mut dx);
            let terms = g.c_out * g.kh * g.kw;
            assert_close(
                &what("bwd_input"),
                &dx,
                &reference::conv2d_bwd_input(g, &dy, &w),
                terms,
            );

            let (mut dw, mut db) = (vec![f32::NAN; g.w_len()], vec![f32::NAN; g.c_out]);
            bwd_weight_with(isa, g, &x, &dy, &mut dw, &mut db);
            let (rw, rb) = reference::conv2d_bwd_weight(g, &x, &dy);
            let terms = g.n * g.out_plane();
            assert_close(&what("bwd_weight dw"), &dw, &rw, terms);
            assert_close(&what("bwd_weight db"), &db, &rb, terms);
        }
    }
}
