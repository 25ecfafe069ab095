//! The methods of PROTOCOL section 5 against PyTorch, on the `small` network with the `global`
//! head (10 outputs): the diagonal Fisher (expected and empirical, R2, the task's head), LwF's
//! distillation term and its gradients, SI's ω and Ω along three SGD steps, and GEM's g, g_k, QP
//! and projected gradient. The values come from `tests/golden/gen_methods.py` (see
//! tests/golden/README.md); no Python is needed here.

use regimebench::heads::{HeadLayout, Heads};
use regimebench::methods::fisher::{diagonal_fisher, FisherClasses, FisherConfig, FisherKind};
use regimebench::methods::gem::qp;
use regimebench::methods::lwf::distill;
use regimebench::methods::{LwfConfig, Method, Si, SiConfig, TaskInfo};
use regimebench::nn::{Cnn, Preset};
use regimebench::optim::{Sgd, SgdConfig};
use regimebench::params::{Group, ParamStore};
use regimebench::tape::{NodeId, Tape};
use regimebench::tensor::Tensor;
use regimebench::trace::Trace;
use regimebench::train::{Inputs, Part, TaskSource};
use serde::Deserialize;

mod golden_support;
use golden_support::{assert_close, assert_close64, load_params, read_golden, Named};
use std::sync::OnceLock;

/// Logits, losses, gradients, LwF's value and d/dz, GEM's G G^T and G g: f32 values with
/// different summation orders agree to ~1e-5 of the tensor's largest entry.
const GRAD_TOL: f64 = 1e-5;
/// The Fisher: sums of squared per-sample gradients (squares double the relative error, and the
/// small entries of a square come from differences of large terms).
const FISHER_TOL: f64 = 1e-4;
/// SI's ω and Ω: sums of −g δ = η g² over three steps of a trajectory whose third step starts at
/// a loss of 141 (the second overshoots), so each step inherits the previous ones' rounding
/// (PyTorch's own f32 and f64 trajectories differ by 2.6e-6 in ω; ours by 3.3e-6 at worst).
const SI_TOL: f64 = 3e-5;
/// GEM's v*: the QP's solution from G G^T and G g.
const V_TOL: f64 = 1e-4;

#[derive(Deserialize)]
struct FisherGolden {
    outputs: Vec<usize>,
    expected: Vec<Named>,
    empirical: Vec<Named>,
}

#[derive(Deserialize)]
struct LwfGolden {
    alpha: f32,
    temperature: f32,
    outputs: Vec<usize>,
    old_params: Vec<Named>,
    old_logits: Vec<f32>,
    value: f32,
    dz: Vec<f32>,
    grads: Vec<Named>,
}

#[derive(Deserialize)]
struct SiGolden {
    lr: f32,
    steps: usize,
    xi: f32,
    losses: Vec<f32>,
    omega: Vec<Named>,
    big_omega: Vec<Named>,
}

#[derive(Deserialize)]
struct Memory {
    x: Vec<f32>,
    labels: Vec<u32>,
    grads: Vec<Named>,
}

#[derive(Deserialize)]
struct GemGolden {
    seed: u64,
    eps: f64,
    margin: f64,
    g: Vec<Named>,
    memories: Vec<Memory>,
    dots: Vec<f64>,
    q: Vec<f64>,
    c: Vec<f64>,
    v: Vec<f64>,
    g_tilde: Vec<Named>,
}

#[derive(Deserialize)]
struct Golden {
    input_shape: Vec<usize>,
    x: Vec<f32>,
    task_classes: Vec<u16>,
    local_labels: Vec<u32>,
    labels: Vec<u32>,
    params: Vec<Named>,
    logits: Vec<f32>,
    fisher: FisherGolden,
    lwf: LwfGolden,
    si: SiGolden,
    gem: GemGolden,
}

fn golden() -> &'static Golden {
    static G: OnceLock<Golden> = OnceLock::new();
    G.get_or_init(|| read_golden("methods.json.gz"))
}

/// Each golden tensor against its slice of the flat buffer `ours`; the worst relative error.
fn assert_named(what: &str, p: &ParamStore, ours: &[f32], want: &[Named], tol: f64) -> f64 {
    want.iter()
        .map(|t| {
            let id = p
                .by_name(&t.name)
                .unwrap_or_else(|| panic!("no parameter {}", t.name));
            assert_eq!(p.info(id).shape, t.shape, "{}: layout", t.name);
            let r = p.info(id).range.clone();
            assert_close(&format!("{what} {}", t.name), &ours[r], &t.values, tol)
        })
        .fold(0.0, f64::max)
}

/// The `small` network with the `global` head (10 outputs), loaded with `values`.
fn network(values: &[Named]) -> (Cnn, ParamStore) {
    let mut p = ParamStore::new();
    let net = Cnn::new(Preset::Small, 10, 1, &mut p);
    load_params(&mut p, values);
    (net, p)
}

fn heads(g: &Golden) -> Heads {
    Heads::new(
        HeadLayout::Global,
        10,
        std::slice::from_ref(&g.task_classes),
    )
    .unwrap()
}

/// The golden batch as task 0 of a one-task source: classes [3, 7], local labels 0/1.
struct GoldenBatch<'a> {
    g: &'a Golden,
}

impl TaskSource for GoldenBatch<'_> {
    fn n_tasks(&self) -> usize {
        1
    }
    fn n_classes(&self) -> usize {
        10
    }
    fn task_classes(&self, task: usize) -> Vec<u16> {
        assert_eq!(task, 0);
        self.g.task_classes.clone()
    }
    fn image_chw(&self) -> (usize, usize, usize) {
        (1, 28, 28)
    }
    fn len(&self, task: usize, part: Part) -> usize {
        assert_eq!((task, part), (0, Part::Train));
        self.g.local_labels.len()
    }
    fn fill(&self, task: usize, part: Part, positions: &[usize], x: &mut [f32], y: &mut [u32]) {
        assert_eq!((task, part), (0, Part::Train));
        let d = 28 * 28;
        for (n, &i) in positions.iter().enumerate() {
            x[n * d..(n + 1) * d].copy_from_slice(&self.g.x[i * d..(i + 1) * d]);
            y[n] = self.g.local_labels[i];
        }
    }
}

/// Logits of `x` (`[N, 1, 28, 28]`) on a tape training `trainable`.
fn logits(net: &Cnn, p: &ParamStore, trainable: Vec<bool>, x: &[f32]) -> (Tape, NodeId) {
    let mut tape = Tape::with_trainable(trainable);
    let xi = tape.input(Tensor::new(&[x.len() / 784, 1, 28, 28], x.to_vec()));
    let z = net.forward(&mut tape, p, xi, 0);
    (tape, z)
}

/// The mean 10-way cross-entropy of (`x`, global `labels`) and its gradient (zero where frozen).
fn loss_grad(
    net: &Cnn,
    p: &ParamStore,
    trainable: &[bool],
    x: &[f32],
    labels: &[u32],
) -> (f32, Vec<f32>) {
    let (mut tape, z) = logits(net, p, trainable.to_vec(), x);
    let l = tape.softmax_xent(z, labels);
    let mut grads = vec![0.0; p.len()];
    tape.backward(l, p, &mut grads);
    (tape.value(l)[0], grads)
}

#[test]
fn the_batch_is_the_task_of_classes_3_and_7() {
    let g = golden();
    assert_eq!(g.input_shape, [6, 1, 28, 28]);
    assert_eq!(g.task_classes, [3, 7]);
    let heads = heads(g);
    let head = heads.of(0);
    let targets: Vec<u32> = g.local_labels.iter().map(|&l| head.target(l)).collect();
    assert_eq!(targets, g.labels, "local labels 0/1 are classes 3/7");
    let (net, p) = network(&g.params);
    let (tape, z) = logits(&net, &p, vec![false; p.ids().count()], &g.x);
    assert_close("logits", tape.value(z), &g.logits, GRAD_TOL);
}

#[test]
fn fisher_matches_pytorch() {
    let g = golden();
    let (net, p) = network(&g.params);
    let heads = heads(g);
    assert_eq!(heads.of(0).outputs, &g.fisher.outputs[..]);
    let trainable = net.trainable(&p, &[Group::G4, Group::G5], 0); // R2
    let src = GoldenBatch { g };
    let inputs = Inputs::Images {
        src: &src,
        task: 0,
        part: Part::Train,
    };
    for (kind, want) in [
        (FisherKind::Expected, &g.fisher.expected),
        (FisherKind::Empirical, &g.fisher.empirical),
    ] {
        let cfg = FisherConfig {
            kind,
            classes: FisherClasses::Task,
            samples: 0,
            batch: 6,
        };
        let f = diagonal_fisher(&cfg, &net, &p, &trainable, &inputs, heads.of(0), &[0]);
        let worst = assert_named(&format!("fisher {kind:?}"), &p, &f, want, FISHER_TOL);
        eprintln!("fisher {kind:?}: worst {worst:.2e}");
        // Frozen parameters (conv*, R2 freezes G1..G3) get none.
        for (id, &t) in p.ids().zip(&trainable) {
            let r = p.info(id).range.clone();
            assert_eq!(t, want.iter().any(|w| w.name == p.info(id).name));
            if !t {
                assert!(
                    f[r].iter().all(|&v| v == 0.0),
                    "{} has a Fisher",
                    p.info(id).name
                );
            }
        }
    }
}

#[test]
fn lwf_distillation_matches_pytorch() {
    let g = golden();
    let l = &g.lwf;
    let (net, p) = network(&g.params);
    let (_, p_old) = network(&l.old_params);
    let n = p.ids().count();
    let (tape, z) = logits(&net, &p, vec![true; n], &g.x);
    let (old_tape, z_old) = logits(&net, &p_old, vec![false; n], &g.x);
    assert_close("lwf z", tape.value(z), &g.logits, GRAD_TOL);
    assert_close("lwf z_old", old_tape.value(z_old), &l.old_logits, GRAD_TOL);
    let cfg = LwfConfig {
        alpha: l.alpha,
        temperature: l.temperature,
    };
    // On PyTorch's logits: the term and its gradient alone.
    let mut dz = vec![0.0f32; g.logits.len()];
    let value = distill(&cfg, &g.logits, &l.old_logits, 10, &l.outputs, &mut dz);
    assert_close64(
        "lwf value (torch logits)",
        &[value],
        &[f64::from(l.value)],
        GRAD_TOL,
    );
    assert_close("lwf d/dz (torch logits)", &dz, &l.dz, GRAD_TOL);
    // On ours, and back through the network: every parameter's gradient.
    let mut dz = vec![0.0f32; g.logits.len()];
    let value = distill(
        &cfg,
        tape.value(z),
        old_tape.value(z_old),
        10,
        &l.outputs,
        &mut dz,
    );
    assert_close64("lwf value", &[value], &[f64::from(l.value)], GRAD_TOL);
    assert_close("lwf d/dz", &dz, &l.dz, GRAD_TOL);
    let mut grads = vec![0.0; p.len()];
    tape.backward_with(vec![(z, dz)], &p, &mut grads);
    let worst = assert_named("lwf d/d", &p, &grads, &l.grads, GRAD_TOL);
    eprintln!("lwf parameter gradients: worst {worst:.2e}");
}

#[test]
#[allow(clippy::single_range_in_vec_init)] // one trainable range: the whole buffer
fn si_omega_along_three_sgd_steps_matches_pytorch() {
    let g = golden();
    let s = &g.si;
    let (net, mut p) = network(&g.params);
    let heads = heads(g);
    let all = [0..p.len()];
    let flags = vec![true; p.ids().count()];
    let info = TaskInfo {
        task: 0,
        trainable: &all,
        trainable_params: &flags,
        heads: &heads,
        trace: Trace::off(),
    };
    let mut si = Si::new(
        SiConfig {
            xi: s.xi,
            ..SiConfig::default()
        },
        s.lr,
    );
    assert!(si.wants_step_delta());
    let mut sgd = Sgd::new(
        SgdConfig {
            lr: s.lr,
            momentum: 0.0,
            weight_decay: 0.0,
        },
        p.len(),
    );
    si.begin_task(&info, &p);
    let mut omega = vec![0.0f64; p.len()];
    assert_eq!(s.losses.len(), s.steps);
    for (step, &want_loss) in s.losses.iter().enumerate() {
        let (loss, grads) = loss_grad(&net, &p, &flags, &g.x, &g.labels);
        assert_close(
            &format!("si loss at step {step}"),
            &[loss],
            &[want_loss],
            GRAD_TOL,
        );
        let before = p.flat().to_vec();
        sgd.step(p.flat_mut(), &grads, &all);
        let stepped = p.flat().to_vec();
        si.after_step(&info, &before, p.flat_mut(), &grads);
        assert_eq!(
            p.flat(),
            &stepped[..],
            "no penalty in the first task: θ untouched"
        );
        for ((o, &gi), (&a, &b)) in omega
            .iter_mut()
            .zip(&grads)
            .zip(p.flat().iter().zip(&before))
        {
            *o += -f64::from(gi) * f64::from(a - b);
        }
    }
    let omega: Vec<f32> = omega.iter().map(|&v| v as f32).collect();
    let worst = assert_named("si omega", &p, &omega, &s.omega, SI_TOL);
    eprintln!("si omega: worst {worst:.2e}");
    // Si's own ω, through Ω = ω / (Δ² + ξ) at the task's end.
    si.finish_task(&info, &p);
    let worst = assert_named("si Omega (Si)", &p, si.big_omega(), &s.big_omega, SI_TOL);
    eprintln!("si Omega: worst {worst:.2e}");
}

#[test]
fn gem_projection_matches_pytorch() {
    let g = golden();
    let m = &g.gem;
    let (net, p) = network(&g.params);
    let flags = net.trainable(&p, &[Group::G4, Group::G5], 0); // R2
    let ranges = p.ranges_of(&flags);
    let (_, grad) = loss_grad(&net, &p, &flags, &g.x, &g.labels);
    assert_named("gem g", &p, &grad, &m.g, GRAD_TOL);
    let rows: Vec<Vec<f32>> = m
        .memories
        .iter()
        .enumerate()
        .map(|(k, mem)| {
            let (_, gk) = loss_grad(&net, &p, &flags, &mem.x, &mem.labels);
            assert_named(&format!("gem g_{}", k + 1), &p, &gk, &mem.grads, GRAD_TOL);
            gk
        })
        .collect();
    let dot = |a: &[f32], b: &[f32]| -> f64 {
        ranges
            .iter()
            .flat_map(|r| r.clone())
            .map(|i| f64::from(a[i]) * f64::from(b[i]))
            .sum()
    };
    let k = rows.len();
    let c: Vec<f64> = rows.iter().map(|r| dot(r, &grad)).collect();
    assert!(c.iter().any(|&d| d < 0.0), "seed {}: no violation", m.seed);
    assert_close64("gem g . g_k", &c, &m.dots, GRAD_TOL);
    assert_close64("gem c = G g", &c, &m.c, GRAD_TOL);
    let mut q = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            q[i * k + j] = dot(&rows[i], &rows[j]) + if i == j { m.eps } else { 0.0 };
        }
    }
    assert_close64("gem Q = G G^T + eps I", &q, &m.q, GRAD_TOL);
    let sol = qp::solve(&q, &c, m.margin).expect("qp");
    assert_close64("gem v*", &sol.v, &m.v, V_TOL);
    // The golden has one free and one bound dual variable.
    for (i, (&ours, &want)) in sol.v.iter().zip(&m.v).enumerate() {
        assert_eq!(
            sol.active[i],
            want <= m.margin + 1e-9,
            "v*_{i}: {ours} vs {want}"
        );
    }
    let mut g_tilde = vec![0.0f32; p.len()];
    for i in ranges.iter().flat_map(|r| r.clone()) {
        let v: f64 = rows
            .iter()
            .zip(&sol.v)
            .map(|(r, &v)| v * f64::from(r[i]))
            .sum();
        g_tilde[i] = (v + f64::from(grad[i])) as f32;
    }
    let worst = assert_named("gem g~", &p, &g_tilde, &m.g_tilde, GRAD_TOL);
    eprintln!("gem g~: worst {worst:.2e} (memory seed {})", m.seed);
}
