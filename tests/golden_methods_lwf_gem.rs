//! LwF and GEM of PROTOCOL section 5 against PyTorch, on the `small` network with the `global`
//! head (10 outputs): LwF's distillation term and its gradients, and GEM's g, g_k, QP and projected
//! gradient. The values come from `tests/golden/gen_methods.py` (see tests/golden/README.md); no
//! Python is needed here.

use regimebench::methods::gem::qp;
use regimebench::methods::lwf::distill;
use regimebench::methods::LwfConfig;
use regimebench::params::Group;

mod golden_support;
use golden_support::methods::{assert_named, golden, logits, loss_grad, network, GRAD_TOL};
use golden_support::{assert_close, assert_close64};

/// GEM's v*: the QP's solution from G G^T and G g.
const V_TOL: f64 = 1e-4;

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
