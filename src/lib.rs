//! regimebench: how the fine-tuning regime changes which continual-learning method wins.
//!
//! Dependencies point one way: `kernels <- tensor <- tape <- nn <- optim <- train <- main`;
//! `data` and `metrics` stand beside them.

pub mod bench;
pub mod data;
pub mod methods;
pub mod metrics;
pub mod nn;
pub mod optim;
pub mod params;
pub mod regime;
pub mod rng;
pub mod run;
pub mod tape;
pub mod tensor;
pub mod train;
