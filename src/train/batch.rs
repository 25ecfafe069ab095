//! The one way a batch of task inputs is assembled: from a task's images, or from their cached
//! frozen-prefix features. The training loop, the prefix cache and evaluation all go through it.

use super::cache::PrefixCache;
use super::source::{Part, TaskSource};
use crate::params::Group;
use crate::tensor::Tensor;

/// Where one task part's inputs come from.
#[derive(Clone, Copy)]
pub enum Inputs<'a> {
    /// The normalised images of `task`'s `part`, the input of G1.
    Images {
        src: &'a dyn TaskSource,
        task: usize,
        part: Part,
    },
    /// Their features at the input of the cache's group.
    Cached(&'a PrefixCache),
}

impl Inputs<'_> {
    /// The group whose input these are.
    pub fn from(&self) -> Group {
        match self {
            Inputs::Images { .. } => Group::G1,
            Inputs::Cached(cache) => cache.from,
        }
    }

    /// How many inputs there are.
    pub fn len(&self) -> usize {
        match self {
            Inputs::Images { src, task, part } => src.len(*task, *part),
            Inputs::Cached(cache) => cache.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The inputs at `positions` as one batch tensor `[B, ...]`, and their local labels. `buf` is
    /// recycled for the tensor's values (its contents do not matter), so a loop that hands back
    /// a tape's buffer allocates nothing per batch.
    pub fn batch(&self, positions: &[usize], mut buf: Vec<f32>) -> (Tensor, Vec<u32>) {
        let mut y = vec![0; positions.len()];
        let mut shape = vec![positions.len()];
        match self {
            Inputs::Images { src, task, part } => {
                let (c, h, w) = src.image_chw();
                buf.resize(positions.len() * c * h * w, 0.0);
                src.fill(*task, *part, positions, &mut buf, &mut y);
                shape.extend([c, h, w]);
            }
            Inputs::Cached(cache) => {
                buf.clear();
                cache.gather(positions, &mut buf, &mut y);
                shape.extend_from_slice(&cache.feature_shape);
            }
        }
        (Tensor::new(&shape, buf), y)
    }
}
