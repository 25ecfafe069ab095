//! Tests across datasets: the verdicts of "grayscale sets are less depth-sensitive than
//! CIFAR-100", and setups: each dataset's default network is one setup (so that claim can compare
//! the grayscale sets with CIFAR-100), another network is a setup of its own, and a claim about a
//! dataset is listed only where that dataset could have been run.

use super::claims::Verdict;
use super::keys::Pool;
use super::tests::{claim, close, grid, report};
use super::Report;
use crate::data::DatasetId::{Cifar100, FashionMnist, Kmnist, Mnist, Qmnist};
use crate::nn::Preset;
use crate::run::{MethodKind, RunResult};
use std::collections::BTreeSet;

/// `runs` on `Preset::Resnet18` at width 20.
fn on_resnet18(mut runs: Vec<RunResult>) -> Vec<RunResult> {
    for r in &mut runs {
        r.config.train.preset = Preset::Resnet18;
        r.config.train.width = Some(20);
    }
    runs
}

/// The claims whose text starts with `claim`, as (scope name, verdict).
fn rows(r: &Report, claim: &str) -> Vec<(String, Verdict)> {
    r.claims
        .iter()
        .filter(|c| c.claim.starts_with(claim))
        .map(|c| (r.scope_name(c.scope), c.verdict))
        .collect()
}

/// MNIST and Fashion-MNIST moving 2 points from R1 to R5, CIFAR-100 losing 20 (two orders each),
/// all on their default networks.
fn gray_and_cifar() -> Vec<RunResult> {
    let mut runs = grid(Mnist, 2, &gray);
    runs.extend(grid(FashionMnist, 2, &gray));
    runs.extend(grid(Cifar100, 2, &cifar));
    runs
}

fn gray(reg: &str, _: MethodKind) -> f64 {
    if reg == "R1" {
        0.90
    } else {
        0.88
    }
}

fn cifar(reg: &str, _: MethodKind) -> f64 {
    if reg == "R1" {
        0.60
    } else {
        0.40
    }
}

#[test]
fn default_networks_are_one_setup_beside_another_network() {
    let mut runs = gray_and_cifar();
    runs.extend(on_resnet18(grid(Cifar100, 1, &cifar)));
    let r = report(runs);
    assert_eq!(
        r.labels.setups,
        vec![
            "train.preset=default".to_string(),
            "train.preset=resnet18, train.width=20".to_string()
        ]
    );
    // the grayscale sets and CIFAR-100 on their own networks are judged together
    assert_eq!(
        rows(&r, "grayscale sets are less depth-sensitive"),
        vec![(
            "pooled [train.preset=default]".to_string(),
            Verdict::Confirmed
        )]
    );
    // the resnet18 setup lists no claim about a dataset it did not run
    let other: Vec<&str> = r
        .claims
        .iter()
        .filter(|c| c.scope.setup == 1)
        .filter_map(|c| match c.scope.pool {
            Pool::Dataset(d) => Some(d.name()),
            Pool::All => None,
        })
        .collect();
    assert!(!other.is_empty());
    assert!(other.iter().all(|&d| d == "cifar100"), "{other:?}");
    // a setup of one dataset has no pooled cell, row or plot: it would repeat that dataset's
    let pools = |setup: usize| -> BTreeSet<Pool> {
        (r.cells.iter().map(|c| c.key.scope))
            .filter(|s| s.setup == setup)
            .map(|s| s.pool)
            .collect()
    };
    assert!(pools(0).contains(&Pool::All));
    assert_eq!(pools(1), BTreeSet::from([Pool::Dataset(Cifar100)]));
    assert!(r
        .claims
        .iter()
        .all(|c| c.scope.setup == 0 || c.scope.pool != Pool::All));
    let md = super::markdown::render(&r, &[]);
    assert!(!md.contains("pooled [train.preset=resnet18"), "{md}");
    // datasets that nothing ran appear once, as not testable, in the setup with the most runs
    let head_only = rows(&r, "head-only (R1): best method");
    for d in [Kmnist, Qmnist] {
        let name = format!("{} [train.preset=default]", d.name());
        let hits: Vec<_> = head_only
            .iter()
            .filter(|(s, _)| s.contains(d.name()))
            .collect();
        assert_eq!(hits, vec![&(name, Verdict::NotTestable)]);
    }
    // the inputs section still names each dataset's network
    assert!(
        md.contains("`train.preset=default` is each dataset's own network"),
        "{md}"
    );
}

#[test]
fn one_network_per_dataset_is_one_setup_with_plain_labels() {
    let acc = |_: &str, _| 0.8;
    let mut runs = grid(Mnist, 2, &acc);
    runs.extend(grid(Cifar100, 2, &acc));
    let r = report(runs);
    assert_eq!(r.labels.setups, vec![String::new()]);
    let preset = r.labels.common.iter().find(|(k, _)| k == "train.preset");
    assert_eq!(
        preset.map(|(_, v)| v.as_str()),
        Some("mnist=small / cifar100=cifar")
    );
    assert_eq!(
        r.scope_name(r.claims[0].scope),
        r.claims[0].scope.pool.name()
    );
}

#[test]
fn grayscale_against_cifar_verdicts() {
    let mut runs = gray_and_cifar();
    let r = report(runs.clone());
    let c = claim(&r, "grayscale sets are less depth-sensitive", Pool::All);
    assert_eq!(c.verdict, Verdict::Confirmed, "{c:?}");
    assert_eq!(c.runs, 36);
    let d = r.depth.iter().find(|d| d.dataset == Cifar100).unwrap();
    close(d.delta.unwrap().mean, -0.20, 1e-12);
    // a grayscale set as sensitive as CIFAR-100: contradicted
    let steep = |reg: &str, _| if reg == "R1" { 0.90 } else { 0.65 };
    runs.extend(grid(Kmnist, 2, &steep));
    let r = report(runs);
    let c = claim(&r, "grayscale sets are less depth-sensitive", Pool::All);
    assert_eq!(c.verdict, Verdict::Contradicted, "{c:?}");
    assert!(c.why.contains("kmnist"), "{}", c.why);
    // without CIFAR-100: not testable
    let r = report(grid(Mnist, 2, &gray));
    assert_eq!(
        claim(&r, "grayscale sets are less depth-sensitive", Pool::All).verdict,
        Verdict::NotTestable
    );
}
