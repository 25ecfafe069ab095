//! The whole resnet18 against an independent f64 forward written here from PROTOCOL section 3's
//! definition (naive convolutions, textbook batch norm): the same logits, and every parameter's
//! gradient equal to central differences of the f64 loss, in training mode (batch statistics,
//! whose gradient flows through μ and σ²) and in evaluation mode (running statistics). The input
//! is 3×9×9, so the stride-2 stages take odd sides (9 → 5 → 3 → 2). In f64 the step h = 1e-5
//! leaves truncation and rounding errors near 1e-10, far below the f32 gradients' own rounding,
//! and no ReLU kink is crossed but with negligible probability (at this size: at 3×32×32, nf 4,
//! the ~10⁵ ReLUs make a crossing likely and the check fails spuriously; tests/golden_resnet.rs
//! checks that size against torch in f64 instead).

use rand::Rng;
use regimebench::nn::Cnn;
use regimebench::params::{Group, ParamStore};
use regimebench::tape::Tape;
use regimebench::tensor::Tensor;
use std::collections::HashMap;

const NF: usize = 2;
const CHW: (usize, usize, usize) = (3, 9, 9);
const BATCH: usize = 3;
const K: usize = 4;
const EPS: f64 = 1e-5;

/// A batch of planes in f64: `[n, c, h, w]`.
#[derive(Clone)]
struct Planes {
    c: usize,
    h: usize,
    w: usize,
    v: Vec<f64>,
}

/// The parameters (as perturbed) and buffers by name.
struct Net64<'a> {
    p: &'a ParamStore,
    theta: &'a [f64],
    buffers: HashMap<String, Vec<f64>>,
}

impl Net64<'_> {
    fn param(&self, name: &str) -> Option<(&[usize], &[f64])> {
        let id = self.p.by_name(name)?;
        let info = self.p.info(id);
        Some((&info.shape, &self.theta[info.range.clone()]))
    }

    fn conv(&self, x: &Planes, name: &str, stride: usize) -> Planes {
        let (shape, w) = self.param(name).expect(name);
        let (co, ci, k) = (shape[0], shape[1], shape[2]);
        assert_eq!(ci, x.c);
        let pad = k / 2;
        let oh = (x.h + 2 * pad - k) / stride + 1;
        let ow = (x.w + 2 * pad - k) / stride + 1;
        let mut v = vec![0.0; BATCH * co * oh * ow];
        for n in 0..BATCH {
            for o in 0..co {
                for (y, xo) in (0..oh).flat_map(|y| (0..ow).map(move |xo| (y, xo))) {
                    let mut s = 0.0;
                    for i in 0..ci {
                        for (a, b) in (0..k).flat_map(|a| (0..k).map(move |b| (a, b))) {
                            let (r, c) = ((y * stride + a) as isize, (xo * stride + b) as isize);
                            let (r, c) = (r - pad as isize, c - pad as isize);
                            if r < 0 || c < 0 || r >= x.h as isize || c >= x.w as isize {
                                continue;
                            }
                            let xv = x.v[((n * ci + i) * x.h + r as usize) * x.w + c as usize];
                            s += w[((o * ci + i) * k + a) * k + b] * xv;
                        }
                    }
                    v[((n * co + o) * oh + y) * ow + xo] = s;
                }
            }
        }
        Planes {
            c: co,
            h: oh,
            w: ow,
            v,
        }
    }

    /// y = γ (x − μ)/√(σ² + ε) + β per channel; μ, σ² the batch's (biased) or the running ones.
    fn bn(&self, x: &mut Planes, name: &str, training: bool) {
        let gamma = self.param(&format!("{name}.w")).unwrap().1;
        let beta = self.param(&format!("{name}.b")).unwrap().1;
        let hw = x.h * x.w;
        for c in 0..x.c {
            let idx = |n: usize, q: usize| (n * x.c + c) * hw + q;
            let all = (0..BATCH).flat_map(|n| (0..hw).map(move |q| (n, q)));
            let (mean, var) = if training {
                let m = (BATCH * hw) as f64;
                let mean = all.clone().map(|(n, q)| x.v[idx(n, q)]).sum::<f64>() / m;
                let var = all
                    .clone()
                    .map(|(n, q)| (x.v[idx(n, q)] - mean).powi(2))
                    .sum::<f64>()
                    / m;
                (mean, var)
            } else {
                let mean = self.buffers[&format!("{name}.running_mean")][c];
                (mean, self.buffers[&format!("{name}.running_var")][c])
            };
            for (n, q) in all {
                let v = &mut x.v[idx(n, q)];
                *v = gamma[c] * (*v - mean) / (var + EPS).sqrt() + beta[c];
            }
        }
    }

    fn loss(&self, x: &[f32], labels: &[u32], training: bool) -> (f64, Vec<f64>) {
        let relu = |p: &mut Planes| p.v.iter_mut().for_each(|v| *v = v.max(0.0));
        let (c, h, w) = CHW;
        let x = Planes {
            c,
            h,
            w,
            v: x.iter().map(|&v| f64::from(v)).collect(),
        };
        let mut h = self.conv(&x, "conv1.w", 1);
        self.bn(&mut h, "bn1", training);
        relu(&mut h);
        for s in 1..=4 {
            for b in 0..2 {
                let pre = format!("layer{s}.{b}");
                let stride = if s > 1 && b == 0 { 2 } else { 1 };
                let mut o = self.conv(&h, &format!("{pre}.conv1.w"), stride);
                self.bn(&mut o, &format!("{pre}.bn1"), training);
                relu(&mut o);
                let mut o = self.conv(&o, &format!("{pre}.conv2.w"), 1);
                self.bn(&mut o, &format!("{pre}.bn2"), training);
                let shortcut = format!("{pre}.shortcut.conv.w");
                let sc = if self.param(&shortcut).is_some() {
                    let mut sc = self.conv(&h, &shortcut, stride);
                    self.bn(&mut sc, &format!("{pre}.shortcut.bn"), training);
                    sc
                } else {
                    h.clone()
                };
                o.v.iter_mut().zip(&sc.v).for_each(|(a, b)| *a += b);
                relu(&mut o);
                h = o;
            }
        }
        let hw = (h.h * h.w) as f64;
        let feats: Vec<f64> =
            h.v.chunks(h.h * h.w)
                .map(|p| p.iter().sum::<f64>() / hw)
                .collect();
        let (hw_, hb) = (
            self.param("head.w").unwrap().1,
            self.param("head.b").unwrap().1,
        );
        let mut logits = Vec::new();
        let mut loss = 0.0;
        for (n, &y) in labels.iter().enumerate() {
            let f = &feats[n * h.c..(n + 1) * h.c];
            let z: Vec<f64> = (0..K)
                .map(|j| hb[j] + (0..h.c).map(|i| hw_[j * h.c + i] * f[i]).sum::<f64>())
                .collect();
            let m = z.iter().cloned().fold(f64::MIN, f64::max);
            let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            loss += lse - z[y as usize];
            logits.extend(z);
        }
        (loss / BATCH as f64, logits)
    }
}

fn check(training: bool) {
    let mut p = ParamStore::new();
    let net = Cnn::resnet18(NF, CHW, K, 1, &mut p);
    net.init(&mut p, 11);
    let mut rng = regimebench::rng::stream("resnet-exact", &[u64::from(training)]);
    let mut jitter = |v: &mut f32, lo: f32, hi: f32| *v = lo + rng.gen::<f32>() * (hi - lo);
    for id in p.ids().collect::<Vec<_>>() {
        let name = p.info(id).name.clone();
        let bn = name.starts_with("bn") || name.contains(".bn");
        for v in p.get_mut(id) {
            match (bn, name.ends_with(".w")) {
                (true, true) => jitter(v, 0.6, 1.4),
                (true, false) | (false, false) => jitter(v, -0.2, 0.2),
                (false, true) => {}
            }
        }
    }
    for b in p.buffer_ids().collect::<Vec<_>>() {
        let var = p.buffer_info(b).name.ends_with("var");
        for v in p.buffer_mut(b) {
            if var {
                jitter(v, 0.5, 1.5)
            } else {
                jitter(v, -0.3, 0.3)
            }
        }
    }
    let (c, h, w) = CHW;
    let mut rng = regimebench::rng::stream("resnet-exact-x", &[]);
    let x: Vec<f32> = (0..BATCH * c * h * w)
        .map(|_| rng.gen::<f32>() * 2.0 - 1.0)
        .collect();
    let labels: Vec<u32> = (0..BATCH as u32).map(|n| (n * 3 + 1) % K as u32).collect();

    let tape = Tape::new(&p, &Group::ALL);
    let mut tape = if training { tape.training() } else { tape };
    let xi = tape.input(Tensor::new(&[BATCH, c, h, w], x.clone()));
    let z = net.forward(&mut tape, &p, xi, 0);
    let l = tape.softmax_xent(z, &labels);
    let mut grads = vec![0.0; p.len()];
    tape.backward(l, &p, &mut grads);

    let buffers = p
        .buffer_ids()
        .map(|b| {
            let v = p.buffer(b).iter().map(|&v| f64::from(v)).collect();
            (p.buffer_info(b).name.clone(), v)
        })
        .collect();
    let mut theta: Vec<f64> = p.flat().iter().map(|&v| f64::from(v)).collect();
    let net64 = |theta: &[f64]| {
        Net64 {
            p: &p,
            theta,
            buffers: HashMap::clone(&buffers),
        }
        .loss(&x, &labels, training)
    };
    let (loss64, logits64) = net64(&theta);
    let mode = if training { "training" } else { "evaluation" };
    let logits = tape.value(z);
    let scale = logits64.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (a, b) in logits.iter().zip(&logits64) {
        assert!(
            (f64::from(*a) - b).abs() <= 1e-5 * scale,
            "{mode}: logits {a} vs {b}"
        );
    }
    assert!((f64::from(tape.value(l)[0]) - loss64).abs() <= 1e-5 * loss64.abs());

    const H: f64 = 1e-5;
    let (mut worst, mut checked) = (0f64, 0);
    for id in p.ids() {
        let info = p.info(id);
        let range = info.range.clone();
        let gmax = grads[range.clone()]
            .iter()
            .fold(0f64, |m, v| m.max(f64::from(v.abs())));
        let step = range.len().div_ceil(6);
        for i in range.clone().step_by(step) {
            let keep = theta[i];
            theta[i] = keep + H;
            let up = net64(&theta).0;
            theta[i] = keep - H;
            let down = net64(&theta).0;
            theta[i] = keep;
            let fd = (up - down) / (2.0 * H);
            let err = (f64::from(grads[i]) - fd).abs() / gmax.max(1e-6);
            worst = worst.max(err);
            checked += 1;
            assert!(
                err <= 2e-4,
                "{mode}: d/d{}[{}] = {} by the tape, {fd} by central differences (error {err:.1e} of the tensor's max {gmax:.2e})",
                info.name,
                i - range.start,
                grads[i]
            );
        }
    }
    eprintln!("{mode}: {checked} entries, worst |tape - fd| / max |grad| {worst:.2e}");
}

#[test]
fn resnet18_gradients_in_training_mode_equal_central_differences_of_an_f64_forward() {
    check(true);
}

#[test]
fn resnet18_gradients_in_evaluation_mode_equal_central_differences_of_an_f64_forward() {
    check(false);
}
