//! The `explain` subcommand: a method's every intermediate on the toy tasks, printed.

use regimebench::explain;
use regimebench::heads::HeadLayout;
use regimebench::regime::Regime;

/// Flags of `regimebench explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    #[command(flatten)]
    method: super::method::MethodArgs,
    /// Trainable groups after the first task: R1 (head only) .. R5 (all), or a list such as
    /// `fc,head`.
    #[arg(long, default_value = "R2", value_parser = super::run::parse_regime)]
    regime: Regime,
    /// Head layout (see `regimebench run --help`).
    #[arg(long, value_enum, default_value_t = HeadLayout::default())]
    head: HeadLayout,
    /// Print every task's steps and switches, not only the last switch and the steps after it.
    #[arg(long)]
    all: bool,
}

pub fn run(a: ExplainArgs) -> anyhow::Result<()> {
    let method = a.method.config()?;
    let e = explain::explain(&method, a.regime, a.head)?;
    print!("{}", explain::render(&e, a.all));
    Ok(())
}
