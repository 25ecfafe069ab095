//! Elementwise kernels: ReLU forward and backward, row bias and row sums, the residual add, softmax
//! cross-entropy.
//!
//! The loops are written so that they auto-vectorise for the build target. ReLU splits large
//! arrays over rayon (each element is independent, so any split gives the same bits); the others
//! act on a batch of fully connected rows, too small to pay for a task.

use rayon::prelude::*;

/// Elements per rayon task for the ReLU and add kernels (256 KiB of f32): smaller arrays run in one pass.
const RELU_CHUNK: usize = 1 << 16;

/// `x ← max(x, 0)` in place (the tape hands over a buffer it no longer needs). A NaN stays NaN,
/// so a diverging network is seen at the loss; −0 becomes +0.
pub fn relu_fwd(x: &mut [f32]) {
    let body = |x: &mut [f32]| {
        for v in x {
            // A select, not a branch: vectorises.
            *v = if *v > 0.0 || v.is_nan() { *v } else { 0.0 };
        }
    };
    if x.len() <= RELU_CHUNK {
        body(x);
    } else {
        x.par_chunks_mut(RELU_CHUNK).for_each(body);
    }
}

/// `d ← d · [y > 0]` in place: turns ∂L/∂y into ∂L/∂x, from the ReLU's output `y`.
///
/// # Panics
/// When the two lengths differ.
pub fn relu_bwd(y: &[f32], d: &mut [f32]) {
    assert_eq!(y.len(), d.len(), "relu_bwd: y and d lengths");
    let body = |(d, y): (&mut [f32], &[f32])| {
        for (d, &y) in d.iter_mut().zip(y) {
            // A select, not a conditional store: vectorises. A NaN `y` passes no gradient.
            *d = if y > 0.0 { *d } else { 0.0 };
        }
    };
    if y.len() <= RELU_CHUNK {
        body((d, y));
    } else {
        d.par_chunks_mut(RELU_CHUNK)
            .zip(y.par_chunks(RELU_CHUNK))
            .for_each(body);
    }
}

/// Adds `b` (length `cols`) to every row of the row-major `rows × cols` matrix `y`.
///
/// # Panics
/// When `y`'s length is not a multiple of `b`'s (an empty `b` needs an empty `y`).
pub fn add_bias_rows(y: &mut [f32], b: &[f32]) {
    if b.is_empty() {
        assert!(
            y.is_empty(),
            "add_bias_rows: empty bias for {} values",
            y.len()
        );
        return;
    }
    assert_eq!(
        y.len() % b.len(),
        0,
        "add_bias_rows: {} values in rows of {}",
        y.len(),
        b.len()
    );
    for row in y.chunks_exact_mut(b.len()) {
        for (y, &b) in row.iter_mut().zip(b) {
            *y += b;
        }
    }
}

/// `y ← y + a` elementwise (a residual connection), split over rayon like ReLU.
///
/// # Panics
/// When the two lengths differ.
pub fn add_assign(y: &mut [f32], a: &[f32]) {
    assert_eq!(y.len(), a.len(), "add_assign: y and a lengths");
    let body = |(y, a): (&mut [f32], &[f32])| y.iter_mut().zip(a).for_each(|(y, a)| *y += a);
    if y.len() <= RELU_CHUNK {
        body((y, a));
    } else {
        y.par_chunks_mut(RELU_CHUNK)
            .zip(a.par_chunks(RELU_CHUNK))
            .for_each(body);
    }
}

/// `s[j] = Σ_i x[i][j]` over the rows of the row-major matrix `x` (`cols = s.len()`), rows added
/// in order (so each sum is vectorised across `j` and has one fixed order). Overwrites `s`.
///
/// # Panics
/// When `x`'s length is not a multiple of `s`'s.
pub fn sum_rows(x: &[f32], s: &mut [f32]) {
    s.fill(0.0);
    if s.is_empty() {
        assert!(x.is_empty(), "sum_rows: no columns for {} values", x.len());
        return;
    }
    assert_eq!(
        x.len() % s.len(),
        0,
        "sum_rows: {} values in rows of {}",
        x.len(),
        s.len()
    );
    for row in x.chunks_exact(s.len()) {
        for (s, &x) in s.iter_mut().zip(row) {
            *s += x;
        }
    }
}

/// Mean softmax cross-entropy of `labels.len()` rows of `k` logits; writes
/// `dlogits = (softmax(z) − onehot(y)) / rows` and returns the loss.
///
/// Stable and accurate: each row is shifted by its maximum, and the exponentials, the row sums
/// and the loss are computed in f64; `dlogits` and the loss are rounded to f32 once at the end.
///
/// # Panics
/// When there are no rows, a length does not match `rows × k`, or a label is `>= k` (a caller bug:
/// the data's labels and the head's width disagree).
pub fn softmax_xent(logits: &[f32], labels: &[u32], k: usize, dlogits: &mut [f32]) -> f32 {
    let rows = labels.len();
    assert!(rows > 0 && k > 0, "softmax_xent: {rows} rows of {k} logits");
    assert_eq!(
        logits.len(),
        rows * k,
        "softmax_xent: logits length for {rows}×{k}"
    );
    assert_eq!(
        dlogits.len(),
        rows * k,
        "softmax_xent: dlogits length for {rows}×{k}"
    );
    if let Some((r, l)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= k) {
        panic!("softmax_xent: label {l} of row {r} out of range 0..{k}");
    }
    let scale = 1.0 / rows as f64;
    let mut loss = 0.0f64;
    let row_pairs = logits.chunks_exact(k).zip(dlogits.chunks_exact_mut(k));
    for ((z, d), &label) in row_pairs.zip(labels) {
        let max = f64::from(z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)));
        let sum: f64 = z.iter().map(|&v| (f64::from(v) - max).exp()).sum();
        loss += sum.ln() + max - f64::from(z[label as usize]);
        for (c, (d, &v)) in d.iter_mut().zip(z).enumerate() {
            let p = (f64::from(v) - max).exp() / sum;
            *d = ((p - f64::from(u8::from(c == label as usize))) * scale) as f32;
        }
    }
    (loss * scale) as f32
}
