//! Naive fine-tuning: g̃ = ∇L_t. The baseline every method is measured against.

use super::Method;

/// Naive fine-tuning: every hook is the default no-op.
#[derive(Clone, Copy, Debug, Default)]
pub struct Naive;

impl Method for Naive {}
