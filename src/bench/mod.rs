//! Benchmarks that need the library's insides: one training step ([`StepBench`], shared by
//! `cargo bench` and `regimebench bench`) and the cost of each continual-learning method relative
//! to naive fine-tuning (`regimebench bench methods`): the timing decorator and the target
//! arithmetic ([`cost`]), the interleaved measurement ([`grid`]) and its table ([`summary`]).

pub mod cost;
pub mod grid;
mod step;
pub mod summary;

pub use cost::{HookTimes, Spread, Timed};
pub use grid::{measure, CostGrid, CostOptions, CostRun};
pub use step::StepBench;
pub use summary::{summarize, CostSummary, Target};
