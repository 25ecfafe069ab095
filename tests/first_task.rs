//! Task 1's steps shared between runs (`train::FirstTask`): a run that copies them ends with the
//! same bits as one that trains them, for every method that trains task 1 as plain SGD, in every
//! regime and head layout; SI, which does not, would not.

mod support;

use regimebench::heads::HeadLayout;
use regimebench::methods::{Gem, GemConfig, Naive};
use regimebench::nn::Preset;
use regimebench::run::MethodKind;
use regimebench::train::{train, train_with, Extras, FirstTask, Trained};
use support::{config, config_resnet, Stripes};

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Everything a run computes, in bits: the accuracy matrix, θ after every task, the steps and
/// the method's report.
type Outcome = (Vec<Vec<u64>>, Vec<Vec<u32>>, Vec<usize>, String);

fn outcome(t: &Trained, report: serde_json::Value) -> Outcome {
    let acc = (t.acc.iter())
        .map(|row| row.iter().map(|a| a.to_bits()).collect())
        .collect();
    let theta = t.theta_star.iter().map(|th| bits(th)).collect();
    (acc, theta, t.steps.clone(), report.to_string())
}

#[test]
fn a_copied_task_1_gives_the_same_bits_exactly_for_the_plain_methods() {
    let src = Stripes::small(3);
    let quiet = || |_: usize, _: usize, _: usize, _: f32| {};
    for head in HeadLayout::ALL {
        let first = FirstTask::new();
        let shared = Extras {
            trace: None,
            first: Some(&first),
        };
        let cfg = config("R2", head, true);
        let (net, mut p) = support::network(Preset::Small, head, &src, 0);
        let out = train_with(&cfg, &net, &mut p, &src, &mut Naive, &mut quiet(), shared).unwrap();
        assert!(!out.first_task_copied, "the first run trains task 1");
        for kind in MethodKind::ALL {
            for d in 1..=5 {
                let cfg = config(&format!("R{d}"), head, true);
                let run = |share: bool| {
                    let (net, mut p) = support::network(Preset::Small, head, &src, 0);
                    let mut m = kind.defaults().build(cfg.sgd.lr, cfg.seed);
                    let extras = if share { shared } else { Extras::default() };
                    let out =
                        train_with(&cfg, &net, &mut p, &src, m.as_mut(), &mut quiet(), extras)
                            .unwrap();
                    assert_eq!(out.first_task_copied, share, "{kind} {head} R{d}");
                    outcome(&out, m.report())
                };
                let (trained, copied) = (run(false), run(true));
                // SI's ω of task 1 is what a copy loses, so its Ω: it weighs on every later
                // task but under `multi` R1, where later tasks train only heads task 1 never
                // touched.
                let plain = kind.defaults().plain_first_task();
                let untouched = head == HeadLayout::Multi && d == 1;
                assert_eq!(
                    trained == copied,
                    plain || untouched,
                    "{kind} {head} R{d}: a copied task 1 changes the bits exactly when the method \
                     does more than plain SGD in task 1"
                );
                if kind == MethodKind::Si {
                    assert_eq!(
                        trained.1[..2],
                        copied.1[..2],
                        "{head} R{d}: task 1's θ is the same"
                    );
                }
            }
        }
    }
}

#[test]
fn a_copied_task_1_carries_batch_norm_running_statistics() {
    let src = Stripes::small(3);
    let first = FirstTask::new();
    let shared = Extras {
        trace: None,
        first: Some(&first),
    };
    let quiet = || |_: usize, _: usize, _: usize, _: f32| {};
    let net_of = || support::network(Preset::Resnet18, HeadLayout::Global, &src, 0);
    let (net, mut p) = net_of();
    let naive = config_resnet("R1", HeadLayout::Global, true);
    train_with(&naive, &net, &mut p, &src, &mut Naive, &mut quiet(), shared).unwrap();
    let cfg = config_resnet("R3", HeadLayout::Global, true);
    let run = |extras: Extras| {
        let (net, mut p) = net_of();
        let mut m = MethodKind::Ewc.defaults().build(cfg.sgd.lr, cfg.seed);
        let out = train_with(&cfg, &net, &mut p, &src, m.as_mut(), &mut quiet(), extras).unwrap();
        (
            outcome(&out, m.report()),
            bits(p.buffers_flat()),
            out.first_task_copied,
        )
    };
    let (trained, copied) = (run(Extras::default()), run(shared));
    assert!(!trained.2 && copied.2);
    assert!(!trained.1.is_empty(), "resnet18 has running statistics");
    assert_eq!(trained.0, copied.0);
    assert_eq!(
        trained.1, copied.1,
        "the running statistics after every task"
    );
}

#[test]
fn gem_records_the_steps_the_loop_took() {
    let src = Stripes::small(3);
    let cfg = config("R3", HeadLayout::Global, true);
    let (net, mut p) = support::network(Preset::Small, HeadLayout::Global, &src, 0);
    let mut gem = Gem::new(GemConfig::default(), 0);
    let out = train(&cfg, &net, &mut p, &src, &mut gem, &mut |_, _, _, _| {}).unwrap();
    let steps: Vec<usize> = gem.records().iter().map(|r| r.steps).collect();
    assert_eq!(steps, out.steps);
    assert!(steps.iter().all(|&s| s > 0));
}
