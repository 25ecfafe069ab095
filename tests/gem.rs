//! GEM through its hooks on a real network: a finished task leaves a memory whose gradient is the
//! mean loss gradient over its samples; a step that agrees with it passes bit for bit; one that
//! violates it is projected to g~ = v g_k + g with v from the one-constraint dual in closed form,
//! and with margin 0 the projected step no longer increases the memory's loss (G g~ >= -eps v).

mod support;

use regimebench::heads::HeadLayout;
use regimebench::methods::{Gem, GemConfig, Method, TaskData, TaskInfo};
use regimebench::nn::Preset;
use regimebench::params::Group;
use regimebench::tape::Tape;
use regimebench::trace::Trace;
use regimebench::train::{Inputs, Part};
use support::Stripes;

#[test]
fn gem_passes_agreeing_steps_and_projects_violating_ones_exactly() {
    let src = Stripes::small(2);
    let heads = support::heads(HeadLayout::Global, &src);
    let (net, p) = support::network(Preset::Small, HeadLayout::Global, &src, 1);
    let groups = [Group::G4, Group::G5]; // R2
    for margin in [0.5, 0.0] {
        let cfg = GemConfig {
            memory: 1000,
            margin,
            eps: 1e-3,
        }; // memory: the whole task
        let mut gem = Gem::new(cfg, 0);
        let flags = net.trainable(&p, &groups, 0);
        let ranges = p.ranges_of(&flags);
        let info = |task| TaskInfo {
            task,
            trainable: &ranges,
            trainable_params: &flags,
            heads: &heads,
            trace: Trace::off(),
        };
        let images = Inputs::Images {
            src: &src,
            task: 0,
            part: Part::Train,
        };
        let data = TaskData {
            net: &net,
            train: &images,
            kept_trainable: &flags,
            later_from: Group::G4,
            steps: 0,
        };
        gem.begin_task(&info(0), &p);
        gem.end_task(&info(0), &data, &p).unwrap();
        // g_1 by hand: the mean 4-way loss over all of task 1's training images, R2's parameters.
        let positions: Vec<usize> = (0..images.len()).collect();
        let (x, labels) = images.batch(&positions, Vec::new());
        let mut tape = Tape::with_trainable(flags.clone());
        let xi = tape.input(x);
        let z = net.forward(&mut tape, &p, xi, 0);
        let targets: Vec<u32> = labels.iter().map(|&l| heads.of(0).target(l)).collect();
        let loss = tape.softmax_xent(z, &targets);
        let mut g1 = vec![0.0f32; p.len()];
        tape.backward(loss, &p, &mut g1);
        let dot = |a: &[f32], b: &[f32]| -> f64 {
            ranges
                .iter()
                .flat_map(|r| r.clone())
                .map(|i| f64::from(a[i]) * f64::from(b[i]))
                .sum()
        };
        gem.begin_task(&info(1), &p);
        // Agreeing: g = g_1 / 2 passes bit for bit.
        let agree: Vec<f32> = g1.iter().map(|v| v * 0.5).collect();
        let mut g = agree.clone();
        gem.adjust_grads(&info(1), &p, &mut g).unwrap();
        assert!(g
            .iter()
            .zip(&agree)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        // Violating: g = −0.3 g_1 + a little noise on the trainable entries; the dual's free
        // minimiser is about 0.3, so margin 0.5 binds and margin 0 does not.
        let mut g: Vec<f32> = g1
            .iter()
            .enumerate()
            .map(|(i, v)| {
                -0.3 * v
                    + if flags_has(&ranges, i) {
                        1e-4 * ((i % 7) as f32 - 3.0)
                    } else {
                        0.0
                    }
            })
            .collect();
        let before = g.clone();
        let gg = dot(&before, &g1);
        assert!(gg < 0.0);
        gem.adjust_grads(&info(1), &p, &mut g).unwrap();
        // One constraint: v* = max(margin, −(g_1·g) / (|g_1|² + eps)).
        let n2 = dot(&g1, &g1);
        let v = f64::max(margin, -gg / (n2 + 1e-3));
        assert_eq!(
            v == margin,
            margin == 0.5,
            "the margin binds exactly when it is 0.5: v {v}"
        );
        for i in 0..p.len() {
            let want = if flags_has(&ranges, i) {
                v * f64::from(g1[i]) + f64::from(before[i])
            } else {
                0.0
            };
            assert!(
                (f64::from(g[i]) - want).abs() <= 1e-6 * (1.0 + want.abs()),
                "entry {i}: {} vs {want}",
                g[i]
            );
        }
        if margin == 0.0 {
            assert!(
                dot(&g, &g1) >= -1e-3 * v - 1e-6 * n2,
                "G g~ = {} with v {v}",
                dot(&g, &g1)
            );
        }
        let rec = &gem.records()[1];
        assert_eq!((rec.projected, rec.memories), (1, 1));
        assert!(
            (rec.mean_v.unwrap() - v).abs() < 1e-9 && rec.worst_kkt < 1e-9,
            "{rec:?}"
        );
    }
}

fn flags_has(ranges: &[std::ops::Range<usize>], i: usize) -> bool {
    ranges.iter().any(|r| r.contains(&i))
}
