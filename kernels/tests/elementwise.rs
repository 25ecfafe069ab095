//! ReLU, row bias, row sums and softmax cross-entropy: hand-derived cases, the f64 reference,
//! stability on extreme logits, the label contract, and bit-identity across thread counts.

mod common;
use regimebench_kernels::{add_bias_rows, reference, relu_bwd, relu_fwd, softmax_xent, sum_rows};

/// Softmax cross-entropy is computed in f64 and rounded once: its outputs are within one f32
/// rounding (relative) of the reference, plus a floor for values near zero.
const XENT_REL_TOL: f64 = f32::EPSILON as f64;
const XENT_ABS_TOL: f64 = 1e-12;

fn values(len: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut rng = common::Lcg::new(seed);
    (0..len).map(|_| (rng.unit() * 2.0 - 1.0) * scale).collect()
}

#[test]
fn relu_forward_and_backward() {
    for len in [0, 1, 7, 100, 200_003] {
        let x = values(len, len as u64, 1.0);
        let dy = values(len, 1, 1.0);
        let mut y = x.clone();
        relu_fwd(&mut y);
        assert!(y
            .iter()
            .zip(&x)
            .all(|(&y, &x)| y == if x > 0.0 { x } else { 0.0 }));
        let mut dx = dy.clone();
        relu_bwd(&y, &mut dx);
        assert!(dx
            .iter()
            .zip(&dy)
            .zip(&y)
            .all(|((&dx, &dy), &y)| dx == if y > 0.0 { dy } else { 0.0 }));
    }
    let mut y = [-0.0, f32::NAN, 2.0, -1.0];
    relu_fwd(&mut y);
    assert_eq!(
        y.map(f32::to_bits),
        [0.0, f32::NAN, 2.0, 0.0].map(f32::to_bits)
    );
    let mut d = [1.0; 4];
    relu_bwd(&y, &mut d);
    assert_eq!(d, [0.0, 0.0, 1.0, 0.0], "no gradient through 0 or NaN");
}

#[test]
fn relu_bit_identical_for_one_and_two_threads() {
    let x = values(300_001, 5, 1.0);
    let run = |t: usize| {
        common::in_threads(t, || {
            let (mut y, mut dx) = (x.clone(), x.clone());
            relu_fwd(&mut y);
            relu_bwd(&y, &mut dx);
            (y, dx)
        })
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn bias_and_row_sums_on_small_integers() {
    // y = [[1, 2, 3], [4, 5, 6]] + [10, 20, 30];  column sums of y = [25, 47, 69].
    let mut y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    add_bias_rows(&mut y, &[10.0, 20.0, 30.0]);
    assert_eq!(y, [11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
    let mut s = [f32::NAN; 3];
    sum_rows(&y, &mut s);
    assert_eq!(s, [25.0, 47.0, 69.0]);
}

#[test]
fn row_sums_add_rows_in_order() {
    let (rows, cols) = (64, 37);
    let x = values(rows * cols, 11, 1.0);
    let mut s = vec![0.0; cols];
    sum_rows(&x, &mut s);
    for (j, &s) in s.iter().enumerate() {
        let want = (0..rows).fold(0.0f32, |acc, i| acc + x[i * cols + j]);
        assert_eq!(s.to_bits(), want.to_bits(), "column {j}");
    }
}

fn assert_xent_close(logits: &[f32], labels: &[u32], k: usize) {
    let mut d = vec![f32::NAN; logits.len()];
    let loss = softmax_xent(logits, labels, k, &mut d);
    let (rloss, rd) = reference::softmax_xent(logits, labels, k);
    let close = |got: f32, want: f64| {
        (f64::from(got) - want).abs() <= XENT_REL_TOL * want.abs() + XENT_ABS_TOL
    };
    assert!(close(loss, rloss), "loss {loss} vs {rloss}");
    for (i, (&g, &w)) in d.iter().zip(&rd).enumerate() {
        assert!(close(g, w), "dlogits[{i}] {g} vs {w}");
    }
}

#[test]
fn softmax_xent_matches_reference() {
    for (rows, k, scale) in [
        (1, 1, 1.0),
        (3, 2, 5.0),
        (64, 10, 3.0),
        (64, 100, 20.0),
        (7, 17, 80.0),
    ] {
        let logits = values(rows * k, (rows * k) as u64, scale);
        let labels: Vec<u32> = (0..rows as u32).map(|r| (r * 7) % k as u32).collect();
        assert_xent_close(&logits, &labels, k);
    }
}

#[test]
fn softmax_xent_hand_derived() {
    // Equal logits over k = 4: loss = ln 4, dlogits = (1/4 − onehot) / rows.
    let mut d = [0.0; 8];
    let loss = softmax_xent(&[0.0; 8], &[1, 3], 4, &mut d);
    assert_eq!(loss, 4f32.ln());
    assert_eq!(
        d,
        [0.125, -0.375, 0.125, 0.125, 0.125, 0.125, 0.125, -0.375]
    );
}

#[test]
fn softmax_xent_is_stable_on_extreme_logits() {
    let logits = [1e30, 0.0, -1e30, 88.0, 89.0, -200.0];
    let mut d = [0.0; 6];
    let loss = softmax_xent(&logits, &[1, 2], 3, &mut d);
    assert!(
        loss.is_finite() && d.iter().all(|v| v.is_finite()),
        "loss {loss}, d {d:?}"
    );
    assert_xent_close(&logits, &[0, 1], 3);
}

#[test]
#[should_panic(expected = "label 3 of row 1 out of range 0..3")]
fn softmax_xent_rejects_label_out_of_range() {
    softmax_xent(&[0.0; 6], &[0, 3], 3, &mut [0.0; 6]);
}
