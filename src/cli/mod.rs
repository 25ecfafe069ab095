//! The command line: `run` (one run of the study), `explain` (a method's every intermediate on
//! a toy problem), `sweep` (a grid of runs), `report` (a results directory into tables and
//! plots), `data` (status, fetch) and `bench` (training-step throughput).

pub mod bench;
pub mod data;
pub mod explain;
pub mod method;
pub mod report;
pub mod run;
pub mod sweep;

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
    /// Print every intermediate of a method's equations (PROTOCOL section 5) on a toy problem
    /// small enough to check by hand: one task switch and one training step.
    Explain(explain::ExplainArgs),
    /// Inspect or download datasets.
    #[command(subcommand)]
    Data(data::DataCmd),
    /// Time training steps (images/second) of each preset on 1 and all threads.
    Bench(bench::BenchArgs),
    /// Train a grid of runs in parallel, one JSON each in the results directory; a restart skips
    /// finished runs.
    Sweep(Box<sweep::SweepArgs>),
    /// Aggregate a directory of run results into report.md, CSV tables and plots.
    Report(report::ReportArgs),
}
