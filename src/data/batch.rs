//! Batches: gathering a task's images by position into a caller-provided f32 NCHW buffer, normalised as
//! (byte/255 − mean_c) / std_c, with their task-local labels as u32.

use super::load::Split;
use super::normalize::Norm;
use super::tasks::TaskSet;

/// Precomputed per-channel lookup of normalised values; build once per dataset, reuse for every batch.
#[derive(Clone, Debug)]
pub struct Normalizer {
    lut: Vec<[f32; 256]>,
}

impl Normalizer {
    pub fn new(norm: &Norm) -> Self {
        Normalizer { lut: norm.lut() }
    }

    /// Writes image `i` of `split` into `out` (length = split.image_len), normalised.
    pub fn image(&self, split: &Split, i: usize, out: &mut [f32]) {
        let plane = split.image_len / self.lut.len();
        for (c, (src, dst)) in split
            .image(i)
            .chunks_exact(plane)
            .zip(out.chunks_exact_mut(plane))
            .enumerate()
        {
            let lut = &self.lut[c];
            for (d, &b) in dst.iter_mut().zip(src) {
                *d = lut[usize::from(b)];
            }
        }
    }

    /// Fills `x` (positions.len() x C x H x W) and `y` (positions.len()) with the images and local
    /// labels at `positions` of `set` (positions index `set.indices`, e.g. a shuffled 0..set.len()).
    ///
    /// Panics if `x` or `y` has the wrong length or a position is out of range: those are caller bugs.
    pub fn fill(
        &self,
        split: &Split,
        set: &TaskSet,
        positions: &[usize],
        x: &mut [f32],
        y: &mut [u32],
    ) {
        let len = split.image_len;
        assert_eq!(
            x.len(),
            positions.len() * len,
            "batch buffer x: {} floats for {} images of {len}",
            x.len(),
            positions.len()
        );
        assert_eq!(
            y.len(),
            positions.len(),
            "batch buffer y: {} labels for {} images",
            y.len(),
            positions.len()
        );
        for ((&p, xi), yi) in positions
            .iter()
            .zip(x.chunks_exact_mut(len))
            .zip(y.iter_mut())
        {
            self.image(split, set.indices[p] as usize, xi);
            *yi = u32::from(set.labels[p]);
        }
    }
}
