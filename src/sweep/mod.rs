//! Sweeps: a grid of runs (datasets x regimes x methods x orders x seeds), its keys and result
//! files, its shards, and the parallel runner that skips what the results directory already holds.
//!
//! `grid` expands the lists into validated `RunConfig`s; `hash` names each by a hash of what can
//! change its numbers; `store` reads and writes the results directory, the sweep's only state;
//! `cost` models what a run costs; `shard` cuts the grid into cost-balanced slices for several
//! machines (`slurm` writes the sbatch array script that runs them); `runner` runs the rest.

pub mod cost;
pub mod grid;
pub mod hash;
pub mod runner;
pub mod shard;
pub mod slurm;
pub mod store;

pub use cost::cost;
pub use grid::{present_datasets, Common, Grid, Point};
pub use hash::RunKey;
pub use runner::{plan, run, Event, Outcome, Plan};
pub use shard::Shard;
pub use store::{Failure, Place};
