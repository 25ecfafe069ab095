//! The fused convolution + max-pool against the unfused ops, bit for bit, on every path this CPU
//! has and on 1 and 3 threads.

use super::{bwd_weight_pooled_with, fwd_pooled_with, pooled_img};
use crate::conv::{bwd_weight_with, fwd_with};
use crate::test_common::{bits, in_threads, signed_values as values};
use crate::{available_isas, maxpool2_bwd, maxpool2_fwd, ConvGeom, Isa};

/// The unfused forward: the convolution of the whole batch, then the pool.
fn unfused_fwd(isa: Isa, g: &ConvGeom, x: &[f32], w: &[f32], b: &[f32]) -> (Vec<f32>, Vec<u8>) {
    let mut conv = vec![f32::NAN; g.y_len()];
    fwd_with(isa, g, x, w, b, &mut conv);
    let len = g.n * pooled_img(g);
    let (mut y, mut pos) = (vec![f32::NAN; len], vec![9; len]);
    maxpool2_fwd(g.n * g.c_out, g.out_h(), g.out_w(), &conv, &mut y, &mut pos);
    (y, pos)
}

/// The unfused weight gradient: the whole batch's gradient unpooled, then the convolution's.
fn unfused_bwd(isa: Isa, g: &ConvGeom, x: &[f32], dy: &[f32], pos: &[u8]) -> (Vec<f32>, Vec<f32>) {
    let mut dconv = vec![f32::NAN; g.y_len()];
    maxpool2_bwd(g.n * g.c_out, g.out_h(), g.out_w(), dy, pos, &mut dconv);
    let (mut dw, mut db) = (vec![f32::NAN; g.w_len()], vec![f32::NAN; g.c_out]);
    bwd_weight_with(isa, g, x, &dconv, &mut dw, &mut db);
    (dw, db)
}

#[test]
fn fused_gives_the_unfused_bits() {
    let geoms = [
        // The protocol's six layers (direct, im2col and Winograd paths) over one full chunk and
        // a partial one.
        ConvGeom::same3x3(11, 1, 28, 28, 16),
        ConvGeom::same3x3(11, 16, 14, 14, 32),
        ConvGeom::same3x3(11, 32, 7, 7, 64),
        ConvGeom::same3x3(9, 3, 32, 32, 32),
        ConvGeom::same3x3(9, 32, 16, 16, 64),
        ConvGeom::same3x3(9, 64, 8, 8, 128),
        // Odd sides (the pool drops the last row or column), one chunk, a pooled plane of one.
        ConvGeom::same3x3(3, 5, 9, 7, 6),
        ConvGeom::same3x3(17, 2, 3, 2, 3),
        ConvGeom {
            stride: 2,
            pad: 0,
            ..ConvGeom::same3x3(10, 4, 8, 9, 3)
        },
        // Nothing to pool: the gradient is zero.
        ConvGeom::same3x3(9, 2, 1, 5, 3),
    ];
    for isa in available_isas() {
        for (s, g) in geoms.iter().enumerate() {
            let seed = 10 * s as u64;
            let (x, w, b) = (
                values(g.x_len(), seed),
                values(g.w_len(), seed + 1),
                values(g.c_out, seed + 2),
            );
            let len = g.n * pooled_img(g);
            let dy = values(len, seed + 3);
            let what = format!("{isa} {g:?}");

            let (want_y, want_pos) = unfused_fwd(isa, g, &x, &w, &b);
            let (want_dw, want_db) = unfused_bwd(isa, g, &x, &dy, &want_pos);
            for threads in [1, 3] {
                let (y, pos, dw, db) = in_threads(threads, || {
                    let (mut y, mut pos) = (vec![f32::NAN; len], vec![9; len]);
                    fwd_pooled_with(isa, g, &x, &w, &b, &mut y, &mut pos);
                    let (mut dw, mut db) = (vec![f32::NAN; g.w_len()], vec![f32::NAN; g.c_out]);
                    bwd_weight_pooled_with(isa, g, &x, &dy, &pos, &mut dw, &mut db);
                    (y, pos, dw, db)
                });
                assert_eq!(bits(&y), bits(&want_y), "{what} y, {threads} threads");
                assert_eq!(pos, want_pos, "{what} pos, {threads} threads");
                assert_eq!(bits(&dw), bits(&want_dw), "{what} dw, {threads} threads");
                assert_eq!(bits(&db), bits(&want_db), "{what} db, {threads} threads");
            }
        }
    }
}

#[test]
#[should_panic(expected = "conv2d_maxpool2_bwd_weight: a window position is not in 0..4")]
fn a_bad_position_is_refused() {
    let g = ConvGeom::same3x3(1, 1, 4, 4, 1);
    let (x, dy) = (values(g.x_len(), 1), values(4, 2));
    let (mut dw, mut db) = (vec![0.0; g.w_len()], vec![0.0; 1]);
    bwd_weight_pooled_with(Isa::Portable, &g, &x, &dy, &[0, 1, 4, 2], &mut dw, &mut db);
}

#[test]
#[should_panic(expected = "conv2d_maxpool2: (pooled, positions) lengths")]
fn a_short_pooled_output_is_refused() {
    let g = ConvGeom::same3x3(2, 1, 4, 4, 1);
    let (x, w, b) = (values(g.x_len(), 1), values(9, 2), values(1, 3));
    let (mut y, mut pos) = (vec![0.0; 7], vec![0; 8]);
    fwd_pooled_with(Isa::Portable, &g, &x, &w, &b, &mut y, &mut pos);
}
