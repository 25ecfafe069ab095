//! Elementwise kernels: ReLU, bias, row sums, softmax cross-entropy.

use crate::reference;

/// `y = max(x, 0)`.
pub fn relu_fwd(x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = x.max(0.0);
    }
}

/// `dx = dy · [y > 0]`, from the ReLU's output `y`. Overwrites `dx`.
pub fn relu_bwd(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    for ((dx, &dy), &y) in dx.iter_mut().zip(dy).zip(y) {
        *dx = if y > 0.0 { dy } else { 0.0 };
    }
}

/// Adds `b` (length `cols`) to every row of the row-major `rows × cols` matrix `y`.
pub fn add_bias_rows(y: &mut [f32], b: &[f32]) {
    for row in y.chunks_exact_mut(b.len()) {
        for (y, &b) in row.iter_mut().zip(b) {
            *y += b;
        }
    }
}

/// `s[j] = Σ_i x[i][j]` over the rows of the row-major matrix `x` (`cols = s.len()`), rows in order.
pub fn sum_rows(x: &[f32], s: &mut [f32]) {
    s.fill(0.0);
    for row in x.chunks_exact(s.len()) {
        for (s, &x) in s.iter_mut().zip(row) {
            *s += x;
        }
    }
}

/// Mean softmax cross-entropy of `labels.len()` rows of `k` logits; writes
/// `dlogits = (softmax(z) − onehot(y)) / rows` and returns the loss.
///
/// # Panics
/// When a label is `>= k`.
pub fn softmax_xent(logits: &[f32], labels: &[u32], k: usize, dlogits: &mut [f32]) -> f32 {
    assert!(
        labels.iter().all(|&l| (l as usize) < k),
        "label out of range 0..{k}"
    );
    let (loss, d) = reference::softmax_xent(logits, labels, k);
    for (o, v) in dlogits.iter_mut().zip(d) {
        *o = v as f32;
    }
    loss as f32
}
