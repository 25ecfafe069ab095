//! The command line: `run` (one run of the study), `data` (status, fetch), `bench`
//! (training-step throughput) and `report` (a results directory into tables and plots).

pub mod bench;
pub mod data;
pub mod method;
pub mod report;
pub mod run;

/// How the fine-tuning regime changes which continual-learning method wins: train a small CNN on a
/// sequence of tasks, with only some layer groups trainable after the first task, and measure
/// accuracy, forgetting and update magnitudes. See PROTOCOL.md for every equation.
#[derive(clap::Parser, Debug)]
#[command(name = "regimebench", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Train one run (dataset x regime x method x order x seed) and write its JSON result.
    Run(Box<run::RunArgs>),
    /// Inspect or download datasets.
    #[command(subcommand)]
    Data(data::DataCmd),
    /// Time training steps (images/second) of each preset on 1 and all threads.
    Bench(bench::BenchArgs),
    /// Aggregate a directory of run results into report.md, CSV tables and plots.
    Report(report::ReportArgs),
}
