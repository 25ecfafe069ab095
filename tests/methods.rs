//! The methods inside the loop: online EWC's running Fisher and anchor are what its equations
//! say, its penalty is what the hand case and finite differences say, and every method in every
//! regime and head layout leaves frozen parameters bit-identical and gives the same bits for 1 and
//! 2 threads.

mod support;

use regimebench::heads::HeadLayout;
use regimebench::methods::fisher::diagonal_fisher;
use regimebench::methods::penalty::{PenaltyStep, QuadraticPenalty};
use regimebench::methods::{Ewc, EwcConfig};
use regimebench::nn::Preset;
use regimebench::params::Group;
use regimebench::run::MethodKind;
use regimebench::train::{train, Inputs, Part, PrefixCache};
use support::{config, Stripes};

#[test]
fn ewc_hand_case_penalty_is_one_and_a_half_lambda() {
    // F = [1, 2, 0], θ − θ* = [1, 1, 5]: (λ/2)(1·1 + 2·1 + 0·25) = 1.5 λ.
    let lambda = 5000.0;
    let pen = QuadraticPenalty::new(PenaltyStep::Explicit, 0.05, lambda);
    let (theta, star, f) = ([3.0, -1.0, 7.0], [2.0, -2.0, 2.0], [1.0, 2.0, 0.0]);
    #[allow(clippy::single_range_in_vec_init)] // one trainable range: the whole buffer
    let all = [0..3];
    assert_eq!(pen.value(&theta, &f, &star, &all), 1.5 * f64::from(lambda));
}

#[test]
fn ewc_penalty_gradient_equals_finite_differences() {
    let pen = QuadraticPenalty::new(PenaltyStep::Explicit, 0.05, 7.0);
    let theta = [0.3f32, -1.2, 2.5, 0.7];
    let (star, f) = ([0.1f32, -1.0, 2.0, 0.9], [0.5f32, 3.0, 0.25, 1.5]);
    let trainable = [0..2, 3..4]; // entry 2 is frozen
    let mut g = vec![0.0; 4];
    pen.adjust_grads(&theta, &f, &star, &mut g, &trainable);
    for i in 0..4 {
        let h = 1e-3f32;
        let at = |d: f32| {
            let mut t = theta;
            t[i] += d;
            pen.value(&t, &f, &star, &trainable)
        };
        let fd = (at(h) - at(-h)) / (2.0 * f64::from(h));
        let frozen = i == 2;
        assert!(
            (f64::from(g[i]) - if frozen { 0.0 } else { fd }).abs() < 1e-3,
            "entry {i}: {} vs {fd}",
            g[i]
        );
    }
}

#[test]
fn ewc_keeps_the_running_fisher_and_the_anchor_of_its_equations() {
    let src = Stripes::small(3);
    let heads = support::heads(HeadLayout::Global, &src);
    for d in [1, 3] {
        let cfg = config(&format!("R{d}"), HeadLayout::Global, true);
        let (net, mut p) = support::network(Preset::Small, HeadLayout::Global, &src, 0);
        let ewc_cfg = EwcConfig {
            gamma: 0.5,
            ..EwcConfig::default()
        };
        let mut ewc = Ewc::new(ewc_cfg, cfg.sgd.lr, cfg.seed);
        let out = train(&cfg, &net, &mut p, &src, &mut ewc, &mut |_, _, _, _| {}).unwrap();
        // F~ after task 3 = γ² F_1 + γ F_2 + F_3, each F_t at θ*_t over task t's training images,
        // for the parameters the regime keeps training.
        let mut want = vec![0.0f64; p.len()];
        for t in 0..3 {
            let mut q = p.clone();
            q.flat_mut().copy_from_slice(&out.theta_star[t + 1]);
            let regime: regimebench::regime::Regime = format!("R{d}").parse().unwrap();
            let kept = net.trainable(&q, &regime.trainable, heads.of(t).layer);
            let from = regime.lowest();
            let cache = PrefixCache::build(&net, &q, &src, t, Part::Train, from);
            let inputs = if t == 0 {
                Inputs::Images {
                    src: &src,
                    task: 0,
                    part: Part::Train,
                }
            } else {
                Inputs::Cached(&cache)
            };
            let f_t = diagonal_fisher(
                &ewc_cfg.fisher,
                &net,
                &q,
                &kept,
                &inputs,
                heads.of(t),
                &[0, t as u64],
            );
            let decay = 0.5f64.powi(2 - t as i32);
            want.iter_mut()
                .zip(&f_t)
                .for_each(|(w, &f)| *w += decay * f64::from(f));
        }
        let got = ewc.fisher_tilde();
        let scale = want.iter().fold(0f64, |m, v| m.max(*v));
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (f64::from(*a) - b).abs())
            .fold(0.0, f64::max);
        assert!(
            scale > 0.0 && worst <= 1e-6 * scale,
            "R{d}: F~ off by {worst:e} of {scale:e}"
        );
        let frozen = p.ranges(&Group::ALL[..5 - d]);
        assert!(
            frozen.into_iter().flatten().all(|i| got[i] == 0.0),
            "R{d}: frozen groups get no Fisher"
        );
        assert_eq!(ewc.records().len(), 3);
        assert_eq!(
            ewc.records()[0].max_step_factor,
            0.0,
            "no penalty in task 1"
        );
        assert!(ewc.records()[1].max_step_factor > 0.0);
    }
}

#[test]
fn every_method_freezes_bit_for_bit_and_ignores_the_thread_count() {
    let src = Stripes::small(3);
    for kind in MethodKind::ALL {
        for head in HeadLayout::ALL {
            for d in 1..=5 {
                let cfg = config(&format!("R{d}"), head, true);
                let runs: Vec<_> = [1, 2]
                    .into_iter()
                    .map(|threads| {
                        let pool = rayon::ThreadPoolBuilder::new()
                            .num_threads(threads)
                            .build()
                            .unwrap();
                        pool.install(|| {
                            let (net, mut p) = support::network(Preset::Small, head, &src, 0);
                            let mut m = kind.defaults().build(cfg.sgd.lr, cfg.seed);
                            let out =
                                train(&cfg, &net, &mut p, &src, m.as_mut(), &mut |_, _, _, _| {})
                                    .unwrap_or_else(|e| panic!("{kind} {head} R{d}: {e}"));
                            (out, p)
                        })
                    })
                    .collect();
                let (out, p) = &runs[0];
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(p.flat()),
                    bits(runs[1].1.flat()),
                    "{kind} {head} R{d}: threads"
                );
                assert_eq!(out.acc, runs[1].0.acc, "{kind} {head} R{d}: threads");
                for r in p.ranges(&Group::ALL[..5 - d]) {
                    assert_eq!(
                        bits(&out.theta_star[1][r.clone()]),
                        bits(&p.flat()[r]),
                        "{kind} {head} R{d}: frozen moved"
                    );
                }
            }
        }
    }
}

/// Records what LwF adds on each step: its value, how many nodes it seeds, whether all are zero.
struct Spy(regimebench::methods::Lwf, Vec<(usize, f32, usize, bool)>);

impl regimebench::methods::Method for Spy {
    fn begin_task(
        &mut self,
        t: &regimebench::methods::TaskInfo,
        p: &regimebench::params::ParamStore,
    ) {
        self.0.begin_task(t, p);
    }
    fn extra_loss(
        &mut self,
        t: &regimebench::methods::TaskInfo,
        step: &mut regimebench::methods::Step,
    ) -> Option<(f32, Vec<regimebench::methods::Seed>)> {
        let out = self.0.extra_loss(t, step);
        if let Some((v, seeds)) = &out {
            let zero = seeds.iter().all(|(_, d)| d.iter().all(|&x| x == 0.0));
            self.1.push((t.task, *v, seeds.len(), zero));
        }
        out
    }
}

#[test]
fn lwf_starts_each_task_at_exactly_zero_and_distils_every_old_head() {
    let src = Stripes::small(3);
    for (head, seeds_in_task_3) in [
        (HeadLayout::Global, 1),
        (HeadLayout::Shared, 1),
        (HeadLayout::Multi, 2),
    ] {
        let cfg = config("R2", head, true);
        let (net, mut p) = support::network(Preset::Small, head, &src, 0);
        let mut spy = Spy(
            regimebench::methods::Lwf::new(Default::default()),
            Vec::new(),
        );
        train(&cfg, &net, &mut p, &src, &mut spy, &mut |_, _, _, _| {}).unwrap();
        let steps = &spy.1;
        assert!(
            steps.iter().all(|s| s.0 >= 1),
            "{head}: no distillation in task 1"
        );
        for t in [1, 2] {
            let first = steps.iter().find(|s| s.0 == t).unwrap();
            // θ = θ_old at a task's first step: the term and its gradient are exactly zero.
            assert_eq!((first.1, first.3), (0.0, true), "{head} task {}", t + 1);
            assert!(
                steps.iter().filter(|s| s.0 == t).any(|s| s.1 > 0.0),
                "{head}: it moves"
            );
        }
        // Task 3 distils tasks 1 and 2: in one head layer (global: two softmaxes in it; shared:
        // the one shared head), or in two head layers (multi) run on the step's features.
        assert!(
            steps
                .iter()
                .filter(|s| s.0 == 2)
                .all(|s| s.2 == seeds_in_task_3),
            "{head}"
        );
    }
}
