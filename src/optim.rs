//! Mask-aware SGD of PROTOCOL section 4: θ ← θ − η P(g̃), P(v) = m ⊙ v, with optional weight decay
//! and momentum, both masked. Frozen parameters are never read-modify-written, so they stay
//! bit-for-bit what they were.

use std::ops::Range;

/// SGD hyper-parameters (plain SGD by default: no momentum, no weight decay).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SgdConfig {
    /// η.
    pub lr: f32,
    /// μ: `v ← μ v + d`, `θ ← θ − η v` (off when 0).
    pub momentum: f32,
    /// λ_wd: `d = g̃ + λ_wd θ` (off when 0).
    pub weight_decay: f32,
}

impl SgdConfig {
    /// η finite and positive, μ in [0, 1), λ_wd finite and non-negative; the message names the
    /// field and its value.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(format!("lr must be a positive number, got {}", self.lr));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(format!("momentum must be in [0, 1), got {}", self.momentum));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(format!(
                "weight decay must be a number >= 0, got {}",
                self.weight_decay
            ));
        }
        Ok(())
    }
}

/// The optimiser: its config and the momentum buffer (allocated only when momentum is on).
pub struct Sgd {
    pub config: SgdConfig,
    velocity: Vec<f32>,
}

impl Sgd {
    pub fn new(config: SgdConfig, n_params: usize) -> Self {
        let velocity = if config.momentum != 0.0 {
            vec![0.0; n_params]
        } else {
            Vec::new()
        };
        Sgd { config, velocity }
    }

    /// One step on the trainable ranges only (the 1-entries of the mask m, given as ranges of the
    /// flat parameter buffer): for each i in them, `d = g̃_i + λ_wd θ_i`, then `θ_i ← θ_i − η d`
    /// (or with momentum `v_i ← μ v_i + d`, `θ_i ← θ_i − η v_i`).
    pub fn step(&mut self, theta: &mut [f32], grads: &[f32], trainable: &[Range<usize>]) {
        let SgdConfig {
            lr,
            momentum,
            weight_decay,
        } = self.config;
        for r in trainable {
            let (t, g) = (&mut theta[r.clone()], &grads[r.clone()]);
            if momentum == 0.0 {
                for (t, &g) in t.iter_mut().zip(g) {
                    let d = if weight_decay == 0.0 {
                        g
                    } else {
                        g + weight_decay * *t
                    };
                    *t -= lr * d;
                }
            } else {
                for ((t, &g), v) in t.iter_mut().zip(g).zip(&mut self.velocity[r.clone()]) {
                    let d = if weight_decay == 0.0 {
                        g
                    } else {
                        g + weight_decay * *t
                    };
                    *v = momentum * *v + d;
                    *t -= lr * *v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_step_is_the_formula_and_leaves_the_mask_zeros_alone() {
        // Values exact in binary: 1 − 0.5·0.25 = 0.875, −2 − 0.5·(−1) = −1.5.
        let mut theta = vec![1.0, f32::NAN, -2.0, 3.0];
        let grads = [0.25, 7.0, -1.0, 9.0];
        let mut sgd = Sgd::new(
            SgdConfig {
                lr: 0.5,
                momentum: 0.0,
                weight_decay: 0.0,
            },
            4,
        );
        sgd.step(&mut theta, &grads, &[0..1, 2..3]);
        assert_eq!(theta[0], 0.875);
        assert!(
            theta[1].is_nan(),
            "a frozen entry is not even read-modify-written"
        );
        assert_eq!((theta[2], theta[3]), (-1.5, 3.0));
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // one trainable range: the whole buffer
    fn momentum_and_weight_decay_follow_the_formula() {
        let cfg = SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 0.01,
        };
        let mut sgd = Sgd::new(cfg, 2);
        let mut theta = vec![1.0f32, 2.0];
        let (mut t64, mut v64) = (1.0f64, 0.0f64);
        for g in [0.5f32, -0.25, 0.125] {
            sgd.step(&mut theta, &[g, 4.0], &[0..1]);
            let d = g as f64 + 0.01 * t64;
            v64 = 0.9 * v64 + d;
            t64 -= 0.1 * v64;
            assert!(
                (theta[0] as f64 - t64).abs() < 1e-6,
                "{} vs {t64}",
                theta[0]
            );
        }
        assert_eq!(theta[1], 2.0);
    }
}
