//! Per-channel normalisation statistics: mean and population std of bytes/255 over the whole train
//! split, in f64 (PROTOCOL.md section 4), and the 256-entry lookup table that applies them.

use serde::{Deserialize, Serialize};

/// Per-channel mean and standard deviation of the inputs scaled to [0, 1].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Norm {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

impl Norm {
    /// Statistics of `images` (N x C x plane bytes, NCHW) for `channels` channels. Counting byte values
    /// per channel first makes this exact and one pass: mean = Σ_v cnt(v) v/255 / n,
    /// std = sqrt(Σ_v cnt(v) (v/255 − mean)² / n). A constant channel gets std 1 (no division by 0).
    pub fn from_images(images: &[u8], channels: usize, plane: usize) -> Norm {
        let mut hist = vec![[0u64; 256]; channels];
        for image in images.chunks_exact(channels * plane) {
            for (c, px) in image.chunks_exact(plane).enumerate() {
                for &b in px {
                    hist[c][usize::from(b)] += 1;
                }
            }
        }
        let mut mean = Vec::with_capacity(channels);
        let mut std = Vec::with_capacity(channels);
        for h in &hist {
            let n: u64 = h.iter().sum();
            let n = n.max(1) as f64;
            let m = h
                .iter()
                .enumerate()
                .map(|(v, &c)| c as f64 * (v as f64 / 255.0))
                .sum::<f64>()
                / n;
            let var = h
                .iter()
                .enumerate()
                .map(|(v, &c)| c as f64 * (v as f64 / 255.0 - m).powi(2))
                .sum::<f64>()
                / n;
            mean.push(m);
            std.push(if var > 0.0 { var.sqrt() } else { 1.0 });
        }
        Norm { mean, std }
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.mean.len()
    }

    /// `lut[c][b]` = (b/255 − mean_c) / std_c, computed in f64 and rounded once to f32.
    pub fn lut(&self) -> Vec<[f32; 256]> {
        self.mean
            .iter()
            .zip(&self.std)
            .map(|(&m, &s)| std::array::from_fn(|b| ((b as f64 / 255.0 - m) / s) as f32))
            .collect()
    }
}
