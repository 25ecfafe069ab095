//! regimebench: how the fine-tuning regime changes which continual-learning method wins.
//!
//! Dependencies point one way: `kernels <- tensor <- tape <- nn <- optim <- train <- run <- sweep <- main`;
//! `data`, `heads` and `metrics` stand beside them; `error` is the library's one error type.

pub mod bench;
pub mod data;
pub mod error;
pub mod explain;
pub mod heads;
pub mod methods;
pub mod metrics;
pub mod nn;
pub mod optim;
pub mod params;
pub mod regime;
pub mod report;
pub mod rng;
pub mod run;
pub mod sweep;
pub mod tape;
pub mod tensor;
pub mod trace;
pub mod train;

pub use error::{Error, Result};
