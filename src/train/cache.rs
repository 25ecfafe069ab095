//! Frozen-prefix caching: the output of the frozen groups below the lowest trainable one is a fixed
//! function of the image, so it is computed once per image and each step trains only the suffix.

use super::source::{Part, TaskSource};
use crate::nn::Cnn;
use crate::params::{Group, ParamStore};
use crate::tape::Tape;
use crate::tensor::Tensor;

/// Images per forward pass while filling the cache (any size gives the same features).
const FILL_BATCH: usize = 64;

/// The input of group `from` for every image of one task's training or test part, in position
/// order.
pub struct PrefixCache {
    pub from: Group,
    /// Shape of one image's features (e.g. `[64, 3, 3]` for the input of G4 in `small`).
    pub feature_shape: Vec<usize>,
    features: Vec<f32>,
    labels: Vec<u32>,
}

impl PrefixCache {
    /// Runs groups `G1..from` (exclusive) over every image of `task`'s `part`.
    pub fn build(
        net: &Cnn,
        p: &ParamStore,
        src: &dyn TaskSource,
        task: usize,
        part: Part,
        from: Group,
    ) -> Self {
        let n = src.len(task, part);
        let (c, h, w) = src.image_chw();
        let mut tape = Tape::new(p, &[]);
        let (mut features, mut labels, mut feature_shape) =
            (Vec::new(), Vec::with_capacity(n), Vec::new());
        let positions: Vec<usize> = (0..n).collect();
        for chunk in positions.chunks(FILL_BATCH) {
            let mut x = vec![0.0; chunk.len() * c * h * w];
            let mut y = vec![0; chunk.len()];
            src.fill(task, part, chunk, &mut x, &mut y);
            tape.clear();
            let xi = tape.input(Tensor::new(&[chunk.len(), c, h, w], x));
            let out = Group::ALL[..from.index()]
                .iter()
                .fold(xi, |hid, &g| net.group_forward(&mut tape, p, g, hid, 0));
            feature_shape = tape.shape(out)[1..].to_vec();
            features.extend_from_slice(tape.value(out));
            labels.extend_from_slice(&y);
        }
        PrefixCache {
            from,
            feature_shape,
            features,
            labels,
        }
    }

    /// The cached features of `positions` as a batch tensor, and their labels.
    pub fn gather(&self, positions: &[usize]) -> (Tensor, Vec<u32>) {
        let d: usize = self.feature_shape.iter().product();
        let mut x = Vec::with_capacity(positions.len() * d);
        for &i in positions {
            x.extend_from_slice(&self.features[i * d..(i + 1) * d]);
        }
        let mut shape = vec![positions.len()];
        shape.extend_from_slice(&self.feature_shape);
        (
            Tensor::new(&shape, x),
            positions.iter().map(|&i| self.labels[i]).collect(),
        )
    }
}
