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
    /// Where in a study an error happened (dataset, order, regime, method).
    #[error("{run}: {source}")]
    InRun {
        run: String,
        #[source]
        source: Box<Error>,
    },
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
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("starting {threads} worker threads: {source}")]
    Threads {
        threads: usize,
        #[source]
        source: rayon::ThreadPoolBuildError,
    },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
