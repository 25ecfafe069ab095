//! Naive loops in f64: the oracle for tests, fuzz targets and benches. Never deleted, never fast.
//!
//! Every function takes the same f32 inputs and layout as its fast counterpart and returns the
//! exact-as-f64-allows result, so a test can bound the fast path's error by a named tolerance.

use crate::{ConvGeom, Trans};

/// `op(A) op(B)` in f64, row-major, `op(A)` m×k, `op(B)` k×n; see [`crate::sgemm`] for the layout.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    ta: Trans,
    tb: Trans,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
) -> Vec<f64> {
    let at = |i: usize, p: usize| match ta {
        Trans::N => a[i * lda + p],
        Trans::T => a[p * lda + i],
    } as f64;
    let bt = |p: usize, j: usize| match tb {
        Trans::N => b[p * ldb + j],
        Trans::T => b[j * ldb + p],
    } as f64;
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| at(i, p) * bt(p, j)).sum();
        }
    }
    c
}

/// Convolution forward, NCHW: `y[n][o][i][j] = b[o] + Σ_{c,u,v} w[o][c][u][v] x[n][c][i·s+u−p][j·s+v−p]`.
pub fn conv2d_fwd(g: &ConvGeom, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f64> {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut y = vec![0.0; g.y_len()];
    for n in 0..g.n {
        for o in 0..g.c_out {
            for i in 0..oh {
                for j in 0..ow {
                    let mut s = b[o] as f64;
                    for c in 0..g.c_in {
                        for u in 0..g.kh {
                            for v in 0..g.kw {
                                if let Some(xi) = g.input_index(n, c, i, j, u, v) {
                                    s += w[((o * g.c_in + c) * g.kh + u) * g.kw + v] as f64
                                        * x[xi] as f64;
                                }
                            }
                        }
                    }
                    y[((n * g.c_out + o) * oh + i) * ow + j] = s;
                }
            }
        }
    }
    y
}

/// Gradient of the convolution with respect to its input: the transpose of [`conv2d_fwd`]'s map.
pub fn conv2d_bwd_input(g: &ConvGeom, dy: &[f32], w: &[f32]) -> Vec<f64> {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut dx = vec![0.0; g.x_len()];
    for n in 0..g.n {
        for o in 0..g.c_out {
            for i in 0..oh {
                for j in 0..ow {
                    let d = dy[((n * g.c_out + o) * oh + i) * ow + j] as f64;
                    for c in 0..g.c_in {
                        for u in 0..g.kh {
                            for v in 0..g.kw {
                                if let Some(xi) = g.input_index(n, c, i, j, u, v) {
                                    dx[xi] +=
                                        w[((o * g.c_in + c) * g.kh + u) * g.kw + v] as f64 * d;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    dx
}

/// Gradients of the convolution with respect to its weights and bias: `(dw, db)`.
pub fn conv2d_bwd_weight(g: &ConvGeom, x: &[f32], dy: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut dw = vec![0.0; g.w_len()];
    let mut db = vec![0.0; g.c_out];
    for n in 0..g.n {
        for o in 0..g.c_out {
            for i in 0..oh {
                for j in 0..ow {
                    let d = dy[((n * g.c_out + o) * oh + i) * ow + j] as f64;
                    db[o] += d;
                    for c in 0..g.c_in {
                        for u in 0..g.kh {
                            for v in 0..g.kw {
                                if let Some(xi) = g.input_index(n, c, i, j, u, v) {
                                    dw[((o * g.c_in + c) * g.kh + u) * g.kw + v] +=
                                        x[xi] as f64 * d;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    (dw, db)
}

/// Max-pool 2×2, stride 2, floor: returns the pooled values and, for each, the position in its
/// window (0..4, row-major) of the first maximum in row-major order.
pub fn maxpool2_fwd(planes: usize, h: usize, w: usize, x: &[f32]) -> (Vec<f32>, Vec<u8>) {
    let (oh, ow) = (h / 2, w / 2);
    let mut y = Vec::with_capacity(planes * oh * ow);
    let mut pos = Vec::with_capacity(planes * oh * ow);
    for p in 0..planes {
        for i in 0..oh {
            for j in 0..ow {
                let at = |q: u8| {
                    x[p * h * w + (2 * i + usize::from(q / 2)) * w + 2 * j + usize::from(q % 2)]
                };
                let best = (1..4).fold(0, |best, q| if at(q) > at(best) { q } else { best });
                y.push(at(best));
                pos.push(best);
            }
        }
    }
    (y, pos)
}

/// Mean softmax cross-entropy over `rows` rows of `k` logits, and its gradient with respect to the
/// logits: `(loss, dlogits)`, `dlogits = (softmax(z) − onehot(y)) / rows`.
pub fn softmax_xent(logits: &[f32], labels: &[u32], k: usize) -> (f64, Vec<f64>) {
    let rows = labels.len();
    let mut loss = 0.0;
    let mut d = vec![0.0; rows * k];
    for r in 0..rows {
        let z = &logits[r * k..(r + 1) * k];
        let mx = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        let se: f64 = z.iter().map(|&v| (v as f64 - mx).exp()).sum();
        loss += se.ln() + mx - z[labels[r] as usize] as f64;
        for c in 0..k {
            d[r * k + c] =
                ((z[c] as f64 - mx).exp() / se - f64::from(c == labels[r] as usize)) / rows as f64;
        }
    }
    (loss / rows as f64, d)
}

/// Batch norm in training mode over NCHW (`c` channels of `hw` pixels): `(y, mean, biased var)`.
pub fn batch_norm_train_fwd(
    c: usize,
    hw: usize,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = x.len() / (c * hw);
    let m = (n * hw) as f64;
    let idx = |i: usize, ch: usize, p: usize| (i * c + ch) * hw + p;
    let mut mean = vec![0.0; c];
    let mut var = vec![0.0; c];
    let mut y = vec![0.0; x.len()];
    for ch in 0..c {
        let all = || (0..n).flat_map(move |i| (0..hw).map(move |p| idx(i, ch, p)));
        mean[ch] = all().map(|j| x[j] as f64).sum::<f64>() / m;
        var[ch] = all().map(|j| (x[j] as f64 - mean[ch]).powi(2)).sum::<f64>() / m;
        for j in all() {
            let xhat = (x[j] as f64 - mean[ch]) / (var[ch] + eps).sqrt();
            y[j] = gamma[ch] as f64 * xhat + beta[ch] as f64;
        }
    }
    (y, mean, var)
}

/// The backward of [`batch_norm_train_fwd`] by the chain rule through μ and σ² (the textbook
/// derivation: ∂L/∂x̂, then ∂L/∂σ², ∂L/∂μ, then ∂L/∂x): `(dx, dgamma, dbeta)`.
pub fn batch_norm_train_bwd(
    c: usize,
    hw: usize,
    x: &[f32],
    dy: &[f32],
    gamma: &[f32],
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = x.len() / (c * hw);
    let m = (n * hw) as f64;
    let idx = |i: usize, ch: usize, p: usize| (i * c + ch) * hw + p;
    let (mut dx, mut dg, mut db) = (vec![0.0; x.len()], vec![0.0; c], vec![0.0; c]);
    for ch in 0..c {
        let all = || (0..n).flat_map(move |i| (0..hw).map(move |p| idx(i, ch, p)));
        let mu = all().map(|j| x[j] as f64).sum::<f64>() / m;
        let var = all().map(|j| (x[j] as f64 - mu).powi(2)).sum::<f64>() / m;
        let sd = (var + eps).sqrt();
        let g = gamma[ch] as f64;
        let dxhat = |j: usize| dy[j] as f64 * g;
        let dvar: f64 = all()
            .map(|j| dxhat(j) * (x[j] as f64 - mu) * -0.5 * sd.powi(-3))
            .sum();
        let dmu: f64 = all().map(|j| -dxhat(j) / sd).sum::<f64>()
            + dvar * all().map(|j| -2.0 * (x[j] as f64 - mu)).sum::<f64>() / m;
        for j in all() {
            dx[j] = dxhat(j) / sd + dvar * 2.0 * (x[j] as f64 - mu) / m + dmu / m;
            dg[ch] += dy[j] as f64 * (x[j] as f64 - mu) / sd;
            db[ch] += dy[j] as f64;
        }
    }
    (dx, dg, db)
}
