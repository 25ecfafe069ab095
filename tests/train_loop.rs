//! The training loop: regimes freeze bit-for-bit (other tasks' heads included), the frozen-prefix
//! cache changes nothing, thread counts change nothing, in every head layout; the test-feature
//! cache gives the logits of the full forward and follows a changed prefix.

mod support;

use regimebench::heads::HeadLayout;
use regimebench::methods::Naive;
use regimebench::nn::Preset;
use regimebench::params::{Group, ParamStore};
use regimebench::regime::Regime;
use regimebench::train::{train, TrainConfig, Trained};
use support::{config, Stripes};

fn run(cfg: &TrainConfig, src: &Stripes) -> (Trained, ParamStore) {
    let (net, mut p) = support::network(cfg.preset, cfg.head, src, cfg.seed);
    let out =
        train(cfg, &net, &mut p, src, &mut Naive, &mut |_, _, _, _| {}).expect("no divergence");
    (out, p)
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// In every task after the first, a parameter tensor moves exactly when the task trains it: its
/// group is in the regime and, under `multi`, it is not another task's head. Momentum and weight
/// decay are on, so an old head stepped by either would move too.
#[test]
fn each_task_moves_exactly_what_it_trains_in_every_regime_and_layout() {
    let src = Stripes::small(3);
    for head in HeadLayout::ALL {
        for d in 1..=5 {
            let mut cfg = config(&format!("R{d}"), head, true);
            cfg.sgd.momentum = 0.5;
            cfg.sgd.weight_decay = 1e-3;
            let (out, p) = run(&cfg, &src);
            let regime = Regime::depth(d);
            for t in 1..3 {
                for id in p.ids() {
                    let info = p.info(id);
                    let r = info.range.clone();
                    let moved =
                        !same_bits(&out.theta_star[t][r.clone()], &out.theta_star[t + 1][r]);
                    let own_head = head != HeadLayout::Multi
                        || info.group != Group::G5
                        || info.name.starts_with(&format!("head{t}."));
                    let trains = regime.trainable.contains(&info.group) && own_head;
                    assert_eq!(
                        moved,
                        trains,
                        "R{d} {head}: {} in task {}",
                        info.name,
                        t + 1
                    );
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
    for head in HeadLayout::ALL {
        for regime in ["R1", "R2", "R3", "R4", "conv2,head"] {
            let (cached, _) = run(&config(regime, head, true), &src);
            let (full, _) = run(&config(regime, head, false), &src);
            assert_eq!(cached.acc, full.acc, "{regime} {head}");
            for (a, b) in cached.theta_star.iter().zip(&full.theta_star) {
                assert!(same_bits(a, b), "{regime} {head}: parameters differ");
            }
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let src = Stripes::small(2);
    for head in HeadLayout::ALL {
        let cfg = config("R3", head, true);
        let results: Vec<_> = [1, 2, 3]
            .into_iter()
            .map(|t| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap();
                pool.install(|| run(&cfg, &src))
            })
            .collect();
        for r in &results[1..] {
            assert!(same_bits(r.1.flat(), results[0].1.flat()), "{head}");
            assert_eq!(r.0.acc, results[0].0.acc, "{head}");
        }
    }
}

#[test]
fn learning_happens_on_an_easy_stream() {
    let src = Stripes::small(2);
    for head in HeadLayout::ALL {
        let mut cfg = config("R5", head, false);
        cfg.epochs = 3; // the 4-way global head needs more than 6 steps for a new pair of classes
        let (out, _) = run(&cfg, &src);
        assert!(
            out.acc[0][0] > 0.9 && out.acc[1][1] > 0.9,
            "{head}: accuracy right after each task: {:?}",
            out.acc
        );
    }
}

/// `multi` head-only cannot forget: after task 1 the features are frozen and task j's head trains
/// only in task j, so column j of A is constant below the diagonal, bit for bit.
#[test]
fn multi_head_only_keeps_every_old_task_exactly() {
    let src = Stripes::small(3);
    let (out, _) = run(&config("R1", HeadLayout::Multi, true), &src);
    for j in 0..3 {
        for i in j..3 {
            assert_eq!(
                out.acc[i][j].to_bits(),
                out.acc[j][j].to_bits(),
                "A[{i}][{j}]"
            );
        }
    }
}

#[test]
fn a_network_that_does_not_fit_the_layout_is_an_error() {
    let src = Stripes::small(2);
    let (net, mut p) = support::network(Preset::Small, HeadLayout::Shared, &src, 0);
    let cfg = config("R1", HeadLayout::Global, true);
    let err = train(&cfg, &net, &mut p, &src, &mut Naive, &mut |_, _, _, _| {})
        .err()
        .expect("a 2-way head cannot serve the 4-way global layout");
    assert!(
        err.to_string().contains("global layout needs 1 of 4"),
        "{err}"
    );
    let mut bad = config("R1", HeadLayout::Shared, true);
    bad.batch = 0;
    let err = train(&bad, &net, &mut p, &src, &mut Naive, &mut |_, _, _, _| {})
        .err()
        .expect("batch 0");
    assert!(
        err.to_string().contains("batch must be at least 1"),
        "{err}"
    );
}

#[test]
fn cached_test_features_give_the_logits_of_the_full_forward() {
    use regimebench::tape::Tape;
    use regimebench::tensor::Tensor;
    use regimebench::train::{Inputs, Part, PrefixCache, TaskSource};
    let src = Stripes::small(2);
    let (net, p) = support::network(Preset::Small, HeadLayout::Global, &src, 3);
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
    let images = Inputs::Images {
        src: &src,
        task: 1,
        part: Part::Test,
    };
    let (x, y) = images.batch(&positions, Vec::new());
    let full = logits(Group::G1, x);
    for from in [Group::G2, Group::G3, Group::G4, Group::G5] {
        let cache = PrefixCache::build(&net, &p, &src, 1, Part::Test, from);
        let (features, labels) = Inputs::Cached(&cache).batch(&positions, vec![7.0; 3]);
        assert_eq!(labels, y);
        assert_eq!(
            features.shape()[1..].iter().product::<usize>(),
            net.group_input_len(from)
        );
        assert_eq!(logits(from, features), full, "from {from:?}");
    }
}

#[test]
fn test_features_follow_a_changed_prefix() {
    use regimebench::train::{accuracy, TestFeatures};
    let src = Stripes::small(2);
    let heads = support::heads(HeadLayout::Shared, &src);
    let (net, mut p) = support::network(Preset::Small, HeadLayout::Shared, &src, 0);
    let cfg = config("R5", HeadLayout::Shared, false);
    train(&cfg, &net, &mut p, &src, &mut Naive, &mut |_, _, _, _| {}).unwrap();
    let mut test = TestFeatures::new(Group::G4, src.tasks);
    let trained = accuracy(&net, &p, &src, 1, heads.of(1));
    assert_eq!(test.accuracy(&net, &p, &src, 1, heads.of(1)), trained);
    // Zero conv1: every image then gives the same logits, so one class wins everywhere (half right).
    for r in p.ranges(&[Group::G1]) {
        p.flat_mut()[r].fill(0.0);
    }
    let blank = accuracy(&net, &p, &src, 1, heads.of(1));
    assert!(
        blank == 0.5 && trained > 0.9,
        "setup: {trained} then {blank}"
    );
    assert_eq!(
        test.accuracy(&net, &p, &src, 1, heads.of(1)),
        blank,
        "stale features"
    );
}
