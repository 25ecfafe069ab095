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
