//! The diagonal Fisher against values computed independently: for the head (regime R1) in closed
//! form in f64 from the cached features, ∂ log q(c|x)/∂W[s,:] = ([s = c] − q_s) h; for the whole
//! network against explicit one-image gradients. Every variant, both class sets, `global` head.

#![allow(clippy::needless_range_loop)] // the closed forms index samples and classes by hand

mod support;

use rand::Rng;
use regimebench::heads::HeadLayout;
use regimebench::methods::fisher::{diagonal_fisher, FisherClasses, FisherConfig, FisherKind};
use regimebench::nn::{Cnn, Preset};
use regimebench::params::{Group, ParamStore};
use regimebench::tape::Tape;
use regimebench::train::{Inputs, Part, PrefixCache};
use support::Stripes;

const STREAM: [u64; 2] = [7, 1];

fn setup() -> (Stripes, regimebench::heads::Heads, Cnn, ParamStore) {
    let src = Stripes {
        tasks: 2,
        k: 2,
        chw: (1, 28, 28),
        train: 7,
        test: 1,
    };
    let heads = support::heads(HeadLayout::Global, &src);
    let (net, p) = support::network(Preset::Small, HeadLayout::Global, &src, 2);
    (src, heads, net, p)
}

/// F of the head by hand: features h_n (the input of G5), logits z = W h + b in f64.
fn head_by_hand(
    cfg: &FisherConfig,
    net: &Cnn,
    p: &ParamStore,
    h: &[Vec<f64>],
    y: &[usize],
    s: &[usize],
) -> (Vec<f64>, Vec<f64>) {
    let (w, b) = (
        p.get(p.by_name("head.w").unwrap()),
        p.get(p.by_name("head.b").unwrap()),
    );
    let d = h[0].len();
    let (mut fw, mut fb) = (vec![0.0; net.width * d], vec![0.0; net.width]);
    let mut draw = regimebench::rng::stream("fisher-sample", &STREAM);
    let q: Vec<Vec<f64>> = h
        .iter()
        .map(|hn| {
            let z: Vec<f64> = s
                .iter()
                .map(|&o| {
                    (0..d).map(|j| f64::from(w[o * d + j]) * hn[j]).sum::<f64>() + f64::from(b[o])
                })
                .collect();
            let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
            let t: f64 = e.iter().sum();
            e.iter().map(|v| v / t).collect()
        })
        .collect();
    // Per-sample gradient of log q(c) for class position ci: rows s_j get ([j = ci] − q_j) h.
    let grad = |n: usize, ci: usize| -> Vec<(usize, f64)> {
        s.iter()
            .enumerate()
            .map(|(j, &o)| (o, f64::from(u8::from(j == ci)) - q[n][j]))
            .collect()
    };
    let add = |fw: &mut Vec<f64>, fb: &mut Vec<f64>, n: usize, ci: usize, weight: f64| {
        for (o, g) in grad(n, ci) {
            fb[o] += weight * g * g;
            for j in 0..d {
                fw[o * d + j] += weight * (g * h[n][j]).powi(2);
            }
        }
    };
    let n_all = h.len();
    match cfg.kind {
        FisherKind::Expected => {
            for n in 0..n_all {
                for ci in 0..s.len() {
                    add(&mut fw, &mut fb, n, ci, q[n][ci]);
                }
            }
        }
        FisherKind::Empirical => (0..n_all).for_each(|n| {
            add(
                &mut fw,
                &mut fb,
                n,
                s.iter().position(|&o| o == y[n]).unwrap(),
                1.0,
            )
        }),
        FisherKind::Sampled => {
            for n in 0..n_all {
                let u: f64 = draw.gen();
                let mut cdf = 0.0;
                let ci = (0..s.len())
                    .find(|&j| {
                        cdf += q[n][j];
                        u < cdf
                    })
                    .unwrap_or(s.len() - 1);
                add(&mut fw, &mut fb, n, ci, 1.0);
            }
        }
        FisherKind::BatchMean => {
            let mut batches = 0.0;
            for chunk in (0..n_all).collect::<Vec<_>>().chunks(cfg.batch) {
                let (mut gw, mut gb) = (vec![0.0; fw.len()], vec![0.0; fb.len()]);
                for &n in chunk {
                    let ci = s.iter().position(|&o| o == y[n]).unwrap();
                    for (o, g) in grad(n, ci) {
                        gb[o] += g / chunk.len() as f64;
                        for j in 0..d {
                            gw[o * d + j] += g * h[n][j] / chunk.len() as f64;
                        }
                    }
                }
                fw.iter_mut().zip(&gw).for_each(|(f, g)| *f += g * g);
                fb.iter_mut().zip(&gb).for_each(|(f, g)| *f += g * g);
                batches += 1.0;
            }
            return (
                fw.iter().map(|v| v / batches).collect(),
                fb.iter().map(|v| v / batches).collect(),
            );
        }
    }
    let n = n_all as f64;
    (
        fw.iter().map(|v| v / n).collect(),
        fb.iter().map(|v| v / n).collect(),
    )
}

fn close(what: &str, ours: &[f32], want: &[f64]) {
    support::assert_close_rel(what, ours, want, 1e-5);
}

#[test]
fn head_fisher_equals_its_closed_form_for_every_variant() {
    let (src, heads, net, p) = setup();
    let trainable = net.trainable(&p, &[Group::G5], heads.of(1).layer);
    let cache = PrefixCache::build(&net, &p, &src, 1, Part::Train, Group::G5);
    let inputs = Inputs::Cached(&cache);
    let positions: Vec<usize> = (0..inputs.len()).collect();
    let (hx, labels) = inputs.batch(&positions, Vec::new());
    let d = hx.shape()[1];
    let h: Vec<Vec<f64>> = hx
        .data()
        .chunks(d)
        .map(|r| r.iter().map(|&v| f64::from(v)).collect())
        .collect();
    let head = heads.of(1); // task 2: classes 2 and 3 of the 4-way global head
    let y: Vec<usize> = labels.iter().map(|&l| head.target(l) as usize).collect();
    for kind in [
        FisherKind::Expected,
        FisherKind::Sampled,
        FisherKind::Empirical,
        FisherKind::BatchMean,
    ] {
        for classes in [FisherClasses::Task, FisherClasses::All] {
            let cfg = FisherConfig {
                kind,
                classes,
                samples: 0,
                batch: 3,
            };
            let f = diagonal_fisher(&cfg, &net, &p, &trainable, &inputs, head, &STREAM);
            let s: Vec<usize> = match classes {
                FisherClasses::Task => head.outputs.to_vec(),
                FisherClasses::All => (0..net.width).collect(),
            };
            let (fw, fb) = head_by_hand(&cfg, &net, &p, &h, &y, &s);
            let (w, b) = (p.by_name("head.w").unwrap(), p.by_name("head.b").unwrap());
            close(
                &format!("{kind:?} {classes:?} head.w"),
                &f[p.info(w).range.clone()],
                &fw,
            );
            close(
                &format!("{kind:?} {classes:?} head.b"),
                &f[p.info(b).range.clone()],
                &fb,
            );
            let below = p.ranges(&[Group::G1, Group::G2, Group::G3, Group::G4]);
            assert!(
                below.into_iter().flatten().all(|i| f[i] == 0.0),
                "frozen groups get no Fisher"
            );
            if classes == FisherClasses::Task {
                // Outputs of other classes are outside q: their rows get nothing.
                let other = p.info(w).range.start..p.info(w).range.start + 2 * d;
                assert!(other.into_iter().all(|i| f[i] == 0.0), "{kind:?}");
            }
        }
    }
}

#[test]
fn whole_network_expected_fisher_equals_explicit_per_sample_gradients() {
    let (src, heads, net, p) = setup();
    let trainable = net.trainable(&p, &Group::ALL, heads.of(1).layer);
    let inputs = Inputs::Images {
        src: &src,
        task: 1,
        part: Part::Train,
    };
    let head = heads.of(1);
    let cfg = FisherConfig {
        batch: 3,
        ..FisherConfig::default()
    };
    let f = diagonal_fisher(&cfg, &net, &p, &trainable, &inputs, head, &STREAM);
    let mut want = vec![0.0f64; p.len()];
    for n in 0..inputs.len() {
        let (x, _) = inputs.batch(&[n], Vec::new());
        let mut tape = Tape::with_trainable(trainable.clone());
        let xi = tape.input(x);
        let z = net.forward(&mut tape, &p, xi, 0);
        let zs: Vec<f64> = head
            .outputs
            .iter()
            .map(|&o| f64::from(tape.value(z)[o]))
            .collect();
        let m = zs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let t: f64 = zs.iter().map(|v| (v - m).exp()).sum();
        let q: Vec<f64> = zs.iter().map(|v| (v - m).exp() / t).collect();
        for (ci, &c) in head.outputs.iter().enumerate() {
            let mut dz = vec![0.0f32; net.width];
            for (j, &o) in head.outputs.iter().enumerate() {
                dz[o] = (f64::from(u8::from(o == c)) - q[j]) as f32;
            }
            let mut g = vec![0.0; p.len()];
            tape.backward_with(vec![(z, dz)], &p, &mut g);
            want.iter_mut()
                .zip(&g)
                .for_each(|(w, &g)| *w += q[ci] * f64::from(g).powi(2));
        }
    }
    want.iter_mut().for_each(|w| *w /= inputs.len() as f64);
    for id in p.ids() {
        let r = p.info(id).range.clone();
        close(&p.info(id).name, &f[r.clone()], &want[r]);
    }
    // A subset as large as the task, or 0, is the whole task.
    let all = FisherConfig {
        samples: inputs.len(),
        ..cfg
    };
    assert_eq!(
        diagonal_fisher(&all, &net, &p, &trainable, &inputs, head, &STREAM),
        f
    );
}
