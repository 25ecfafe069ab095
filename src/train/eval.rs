//! Test accuracy of the current parameters on one task.

use super::source::{Part, TaskSource};
use crate::nn::Cnn;
use crate::params::ParamStore;
use crate::tape::Tape;
use crate::tensor::Tensor;

/// Images per forward pass during evaluation.
const EVAL_BATCH: usize = 256;

/// Fraction of task `task`'s test images whose arg-max logit of head `head` is the label
/// (ties go to the lowest class index).
pub fn accuracy(net: &Cnn, p: &ParamStore, src: &dyn TaskSource, task: usize, head: usize) -> f64 {
    let n = src.len(task, Part::Test);
    let (c, h, w) = src.image_chw();
    let mut tape = Tape::new(p, &[]);
    let mut correct = 0usize;
    let positions: Vec<usize> = (0..n).collect();
    for chunk in positions.chunks(EVAL_BATCH) {
        let mut x = vec![0.0; chunk.len() * c * h * w];
        let mut y = vec![0; chunk.len()];
        src.fill(task, Part::Test, chunk, &mut x, &mut y);
        tape.clear();
        let xi = tape.input(Tensor::new(&[chunk.len(), c, h, w], x));
        let z = net.forward(&mut tape, p, xi, head);
        let k = net.k;
        for (row, &label) in tape.value(z).chunks_exact(k).zip(&y) {
            let best = (1..k).fold(0, |b, j| if row[j] > row[b] { j } else { b });
            correct += usize::from(best == label as usize);
        }
    }
    if n == 0 {
        0.0
    } else {
        correct as f64 / n as f64
    }
}
