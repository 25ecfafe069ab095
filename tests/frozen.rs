//! Regimes on the tape: frozen groups get no weight gradient, and nothing below the lowest
//! trainable group is back-propagated.

use regimebench::nn::{Cnn, Preset};
use regimebench::params::{Group, ParamStore};
use regimebench::tape::Tape;
use regimebench::tensor::Tensor;

fn grads_for(trainable: &[Group]) -> (Vec<f32>, Vec<bool>, ParamStore) {
    let mut p = ParamStore::new();
    let net = Cnn::new(Preset::Small, 2, 1, &mut p);
    net.init(&mut p, 1);
    let x: Vec<f32> = (0..2 * 784)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    let mut tape = Tape::new(&p, trainable);
    let mut h = tape.input(Tensor::new(&[2, 1, 28, 28], x));
    let mut outs = Vec::new();
    for g in Group::ALL {
        h = net.group_forward(&mut tape, &p, g, h, 0);
        outs.push(h);
    }
    let loss = tape.softmax_xent(h, &[0, 1]);
    let mut grads = vec![f32::NAN; p.len()];
    let ng = tape.backward(loss, &p, &mut grads);
    (grads, outs.iter().map(|&o| ng.reached(o)).collect(), p)
}

#[test]
fn frozen_groups_get_no_gradient_and_no_backward() {
    let (full, _, p) = grads_for(&Group::ALL);
    assert!(
        full.iter().all(|g| g.is_finite()),
        "every parameter gets a gradient when all train"
    );
    for d in 1..=5 {
        let trainable = &Group::ALL[5 - d..];
        let (g, reached, _) = grads_for(trainable);
        for group in Group::ALL {
            for r in p.ranges(&[group]) {
                if trainable.contains(&group) {
                    assert_eq!(
                        g[r.clone()],
                        full[r],
                        "R{d}: {group:?} gradient equals the full backward's"
                    );
                } else {
                    assert!(
                        g[r].iter().all(|v| v.is_nan()),
                        "R{d}: frozen {group:?} untouched"
                    );
                }
            }
        }
        // Outputs of the frozen groups below the lowest trainable one get no gradient at all.
        let lowest = 5 - d;
        for (i, r) in reached.iter().enumerate() {
            assert_eq!(
                *r,
                i >= lowest,
                "R{d}: output of G{} reached = {r:?}",
                i + 1
            );
        }
    }
}
