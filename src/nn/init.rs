//! Seeded initialisation of PROTOCOL section 3: Kaiming-uniform (fan-in, gain √2) for conv and
//! hidden fc weights, U(−1/√fan_in, 1/√fan_in) for head weights, zero biases.

use super::Cnn;
use crate::params::ParamStore;
use rand::Rng;

impl Cnn {
    /// Draws every weight from `rng::stream("init", &[seed])`, layer by layer in G1..G5 order,
    /// each tensor in its row-major order; biases are zero. Bound: `gain · √(3 / fan_in)`, so
    /// √(6 / fan_in) for the Kaiming layers and 1/√fan_in for the heads.
    pub fn init(&self, p: &mut ParamStore, seed: u64) {
        let mut rng = crate::rng::stream("init", &[seed]);
        for (layer, kaiming) in self.layers() {
            let fan_in: usize = p.info(layer.w).shape[1..].iter().product();
            let gain = if kaiming {
                2f64.sqrt()
            } else {
                1.0 / 3f64.sqrt()
            };
            let bound = gain * (3.0 / fan_in as f64).sqrt();
            for v in p.get_mut(layer.w) {
                *v = ((rng.gen::<f64>() * 2.0 - 1.0) * bound) as f32;
            }
            p.get_mut(layer.b).fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::{Cnn, Preset};
    use crate::params::ParamStore;

    #[test]
    fn init_bounds_and_determinism() {
        let mut p = ParamStore::new();
        let net = Cnn::new(Preset::Small, 2, 1, &mut p);
        net.init(&mut p, 7);
        let mut q = p.clone();
        net.init(&mut q, 7);
        assert_eq!(p, q);
        net.init(&mut q, 8);
        assert_ne!(p, q);
        for (name, bound) in [
            ("conv1.w", (6.0f64 / 9.0).sqrt()),
            ("fc.w", (6.0 / 576.0f64).sqrt()),
            ("head.w", 1.0 / 128f64.sqrt()),
        ] {
            let w = p.get(p.by_name(name).unwrap());
            let max = w.iter().fold(0f64, |m, v| m.max(v.abs() as f64));
            assert!(
                max <= bound && max > 0.95 * bound,
                "{name}: max |w| {max} vs bound {bound}"
            );
        }
        assert!(p
            .get(p.by_name("conv2.b").unwrap())
            .iter()
            .all(|&b| b == 0.0));
        assert_eq!(
            p.len(),
            16 * 9 + 16 + 32 * 16 * 9 + 32 + 64 * 32 * 9 + 64 + 128 * 576 + 128 + 2 * 128 + 2
        );
    }
}
