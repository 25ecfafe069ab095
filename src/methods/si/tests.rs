//! SI driven through its hooks as `train`'s loop calls them, on quadratic minibatch losses
//! `L_k(θ) = ½ Σ_i a_i (θ_i − b_k,i)²` with plain SGD steps computed here, η = 0.25, c = 1, ξ = 0.1.
//! Five entries: 2 and 4 are frozen in both tasks (NaN), 0 is trained in task 1 only (NaN in task 2).

use super::*;
use crate::heads::{HeadLayout, Heads};
use crate::params::Group;
use crate::trace::Trace;

const ETA: f32 = 0.25;
const N: usize = 5;
const THETA0: [f32; N] = [0.5, 0.0, f32::NAN, -1.0, f32::NAN];
const TRAIN1: [Range<usize>; 2] = [0..2, 3..4];
const TRAIN2: [Range<usize>; 2] = [1..2, 3..4];
/// Task 1: one loss for its three steps.
const A1: [f64; N] = [1.0, 6.0, 0.0, 1.5, 0.0];
const B1: [[f64; N]; 3] = [[-1.0, 1.0, 0.0, 0.5, 0.0]; 3];
/// Task 2: a target per minibatch. With one fixed quadratic ω cannot go negative from θ*; entry 1's
/// minibatches pull against the explicit penalty's overshoot (s ≈ 4.3 > 2) and make ω < 0.
const A2: [f64; N] = [0.0, 1.0, 0.0, 0.5, 0.0];
const B2: [[f64; N]; 3] = [
    [0.0, 2.125, 0.0, -1.0, 0.0],
    [0.0, 4.125, 0.0, -0.5, 0.0],
    [0.0, -0.875, 0.0, -1.0, 0.0],
];

fn config(penalty_step: PenaltyStep) -> SiConfig {
    SiConfig {
        penalty_step,
        ..SiConfig::default()
    }
}

fn heads() -> Heads {
    Heads::new(HeadLayout::Shared, 2, &[vec![0, 1], vec![0, 1]]).unwrap()
}

fn store() -> ParamStore {
    let mut p = ParamStore::new();
    p.add("w", Group::G5, &[N]);
    p.flat_mut().copy_from_slice(&THETA0);
    p
}

fn in_ranges(i: usize, trainable: &[Range<usize>]) -> bool {
    trainable.iter().any(|r| r.contains(&i))
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 2e-5 * want.abs().max(1.0),
        "{what}: {got} vs {want}"
    );
}

/// One task of three steps through begin_task, adjust_grads, the SGD step, after_step and finish_task,
/// checking every hook's output against its equation on the way. Returns ω just before finish_task.
fn drive_task(
    si: &mut Si,
    p: &mut ParamStore,
    info: &TaskInfo,
    a: &[f64; N],
    b: &[[f64; N]; 3],
) -> Vec<f32> {
    let tr = info.trainable;
    let frozen_bits: Vec<u32> = p.flat().iter().map(|t| t.to_bits()).collect();
    si.begin_task(info, p);
    let (c, step) = (f64::from(si.config.c), si.config.penalty_step);
    for bk in b {
        // g = ∇L_k, zero outside the trainable ranges (as the tape leaves it).
        let g: Vec<f32> = (0..N)
            .map(|i| {
                if in_ranges(i, tr) {
                    (a[i] * (f64::from(p.flat()[i]) - bk[i])) as f32
                } else {
                    0.0
                }
            })
            .collect();
        let mut gt = g.clone();
        si.adjust_grads(info, p, &mut gt).unwrap();
        let (big_omega, star) = (si.big_omega.clone(), si.theta_star.clone());
        for i in 0..N {
            let want = match (in_ranges(i, tr), step) {
                (false, _) => 0.0,
                (true, PenaltyStep::Proximal) => f64::from(g[i]),
                (true, PenaltyStep::Explicit) => {
                    let dev = f64::from(p.flat()[i]) - f64::from(star[i]);
                    f64::from(g[i]) + 2.0 * c * f64::from(big_omega[i]) * dev
                }
            };
            close(f64::from(gt[i]), want, &format!("g~[{i}]"));
        }
        let before = p.flat().to_vec();
        for r in tr {
            for i in r.clone() {
                p.flat_mut()[i] -= ETA * gt[i];
            }
        }
        let theta_sgd = p.flat().to_vec();
        let omega_before = si.omega.clone();
        si.after_step(info, &before, p.flat_mut(), &gt);
        for i in 0..N {
            let theta = f64::from(p.flat()[i]);
            if !in_ranges(i, tr) {
                assert_eq!(
                    p.flat()[i].to_bits(),
                    frozen_bits[i],
                    "frozen θ[{i}] written"
                );
                assert_eq!(si.omega[i], 0.0, "frozen ω[{i}]");
                continue;
            }
            let s = f64::from(ETA) * 2.0 * c * f64::from(big_omega[i]);
            let want = match step {
                PenaltyStep::Proximal => {
                    (f64::from(theta_sgd[i]) + s * f64::from(star[i])) / (1.0 + s)
                }
                PenaltyStep::Explicit => f64::from(theta_sgd[i]),
            };
            close(theta, want, &format!("θ[{i}] after after_step"));
            // ω_i += −g_i δ_i with the task-loss g and δ the whole step (correction included).
            let inc = -f64::from(g[i]) * (theta - f64::from(before[i]));
            close(
                f64::from(si.omega[i] - omega_before[i]),
                inc,
                &format!("ω[{i}] increment"),
            );
        }
    }
    let omega = si.omega.clone();
    si.finish_task(info, p);
    assert!(si.omega.iter().all(|&o| o == 0.0), "ω = 0 after the task");
    let bits = |v: &[f32]| v.iter().map(|t| t.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&si.theta_star),
        bits(p.flat()),
        "the anchor becomes θ*_t"
    );
    omega
}

/// The f64 reference of both tasks, step by step (the trained entries only): ω per task, Ω after
/// each task.
fn reference(step: PenaltyStep) -> ([[f64; N]; 2], [[f64; N]; 2]) {
    let (eta, c, xi) = (f64::from(ETA), 1.0, f64::from(0.1f32));
    let mut theta: Vec<f64> = THETA0.iter().map(|&t| f64::from(t)).collect();
    let (mut star, mut big_omega) = (theta.clone(), [0.0; N]);
    let (mut omegas, mut big_omegas) = ([[0.0; N]; 2], [[0.0; N]; 2]);
    for (t, (a, b, tr)) in [(A1, B1, TRAIN1), (A2, B2, TRAIN2)].into_iter().enumerate() {
        let mut omega = [0.0; N];
        for bk in &b {
            for i in (0..N).filter(|&i| in_ranges(i, &tr)) {
                let g = a[i] * (theta[i] - bk[i]);
                let w = 2.0 * c * big_omega[i];
                let after = match step {
                    PenaltyStep::Explicit => theta[i] - eta * (g + w * (theta[i] - star[i])),
                    PenaltyStep::Proximal => {
                        (theta[i] - eta * g + eta * w * star[i]) / (1.0 + eta * w)
                    }
                };
                omega[i] += -g * (after - theta[i]);
                theta[i] = after;
            }
        }
        for i in (0..N).filter(|&i| in_ranges(i, &tr)) {
            let delta = theta[i] - star[i];
            big_omega[i] += omega[i] / (delta * delta + xi);
            star[i] = theta[i];
        }
        (omegas[t], big_omegas[t]) = (omega, big_omega);
    }
    (omegas, big_omegas)
}

/// Both tasks; entry 0 is set to NaN between them (frozen in task 2: never read).
fn run(step: PenaltyStep) -> (Si, Vec<f32>, Vec<f32>) {
    let (heads, mut p) = (heads(), store());
    let mut si = Si::new(config(step), ETA);
    let info = |task, trainable| TaskInfo {
        task,
        trainable,
        trainable_params: &[],
        heads: &heads,
        trace: Trace::off(),
    };
    let omega1 = drive_task(&mut si, &mut p, &info(0, &TRAIN1), &A1, &B1);
    p.flat_mut()[0] = f32::NAN;
    let omega2 = drive_task(&mut si, &mut p, &info(1, &TRAIN2), &A2, &B2);
    (si, omega1, omega2)
}

#[test]
fn task_one_omega_and_big_omega_are_their_closed_forms() {
    // Three plain-SGD steps on ½ a (θ − b)² from e0 = θ0 − b: e_k = r^k e0, r = 1 − η a,
    // g_k = a r^k e0, δ_k = −η g_k, so ω = η a² e0² (1 + r² + r⁴), Δ = (r³ − 1) e0, Ω = ω / (Δ² + ξ).
    let (heads, mut p) = (heads(), store());
    let mut si = Si::new(SiConfig::default(), ETA);
    let info = TaskInfo {
        task: 0,
        trainable: &TRAIN1,
        trainable_params: &[],
        heads: &heads,
        trace: Trace::off(),
    };
    let omega = drive_task(&mut si, &mut p, &info, &A1, &B1);
    let (eta, xi) = (f64::from(ETA), f64::from(0.1f32));
    for i in [0, 1, 3] {
        let (a, e0) = (A1[i], f64::from(THETA0[i]) - B1[0][i]);
        let r = 1.0 - eta * a;
        let w = eta * a * a * e0 * e0 * (1.0 + r * r + r.powi(4));
        let delta = (r.powi(3) - 1.0) * e0;
        close(f64::from(omega[i]), w, &format!("ω[{i}]"));
        close(
            f64::from(si.big_omega()[i]),
            w / (delta * delta + xi),
            &format!("Ω[{i}]"),
        );
    }
    assert_eq!(
        (si.big_omega()[2], si.big_omega()[4]),
        (0.0, 0.0),
        "Ω is zero where never trained"
    );
    assert!((omega[2], omega[4]) == (0.0, 0.0));
    assert_eq!(
        si.records(),
        [SiTaskRecord {
            task: 0,
            max_s: None,
            negative_big_omega: Some(0)
        }]
    );
}

#[test]
fn explicit_step_adds_2c_omega_dev_and_leaves_a_negative_big_omega_unclamped() {
    let (si, omega1, omega2) = run(PenaltyStep::Explicit);
    let (omegas, big_omegas) = reference(PenaltyStep::Explicit);
    for i in [0, 1, 3] {
        close(
            f64::from(omega1[i]),
            omegas[0][i],
            &format!("task 1 ω[{i}]"),
        );
        close(
            f64::from(omega2[i]),
            omegas[1][i],
            &format!("task 2 ω[{i}]"),
        );
        close(
            f64::from(si.big_omega()[i]),
            big_omegas[1][i],
            &format!("Ω[{i}]"),
        );
    }
    assert_eq!(omega2[0], 0.0, "entry 0 is frozen in task 2");
    assert!(
        big_omegas[1][1] < -1.0 && big_omegas[1][3] > 0.0,
        "the case is as designed"
    );
    let s1 = 0.5 * big_omegas[0][1]; // η · 2c · Ω_1 after task 1, the largest
    assert!(s1 > 2.0 && big_omegas[0][3] < big_omegas[0][1]);
    let rec = si.records();
    assert_eq!(rec.len(), 2);
    close(
        f64::from(rec[1].max_s.unwrap()),
        s1,
        "max s at task 2's start",
    );
    assert_eq!(
        rec[1].negative_big_omega,
        Some(1),
        "Ω_1 < 0 is counted, not clamped"
    );
}

#[test]
fn proximal_step_puts_its_correction_into_delta() {
    let (si, omega1, omega2) = run(PenaltyStep::Proximal);
    let (omegas, big_omegas) = reference(PenaltyStep::Proximal);
    for i in [0, 1, 3] {
        close(
            f64::from(omega1[i]),
            omegas[0][i],
            &format!("task 1 ω[{i}]"),
        );
        close(
            f64::from(omega2[i]),
            omegas[1][i],
            &format!("task 2 ω[{i}]"),
        );
        close(
            f64::from(si.big_omega()[i]),
            big_omegas[1][i],
            &format!("Ω[{i}]"),
        );
    }
    // The uncorrected δ = −η g would give ω = η Σ g², far from the corrected one.
    let explicit = reference(PenaltyStep::Explicit).0;
    assert!((omegas[1][1] - explicit[1][1]).abs() > 0.1);
    let negative = big_omegas[1].iter().filter(|&&o| o < 0.0).count();
    assert_eq!(si.records()[1].negative_big_omega, Some(negative));
    assert!(si.big_omega()[0].is_finite() && si.big_omega()[2] == 0.0);
}

#[test]
fn penalty_value_is_c_omega_dev_squared_and_config_has_the_protocols_constants() {
    let (si, _, _) = run(PenaltyStep::Proximal);
    let theta = [0.0, 2.0, f32::NAN, 1.0, f32::NAN];
    let want: f64 = [1, 3]
        .iter()
        .map(|&i| {
            let d = f64::from(theta[i]) - f64::from(si.theta_star()[i]);
            f64::from(si.big_omega()[i]) * d * d
        })
        .sum();
    close(si.penalty_value(&theta, &TRAIN2), want, "c Σ Ω (θ − θ*)²");
    let d = SiConfig::default();
    assert_eq!(
        (d.c, d.xi, d.penalty_step),
        (1.0, 0.1, PenaltyStep::Proximal)
    );
    assert!(d.validate().is_ok());
    assert!(SiConfig { xi: 0.0, ..d }.validate().is_err());
    assert!(Si::new(d, ETA).wants_step_delta());
}
