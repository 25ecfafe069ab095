//! The sweep's flags and TOML files: the same grid either way, strength lists, key errors.

use super::settings::file_keys;
use super::*;
use clap::Parser;
use std::collections::BTreeSet;

fn args(flags: &[&str]) -> SweepArgs {
    let mut all = vec!["regimebench", "sweep"];
    all.extend_from_slice(flags);
    match crate::cli::Cli::try_parse_from(all).unwrap().command {
        crate::cli::Command::Sweep(a) => *a,
        other => panic!("{other:?}"),
    }
}

fn hashes(a: &SweepArgs) -> Vec<String> {
    let g = match &a.config {
        Some(f) => a.grid.over_file(f).unwrap(),
        None => a.grid.clone(),
    };
    let points = g.grid(a.threads).unwrap().expand().unwrap();
    points.into_iter().map(|p| p.key.hash).collect()
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

const FLAGS: &[&str] = &[
    "--datasets=mnist,fashion-mnist",
    "--regimes=R1,conv3+head",
    "--methods=naive,ewc,si",
    "--orders=0,3",
    "--seeds=1",
    "--ewc-lambda=100,1000,5000",
    "--si-c=0.1,1",
    "--penalty-step=explicit",
    "--lr=0.02",
    "--train-per-task=100",
    "--head=multi",
    "--regime-from-first-task",
];

const TOML: &str = r#"
    datasets = ["mnist", "fashion-mnist"]
    regimes = ["R1", "conv3,head"]
    methods = ["naive", "ewc", "si"]
    orders = [0, 3]
    seeds = [1]
    ewc-lambda = [100, 1000, 5000]
    si-c = [0.1, 1]
    penalty-step = ["explicit"]
    lr = 0.02
    train-per-task = 100
    head = "multi"
    regime-from-first-task = true
"#;

#[test]
fn flags_and_a_toml_file_give_the_same_grid() {
    let from_flags = hashes(&args(FLAGS));
    // 2 datasets x 2 regimes x (1 naive + 3 ewc + 2 si) x 2 orders x 1 seed.
    assert_eq!(from_flags.len(), 2 * 2 * 6 * 2);
    let f = file(TOML);
    let from_file = hashes(&args(&["--config", f.path().to_str().unwrap()]));
    assert_eq!(from_file, from_flags);
    let overridden = hashes(&args(&[
        "--config",
        f.path().to_str().unwrap(),
        "--orders=7",
    ]));
    assert_eq!(overridden.len(), from_flags.len() / 2);
    assert!(overridden.iter().all(|h| !from_flags.contains(h)));
}

#[test]
fn strength_lists_multiply_only_their_method() {
    let a = args(&[
        "--datasets=mnist",
        "--regimes=R2",
        "--orders=0",
        "--ewc-lambda=1,2",
        "--gem-memory=8,16,32",
    ]);
    let g = a.grid.grid(1).unwrap();
    let kinds: Vec<&str> = g.methods.iter().map(|m| m.kind().name()).collect();
    assert_eq!(
        kinds,
        ["naive", "ewc", "ewc", "lwf", "si", "gem", "gem", "gem"]
    );
    let err = args(&["--methods=naive,lwf", "--si-c=1"])
        .grid
        .grid(1)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "--si-c does not apply to any of --methods naive,lwf"
    );
    assert!(args(&["--methods=si", "--penalty-step=explicit"])
        .grid
        .grid(1)
        .is_ok());
}

#[test]
fn an_unknown_or_mistyped_key_names_the_file_and_the_key() {
    let f = file("orders = [0]\newc_lambda = [1]\n");
    let err = args(&[]).grid.over_file(f.path()).unwrap_err().to_string();
    let name = f.path().display().to_string();
    assert!(
        err.starts_with(&format!(
            "{name}: unknown key `ewc_lambda` (did you mean `ewc-lambda`?)"
        )),
        "{err}"
    );
    let f = file("jobs = 3\n");
    let err = args(&[]).grid.over_file(f.path()).unwrap_err().to_string();
    assert!(err.contains("unknown key `jobs`"), "{err}");
    let f = file("orders = \"zero\"\n");
    let err = format!("{:#}", args(&[]).grid.over_file(f.path()).unwrap_err());
    let name = f.path().display().to_string();
    assert!(err.starts_with(&name) && err.contains("orders"), "{err}");
}

#[test]
fn every_grid_flag_is_a_file_key() {
    let serialized = serde_json::to_value(GridArgs::default()).unwrap();
    let keys: BTreeSet<String> = serialized.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, file_keys());
    assert!(keys.contains("ewc-lambda") && keys.contains("results") && !keys.contains("jobs"));
}

#[test]
fn nan_and_inf_in_a_file_or_beside_it_are_rejected_not_dropped() {
    // Merged as JSON these became null, "not given", and the default ran in their place.
    let grid_error = |a: &SweepArgs| {
        let g = a.grid.over_file(a.config.as_ref().unwrap()).unwrap();
        let e = g.grid(a.threads).unwrap().expand().unwrap_err();
        format!("{e:#}")
    };
    for (text, says) in [
        ("lr = nan\n", "lr must be a positive number, got NaN"),
        ("lr = inf\n", "lr must be a positive number, got inf"),
        (
            "ewc-lambda = [nan]\n",
            "ewc lambda must be a number >= 0, got NaN",
        ),
        (
            "gem-margin = [-inf]\n",
            "gem margin must be a number >= 0, got -inf",
        ),
    ] {
        let f = file(&format!("datasets = [\"mnist\"]\n{text}"));
        let path = f.path().to_str().unwrap();
        let err = grid_error(&args(&["--config", path]));
        assert!(err.contains(says), "{text}: {err}");
    }
    let f = file("datasets = [\"mnist\"]\n");
    let path = f.path().to_str().unwrap();
    let err = grid_error(&args(&["--config", path, "--lr=NaN"]));
    assert!(
        err.contains("lr must be a positive number, got NaN"),
        "{err}"
    );
}
