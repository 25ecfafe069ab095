//! The quadratic penalty of online EWC and SI and its two steps, PROTOCOL section 4:
//!
//! ```text
//!     R(θ) = Σ_i (w_i / 2) (θ_i − θ*_i)²,   w_i = strength · importance_i,
//!     EWC: strength = λ,  importance = F~   (R = (λ/2) Σ F~ (θ − θ*)²)
//!     SI:  strength = 2c, importance = Ω    (R = c Σ Ω (θ − θ*)², whose gradient is 2c Ω (θ − θ*))
//!
//!     explicit: g~_i = g_i + w_i (θ_i − θ*_i), then the SGD step θ ← θ − η g~
//!     proximal (default): the SGD step θ_sgd = θ − η g, then θ_i ← (θ_sgd_i + s_i θ*_i) / (1 + s_i),
//!                         s_i = η w_i
//! ```
//!
//! The proximal step is the exact minimiser of the loss linearised at θ plus the penalty, with the
//! SGD step's proximity term:
//! `θ' = argmin_u  gᵀ(u − θ) + ‖u − θ‖² / (2η) + Σ_i (w_i/2)(u_i − θ*_i)²`. The objective is
//! separable; setting its derivative in u_i to zero gives `g_i + (u_i − θ_i)/η + w_i (u_i − θ*_i) = 0`,
//! so `u_i (1 + η w_i) = θ_i − η g_i + η w_i θ*_i`, i.e. `u_i = (θ_sgd_i + s_i θ*_i) / (1 + s_i)`.
//! On the penalty alone (g = 0) the deviation from θ* is multiplied by `1 − s_i` per explicit step
//! (divergent when s_i > 2) and by `1 / (1 + s_i)` per proximal step (contracting for every s_i > 0).
//! A negative weight (SI's Ω is not clamped) makes the model non-convex in that entry; for
//! −1 < s_i < 0 the formula is still its minimiser, for s_i ≤ −1 there is none and the formula
//! (its stationary point) is applied as written.
//!
//! Both steps read and write the trainable ranges (the mask m) only: a frozen entry of θ is never
//! written and a frozen gradient entry stays zero. With momentum or weight decay the explicit
//! penalty gradient goes through them like any other term of g~, while the proximal correction is
//! applied after whatever step the optimiser took (θ_sgd is then `θ − η v` or includes the decay):
//! it is the penalty's proximal step following the optimiser's step, exact only for plain SGD. `eta`
//! must be the optimiser's learning rate.

use crate::trace::{Trace, Value};
use std::ops::Range;

/// How the quadratic penalty is stepped (`--penalty-step`).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum PenaltyStep {
    /// θ_i ← (θ_sgd_i + s_i θ*_i) / (1 + s_i) after the SGD step: stable for any strength (default).
    #[default]
    Proximal,
    /// g~_i += w_i (θ_i − θ*_i) before the SGD step: the textbook step, divergent where η w_i > 2.
    Explicit,
}

impl PenaltyStep {
    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            PenaltyStep::Proximal => "proximal",
            PenaltyStep::Explicit => "explicit",
        }
    }
}

impl std::fmt::Display for PenaltyStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `R(θ) = Σ_i (w_i/2)(θ_i − θ*_i)²` with `w_i = strength · importance_i`, stepped by `step` with
/// the SGD learning rate `eta`. The importance (F~ or Ω) and the anchor θ* stay with the method
/// and are passed to each call, laid out like the flat parameter buffer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuadraticPenalty {
    pub step: PenaltyStep,
    /// η, the optimiser's learning rate (s_i = η w_i).
    pub eta: f32,
    /// The factor from importance to w: λ for EWC, 2c for SI.
    pub strength: f32,
}

impl QuadraticPenalty {
    pub fn new(step: PenaltyStep, eta: f32, strength: f32) -> Self {
        QuadraticPenalty {
            step,
            eta,
            strength,
        }
    }

    /// `R(θ) = Σ_i (w_i/2)(θ_i − θ*_i)²` over the trainable ranges, summed in f64 (a frozen entry
    /// has not moved from its anchor, so it adds nothing).
    pub fn value(
        &self,
        theta: &[f32],
        importance: &[f32],
        anchor: &[f32],
        trainable: &[Range<usize>],
    ) -> f64 {
        let mut sum = 0.0f64;
        for r in trainable {
            for ((&t, &imp), &a) in theta[r.clone()]
                .iter()
                .zip(&importance[r.clone()])
                .zip(&anchor[r.clone()])
            {
                let d = f64::from(t) - f64::from(a);
                sum += 0.5 * f64::from(self.strength) * f64::from(imp) * d * d;
            }
        }
        sum
    }

    /// Explicit step: `g_i += w_i (θ_i − θ*_i)` on the trainable ranges. Proximal: nothing.
    pub fn adjust_grads(
        &self,
        theta: &[f32],
        importance: &[f32],
        anchor: &[f32],
        grads: &mut [f32],
        trainable: &[Range<usize>],
    ) {
        if self.step == PenaltyStep::Explicit {
            self.add_gradient(theta, importance, anchor, grads, trainable);
        }
    }

    /// `g_i += ∂R/∂θ_i = w_i (θ_i − θ*_i)` on the trainable ranges.
    fn add_gradient(
        &self,
        theta: &[f32],
        importance: &[f32],
        anchor: &[f32],
        grads: &mut [f32],
        trainable: &[Range<usize>],
    ) {
        for r in trainable {
            for (((g, &t), &imp), &a) in grads[r.clone()]
                .iter_mut()
                .zip(&theta[r.clone()])
                .zip(&importance[r.clone()])
                .zip(&anchor[r.clone()])
            {
                *g += self.strength * imp * (t - a);
            }
        }
    }

    /// Proximal step, on `theta` = θ_sgd just after the optimiser's step:
    /// `θ_i ← (θ_sgd_i + s_i θ*_i) / (1 + s_i)`, `s_i = η w_i`, on the trainable ranges (entries with
    /// s_i = 0 are left bit-for-bit as they are). Explicit: nothing.
    pub fn after_step(
        &self,
        theta: &mut [f32],
        importance: &[f32],
        anchor: &[f32],
        trainable: &[Range<usize>],
    ) {
        if self.step != PenaltyStep::Proximal {
            return;
        }
        for r in trainable {
            for ((t, &imp), &a) in theta[r.clone()]
                .iter_mut()
                .zip(&importance[r.clone()])
                .zip(&anchor[r.clone()])
            {
                let s = self.eta * self.strength * imp;
                if s != 0.0 {
                    *t = (*t + s * a) / (1.0 + s);
                }
            }
        }
    }

    /// Records R(θ), its gradient w (θ − θ*) and the proximal factors s = η w on `trace`, where
    /// `w` names the weight (`λ F~`, `2c Ω`).
    pub fn record(
        &self,
        trace: &Trace,
        w: &str,
        theta: &[f32],
        importance: &[f32],
        anchor: &[f32],
        trainable: &[Range<usize>],
    ) {
        let note = format!("the penalty Σ_i (w_i/2)(θ_i − θ*_i)² at θ, w = {w}");
        trace.record("R(θ)", &note, || {
            Value::Scalar(self.value(theta, importance, anchor, trainable))
        });
        let note = match self.step {
            PenaltyStep::Explicit => "w (θ − θ*): the explicit step adds it to g~",
            PenaltyStep::Proximal => {
                "w (θ − θ*): the proximal step takes it implicitly (not in g~)"
            }
        };
        trace.record("∇R", note, || {
            let mut g = vec![0.0; theta.len()];
            self.add_gradient(theta, importance, anchor, &mut g, trainable);
            Value::params(&g, trainable)
        });
        let note = match self.step {
            PenaltyStep::Explicit => "η w: the explicit step multiplies θ − θ* by 1 − s",
            PenaltyStep::Proximal => "η w: the proximal step sets θ' = (θ_sgd + s θ*) / (1 + s)",
        };
        trace.record("s", note, || {
            let s: Vec<f32> = (importance.iter())
                .map(|&imp| self.eta * self.strength * imp)
                .collect();
            Value::params(&s, trainable)
        });
    }

    /// `max_i s_i = max_i η w_i` over the trainable ranges (0 when there are none): the explicit step
    /// multiplies a deviation by `1 − s_i`, so it diverges where this exceeds 2.
    pub fn max_s(&self, importance: &[f32], trainable: &[Range<usize>]) -> f32 {
        let max = trainable
            .iter()
            .flat_map(|r| &importance[r.clone()])
            .map(|&imp| self.eta * self.strength * imp)
            .fold(f32::NEG_INFINITY, f32::max);
        if max == f32::NEG_INFINITY {
            0.0
        } else {
            max
        }
    }
}

/// One warning per task whose largest step factor s = η w exceeds 2: the explicit step
/// diverges there (multiplies the deviation by 1 − s), the proximal one does not.
pub fn step_warnings(
    what: &str,
    step: PenaltyStep,
    per_task: impl Iterator<Item = f32>,
) -> Vec<String> {
    let consequence = match step {
        PenaltyStep::Explicit => "this run's explicit penalty step diverges there",
        PenaltyStep::Proximal => "an explicit step would diverge there (this run's is proximal)",
    };
    per_task
        .enumerate()
        .filter(|(_, s)| *s > 2.0)
        .map(|(t, s)| format!("task {}: max {what} = {s:.3} > 2: {consequence}", t + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// η = 0.5, strength 2, so w = 2 · importance and s = importance. Entry 1 is frozen (NaN).
    fn setup(step: PenaltyStep) -> (QuadraticPenalty, Vec<f32>, Vec<f32>, Vec<f32>) {
        let pen = QuadraticPenalty::new(step, 0.5, 2.0);
        let theta = vec![1.0, f32::NAN, -2.0, 0.5];
        let importance = vec![3.0, f32::NAN, 0.5, 0.0];
        let anchor = vec![0.5, f32::NAN, 1.0, 4.0];
        (pen, theta, importance, anchor)
    }

    const TRAINABLE: [Range<usize>; 2] = [0..1, 2..4];

    #[test]
    fn proximal_step_is_its_closed_form_and_leaves_frozen_entries_alone() {
        let (pen, mut theta, imp, anchor) = setup(PenaltyStep::Proximal);
        let mut grads = vec![0.25, 0.0, -1.0, 2.0];
        pen.adjust_grads(&theta, &imp, &anchor, &mut grads, &TRAINABLE);
        assert_eq!(grads, [0.25, 0.0, -1.0, 2.0], "proximal: g untouched");
        pen.after_step(&mut theta, &imp, &anchor, &TRAINABLE);
        // s = (3, -, 0.5, 0): (1 + 3·0.5)/4 = 0.625, (−2 + 0.5·1)/1.5 = −1, s = 0 leaves 0.5.
        assert_eq!(theta[0], 0.625);
        assert!(theta[1].is_nan(), "a frozen entry is not even rewritten");
        assert_eq!((theta[2], theta[3]), (-1.0, 0.5));
    }

    #[test]
    fn explicit_step_adds_w_times_the_deviation_and_nothing_after() {
        let (pen, mut theta, imp, anchor) = setup(PenaltyStep::Explicit);
        let mut grads = vec![0.25, 0.0, -1.0, 2.0];
        pen.adjust_grads(&theta, &imp, &anchor, &mut grads, &TRAINABLE);
        // w = (6, -, 1, 0): 0.25 + 6·0.5 = 3.25, −1 + 1·(−3) = −4, 2 + 0 = 2.
        assert_eq!(grads, [3.25, 0.0, -4.0, 2.0], "the frozen gradient stays 0");
        let copy = theta.clone();
        pen.after_step(&mut theta, &imp, &anchor, &TRAINABLE);
        assert_eq!(theta[0].to_bits(), copy[0].to_bits());
        assert!(theta[1].is_nan());
        assert_eq!(&theta[2..], &copy[2..]);
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // one trainable range
    fn value_and_max_s_read_only_the_trainable_ranges() {
        let (pen, theta, imp, anchor) = setup(PenaltyStep::Proximal);
        // (w/2) d²: 3·0.25 + 0.5·9 + 0 = 5.25; s = η · 2 · imp = imp.
        assert_eq!(pen.value(&theta, &imp, &anchor, &TRAINABLE), 5.25);
        assert_eq!(pen.max_s(&imp, &TRAINABLE), 3.0);
        assert_eq!(pen.max_s(&imp, &[2..4]), 0.5);
        assert_eq!(pen.max_s(&[-1.0, -2.0], &[0..2]), -1.0, "negative weights");
        assert_eq!(pen.max_s(&imp, &[]), 0.0);
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // one trainable range
    fn at_s_3_the_explicit_step_diverges_and_the_proximal_one_contracts() {
        // The penalty alone, 1-D: η w = 0.5 · 2 · 3 = 3, deviation d = 1 from θ* = 0.5.
        let (imp, anchor, r) = ([3.0f32], [0.5f32], [0..1]);
        for step in [PenaltyStep::Explicit, PenaltyStep::Proximal] {
            let pen = QuadraticPenalty::new(step, 0.5, 2.0);
            assert_eq!(pen.max_s(&imp, &r), 3.0);
            let mut theta = [1.5f32];
            let mut d = 1.0f64;
            for _ in 0..4 {
                let mut g = [0.0f32];
                pen.adjust_grads(&theta, &imp, &anchor, &mut g, &r);
                theta[0] -= pen.eta * g[0];
                pen.after_step(&mut theta, &imp, &anchor, &r);
                let factor = match step {
                    PenaltyStep::Explicit => 1.0 - 3.0, // |1 − 3| = 2: grows
                    PenaltyStep::Proximal => 1.0 / (1.0 + 3.0),
                };
                d *= factor;
                let got = f64::from(theta[0]) - 0.5;
                assert!((got - d).abs() <= 1e-6 * d.abs(), "{step}: {got} vs {d}");
            }
            let last = (f64::from(theta[0]) - 0.5).abs();
            match step {
                PenaltyStep::Explicit => assert_eq!(last, 16.0),
                PenaltyStep::Proximal => assert!((last - 1.0 / 256.0).abs() < 1e-9),
            }
        }
    }

    #[test]
    fn step_names_are_the_serde_names() {
        for s in [PenaltyStep::Proximal, PenaltyStep::Explicit] {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(PenaltyStep::default(), PenaltyStep::Proximal);
    }
}
