//! The importance weights of PROTOCOL section 5's penalties against PyTorch, on the `small`
//! network with the `global` head (10 outputs): the golden batch as the task of classes 3 and 7,
//! the diagonal Fisher (expected and empirical, R2, the task's head), and SI's ω and Ω along three
//! SGD steps. The values come from `tests/golden/gen_methods.py` (see tests/golden/README.md); no
//! Python is needed here.

use regimebench::heads::{HeadLayout, Heads};
use regimebench::methods::fisher::{diagonal_fisher, FisherClasses, FisherConfig, FisherKind};
use regimebench::methods::{Method, Si, SiConfig, TaskInfo};
use regimebench::optim::{Sgd, SgdConfig};
use regimebench::params::Group;
use regimebench::trace::Trace;
use regimebench::train::{Inputs, Part, TaskSource};

mod golden_support;
use golden_support::assert_close;
use golden_support::methods::{assert_named, golden, logits, loss_grad, network, Golden, GRAD_TOL};

/// The Fisher: sums of squared per-sample gradients (squares double the relative error, and the
/// small entries of a square come from differences of large terms).
const FISHER_TOL: f64 = 1e-4;
/// SI's ω and Ω: sums of −g δ = η g² over three steps of a trajectory whose third step starts at
/// a loss of 141 (the second overshoots), so each step inherits the previous ones' rounding
/// (PyTorch's own f32 and f64 trajectories differ by 2.6e-6 in ω; ours by 3.3e-6 at worst).
const SI_TOL: f64 = 3e-5;

fn heads(g: &Golden) -> Heads {
    Heads::new(
        HeadLayout::Global,
        10,
        std::slice::from_ref(&g.task_classes),
    )
    .unwrap()
}

/// The golden batch as task 0 of a one-task source: classes [3, 7], local labels 0/1.
struct GoldenBatch<'a> {
    g: &'a Golden,
}

impl TaskSource for GoldenBatch<'_> {
    fn n_tasks(&self) -> usize {
        1
    }
    fn n_classes(&self) -> usize {
        10
    }
    fn task_classes(&self, task: usize) -> Vec<u16> {
        assert_eq!(task, 0);
        self.g.task_classes.clone()
    }
    fn image_chw(&self) -> (usize, usize, usize) {
        (1, 28, 28)
    }
    fn len(&self, task: usize, part: Part) -> usize {
        assert_eq!((task, part), (0, Part::Train));
        self.g.local_labels.len()
    }
    fn fill(&self, task: usize, part: Part, positions: &[usize], x: &mut [f32], y: &mut [u32]) {
        assert_eq!((task, part), (0, Part::Train));
        let d = 28 * 28;
        for (n, &i) in positions.iter().enumerate() {
            x[n * d..(n + 1) * d].copy_from_slice(&self.g.x[i * d..(i + 1) * d]);
            y[n] = self.g.local_labels[i];
        }
    }
}

#[test]
fn the_batch_is_the_task_of_classes_3_and_7() {
    let g = golden();
    assert_eq!(g.input_shape, [6, 1, 28, 28]);
    assert_eq!(g.task_classes, [3, 7]);
    let heads = heads(g);
    let head = heads.of(0);
    let targets: Vec<u32> = g.local_labels.iter().map(|&l| head.target(l)).collect();
    assert_eq!(targets, g.labels, "local labels 0/1 are classes 3/7");
    let (net, p) = network(&g.params);
    let (tape, z) = logits(&net, &p, vec![false; p.ids().count()], &g.x);
    assert_close("logits", tape.value(z), &g.logits, GRAD_TOL);
}

#[test]
fn fisher_matches_pytorch() {
    let g = golden();
    let (net, p) = network(&g.params);
    let heads = heads(g);
    assert_eq!(heads.of(0).outputs, &g.fisher.outputs[..]);
    let trainable = net.trainable(&p, &[Group::G4, Group::G5], 0); // R2
    let src = GoldenBatch { g };
    let inputs = Inputs::Images {
        src: &src,
        task: 0,
        part: Part::Train,
    };
    for (kind, want) in [
        (FisherKind::Expected, &g.fisher.expected),
        (FisherKind::Empirical, &g.fisher.empirical),
    ] {
        let cfg = FisherConfig {
            kind,
            classes: FisherClasses::Task,
            samples: 0,
            batch: 6,
        };
        let f = diagonal_fisher(&cfg, &net, &p, &trainable, &inputs, heads.of(0), &[0]);
        let worst = assert_named(&format!("fisher {kind:?}"), &p, &f, want, FISHER_TOL);
        eprintln!("fisher {kind:?}: worst {worst:.2e}");
        // Frozen parameters (conv*, R2 freezes G1..G3) get none.
        for (id, &t) in p.ids().zip(&trainable) {
            let r = p.info(id).range.clone();
            assert_eq!(t, want.iter().any(|w| w.name == p.info(id).name));
            if !t {
                assert!(
                    f[r].iter().all(|&v| v == 0.0),
                    "{} has a Fisher",
                    p.info(id).name
                );
            }
        }
    }
}

#[test]
#[allow(clippy::single_range_in_vec_init)] // one trainable range: the whole buffer
fn si_omega_along_three_sgd_steps_matches_pytorch() {
    let g = golden();
    let s = &g.si;
    let (net, mut p) = network(&g.params);
    let heads = heads(g);
    let all = [0..p.len()];
    let flags = vec![true; p.ids().count()];
    let info = TaskInfo {
        task: 0,
        trainable: &all,
        trainable_params: &flags,
        heads: &heads,
        trace: Trace::off(),
    };
    let mut si = Si::new(
        SiConfig {
            xi: s.xi,
            ..SiConfig::default()
        },
        s.lr,
    );
    assert!(si.wants_step_delta());
    let mut sgd = Sgd::new(
        SgdConfig {
            lr: s.lr,
            momentum: 0.0,
            weight_decay: 0.0,
        },
        p.len(),
    );
    si.begin_task(&info, &p);
    let mut omega = vec![0.0f64; p.len()];
    assert_eq!(s.losses.len(), s.steps);
    for (step, &want_loss) in s.losses.iter().enumerate() {
        let (loss, grads) = loss_grad(&net, &p, &flags, &g.x, &g.labels);
        assert_close(
            &format!("si loss at step {step}"),
            &[loss],
            &[want_loss],
            GRAD_TOL,
        );
        let before = p.flat().to_vec();
        sgd.step(p.flat_mut(), &grads, &all);
        let stepped = p.flat().to_vec();
        si.after_step(&info, &before, p.flat_mut(), &grads);
        assert_eq!(
            p.flat(),
            &stepped[..],
            "no penalty in the first task: θ untouched"
        );
        for ((o, &gi), (&a, &b)) in omega
            .iter_mut()
            .zip(&grads)
            .zip(p.flat().iter().zip(&before))
        {
            *o += -f64::from(gi) * f64::from(a - b);
        }
    }
    let omega: Vec<f32> = omega.iter().map(|&v| v as f32).collect();
    let worst = assert_named("si omega", &p, &omega, &s.omega, SI_TOL);
    eprintln!("si omega: worst {worst:.2e}");
    // Si's own ω, through Ω = ω / (Δ² + ξ) at the task's end.
    si.finish_task(&info, &p);
    let worst = assert_named("si Omega (Si)", &p, si.big_omega(), &s.big_omega, SI_TOL);
    eprintln!("si Omega: worst {worst:.2e}");
}
