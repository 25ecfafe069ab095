//! The `data` subcommand's parsing and its `run`, compiled here from src/cli/data.rs (the binary wires
//! the same file into main.rs).

#[path = "../src/cli/data.rs"]
mod data_cli;
mod data_common;

use clap::Parser;
use data_cli::DataCmd;

#[derive(Parser, Debug)]
struct Cli {
    #[command(subcommand)]
    cmd: DataCmd,
}

#[test]
fn parses_status_and_fetch() {
    let c = Cli::try_parse_from(["x", "status", "mnist", "cifar100", "--data-dir", "/d"]).unwrap();
    match c.cmd {
        DataCmd::Status {
            datasets, data_dir, ..
        } => {
            assert_eq!(datasets.len(), 2);
            assert_eq!(data_dir.unwrap(), std::path::PathBuf::from("/d"));
        }
        other => panic!("{other:?}"),
    }
    let c = Cli::try_parse_from([
        "x",
        "fetch",
        "fashion-mnist",
        "kmnist",
        "qmnist",
        "--mirror",
        "http://m",
    ])
    .unwrap();
    assert!(matches!(c.cmd, DataCmd::Fetch { ref datasets, .. } if datasets.len() == 3));
    assert!(
        Cli::try_parse_from(["x", "fetch"]).is_err(),
        "fetch needs a dataset"
    );
    assert!(Cli::try_parse_from(["x", "fetch", "svhn"]).is_err());
}

#[test]
fn status_runs_on_a_small_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    data_common::write_mnist_dir(tmp.path(), "mnist", 10, 10);
    let dir = tmp.path().to_str().unwrap();
    let cache = tmp.path().join("cache");
    let c = Cli::try_parse_from([
        "x",
        "status",
        "mnist",
        "--json",
        "--data-dir",
        dir,
        "--cache-dir",
        cache.to_str().unwrap(),
    ])
    .unwrap();
    data_cli::run(c.cmd).unwrap();
}

#[test]
fn fetch_reports_a_404_with_the_url() {
    let base = data_common::serve(Default::default());
    let tmp = tempfile::tempdir().unwrap();
    let c = Cli::try_parse_from([
        "x",
        "fetch",
        "qmnist",
        "--no-progress",
        "--mirror",
        &base,
        "--cache-dir",
        tmp.path().to_str().unwrap(),
    ])
    .unwrap();
    let e = format!("{:#}", data_cli::run(c.cmd).unwrap_err());
    assert!(
        e.contains("fetching qmnist")
            && e.contains("404")
            && e.contains("/qmnist/qmnist-train-images-idx3-ubyte.gz"),
        "{e}"
    );
}
