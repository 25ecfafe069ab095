//! `regimebench explain`: every printed intermediate obeys its equation of PROTOCOL section 5,
//! recomputed here in f64 from the other printed values, and a few are pinned.

use regimebench::explain::{explain, render, Explained};
use regimebench::heads::HeadLayout;
use regimebench::methods::penalty::PenaltyStep;
use regimebench::methods::EwcConfig;
use regimebench::run::{MethodConfig, MethodKind};
use regimebench::trace::{Entry, Stage, Value};

/// Task 3 (0-based 2) is the one `explain` shows; task 2 ends just before it.
const LAST: usize = 2;
const ETA: f64 = 0.05;

fn run(method: MethodConfig) -> Explained {
    explain(&method, "R2".parse().unwrap(), HeadLayout::Global).unwrap()
}

fn all<'a>(e: &'a Explained, task: usize, stage: Stage, name: &str) -> Vec<&'a Entry> {
    let found: Vec<&Entry> = (e.entries.iter())
        .filter(|x| x.task == task && x.stage == stage && x.name == name)
        .collect();
    assert!(!found.is_empty(), "no {name} at task {task} {stage:?}");
    found
}

/// The one entry `name` at (task, stage), as numbers: a parameter vector's meaningful entries in
/// buffer order, a matrix's row-major data, a scalar.
fn get(e: &Explained, task: usize, stage: Stage, name: &str) -> Vec<f64> {
    let found = all(e, task, stage, name);
    assert_eq!(found.len(), 1, "{name} at task {task} {stage:?}");
    numbers(&found[0].value)
}

/// The entry `name` at (task, stage) on the ranges that `like` (a parameter vector of another
/// task) covers: task 1 trains the whole network, later tasks only the regime's groups.
fn get_on(e: &Explained, task: usize, stage: Stage, name: &str, like: &Entry) -> Vec<f64> {
    let found = all(e, task, stage, name);
    let (Value::Params { values, .. }, Value::Params { ranges, .. }) =
        (&found[0].value, &like.value)
    else {
        panic!("{name} and {} are parameter vectors", like.name)
    };
    ranges
        .iter()
        .flat_map(|r| values[r.clone()].to_vec())
        .collect()
}

fn numbers(v: &Value) -> Vec<f64> {
    match v {
        Value::Scalar(x) => vec![*x],
        Value::Params { values, ranges } => ranges
            .iter()
            .flat_map(|r| values[r.clone()].to_vec())
            .collect(),
        Value::Matrix { data, .. } => data.clone(),
        Value::Text(t) => panic!("text, not numbers: {t}"),
    }
}

fn close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

/// θ before step n of the last task: θ*_2 for the first, θ' of the step before for the others.
fn theta_before(e: &Explained, step: usize) -> Vec<f64> {
    match step {
        1 => get(e, LAST - 1, Stage::End, "θ*_t"),
        n => get(e, LAST, Stage::Step(n - 1), "θ'"),
    }
}

/// Every step of the last task is θ_sgd = θ − η g~ (f32 arithmetic, hence the tolerance).
fn check_sgd(e: &Explained) {
    for step in [1, 2] {
        let at = Stage::Step(step);
        let (theta, g_tilde) = (theta_before(e, step), get(e, LAST, at, "g~"));
        let want: Vec<f64> = theta
            .iter()
            .zip(&g_tilde)
            .map(|(t, g)| t - ETA * g)
            .collect();
        close("θ_sgd", &get(e, LAST, at, "θ_sgd"), &want, 1e-6);
    }
}

/// The quadratic penalty of EWC and SI at the last task's steps, importance `w_over_s` = w with
/// s = η w: R, ∇R, s and the proximal θ'.
fn check_penalty(e: &Explained, w: &[f64], step_kind: PenaltyStep) {
    let star = get(e, LAST - 1, Stage::End, "θ*_t");
    for step in [1, 2] {
        let at = Stage::Step(step);
        let theta = theta_before(e, step);
        let d: Vec<f64> = theta.iter().zip(&star).map(|(t, s)| t - s).collect();
        let r: f64 = w.iter().zip(&d).map(|(w, d)| 0.5 * w * d * d).sum();
        close("R(θ)", &get(e, LAST, at, "R(θ)"), &[r], 1e-5);
        let grad: Vec<f64> = w.iter().zip(&d).map(|(w, d)| w * d).collect();
        close("∇R", &get(e, LAST, at, "∇R"), &grad, 1e-5);
        if step == 1 {
            assert_eq!(r, 0.0, "θ = θ* at the task's first step");
        }
        let s: Vec<f64> = w.iter().map(|w| ETA * w).collect();
        close("s", &get(e, LAST, at, "s"), &s, 1e-5);
        let (g, g_tilde) = (get(e, LAST, at, "g"), get(e, LAST, at, "g~"));
        let sgd = get(e, LAST, at, "θ_sgd");
        let after = get(e, LAST, at, "θ'");
        match step_kind {
            PenaltyStep::Proximal => {
                assert_eq!(g, g_tilde, "the proximal step leaves g as it is");
                let want: Vec<f64> = (0..s.len())
                    .map(|i| (sgd[i] + s[i] * star[i]) / (1.0 + s[i]))
                    .collect();
                close("proximal θ'", &after, &want, 1e-6);
            }
            PenaltyStep::Explicit => {
                let want: Vec<f64> = g.iter().zip(&grad).map(|(g, r)| g + r).collect();
                close("explicit g~", &g_tilde, &want, 1e-6);
                assert_eq!(after, sgd, "the explicit step corrects nothing after");
            }
        }
    }
}

#[test]
fn ewc_fisher_accumulates_and_the_penalty_steps_are_their_closed_forms() {
    for step in [PenaltyStep::Proximal, PenaltyStep::Explicit] {
        let cfg = EwcConfig {
            penalty_step: step,
            ..EwcConfig::default()
        };
        let e = run(MethodConfig::Ewc(cfg));
        check_sgd(&e);
        let f1 = get(&e, LAST - 2, Stage::End, "F~");
        let f2 = get(&e, LAST - 1, Stage::End, "F_t");
        let tilde = get(&e, LAST - 1, Stage::End, "F~");
        let want: Vec<f64> = f1.iter().zip(&f2).map(|(a, b)| a + b).collect();
        close("F~ = γ F~ + F_t", &tilde, &want, 1e-6);
        assert!(f2.iter().all(|&f| f >= 0.0) && f2.iter().any(|&f| f > 0.0));
        let w: Vec<f64> = tilde.iter().map(|f| f64::from(cfg.lambda) * f).collect();
        check_penalty(&e, &w, step);
    }
}

#[test]
fn si_omega_is_the_path_integral_and_big_omega_its_closed_form() {
    let e = run(MethodKind::Si.defaults());
    check_sgd(&e);
    let task = LAST - 1;
    // ω = Σ_steps −g δ, δ = θ' − θ before the step (task 2 has two steps).
    let mut omega = vec![0.0; get(&e, task, Stage::End, "ω").len()];
    for step in [1, 2] {
        let at = Stage::Step(step);
        let like = all(&e, task, at, "g")[0];
        let before = match step {
            1 => get_on(&e, task - 1, Stage::End, "θ*_t", like),
            n => get(&e, task, Stage::Step(n - 1), "θ'"),
        };
        let (g, after) = (get(&e, task, at, "g"), get(&e, task, at, "θ'"));
        let delta = get(&e, task, at, "δ");
        let want: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        close("δ", &delta, &want, 1e-6);
        for i in 0..omega.len() {
            omega[i] += -g[i] * delta[i];
        }
    }
    close("ω", &get(&e, task, Stage::End, "ω"), &omega, 1e-5);
    let big_delta = get(&e, task, Stage::End, "Δ");
    let prev = get_on(
        &e,
        task - 1,
        Stage::End,
        "Ω",
        all(&e, task, Stage::End, "Ω")[0],
    );
    let big = get(&e, task, Stage::End, "Ω");
    let want: Vec<f64> = (0..big.len())
        .map(|i| prev[i] + omega[i] / (big_delta[i] * big_delta[i] + 0.1))
        .collect();
    close("Ω", &big, &want, 1e-5);
    let w: Vec<f64> = big.iter().map(|o| 2.0 * o).collect(); // 2c Ω, c = 1
    check_penalty(&e, &w, PenaltyStep::Proximal);
}

/// softmax(z/T) of each row of `z` `[B, k]`, in f64.
fn softmax_rows(z: &[f64], k: usize, t: f64) -> Vec<f64> {
    z.chunks(k)
        .flat_map(|row| {
            let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b / t));
            let e: Vec<f64> = row.iter().map(|&v| (v / t - m).exp()).collect();
            let sum: f64 = e.iter().sum();
            e.into_iter().map(move |v| v / sum)
        })
        .collect()
}

#[test]
fn lwf_kd_term_and_gradient_are_their_closed_forms_and_zero_at_theta_old() {
    let e = run(MethodKind::Lwf.defaults());
    check_sgd(&e);
    let (alpha, t, k) = (1.0, 2.0, 2);
    for step in [1, 2] {
        let at = Stage::Step(step);
        let zs = all(&e, LAST, at, "z");
        assert_eq!(zs.len(), 2, "two old tasks, one KD term each under global");
        for (h, z) in zs.iter().enumerate() {
            let z = numbers(&z.value);
            let z_old = numbers(&all(&e, LAST, at, "z_old")[h].value);
            let b = (z.len() / k) as f64;
            let (p, q) = (softmax_rows(&z, k, t), softmax_rows(&z_old, k, t));
            close(
                "softmax(z/T)",
                &numbers(&all(&e, LAST, at, "softmax(z/T)")[h].value),
                &p,
                1e-9,
            );
            let kl: f64 = (0..p.len()).map(|i| q[i] * (q[i].ln() - p[i].ln())).sum();
            let kd = numbers(&all(&e, LAST, at, "KD")[h].value);
            close("KD", &kd, &[alpha * t * t * kl / b], 1e-6);
            let grad: Vec<f64> = (0..p.len())
                .map(|i| alpha * t * (p[i] - q[i]) / b)
                .collect();
            let dz = numbers(&all(&e, LAST, at, "∂KD/∂z")[h].value);
            close("∂KD/∂z", &dz, &grad, 1e-6);
            if step == 1 {
                assert_eq!(z, z_old, "θ = θ_old at the task's first step");
                assert!(kd[0] == 0.0 && dz.iter().all(|&d| d == 0.0));
            } else {
                assert!(kd[0] > 0.0, "the model has moved after one step");
            }
        }
    }
}

#[test]
fn gem_projection_is_the_dual_qp_solution_and_meets_its_kkt_conditions() {
    let e = run(MethodKind::Gem.defaults());
    check_sgd(&e);
    let (margin, eps) = (0.5, 1e-3);
    for step in [1, 2] {
        let at = Stage::Step(step);
        let g = get(&e, LAST, at, "g");
        let big_g = get(&e, LAST, at, "G");
        let rows: Vec<&[f64]> = big_g.chunks(g.len()).collect();
        assert_eq!(rows.len(), 2, "one row per past task");
        let dot = |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(x, y)| x * y).sum() };
        let gg: Vec<f64> = rows.iter().map(|r| dot(r, &g)).collect();
        close("G g", &get(&e, LAST, at, "G g"), &gg, 1e-9);
        assert!(gg.iter().any(|&d| d < 0.0), "the toy tasks conflict");
        let mut q = vec![0.0; 4];
        for i in 0..2 {
            for j in 0..2 {
                q[i * 2 + j] = dot(rows[i], rows[j]) + if i == j { eps } else { 0.0 };
            }
        }
        close("G Gᵀ + εI", &get(&e, LAST, at, "G Gᵀ + εI"), &q, 1e-9);
        let v = get(&e, LAST, at, "v*");
        for i in 0..2 {
            let mu = q[i * 2] * v[0] + q[i * 2 + 1] * v[1] + gg[i];
            assert!(v[i] >= margin - 1e-12, "primal: v {v:?}");
            assert!(mu >= -1e-9, "dual: mu {mu}");
            assert!(
                (mu * (v[i] - margin)).abs() <= 1e-9,
                "complementarity {mu} {v:?}"
            );
        }
        let g_tilde = get(&e, LAST, at, "g~");
        let want: Vec<f64> = (0..g.len())
            .map(|i| g[i] + v[0] * rows[0][i] + v[1] * rows[1][i])
            .collect();
        close("g~ = Gᵀ v* + g", &g_tilde, &want, 1e-6);
        let after: Vec<f64> = rows.iter().map(|r| dot(r, &g_tilde)).collect();
        close("G g~", &get(&e, LAST, at, "G g~"), &after, 1e-9);
    }
}

/// A few printed numbers, pinned (6 significant digits), so that a change to the toy problem,
/// the network or a method shows here.
#[test]
fn pinned_values() {
    let gem = run(MethodKind::Gem.defaults());
    close(
        "GEM v*",
        &get(&gem, LAST, Stage::Step(1), "v*"),
        &PIN_GEM_V,
        1e-4,
    );
    let ewc = run(MethodKind::Ewc.defaults());
    let f = get(&ewc, LAST - 1, Stage::End, "F_t");
    pinned("EWC F_t fc.b", &f[8..12], &PIN_EWC_FC_B);
    let si = run(MethodKind::Si.defaults());
    let big = get(&si, LAST - 1, Stage::End, "Ω");
    pinned("SI Ω head.b", &big[big.len() - 6..], &PIN_SI_HEAD_B);
    let lwf = run(MethodKind::Lwf.defaults());
    let kd = numbers(&all(&lwf, LAST, Stage::Step(2), "KD")[0].value);
    pinned("LwF KD", &kd, &PIN_LWF_KD);
}

/// Agreement to the 6 printed digits (relative: the KD term is ~1e-6).
fn pinned(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 1e-5 * w.abs(), "{what}: {g} vs {w}");
    }
}

const PIN_GEM_V: [f64; 2] = [6.75042e-1, 7.17825e-1];
const PIN_EWC_FC_B: [f64; 4] = [2.85076e-3, 6.49526e-2, 7.82561e-2, 2.21643e-2];
const PIN_SI_HEAD_B: [f64; 6] = [
    1.46762e-1, 1.38530e-1, 1.39766e-1, 1.38390e-1, 6.89751e-2, 4.96618e-2,
];
const PIN_LWF_KD: [f64; 1] = [2.12107e-6];

#[test]
fn every_method_regime_and_layout_explains_and_shows_only_trainable_entries() {
    for m in MethodKind::ALL {
        for r in ["R1", "R3", "R5"] {
            for head in HeadLayout::ALL {
                let e = explain(&m.defaults(), r.parse().unwrap(), head)
                    .unwrap_or_else(|err| panic!("{m} {r} {head}: {err}"));
                let text = render(&e, false);
                assert!(text.contains("== task 3, step 2 =="), "{m} {r} {head}");
                let m_entry = all(&e, LAST, Stage::Start, "m");
                let Value::Text(names) = &m_entry[0].value else {
                    panic!("m is text")
                };
                // Nothing is printed for a parameter the last task does not train.
                for x in e.entries.iter().filter(|x| x.task == LAST) {
                    if let Value::Params { ranges, .. } = &x.value {
                        for id in e.params.ids() {
                            let info = e.params.info(id);
                            let shown = ranges.iter().any(|r| r.contains(&info.range.start));
                            let trained = names.split(", ").any(|n| n == info.name);
                            assert!(
                                !shown || trained,
                                "{m} {r} {head}: {} shows {}",
                                x.name,
                                info.name
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn the_command_prints_the_qp_and_rejects_a_stray_flag() {
    let bin = env!("CARGO_BIN_EXE_regimebench");
    let out = std::process::Command::new(bin)
        .args(["explain", "--method", "gem", "--regime", "R1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for name in [
        "G [2 x ",
        "G g [1 x 2]",
        "violated:",
        "G Gᵀ + εI",
        "v* [1 x 2]",
        "KKT:",
        "G g~",
    ] {
        assert!(text.contains(name), "no {name} in\n{text}");
    }
    let out = std::process::Command::new(bin)
        .args(["explain", "--method", "gem", "--ewc-lambda", "3"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ewc-lambda"), "{err}");
}
