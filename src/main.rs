//! `regimebench`: parse the command line, run it, print the error chain on failure.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let result = check_isa_env().and_then(|()| match args.command {
        cli::Command::Run(a) => cli::run::run(*a),
        cli::Command::Explain(a) => cli::explain::run(a),
        cli::Command::Data(c) => cli::data::run(c),
        cli::Command::Bench(a) => cli::bench::run(a),
        cli::Command::Sweep(a) => cli::sweep::run(*a),
        cli::Command::Report(a) => cli::report::run(a),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `REGIMEBENCH_ISA` picks the kernel path; a bad value is an error here, before any kernel runs.
fn check_isa_env() -> anyhow::Result<()> {
    use regimebench_kernels::Isa;
    let Ok(name) = std::env::var("REGIMEBENCH_ISA") else {
        return Ok(());
    };
    match Isa::parse(&name) {
        Some(isa) if isa.is_available() => Ok(()),
        Some(isa) => anyhow::bail!("REGIMEBENCH_ISA={name}: this CPU cannot run the {isa} path"),
        None => anyhow::bail!("REGIMEBENCH_ISA={name}: expected one of avx512, avx2-fma, portable"),
    }
}
