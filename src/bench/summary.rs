//! The cost table of `regimebench bench methods`: from a [`CostGrid`], each method's seconds as a
//! multiple of naive's (same regime, same round), EWC's Fisher in epochs of its task, GEM's memory
//! passes in images/s against naive's training steps, each with its target of issue 17, the
//! median over rounds and the range.

use super::cost::{fisher_target, gem_memory_per_step, gem_share, rate, Hook, Spread};
use super::grid::{CostGrid, CostRun};
use crate::error::{Error, Result};
use crate::regime::Regime;
use crate::run::{MethodConfig, MethodKind};

/// LwF's run costs at most this many naive runs.
pub const LWF_TARGET: f64 = 1.5;
/// SI's run costs at most this many naive runs.
pub const SI_TARGET: f64 = 1.1;
/// GEM's R1 run (memory passes head-only through the cache) costs at most this many naive runs.
pub const GEM_R1_TARGET: f64 = 2.0;

/// A bound on a median ratio and what it stands for.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Target {
    pub limit: f64,
    /// `limit` is a lower bound (images/s), else an upper bound (seconds).
    pub at_least: bool,
    /// Where the limit comes from, for the table ("share", "k+1", ...).
    pub what: String,
}

impl Target {
    fn at_most(limit: f64, what: impl Into<String>) -> Self {
        Target {
            limit,
            at_least: false,
            what: what.into(),
        }
    }

    /// Whether `value` is within the bound (NaN never is).
    pub fn met(&self, value: f64) -> bool {
        if self.at_least {
            value >= self.limit
        } else {
            value <= self.limit
        }
    }
}

/// One (regime, method): training seconds and the multiple of naive's.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RunRow {
    pub regime: String,
    pub method: MethodKind,
    pub seconds: Spread,
    pub x_naive: Spread,
    pub target: Option<Target>,
}

/// One EWC task: its Fisher (`end_task`) in epochs of the same task's naive training steps.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FisherRow {
    pub regime: String,
    /// 1-based.
    pub task: usize,
    pub fisher_seconds: Spread,
    /// One epoch of naive's steps on the task ([`CostRun::step_seconds`] over the epochs).
    pub epoch_seconds: Spread,
    pub x_epoch: Spread,
    pub target: Target,
}

/// One GEM regime: its memory passes against naive's training steps, and its run against its
/// arithmetic share.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct GemRow {
    pub regime: String,
    /// Memory images GEM passes in one run (all tasks).
    pub memory_images: usize,
    /// Memory images / seconds of `adjust_grads` (tasks 2.., which have memories; the QP and
    /// the dot products count as part of the memory passes).
    pub memory_rate: Spread,
    /// Naive's training images / seconds of its steps, tasks 2.. (the same part of the network).
    pub naive_rate: Spread,
    /// `memory_rate / naive_rate`; target at least 1.
    pub x_rate: Spread,
    pub rate_target: Target,
    /// [`gem_share`]: the run's seconds the arithmetic predicts, in naive runs.
    pub share: Spread,
    pub x_naive: Spread,
    pub target: Target,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CostSummary {
    pub runs: Vec<RunRow>,
    pub fisher: Vec<FisherRow>,
    pub gem: Vec<GemRow>,
}

/// The tables of `grid`. Every round must have a naive run of every regime measured.
pub fn summarize(grid: &CostGrid) -> Result<CostSummary> {
    let mut regimes: Vec<&Regime> = Vec::new();
    let mut methods: Vec<MethodKind> = Vec::new();
    for r in &grid.runs {
        if !regimes.contains(&&r.regime) {
            regimes.push(&r.regime);
        }
        if !methods.contains(&r.method.kind()) {
            methods.push(r.method.kind());
        }
    }
    let mut out = CostSummary {
        runs: Vec::new(),
        fisher: Vec::new(),
        gem: Vec::new(),
    };
    for regime in regimes {
        let naive: Vec<&CostRun> = (0..grid.rounds)
            .map(|round| {
                grid.find(round, regime, MethodKind::Naive).ok_or_else(|| {
                    Error::Metrics(format!(
                        "no naive run of {} in round {}: every ratio is against it",
                        regime.name,
                        round + 1
                    ))
                })
            })
            .collect::<Result<_>>()?;
        for &kind in &methods {
            let pairs: Vec<(&CostRun, &CostRun)> = (0..grid.rounds)
                .filter_map(|round| grid.find(round, regime, kind))
                .map(|m| (naive[m.round], m))
                .collect();
            if pairs.is_empty() {
                continue;
            }
            let x_naive = Spread::of(&map(&pairs, |(n, m)| m.seconds() / n.seconds()));
            let mut target = match kind {
                MethodKind::Lwf => Some(Target::at_most(LWF_TARGET, "lwf")),
                MethodKind::Si => Some(Target::at_most(SI_TARGET, "si")),
                _ => None,
            };
            if let MethodConfig::Ewc(c) = pairs[0].1.method {
                out.fisher.extend(fisher_rows(grid, regime, &pairs, |n| {
                    fisher_target(&c.fisher, grid.classes_per_task, grid.head_width, n)
                }));
            }
            if let MethodConfig::Gem(c) = pairs[0].1.method {
                let row = gem_row(grid, regime, &pairs, c.memory);
                target = Some(row.target.clone());
                out.gem.push(row);
            }
            out.runs.push(RunRow {
                regime: regime.name.clone(),
                method: kind,
                seconds: Spread::of(&map(&pairs, |(_, m)| m.seconds())),
                x_naive,
                target,
            });
        }
    }
    Ok(out)
}

fn map(pairs: &[(&CostRun, &CostRun)], f: impl Fn((&CostRun, &CostRun)) -> f64) -> Vec<f64> {
    pairs.iter().map(|&p| f(p)).collect()
}

/// EWC's `end_task` of each task over one epoch of naive's steps on it; `target` of a task's
/// training images.
fn fisher_rows(
    grid: &CostGrid,
    regime: &Regime,
    pairs: &[(&CostRun, &CostRun)],
    target: impl Fn(usize) -> f64,
) -> Vec<FisherRow> {
    let epochs = grid.epochs.max(1) as f64;
    (0..grid.train_images.len())
        .map(|t| {
            let fisher = map(pairs, |(_, m)| m.hooks.in_task(Hook::EndTask, t));
            let epoch = map(pairs, |(n, _)| n.step_seconds[t] / epochs);
            let ratio: Vec<f64> = fisher.iter().zip(&epoch).map(|(f, e)| f / e).collect();
            FisherRow {
                regime: regime.name.clone(),
                task: t + 1,
                fisher_seconds: Spread::of(&fisher),
                epoch_seconds: Spread::of(&epoch),
                x_epoch: Spread::of(&ratio),
                target: Target::at_most(target(grid.train_images[t]), "k+1"),
            }
        })
        .collect()
}

/// GEM's memory-pass rate against naive's step rate, and its run against its share.
fn gem_row(
    grid: &CostGrid,
    regime: &Regime,
    pairs: &[(&CostRun, &CostRun)],
    memory: usize,
) -> GemRow {
    let per_step = gem_memory_per_step(memory, &grid.train_images);
    let images: Vec<usize> = grid.train_images.iter().map(|&n| n * grid.epochs).collect();
    let later = 1..images.len().max(1);
    let memory_images = |gem: &CostRun| -> Vec<usize> {
        gem.steps
            .iter()
            .zip(&per_step)
            .map(|(s, m)| s * m)
            .collect()
    };
    let memory_rate = map(pairs, |(_, g)| {
        let adjust: f64 = later
            .clone()
            .map(|t| g.hooks.in_task(Hook::AdjustGrads, t))
            .sum();
        rate(memory_images(g).iter().sum(), adjust)
    });
    let naive_rate = map(pairs, |(n, _)| {
        rate(
            images[later.clone()].iter().sum(),
            n.step_seconds[later.clone()].iter().sum(),
        )
    });
    let x_rate: Vec<f64> = memory_rate
        .iter()
        .zip(&naive_rate)
        .map(|(m, n)| m / n)
        .collect();
    let share = Spread::of(&map(pairs, |(n, g)| {
        gem_share(n.seconds(), &n.step_seconds, &images, &memory_images(g))
    }));
    let target = if *regime == Regime::depth(1) && GEM_R1_TARGET < share.median {
        Target::at_most(GEM_R1_TARGET, "R1 2x")
    } else {
        Target::at_most(share.median, "share")
    };
    GemRow {
        regime: regime.name.clone(),
        memory_images: memory_images(pairs[0].1).iter().sum(),
        memory_rate: Spread::of(&memory_rate),
        naive_rate: Spread::of(&naive_rate),
        x_rate: Spread::of(&x_rate),
        rate_target: Target {
            limit: 1.0,
            at_least: true,
            what: "naive img/s".into(),
        },
        share,
        x_naive: Spread::of(&map(pairs, |(n, g)| g.seconds() / n.seconds())),
        target,
    }
}
