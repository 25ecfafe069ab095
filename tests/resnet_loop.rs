//! resnet18 inside the loop: every method in every regime leaves the frozen groups' parameters
//! *and* batch norm running statistics bit-identical (frozen batch norm runs in evaluation mode),
//! moves the running statistics of every trainable group, gives the same bits for 1 and 2
//! threads, and the frozen-prefix cache changes no bit.

mod support;

use regimebench::heads::HeadLayout;
use regimebench::nn::Preset;
use regimebench::params::{Group, ParamStore};
use regimebench::run::MethodKind;
use regimebench::train::{train, Trained};
use support::{config_resnet, Stripes};

fn stripes() -> Stripes {
    Stripes {
        train: 48,
        test: 16,
        ..Stripes::small(3)
    }
}

fn run(
    kind: MethodKind,
    regime: &str,
    first: bool,
    cache: bool,
    threads: usize,
) -> (Trained, ParamStore, ParamStore) {
    let src = stripes();
    let mut cfg = config_resnet(regime, HeadLayout::Global, cache);
    cfg.regime_from_first_task = first;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let (net, mut p) = support::network(Preset::Resnet18, HeadLayout::Global, &src, 0);
        let init = p.clone();
        let mut m = kind.defaults().build(cfg.sgd.lr, cfg.seed);
        let out = train(&cfg, &net, &mut p, &src, m.as_mut(), &mut |_, _, _, _| {})
            .unwrap_or_else(|e| panic!("{kind} {regime}: {e}"));
        (out, p, init)
    })
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn every_method_keeps_frozen_batch_norm_bit_identical_in_every_regime_and_ignores_threads() {
    for kind in MethodKind::ALL {
        for d in 1..=5 {
            let what = format!("{kind} R{d}");
            let (out, p, init) = run(kind, &format!("R{d}"), true, true, 1);
            let (out2, p2, _) = run(kind, &format!("R{d}"), true, true, 2);
            assert_eq!(bits(p.flat()), bits(p2.flat()), "{what}: threads");
            assert_eq!(
                bits(p.buffers_flat()),
                bits(p2.buffers_flat()),
                "{what}: threads"
            );
            assert_eq!(out.acc, out2.acc, "{what}: threads");
            assert!(out.acc.iter().flatten().all(|a| a.is_finite()), "{what}");
            let frozen = &Group::ALL[..5 - d];
            for id in p.ids() {
                let info = p.info(id);
                if frozen.contains(&info.group) {
                    let r = info.range.clone();
                    assert_eq!(
                        bits(&p.flat()[r.clone()]),
                        bits(&init.flat()[r]),
                        "{what}: {} moved",
                        info.name
                    );
                }
            }
            for b in p.buffer_ids() {
                let info = p.buffer_info(b);
                let (now, before) = (bits(p.buffer(b)), bits(init.buffer(b)));
                if frozen.contains(&info.group) {
                    assert_eq!(now, before, "{what}: frozen {} moved", info.name);
                } else {
                    assert_ne!(now, before, "{what}: trainable {} never moved", info.name);
                }
            }
        }
    }
}

#[test]
fn the_prefix_cache_changes_no_bit_of_a_resnet18_run() {
    for kind in [
        MethodKind::Naive,
        MethodKind::Ewc,
        MethodKind::Lwf,
        MethodKind::Gem,
    ] {
        for regime in ["R2", "R3", "R4"] {
            let (a, p, _) = run(kind, regime, false, true, 1);
            let (b, q, _) = run(kind, regime, false, false, 1);
            assert_eq!(a.acc, b.acc, "{kind} {regime}");
            assert_eq!(bits(p.flat()), bits(q.flat()), "{kind} {regime}");
            assert_eq!(
                bits(p.buffers_flat()),
                bits(q.buffers_flat()),
                "{kind} {regime}"
            );
        }
    }
}
