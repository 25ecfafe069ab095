//! Datasets: readers (IDX, CIFAR-100 binary), locating, checking and fetching files, task splits, batches.
//!
//! The training loop needs four calls:
//! `load(id, &opts)` → `Dataset`; `build_tasks(&ds, order, train_n, test_n, seed)` → `TaskSplit`;
//! `Normalizer::new(&ds.norm)`; then `normalizer.fill(&ds.train, &task.train, &positions, x, y)` per batch.

pub mod batch;
pub mod checksums;
pub mod cifar;
pub mod error;
pub mod fetch;
pub mod id;
pub mod idx;
pub mod load;
pub mod locate;
pub mod normalize;
pub mod open;
pub mod sources;
pub mod status;
pub mod tasks;
pub mod unpack;

pub use batch::Normalizer;
pub use checksums::Verdict;
pub use error::DataError;
pub use fetch::{fetch, FetchOptions};
pub use id::{DatasetId, FileRole, FileSpec};
pub use load::{load, Dataset, FileCheck, Provenance, Split};
pub use locate::{locate, DataOptions, Found};
pub use normalize::Norm;
pub use status::{status, DatasetStatus};
pub use tasks::{build_tasks, class_order, Task, TaskSet, TaskSplit};
