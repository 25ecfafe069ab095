//! `regimebench bench methods`' library part: the timing decorator changes nothing a method
//! computes and sees every hook, and the ratio and target arithmetic on hand numbers. (No timed
//! assertions: the measurement itself is a benchmark.)

mod support;

use regimebench::bench::cost::{fisher_target, gem_memory_per_step, gem_share, PerHook};
use regimebench::bench::{summarize, CostGrid, CostRun, HookTimes, Spread, Timed};
use regimebench::data::DatasetId;
use regimebench::heads::HeadLayout;
use regimebench::methods::fisher::{FisherClasses, FisherConfig, FisherKind};
use regimebench::methods::{GemConfig, Method};
use regimebench::nn::Preset;
use regimebench::regime::Regime;
use regimebench::run::{MethodConfig, MethodKind};
use regimebench::train::{train, Trained};
use support::{config, network, Stripes};

/// One run of `method` on three stripe tasks under R2 (the cache on): θ after it and the result.
fn stripes_run(method: &mut dyn Method) -> (Vec<u32>, Trained) {
    let src = Stripes::small(3);
    let cfg = config("R2", HeadLayout::Global, true);
    let (net, mut p) = network(Preset::Small, HeadLayout::Global, &src, 0);
    let out = train(&cfg, &net, &mut p, &src, method, &mut |_, _, _, _| {}).unwrap();
    (p.flat().iter().map(|v| v.to_bits()).collect(), out)
}

#[test]
fn the_decorator_forwards_every_hook_and_changes_nothing() {
    for kind in MethodKind::ALL {
        let build = || kind.defaults().build(0.05, 0);
        let mut plain = build();
        let (theta, plain_out) = stripes_run(plain.as_mut());
        let mut inner = build();
        let mut timed = Timed::new(inner.as_mut());
        let (timed_theta, timed_out) = stripes_run(&mut timed);
        assert!(theta == timed_theta, "{kind}: θ differs through Timed");
        assert_eq!(plain_out.acc, timed_out.acc, "{kind}: accuracy");
        assert_eq!(plain_out.steps, timed_out.steps, "{kind}: steps");
        assert_eq!(plain.report(), timed.report(), "{kind}: report");
        assert_eq!(plain.warnings(), timed.warnings(), "{kind}: warnings");
        let t = timed.times();
        let (steps, tasks) = (plain_out.steps.iter().sum::<usize>() as u64, 3u64);
        let want = PerHook {
            begin_task: tasks,
            extra_loss: steps,
            adjust_grads: steps,
            after_step: steps,
            end_task: tasks,
            report: 1,
            warnings: 1,
            wants_step_delta: steps,
        };
        assert_eq!(t.calls, want, "{kind}: calls per hook");
        assert_eq!(t.task_seconds.len(), 3, "{kind}: per-task seconds");
        assert!(t.seconds.end_task >= 0.0 && t.seconds.adjust_grads.is_finite());
    }
}

#[test]
fn spread_is_the_median_and_the_range() {
    let s = Spread::of(&[3.0, 1.0, 2.0]);
    assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
    assert_eq!(Spread::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
    assert!(Spread::of(&[]).median.is_nan());
}

#[test]
fn the_fisher_target_is_its_passes_plus_one() {
    let mut c = FisherConfig::default(); // expected, over the task's k outputs, all samples
    assert_eq!(fisher_target(&c, 2, 10, 2000), 3.0);
    c.classes = FisherClasses::All;
    assert_eq!(fisher_target(&c, 2, 10, 2000), 11.0);
    c.kind = FisherKind::Empirical;
    assert_eq!(fisher_target(&c, 2, 10, 2000), 2.0);
    c.samples = 500; // a quarter of the task
    assert_eq!(fisher_target(&c, 2, 10, 2000), 0.5);
}

#[test]
fn gem_passes_every_finished_memory_capped_at_its_task() {
    assert_eq!(
        gem_memory_per_step(256, &[2000, 2000, 100, 2000, 2000]),
        vec![0, 256, 512, 612, 868]
    );
    // Steps of 1 s on 100 images, 300 memory images in task 2: 3 s more on naive's 4 s.
    assert_eq!(gem_share(4.0, &[1.0, 1.0], &[100, 100], &[0, 300]), 1.75);
}

fn hooks(end_task: &[f64], adjust_grads: &[f64]) -> HookTimes {
    let task_seconds = (end_task.iter().zip(adjust_grads))
        .map(|(&e, &a)| PerHook {
            end_task: e,
            adjust_grads: a,
            ..PerHook::default()
        })
        .collect();
    HookTimes {
        task_seconds,
        ..HookTimes::default()
    }
}

fn run(
    round: usize,
    method: MethodConfig,
    train: [f64; 3],
    step: [f64; 3],
    h: HookTimes,
) -> CostRun {
    CostRun {
        round,
        regime: Regime::depth(1),
        method,
        train_seconds: train.to_vec(),
        step_seconds: step.to_vec(),
        steps: vec![10; 3],
        hooks: h,
    }
}

/// Two rounds of three tasks of 128 images (10 steps each) under R1, by hand (binary-exact numbers).
fn hand_grid() -> CostGrid {
    let none = || hooks(&[0.0; 3], &[0.0; 3]);
    let gem = MethodConfig::Gem(GemConfig {
        memory: 32,
        ..GemConfig::default()
    });
    let ewc = MethodKind::Ewc.defaults();
    let lwf = MethodKind::Lwf.defaults();
    let naive = MethodConfig::Naive;
    let gem_hooks = || hooks(&[0.0; 3], &[0.0, 0.5, 1.0]);
    CostGrid {
        dataset: DatasetId::Mnist,
        threads: 1,
        rounds: 2,
        batch: 10,
        epochs: 1,
        classes_per_task: 2,
        head_width: 6,
        train_images: vec![128; 3],
        kernel_path: "test".into(),
        runs: vec![
            run(0, naive, [2.0, 1.0, 1.0], [2.0, 0.5, 0.5], none()),
            run(0, lwf, [2.0, 1.5, 1.5], [0.0; 3], none()),
            run(
                0,
                ewc,
                [2.0; 3],
                [0.0; 3],
                hooks(&[0.5, 0.5, 2.0], &[0.0; 3]),
            ),
            run(0, gem, [2.0, 3.0, 3.0], [0.0; 3], gem_hooks()),
            run(1, naive, [3.0, 1.5, 1.5], [2.0, 1.0, 1.0], none()),
            run(1, lwf, [3.0, 3.0, 3.0], [0.0; 3], none()),
            run(
                1,
                ewc,
                [2.0; 3],
                [0.0; 3],
                hooks(&[0.5, 1.0, 2.0], &[0.0; 3]),
            ),
            run(1, gem, [4.0, 4.0, 4.0], [0.0; 3], gem_hooks()),
        ],
    }
}

#[test]
fn the_ratios_and_targets_of_a_hand_grid() {
    let s = summarize(&hand_grid()).unwrap();
    let row = |m: MethodKind| s.runs.iter().find(|r| r.method == m).unwrap();
    let lwf = row(MethodKind::Lwf);
    assert_eq!((lwf.x_naive.min, lwf.x_naive.max), (1.25, 1.5));
    assert_eq!(lwf.x_naive.median, 1.375);
    assert!(lwf.target.as_ref().unwrap().met(lwf.x_naive.median));
    assert_eq!(row(MethodKind::Naive).x_naive.median, 1.0);
    assert!(row(MethodKind::Ewc).target.is_none());
    // EWC: end_task over one epoch of naive's steps; task 3 is 4 and 2 epochs, median 3 = k + 1.
    let x: Vec<f64> = s.fisher.iter().map(|f| f.x_epoch.median).collect();
    assert_eq!(x, vec![0.25, 1.0, 3.0]);
    assert!(s
        .fisher
        .iter()
        .all(|f| f.target.limit == 3.0 && f.target.met(f.x_epoch.median)));
    // GEM: memory [0, 32, 64] per step, 960 images in 1.5 s of adjust_grads = 640 img/s, against
    // naive's 256 images in 1 s (round 1) and 2 s (round 2) of steps.
    let g = &s.gem[0];
    assert_eq!(g.memory_images, 960);
    assert_eq!(g.memory_rate.median, 640.0);
    assert_eq!((g.naive_rate.min, g.naive_rate.max), (128.0, 256.0));
    assert_eq!((g.x_rate.min, g.x_rate.max), (2.5, 5.0));
    // share: 1 + (0.5/128·320 + 0.5/128·640) / 4 = 1.9375 and 1 + (320 + 640)/128 / 6 = 2.25,
    // median 2.09375: above 2, so R1's 2x is the target, and GEM's 8/4 and 12/6 just meet it.
    assert_eq!((g.share.min, g.share.max), (1.9375, 2.25));
    assert_eq!((g.target.limit, g.target.what.as_str()), (2.0, "R1 2x"));
    assert_eq!(g.x_naive.median, 2.0);
    assert!(g.target.met(g.x_naive.median));
    assert_eq!(row(MethodKind::Gem).target.as_ref(), Some(&g.target));
}

#[test]
fn a_grid_without_naive_is_an_error() {
    let mut grid = hand_grid();
    grid.runs
        .retain(|r| r.method != MethodConfig::Naive || r.round == 0);
    let err = summarize(&grid).unwrap_err().to_string();
    assert!(err.contains("no naive run of R1 in round 2"), "{err}");
}
