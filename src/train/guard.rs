//! The checks around every training step: a non-finite loss, gradient or parameter stops the run
//! with its place, and (in debug builds) a method hook that writes a frozen entry is caught.

use crate::params::ParamStore;
use std::fmt;
use std::ops::Range;

/// What stopped a run.
#[derive(Clone, Debug, PartialEq)]
pub enum NonFinite {
    /// The step's loss (task loss plus any method term).
    Loss(f32),
    /// An entry of g̃, the gradient the SGD step was about to take, in this parameter.
    Gradient { param: String },
    /// An entry of θ after the step (and the method's correction), in this parameter.
    Parameter { param: String },
}

impl fmt::Display for NonFinite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NonFinite::Loss(l) => write!(f, "loss {l}"),
            NonFinite::Gradient { param } => write!(f, "a non-finite gradient entry of {param}"),
            NonFinite::Parameter { param } => write!(f, "a non-finite parameter of {param}"),
        }
    }
}

/// A non-finite loss, gradient or parameter: the run stops here.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error(
    "training diverged: {what} at task {task} (1-based), epoch {epoch}, step {step} of the task"
)]
pub struct Diverged {
    pub task: usize,
    pub epoch: usize,
    pub step: usize,
    pub what: NonFinite,
}

/// The name of the parameter holding the first non-finite entry of `v` inside `ranges`, if any.
pub(super) fn non_finite_in(p: &ParamStore, v: &[f32], ranges: &[Range<usize>]) -> Option<String> {
    let i = ranges
        .iter()
        .flat_map(|r| r.clone())
        .find(|&i| !v[i].is_finite())?;
    Some(
        p.at(i)
            .map_or_else(|| format!("entry {i}"), |info| info.name.clone()),
    )
}

/// The frozen entries of θ as a task starts: a method hook may change neither them (the
/// frozen-prefix caches depend on it) nor their zero gradient. Checked in debug builds only.
pub(super) struct Frozen {
    ranges: Vec<Range<usize>>,
    theta: Vec<f32>,
}

impl Frozen {
    pub(super) fn new(theta: &[f32], ranges: Vec<Range<usize>>) -> Self {
        let theta = if cfg!(debug_assertions) {
            ranges
                .iter()
                .flat_map(|r| theta[r.clone()].to_vec())
                .collect()
        } else {
            Vec::new()
        };
        Frozen { ranges, theta }
    }

    /// Panics (debug builds) if `hook` left a frozen entry of `grads` non-zero.
    pub(super) fn check_grads(&self, grads: &[f32], hook: &str) {
        if cfg!(debug_assertions) {
            let bad = self
                .ranges
                .iter()
                .flat_map(|r| r.clone())
                .find(|&i| grads[i] != 0.0);
            assert!(
                bad.is_none(),
                "method hook {hook} wrote the gradient of frozen entry {bad:?}"
            );
        }
    }

    /// Panics (debug builds) if `hook` changed a frozen entry of `theta`.
    pub(super) fn check_theta(&self, theta: &[f32], hook: &str) {
        if cfg!(debug_assertions) {
            let now = self.ranges.iter().flat_map(|r| theta[r.clone()].iter());
            let bad = now
                .zip(&self.theta)
                .position(|(a, b)| a.to_bits() != b.to_bits());
            assert!(bad.is_none(), "method hook {hook} changed frozen parameter entry {bad:?} (counted over the frozen entries)");
        }
    }
}
