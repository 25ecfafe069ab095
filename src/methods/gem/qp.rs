//! GEM's dual QP (Lopez-Paz and Ranzato 2017), solved exactly in f64:
//!
//! ```text
//!     minimise_v  f(v) = 1/2 v^T Q v + c^T v   subject to  v_i >= lower  for every i,
//!     Q = G G^T + eps I  (eps = EPS = 1e-3),   c = G g,   lower = MARGIN = 0.5,
//! ```
//!
//! where the rows of G ((t-1) x P) are the past tasks' memory gradients and g the current one;
//! the projected gradient is g~ = G^T v* + g. `lower` is the original code's `memory_strength`.
//! KKT: v* is optimal iff there is mu with Q v* + c = mu, mu >= 0, v* >= lower, mu_i (v*_i - lower) = 0.
//! Hence G g~ = (Q - eps I) v* + c = mu - eps v*: each row's inner product with g~ is >= -eps v*_i
//! (exactly >= 0 when eps = 0).
//!
//! Algorithm: a primal active-set method for the bounds. The working set W holds the bounds fixed at
//! `lower`, F the free indices. Start at v = lower with W = everything (feasible). Each iteration
//! takes the minimiser of f on the face {v_W = lower}, `Q_FF t_F = -(c_F + Q_FW lower)` (Cholesky of
//! Q_FF), and steps from v towards t as far as feasibility allows: if a free v_i hits its bound first,
//! it joins W; if t itself is reached, the multipliers `mu_W = (Q v + c)_W` decide: all >= 0 means v
//! satisfies KKT and is the answer; otherwise the most negative bound leaves W.
//!
//! Termination: every iterate is feasible and f never increases (each step moves along a segment
//! towards the face's minimiser). Between two multiplier checks at most n + 1 iterations pass (each
//! adds a bound or reaches t). At a check v is the unique minimiser of f on its face (Q is SPD); when
//! bound j (mu_j < 0) leaves, the new face's minimiser has t_j - lower = -mu_j (Q_F'F'^{-1})_jj > 0,
//! and every other free v_i is strictly above its bound (free ones sitting on it are moved into W at
//! the check), so the next step is positive and f strictly decreases. So no working set recurs at a
//! check, there are finitely many (2^n), and the method stops at the exact KKT point (up to
//! rounding). In practice the checks number about the free variables of v*; the guard of `10 n + 50`
//! iterations turns anything else (cycling through rounding noise) into [`QpError::IterationLimit`].
//! A bound leaves W only if mu_j < -16 n eps_f64 (max|Q| max|v| + max|c|), the rounding level.

/// GEM's `eps` added to the diagonal of G G^T.
pub const EPS: f64 = 1e-3;
/// GEM's `memory_strength`: the lower bound of every dual variable.
pub const MARGIN: f64 = 0.5;

/// Why the QP could not be solved. Every bad input gives one of these, never a panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QpError {
    #[error("Q has {q_len} entries but c has length {n}: Q must be n x n, row-major")]
    DimensionMismatch { q_len: usize, n: usize },
    #[error("non-finite input: {what}[{index}] = {value}")]
    NonFinite {
        what: &'static str,
        index: usize,
        value: f64,
    },
    #[error("Q is not symmetric: Q[{i}][{j}] = {a} but Q[{j}][{i}] = {b}")]
    NotSymmetric { i: usize, j: usize, a: f64, b: f64 },
    #[error("Q is not (numerically) positive definite: Cholesky pivot {index} is {pivot:e}")]
    NotPositiveDefinite { index: usize, pivot: f64 },
    #[error("active-set method did not terminate within {limit} iterations")]
    IterationLimit { limit: usize },
}

/// The worst violation of each KKT condition (absolute, in the units of Q v and v).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Kkt {
    /// max |(Q v + c - mu)_i|.
    pub stationarity: f64,
    /// max (lower - v_i)^+.
    pub primal: f64,
    /// max (-mu_i)^+.
    pub dual: f64,
    /// max |mu_i (v_i - lower)|.
    pub complementarity: f64,
}

impl Kkt {
    /// The worst of the four residuals: the one number every GEM run records.
    pub fn worst(&self) -> f64 {
        self.stationarity
            .max(self.primal)
            .max(self.dual)
            .max(self.complementarity)
    }
}

/// The minimiser v*, its active set and multipliers.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    pub v: Vec<f64>,
    /// `active[i]`: v_i sits at the bound (i is in the final working set).
    pub active: Vec<bool>,
    /// mu_i = (Q v + c)_i on the active bounds (>= minus the rounding level), 0 on the free ones.
    pub mu: Vec<f64>,
    /// Iterations (subproblem solves) taken.
    pub iterations: usize,
    kkt: Kkt,
}

impl Solution {
    /// KKT residuals of v* against the (symmetrised) Q and c it was solved for.
    pub fn kkt(&self) -> Kkt {
        self.kkt
    }
    /// The worst absolute KKT residual.
    pub fn kkt_residual(&self) -> f64 {
        self.kkt.worst()
    }
    /// Indices of the bounds that are active.
    pub fn active_indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.active.len()).filter(|&i| self.active[i])
    }
}

/// Checks that Q is n x n (n = `c.len()`) and everything is finite.
fn check_input(q: &[f64], c: &[f64], lower: f64) -> Result<usize, QpError> {
    let n = c.len();
    if n.checked_mul(n) != Some(q.len()) {
        return Err(QpError::DimensionMismatch { q_len: q.len(), n });
    }
    let finite = |what, xs: &[f64]| match xs.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(QpError::NonFinite {
            what,
            index,
            value: xs[index],
        }),
        None => Ok(()),
    };
    finite("Q", q)?;
    finite("c", c)?;
    finite("lower", &[lower])?;
    Ok(n)
}

/// (Q v + c)_i, the gradient of f.
fn gradient(q: &[f64], c: &[f64], v: &[f64], i: usize) -> f64 {
    let n = c.len();
    c[i] + q[i * n..(i + 1) * n]
        .iter()
        .zip(v)
        .map(|(a, b)| a * b)
        .sum::<f64>()
}

/// f(v) = 1/2 v^T Q v + c^T v. Panics if the lengths disagree (for callers that checked them).
pub fn objective(q: &[f64], c: &[f64], v: &[f64]) -> f64 {
    (0..c.len())
        .map(|i| v[i] * (0.5 * (gradient(q, c, v, i) - c[i]) + c[i]))
        .sum()
}

/// The KKT residuals of a candidate (v, active set) with mu_i = (Q v + c)_i on the active set.
pub fn kkt_residuals(
    q: &[f64],
    c: &[f64],
    lower: f64,
    v: &[f64],
    active: &[bool],
) -> Result<Kkt, QpError> {
    let n = check_input(q, c, lower)?;
    if v.len() != n || active.len() != n {
        return Err(QpError::DimensionMismatch {
            q_len: q.len(),
            n: v.len().max(active.len()),
        });
    }
    let mut k = Kkt::default();
    for i in 0..n {
        let grad = gradient(q, c, v, i);
        let mu = if active[i] { grad } else { 0.0 };
        k.stationarity = k.stationarity.max((grad - mu).abs());
        k.primal = k.primal.max(lower - v[i]);
        k.dual = k.dual.max(-mu);
        k.complementarity = k.complementarity.max((mu * (v[i] - lower)).abs());
    }
    Ok(k)
}

/// In-place Cholesky A = L L^T of the m x m row-major `a` (lower triangle used, L left in it).
/// A pivot below `m * f64::EPSILON * max diag` counts as not positive definite.
fn cholesky(a: &mut [f64], m: usize, index_of: impl Fn(usize) -> usize) -> Result<(), QpError> {
    let max_diag = (0..m).map(|j| a[j * m + j].abs()).fold(0.0, f64::max);
    let floor = m as f64 * f64::EPSILON * max_diag;
    for j in 0..m {
        let pivot = a[j * m + j] - (0..j).map(|k| a[j * m + k] * a[j * m + k]).sum::<f64>();
        if pivot.is_nan() || pivot <= floor {
            return Err(QpError::NotPositiveDefinite {
                index: index_of(j),
                pivot,
            });
        }
        let d = pivot.sqrt();
        a[j * m + j] = d;
        for i in j + 1..m {
            let s = a[i * m + j] - (0..j).map(|k| a[i * m + k] * a[j * m + k]).sum::<f64>();
            a[i * m + j] = s / d;
        }
    }
    Ok(())
}

/// Solves L L^T x = b in place, L from [`cholesky`].
fn cholesky_solve(l: &[f64], m: usize, x: &mut [f64]) {
    for i in 0..m {
        x[i] = (x[i] - (0..i).map(|k| l[i * m + k] * x[k]).sum::<f64>()) / l[i * m + i];
    }
    for i in (0..m).rev() {
        x[i] = (x[i] - (i + 1..m).map(|k| l[k * m + i] * x[k]).sum::<f64>()) / l[i * m + i];
    }
}

/// The minimiser t_F of f on the face {v_W = lower}: Q_FF t_F = -(c_F + Q_FW lower).
fn face_minimiser(
    q: &[f64],
    c: &[f64],
    lower: f64,
    active: &[bool],
    free: &[usize],
) -> Result<Vec<f64>, QpError> {
    let (n, m) = (c.len(), free.len());
    let mut qff: Vec<f64> = free
        .iter()
        .flat_map(|&i| free.iter().map(move |&j| q[i * n + j]))
        .collect();
    let mut t: Vec<f64> = free
        .iter()
        .map(|&i| {
            let qfw_lower: f64 = (0..n)
                .filter(|&j| active[j])
                .map(|j| q[i * n + j] * lower)
                .sum();
            -(c[i] + qfw_lower)
        })
        .collect();
    cholesky(&mut qff, m, |k| free[k])?;
    cholesky_solve(&qff, m, &mut t);
    Ok(t)
}

/// Solves the QP of the module doc exactly: Q n x n row-major (n = `c.len()`), symmetric positive
/// definite; `lower` bounds every v_i (GEM: [`MARGIN`]). Q is symmetrised as (Q + Q^T)/2, like GEM's
/// code; an asymmetry above 1e-6 max|Q| is an error. n = 0 gives the empty solution.
pub fn solve(q: &[f64], c: &[f64], lower: f64) -> Result<Solution, QpError> {
    let n = check_input(q, c, lower)?;
    let scale_q = q.iter().fold(0.0, |m: f64, x| m.max(x.abs()));
    let mut qs = q.to_vec();
    for i in 0..n {
        for j in 0..i {
            let (a, b) = (q[i * n + j], q[j * n + i]);
            if (a - b).abs() > 1e-6 * scale_q {
                return Err(QpError::NotSymmetric { i, j, a, b });
            }
            qs[i * n + j] = 0.5 * (a + b);
            qs[j * n + i] = 0.5 * (a + b);
        }
    }
    let q = &qs[..];
    // Every principal block of an SPD Q is SPD, so check Q once (the solution may never factor it).
    cholesky(&mut qs.clone(), n, |k| k)?;

    let mut v = vec![lower; n];
    let mut active = vec![true; n];
    let limit = 10 * n + 50;
    let mut iterations = 0;
    loop {
        iterations += 1;
        if iterations > limit {
            return Err(QpError::IterationLimit { limit });
        }
        let free: Vec<usize> = (0..n).filter(|&i| !active[i]).collect();
        let t = face_minimiser(q, c, lower, &active, &free)?;

        // Step v <- v + alpha (t - v), alpha = the largest in [0, 1] keeping v_F >= lower: the
        // ratio (v_i - lower) / (v_i - t_i) of each free v_i moving down; the smallest blocks.
        let ratio: Vec<f64> = free
            .iter()
            .zip(&t)
            .map(|(&i, &ti)| {
                if ti < v[i] {
                    (v[i] - lower) / (v[i] - ti)
                } else {
                    f64::INFINITY
                }
            })
            .collect();
        let alpha = ratio.iter().copied().fold(1.0, f64::min);
        for ((&i, &ti), &r) in free.iter().zip(&t).zip(&ratio) {
            v[i] = if alpha >= 1.0 {
                ti
            } else {
                v[i] + alpha * (ti - v[i])
            };
            if r <= alpha || v[i] <= lower {
                v[i] = lower;
                active[i] = true;
            }
        }
        if alpha < 1.0 {
            continue;
        }

        // v minimises f on its face: the multipliers mu_W = (Q v + c)_W decide.
        let mu: Vec<f64> = (0..n)
            .map(|i| {
                if active[i] {
                    gradient(q, c, &v, i)
                } else {
                    0.0
                }
            })
            .collect();
        let scale = scale_q * v.iter().fold(0.0, |m: f64, x| m.max(x.abs()))
            + c.iter().fold(0.0, |m: f64, x| m.max(x.abs()));
        let tol = 16.0 * n as f64 * f64::EPSILON * scale;
        let worst = (0..n)
            .filter(|&i| active[i])
            .min_by(|&a, &b| mu[a].total_cmp(&mu[b]));
        match worst {
            Some(j) if mu[j] < -tol => active[j] = false,
            _ => {
                let kkt = kkt_residuals(q, c, lower, &v, &active)?;
                return Ok(Solution {
                    v,
                    active,
                    mu,
                    iterations,
                    kkt,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
