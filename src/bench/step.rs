//! What the throughput benchmarks time, shared by `cargo bench` and `regimebench bench`: one
//! training step (forward, backward, SGD; batch norm in training mode, its running statistics
//! updated) of a preset on a fixed random batch, all groups trainable, reusing one tape like the
//! training loop does.

use crate::nn::{Cnn, Preset};
use crate::optim::{Sgd, SgdConfig};
use crate::params::{Group, ParamStore};
use crate::tape::Tape;
use crate::tensor::Tensor;
use rand::Rng;
use std::ops::Range;

/// Classes of the benchmark's head (PROTOCOL: 2 per task on the MNIST family).
const CLASSES: usize = 2;

/// The SGD step of the benchmark: plain SGD, as the protocol's default.
const SGD: SgdConfig = SgdConfig {
    lr: 0.05,
    momentum: 0.0,
    weight_decay: 0.0,
};

/// A network, its parameters and one batch, ready to take training steps.
pub struct StepBench {
    net: Cnn,
    params: ParamStore,
    x: Tensor,
    y: Vec<u32>,
    sgd: Sgd,
    grads: Vec<f32>,
    /// One trainable range: the whole buffer.
    all: [Range<usize>; 1],
    tape: Tape,
}

impl StepBench {
    /// `batch` random images in [-1, 1] with alternating labels, a seeded init. resnet18 (of
    /// base width `nf`) takes CIFAR's 3×32×32 images here; the plain presets their own.
    pub fn new(preset: Preset, nf: usize, batch: usize) -> Self {
        let mut params = ParamStore::new();
        let net = match preset {
            Preset::Resnet18 => Cnn::resnet18(nf, (3, 32, 32), CLASSES, 1, &mut params),
            _ => Cnn::new(preset, CLASSES, 1, &mut params),
        };
        net.init(&mut params, 0);
        let (c, h, w) = net.input_chw();
        let mut rng = crate::rng::stream("bench", &[]);
        let x = (0..batch * c * h * w)
            .map(|_| rng.gen::<f32>() * 2.0 - 1.0)
            .collect();
        let tape = Tape::new(&params, &Group::ALL).training();
        #[allow(clippy::single_range_in_vec_init)] // one trainable range, not a Vec of indices
        StepBench {
            x: Tensor::new(&[batch, c, h, w], x),
            y: (0..batch).map(|i| (i % CLASSES) as u32).collect(),
            sgd: Sgd::new(SGD, params.len()),
            grads: vec![0.0; params.len()],
            all: [0..params.len()],
            net,
            params,
            tape,
        }
    }

    /// Images per step.
    pub fn batch(&self) -> usize {
        self.y.len()
    }

    /// One step; returns the loss before it. The batch is copied into a tape buffer each step,
    /// as the training loop fills one.
    pub fn step(&mut self) -> f32 {
        let tape = &mut self.tape;
        tape.clear();
        let mut x = tape.take_buffer(self.x.len());
        x.copy_from_slice(self.x.data());
        let x = tape.input(Tensor::new(self.x.shape(), x));
        let z = self.net.forward(tape, &self.params, x, 0);
        let l = tape.softmax_xent(z, &self.y);
        self.net.update_running_statistics(tape, &mut self.params);
        tape.backward(l, &self.params, &mut self.grads);
        self.sgd
            .step(self.params.flat_mut(), &self.grads, &self.all);
        tape.value(l)[0]
    }
}
