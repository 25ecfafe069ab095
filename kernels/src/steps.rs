//! Vector steps over a row whose length is not a multiple of the step.

/// The starts of `width`-long steps covering `0..n` (`n ≥ width`): `0, width, 2·width, …`, the last
/// one moved back to `n − width`. The last step then overlaps the one before; a kernel whose
/// outputs are computed each on its own from the same inputs writes the shared ones twice with the
/// same bits, so no step needs a scalar tail.
pub(crate) fn overlapping_steps(n: usize, width: usize) -> impl Iterator<Item = usize> {
    debug_assert!(n >= width && width > 0);
    (0..n.div_ceil(width)).map(move |s| (s * width).min(n - width))
}
