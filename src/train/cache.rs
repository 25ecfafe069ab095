//! Frozen-prefix caching: the output of the frozen groups below the lowest trainable one is a fixed
//! function of the image, so it is computed once per image and each step trains only the suffix.

use super::batch::Inputs;
use super::source::{Part, TaskSource};
use crate::nn::Cnn;
use crate::params::{Group, ParamStore};
use crate::tape::Tape;

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
        let images = Inputs::Images { src, task, part };
        let n = images.len();
        let mut tape = Tape::new(p, &[]);
        let (mut features, mut labels, mut feature_shape) =
            (Vec::new(), Vec::with_capacity(n), Vec::new());
        let positions: Vec<usize> = (0..n).collect();
        for chunk in positions.chunks(FILL_BATCH) {
            tape.clear();
            let (x, y) = images.batch(chunk, tape.take_buffer(0));
            let xi = tape.input(x);
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

    /// Number of cached inputs.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Appends the cached features of `positions` to `x` and writes their labels into `y`.
    pub(super) fn gather(&self, positions: &[usize], x: &mut Vec<f32>, y: &mut [u32]) {
        let d: usize = self.feature_shape.iter().product();
        for (&i, y) in positions.iter().zip(y) {
            x.extend_from_slice(&self.features[i * d..(i + 1) * d]);
            *y = self.labels[i];
        }
    }
}
