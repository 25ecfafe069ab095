//! Seeded initialisation of PROTOCOL section 3: Kaiming-uniform (fan-in, gain √2) for conv and
//! hidden fc weights, U(−1/√fan_in, 1/√fan_in) for head weights, zero biases; batch norm γ = 1,
//! β = 0, running mean 0 and variance 1 (PyTorch's).

use super::{Body, Cnn};
use crate::params::{ParamId, ParamStore};
use rand::Rng;

impl Cnn {
    /// Draws every weight from `rng::stream("init", &[seed])`, layer by layer in G1..G5 order,
    /// each tensor in its row-major order; biases are zero. Bound: `gain · √(3 / fan_in)`, so
    /// √(6 / fan_in) for the Kaiming layers and 1/√fan_in for the heads.
    pub fn init(&self, p: &mut ParamStore, seed: u64) {
        let mut rng = crate::rng::stream("init", &[seed]);
        let mut draw = |p: &mut ParamStore, w: ParamId, kaiming: bool| {
            let fan_in: usize = p.info(w).shape[1..].iter().product();
            let gain = if kaiming {
                2f64.sqrt()
            } else {
                1.0 / 3f64.sqrt()
            };
            let bound = gain * (3.0 / fan_in as f64).sqrt();
            for v in p.get_mut(w) {
                *v = ((rng.gen::<f64>() * 2.0 - 1.0) * bound) as f32;
            }
        };
        match &self.body {
            Body::Plain(b) => {
                for l in b.layers() {
                    draw(p, l.w, true);
                    p.get_mut(l.b).fill(0.0);
                }
            }
            Body::Residual(b) => {
                for w in b.conv_weights() {
                    draw(p, w, true);
                }
                for bn in b.batch_norms() {
                    p.get_mut(bn.gamma).fill(1.0);
                    p.get_mut(bn.beta).fill(0.0);
                    p.buffer_mut(bn.mean).fill(0.0);
                    p.buffer_mut(bn.var).fill(1.0);
                }
            }
        }
        for l in &self.heads {
            draw(p, l.w, false);
            p.get_mut(l.b).fill(0.0);
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

    #[test]
    fn resnet18_sizes_names_and_batch_norm_init() {
        let mut p = ParamStore::new();
        let net = Cnn::resnet18(4, (1, 28, 28), 10, 1, &mut p);
        net.init(&mut p, 3);
        // Per stage of c channels from c_in: two blocks of two 3x3 convs with batch norm, and a
        // 1x1 shortcut with batch norm where c_in != c.
        let block = |ci: usize, c: usize| ci * c * 9 + 2 * c + c * c * 9 + 2 * c;
        let stage = |ci: usize, c: usize| {
            block(ci, c) + block(c, c) + if ci != c { ci * c + 2 * c } else { 0 }
        };
        let want =
            4 * 9 + 2 * 4 + stage(4, 4) + stage(4, 8) + stage(8, 16) + stage(16, 32) + 10 * 32 + 10;
        assert_eq!(p.len(), want);
        assert!(p.by_name("layer1.0.shortcut.conv.w").is_none());
        let sc = p.by_name("layer3.0.shortcut.conv.w").unwrap();
        assert_eq!(p.info(sc).shape, vec![16, 8, 1, 1]);
        let g = p.by_name("layer4.1.bn2.w").unwrap();
        assert!(p.get(g).iter().all(|&v| v == 1.0));
        let var: Vec<_> = p
            .buffer_ids()
            .map(|b| p.buffer_info(b).name.clone())
            .collect();
        assert_eq!(var.len(), 2 * 20, "20 batch norms, mean and variance each");
        assert_eq!(var[1], "bn1.running_var");
        // The 28x28 input: 28 (G1), 14 (G2), 7 (G3), 4 (G4, 7 -> 4 by stride 2, ceil).
        use crate::params::Group;
        let lens: Vec<_> = Group::ALL.iter().map(|&g| net.group_input_len(g)).collect();
        assert_eq!(lens, vec![784, 4 * 784, 8 * 196, 16 * 49, 32]);
    }
}
