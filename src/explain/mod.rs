//! `regimebench explain`: a method on a problem small enough to print in full. The `tiny` network
//! (a few dozen parameters, the study's five groups and ops) trains three toy tasks of two steps
//! each, the real training loop and the real method recording every intermediate under its name
//! in PROTOCOL ([`crate::trace`]); [`render`] prints the last task switch and the steps after it,
//! so that a reader can check each equation by hand.

mod print;
mod toy;

pub use print::render;
pub use toy::Toy;

use crate::data::DatasetId;
use crate::error::Result;
use crate::heads::{HeadLayout, Heads};
use crate::nn::{Cnn, Preset};
use crate::params::ParamStore;
use crate::regime::Regime;
use crate::run::{MethodConfig, RunConfig};
use crate::trace::{Entry, Trace};
use crate::train::{self, TaskSource, TrainConfig};

/// What `explain` ran and everything it recorded.
pub struct Explained {
    pub config: TrainConfig,
    pub method: MethodConfig,
    /// The network's parameters after the last task (their names and ranges label the entries).
    pub params: ParamStore,
    /// The recorded intermediates, in order.
    pub entries: Vec<Entry>,
    /// `acc[i][j]`: accuracy on the toy task j's two test images after task i.
    pub acc: Vec<Vec<f64>>,
}

/// The loop's settings for the toy tasks: `tiny`, two steps of four images per task, the protocol's SGD (η = 0.05, no momentum or decay), seed 0, the frozen-prefix cache.
pub fn toy_config(regime: Regime, head: HeadLayout) -> TrainConfig {
    let run = RunConfig::defaults(DatasetId::Mnist, regime);
    TrainConfig {
        preset: Preset::Tiny,
        head,
        batch: toy::BATCH,
        epochs: 1,
        cache_prefix: true,
        ..run.train
    }
}

/// Trains `method` on the toy tasks under `regime` and `head`, recording everything.
pub fn explain(method: &MethodConfig, regime: Regime, head: HeadLayout) -> Result<Explained> {
    method.validate()?;
    let config = toy_config(regime, head);
    let src = Toy;
    let classes: Vec<Vec<u16>> = (0..src.n_tasks()).map(|t| src.task_classes(t)).collect();
    let heads = Heads::new(head, src.n_classes(), &classes).map_err(crate::error::Error::Config)?;
    let mut params = ParamStore::new();
    let net = Cnn::for_heads(Preset::Tiny, &heads, &mut params);
    net.init(&mut params, config.seed);
    let mut m = method.build(config.sgd.lr, config.seed);
    let trace = Trace::on();
    let extras = train::Extras {
        trace: Some(&trace),
        first: None,
    };
    let trained = train::train_with(
        &config,
        &net,
        &mut params,
        &src,
        m.as_mut(),
        &mut |_, _, _, _| {},
        extras,
    )?;
    Ok(Explained {
        config,
        method: *method,
        params,
        entries: trace.into_entries(),
        acc: trained.acc,
    })
}
