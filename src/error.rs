//! The library's one error type. Every fallible library call returns it; the CLI adds context
//! with `anyhow` and prints the chain.

use crate::data::DataError;
use crate::train::Diverged;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration no run can have (zero batch, a negative learning rate, a preset that does
    /// not fit the dataset, ...): the message names the field and the value.
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Diverged(#[from] Diverged),
    /// Where in a study an error happened (dataset, order, regime, method). Its message holds the
    /// inner error's (not a `source`, which a chain printer would print a second time).
    #[error("{run}: {error}")]
    InRun { run: String, error: Box<Error> },
    /// A method could not take its step (e.g. GEM's QP failed).
    #[error("{method}: {message}")]
    Method {
        method: &'static str,
        message: String,
    },
    /// The metrics of a run could not be computed from what training produced.
    #[error("computing the run's metrics: {0}")]
    Metrics(String),
    /// The report could not be built or written (a plot that failed to draw, the embedded font).
    #[error("writing the report: {0}")]
    Report(String),
    // The messages below hold their I/O or thread-pool error; it is not also their `source`,
    // which a chain printer (the CLI's `{:#}`) would print a second time.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("starting {threads} worker threads: {error}")]
    Threads {
        threads: usize,
        error: rayon::ThreadPoolBuildError,
    },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
