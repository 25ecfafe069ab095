//! Task 1's steps, shared between the runs of a sweep.
//!
//! Unless `regime_from_first_task` is set, task 1 trains the whole network whatever the regime,
//! and a method whose hooks change nothing before its first task ends (naive, EWC, LwF and GEM;
//! [`crate::run::MethodConfig::plain_first_task`]) trains it as plain SGD. So every such run of one
//! dataset, class order, seed, network and SGD setting reaches the same θ after task 1's steps, bit
//! for bit: the first of them to get there keeps that θ in a [`FirstTask`], and the others start
//! from it. Each run still calls its method's `begin_task` and `end_task` of task 1 itself (EWC's
//! Fisher and GEM's memory depend on the regime), and evaluates it itself.

use crate::error::Result;
use crate::params::ParamStore;
use std::sync::OnceLock;

/// θ (with the network's buffers) after task 1's steps, and how many steps those were.
struct Snapshot {
    params: ParamStore,
    steps: usize,
}

/// Task 1's steps of one group of runs that share them: empty until the first run trains them.
#[derive(Default)]
pub struct FirstTask(OnceLock<Option<Snapshot>>);

impl FirstTask {
    pub fn new() -> FirstTask {
        FirstTask::default()
    }

    /// Brings `p` (θ before task 1) to θ after task 1's steps and returns their count: copied from
    /// the run that trained them first, or trained here by `train` (which trains `p` in place and
    /// returns its step count), kept for the runs after. A run that finds another training them
    /// waits for it. A failed training is not kept: the next run trains its own and fails as this
    /// one did.
    pub(super) fn steps(
        &self,
        p: &mut ParamStore,
        train: &mut dyn FnMut(&mut ParamStore) -> Result<usize>,
    ) -> Result<Shared> {
        let mut trained_here = None;
        let kept = self.0.get_or_init(|| {
            let r = train(p);
            let kept = (r.as_ref().ok()).map(|&steps| Snapshot {
                params: p.clone(),
                steps,
            });
            trained_here = Some(r);
            kept
        });
        if let Some(r) = trained_here {
            return r.map(Shared::TrainedHere);
        }
        match kept {
            Some(s) => {
                p.clone_from(&s.params);
                Ok(Shared::Copied(s.steps))
            }
            None => train(p).map(Shared::TrainedHere),
        }
    }
}

/// Where a run's task-1 steps came from, with their count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shared {
    TrainedHere(usize),
    Copied(usize),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::params::Group;

    fn store() -> ParamStore {
        let mut p = ParamStore::new();
        p.add("w", Group::G1, &[3]);
        p
    }

    /// Task 1's "training": θ += 1 per step, three steps; or a failure.
    fn steps(fail: bool, calls: &mut usize) -> impl FnMut(&mut ParamStore) -> Result<usize> + '_ {
        move |p| {
            *calls += 1;
            if fail {
                return Err(Error::Config("diverged".into()));
            }
            p.flat_mut().iter_mut().for_each(|x| *x += 3.0);
            Ok(3)
        }
    }

    #[test]
    fn the_first_run_trains_and_the_next_copy_without_training() {
        let (first, mut calls) = (FirstTask::new(), 0);
        let mut p = store();
        let got = first.steps(&mut p, &mut steps(false, &mut calls)).unwrap();
        assert_eq!((got, p.flat()), (Shared::TrainedHere(3), &[3.0; 3][..]));
        let mut q = store();
        let got = first.steps(&mut q, &mut steps(false, &mut calls)).unwrap();
        assert_eq!((got, q.flat()), (Shared::Copied(3), &[3.0; 3][..]));
        assert_eq!(calls, 1, "the second run trained nothing");
    }

    #[test]
    fn a_failed_task_1_is_not_kept_and_the_next_run_trains_its_own() {
        let (first, mut calls) = (FirstTask::new(), 0);
        let mut p = store();
        assert!(first.steps(&mut p, &mut steps(true, &mut calls)).is_err());
        let mut q = store();
        let got = first.steps(&mut q, &mut steps(false, &mut calls)).unwrap();
        assert_eq!((got, q.flat()), (Shared::TrainedHere(3), &[3.0; 3][..]));
        assert_eq!(calls, 2);
    }
}
