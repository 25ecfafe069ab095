//! The training loop: regimes freeze bit-for-bit, the frozen-prefix cache changes nothing, thread
//! counts change nothing, divergence stops the run with its place.

mod support;

use regimebench::methods::Naive;
use regimebench::nn::{Cnn, Preset};
use regimebench::optim::SgdConfig;
use regimebench::params::{Group, ParamStore};
use regimebench::regime::Regime;
use regimebench::train::{train, HeadLayout, TrainConfig, Trained};
use support::Stripes;

fn config(regime: &str, head: HeadLayout, cache: bool) -> TrainConfig {
    TrainConfig {
        preset: Preset::Small,
        head,
        regime: regime.parse().unwrap(),
        regime_from_first_task: false,
        sgd: SgdConfig {
            lr: 0.05,
            momentum: 0.0,
            weight_decay: 0.0,
        },
        batch: 16,
        epochs: 1,
        seed: 0,
        cache_prefix: cache,
    }
}

fn run(cfg: &TrainConfig, src: &Stripes) -> (Trained, ParamStore) {
    let mut p = ParamStore::new();
    let heads = if cfg.head == HeadLayout::Multi {
        src.tasks
    } else {
        1
    };
    let net = Cnn::new(cfg.preset, src.k, heads, &mut p);
    net.init(&mut p, cfg.seed);
    let out =
        train(cfg, &net, &mut p, src, &mut Naive, &mut |_, _, _, _| {}).expect("no divergence");
    (out, p)
}

#[test]
fn frozen_groups_are_bit_identical_after_a_run_in_every_regime() {
    let src = Stripes::small(3);
    for head in [HeadLayout::Shared, HeadLayout::Multi] {
        for d in 1..=5 {
            let cfg = config(&format!("R{d}"), head, true);
            let (out, p) = run(&cfg, &src);
            let regime = Regime::depth(d);
            for g in Group::ALL {
                for r in p.group_ranges(g) {
                    let (after_1, end) = (&out.theta_star[1][r.clone()], &out.theta_star[3][r]);
                    let same = after_1
                        .iter()
                        .zip(end)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    if regime.trainable.contains(&g) {
                        // A multi-head run trains task 1's head only in task 1.
                        let untouched_head = head == HeadLayout::Multi && g == Group::G5;
                        assert!(
                            !same || untouched_head,
                            "R{d} {head:?}: trainable {g:?} moved"
                        );
                    } else {
                        assert!(same, "R{d} {head:?}: frozen {g:?} changed after task 1");
                    }
                }
            }
            assert!(
                out.theta_star[0] != out.theta_star[1],
                "the first task trains the whole network"
            );
        }
    }
}

#[test]
fn prefix_cache_is_bit_identical_to_the_full_forward() {
    let src = Stripes::small(3);
    for regime in ["R1", "R2", "R3", "R4", "conv2,head"] {
        let (cached, _) = run(&config(regime, HeadLayout::Shared, true), &src);
        let (full, _) = run(&config(regime, HeadLayout::Shared, false), &src);
        assert_eq!(cached.acc, full.acc, "{regime}");
        for (a, b) in cached.theta_star.iter().zip(&full.theta_star) {
            assert!(
                a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{regime}: parameters differ"
            );
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let src = Stripes::small(2);
    let cfg = config("R3", HeadLayout::Shared, true);
    let results: Vec<_> = [1, 2, 3]
        .into_iter()
        .map(|t| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            pool.install(|| run(&cfg, &src).1)
        })
        .collect();
    for r in &results[1..] {
        assert!(r
            .flat()
            .iter()
            .zip(results[0].flat())
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[test]
fn learning_happens_on_an_easy_stream() {
    let src = Stripes::small(2);
    let (out, _) = run(&config("R5", HeadLayout::Shared, false), &src);
    assert!(
        out.acc[0][0] > 0.9 && out.acc[1][1] > 0.9,
        "accuracy right after each task: {:?}",
        out.acc
    );
}

#[test]
fn divergence_names_the_task_and_step() {
    let src = Stripes::small(2);
    let mut cfg = config("R5", HeadLayout::Shared, false);
    cfg.sgd.lr = 1e30;
    let mut p = ParamStore::new();
    let net = Cnn::new(Preset::Small, 2, 1, &mut p);
    net.init(&mut p, 0);
    let err = train(&cfg, &net, &mut p, &src, &mut Naive, &mut |_, _, _, _| {})
        .err()
        .expect("diverges");
    assert_eq!(err.task, 1);
    assert!(
        err.step >= 2,
        "the first loss is finite, a later one is not: {err}"
    );
    assert!(err.to_string().contains("task 1"), "{err}");
}

/// Records every hook call and adds an extra loss `½ c Σ z²` on the logits.
struct Probe {
    c: f32,
    calls: Vec<String>,
    max_step_error: f32,
}

impl regimebench::methods::Method for Probe {
    fn name(&self) -> &'static str {
        "probe"
    }
    fn begin_task(&mut self, t: &regimebench::methods::TaskInfo, _: &ParamStore) {
        self.calls.push(format!("begin {}", t.task));
    }
    fn logits_loss(
        &mut self,
        _: &regimebench::methods::TaskInfo,
        input: &regimebench::methods::StepInput,
        z: &[f32],
    ) -> Option<(f32, Vec<f32>)> {
        assert_eq!(input.x.len(), input.shape.iter().product::<usize>());
        Some((
            0.5 * self.c * z.iter().map(|v| v * v).sum::<f32>(),
            z.iter().map(|v| self.c * v).collect(),
        ))
    }
    fn after_step(
        &mut self,
        t: &regimebench::methods::TaskInfo,
        before: &[f32],
        theta: &mut [f32],
        g: &[f32],
    ) {
        for r in t.trainable {
            for i in r.clone() {
                self.max_step_error = self
                    .max_step_error
                    .max((theta[i] - (before[i] - 0.05 * g[i])).abs());
            }
        }
        self.calls.push("step".into());
    }
    fn end_task(&mut self, t: &regimebench::methods::TaskInfo, _: &ParamStore) {
        self.calls.push(format!("end {}", t.task));
    }
    fn wants_step_delta(&self) -> bool {
        true
    }
}

#[test]
fn hooks_run_in_order_and_an_extra_logits_loss_is_back_propagated() {
    let src = Stripes {
        tasks: 2,
        k: 2,
        chw: (1, 28, 28),
        train: 32,
        test: 8,
    };
    let cfg = config("R2", HeadLayout::Shared, true);
    let mut p = ParamStore::new();
    let net = Cnn::new(Preset::Small, 2, 1, &mut p);
    net.init(&mut p, 0);
    let init = p.clone();
    let mut probe = Probe {
        c: 0.02,
        calls: Vec::new(),
        max_step_error: 0.0,
    };
    train(&cfg, &net, &mut p, &src, &mut probe, &mut |_, _, _, _| {}).unwrap();
    let steps = vec!["step".to_string(); 2];
    let expected: Vec<String> = ["begin 0"]
        .iter()
        .map(|s| s.to_string())
        .chain(steps.clone())
        .chain(["end 0".into(), "begin 1".into()])
        .chain(steps)
        .chain(["end 1".into()])
        .collect();
    assert_eq!(probe.calls, expected);
    assert_eq!(
        probe.max_step_error, 0.0,
        "after_step sees θ after exactly θ − η g̃"
    );

    // The first step by hand: the gradient of xent + ½c Σz² is the sum of two backward passes.
    use regimebench::tape::Tape;
    use regimebench::tensor::Tensor;
    let mut q = init.clone();
    let positions: Vec<usize> = (0..16).collect();
    let mut x = vec![0.0; 16 * 784];
    let mut y = vec![0; 16];
    regimebench::train::TaskSource::fill(
        &src,
        0,
        regimebench::train::Part::Train,
        &positions[..16],
        &mut x,
        &mut y,
    );
    let mut tape = Tape::new(&q, &Group::ALL);
    let xi = tape.input(Tensor::new(&[16, 1, 28, 28], x));
    let z = net.forward(&mut tape, &q, xi, 0);
    let l = tape.softmax_xent(z, &y);
    let (mut g1, mut g2) = (vec![0.0; q.len()], vec![0.0; q.len()]);
    tape.backward(l, &q, &mut g1);
    let dz: Vec<f32> = tape.value(z).iter().map(|v| 0.02 * v).collect();
    tape.backward_with(vec![(z, dz)], &q, &mut g2);
    for ((t, a), b) in q.flat_mut().iter_mut().zip(&g1).zip(&g2) {
        *t -= 0.05 * (a + b);
    }
    let mut one = init.clone();
    let mut first = Probe {
        c: 0.02,
        calls: Vec::new(),
        max_step_error: 0.0,
    };
    let one_step = Stripes {
        tasks: 1,
        k: 2,
        chw: (1, 28, 28),
        train: 16,
        test: 1,
    };
    let mut cfg1 = config("R5", HeadLayout::Shared, false);
    cfg1.batch = 16;
    // One task of the same 16 images in one batch: the loop's shuffle changes only their order,
    // which moves the mean loss's gradient by rounding alone.
    train(
        &cfg1,
        &net,
        &mut one,
        &one_step,
        &mut first,
        &mut |_, _, _, _| {},
    )
    .unwrap();
    let worst = q
        .flat()
        .iter()
        .zip(one.flat())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        worst < 1e-5,
        "loop with an extra logits loss vs by hand: max |Δθ| {worst}"
    );
}

#[test]
fn cached_test_features_give_the_logits_of_the_full_forward() {
    use regimebench::tape::Tape;
    use regimebench::tensor::Tensor;
    use regimebench::train::{Part, PrefixCache, TaskSource};
    let src = Stripes::small(2);
    let mut p = ParamStore::new();
    let net = Cnn::new(Preset::Small, src.k, 1, &mut p);
    net.init(&mut p, 3);
    let positions: Vec<usize> = (0..src.len(1, Part::Test)).collect();
    let logits = |from: Group, x: Tensor| {
        let mut tape = Tape::new(&p, &[]);
        let xi = tape.input(x);
        let z = net.forward_from(&mut tape, &p, from, xi, 0);
        tape.value(z)
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    let (c, h, w) = src.chw;
    let mut x = vec![0.0; positions.len() * c * h * w];
    let mut y = vec![0; positions.len()];
    src.fill(1, Part::Test, &positions, &mut x, &mut y);
    let full = logits(Group::G1, Tensor::new(&[positions.len(), c, h, w], x));
    for from in [Group::G2, Group::G3, Group::G4, Group::G5] {
        let cache = PrefixCache::build(&net, &p, &src, 1, Part::Test, from);
        let (features, labels) = cache.gather(&positions);
        assert_eq!(labels, y);
        assert_eq!(
            features.shape()[1..].iter().product::<usize>(),
            Preset::Small.group_input_len(from)
        );
        assert_eq!(logits(from, features), full, "from {from:?}");
    }
}

#[test]
fn test_features_follow_a_changed_prefix() {
    use regimebench::train::{accuracy, TestFeatures};
    let src = Stripes::small(2);
    let (_, mut p) = run(&config("R5", HeadLayout::Shared, false), &src);
    let net = Cnn::new(Preset::Small, src.k, 1, &mut ParamStore::new());
    let mut test = TestFeatures::new(Group::G4, src.tasks);
    let trained = accuracy(&net, &p, &src, 1, 0);
    assert_eq!(test.accuracy(&net, &p, &src, 1, 0), trained);
    // Zero conv1: every image then gives the same logits, so class 0 wins everywhere (half right).
    for r in p.group_ranges(Group::G1) {
        p.flat_mut()[r].fill(0.0);
    }
    let blank = accuracy(&net, &p, &src, 1, 0);
    assert!(
        blank == 0.5 && trained > 0.9,
        "setup: {trained} then {blank}"
    );
    assert_eq!(test.accuracy(&net, &p, &src, 1, 0), blank, "stale features");
}
