//! The `run` subcommand: flags -> validated `RunConfig` -> one run -> summary and JSON result.

use indicatif::{ProgressBar, ProgressStyle};
use regimebench::data::DatasetId;
use regimebench::heads::HeadLayout;
use regimebench::nn::Preset;
use regimebench::regime::Regime;
use regimebench::run::{self, defaults, RunConfig, RunResult};
use std::path::PathBuf;

/// Flags of `regimebench run`. Unset flags take the protocol's defaults (PROTOCOL section 4), which
/// live in `regimebench::run::defaults` and `RunConfig::defaults`; the library checks every value.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Dataset to split into tasks (5 x 2 classes; CIFAR-100: 10 x 10).
    #[arg(long, value_enum)]
    dataset: DatasetId,
    /// Trainable groups after the first task: R1 (head only) .. R5 (all), or a list such as
    /// `conv3,fc,head` (groups: conv1, conv2, conv3, fc, head, or G1..G5).
    #[arg(long, default_value = "R5", value_parser = parse_regime)]
    regime: Regime,
    /// A custom regime: the trainable groups after the first task, e.g. `conv3,fc,head` (same as
    /// giving the list to --regime).
    #[arg(long, conflicts_with = "regime", value_parser = parse_groups)]
    trainable: Option<Regime>,
    #[command(flatten)]
    method: super::method::MethodArgs,
    /// Class order: 0 is the natural order, o >= 1 a permutation seeded by o.
    #[arg(long, default_value_t = defaults::ORDER)]
    order: u64,
    /// Seed of the init, the shuffles and the subsets.
    #[arg(long, default_value_t = defaults::SEED)]
    seed: u64,
    /// Head layout: `global`, one head over all C classes of the dataset trained with the C-way
    /// cross-entropy, each task evaluated by arg-max over its own k outputs (the study's
    /// task-incremental setting); `shared`, one k-way head for every task (classes relabelled);
    /// `multi`, one k-way head per task (head-only training cannot forget: the control).
    #[arg(long, value_enum, default_value_t = HeadLayout::default())]
    head: HeadLayout,
    /// Network preset (default: small for the MNIST family, cifar for CIFAR-100).
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// resnet18's base width nf (default 64, the study's ResNet-18; 20 is the "reduced" ResNet-18
    /// of the GEM paper). Only with `--preset resnet18`.
    #[arg(long)]
    width: Option<usize>,
    /// Apply the regime from task 1 too (by default task 1 trains the whole network).
    #[arg(long)]
    regime_from_first_task: bool,
    /// SGD learning rate eta.
    #[arg(long, default_value_t = defaults::LR)]
    lr: f32,
    /// SGD momentum (masked like the step, restarted at every task; 0 = off).
    #[arg(long, default_value_t = 0.0)]
    momentum: f32,
    /// Weight decay (masked like the step; 0 = off).
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f32,
    /// Minibatch size.
    #[arg(long, default_value_t = defaults::BATCH)]
    batch: usize,
    /// Epochs per task (default: 1 for the MNIST family, 5 for CIFAR-100).
    #[arg(long)]
    epochs: Option<usize>,
    /// Train on N images per task (N/k per class, class-balanced, seeded) for quick runs.
    #[arg(long)]
    train_per_task: Option<usize>,
    /// Evaluate on N images per task (N/k per class).
    #[arg(long)]
    test_per_task: Option<usize>,
    /// For a dataset that has only its official test split (KMNIST here): carve train and test
    /// from it by a seeded, class-balanced 80/20 split. The result says so.
    #[arg(long)]
    train_from_test_split: bool,
    /// Recompute the frozen prefix on every step instead of caching it (same results, slower).
    #[arg(long)]
    no_prefix_cache: bool,
    /// Worker threads (results are bit-identical for any count). Default: all cores.
    #[arg(long)]
    threads: Option<usize>,
    /// Data root searched first (then $REGIMEBENCH_DATA, the cache, /usr/share/datasets, ../shared/data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Where to write the JSON result (default:
    /// results/<dataset>-<regime>-<method>-<head>-o<order>-s<seed>.json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

pub fn parse_regime(s: &str) -> Result<Regime, String> {
    s.parse()
}

fn parse_groups(s: &str) -> Result<Regime, String> {
    Regime::custom(s)
}

impl RunArgs {
    /// The config these flags describe; the library checks it ([`RunConfig::validate`]).
    fn config(&self) -> anyhow::Result<RunConfig> {
        let regime = self
            .trainable
            .clone()
            .unwrap_or_else(|| self.regime.clone());
        let mut cfg = RunConfig::defaults(self.dataset, regime);
        cfg.method = self.method.config()?;
        cfg.order = self.order;
        cfg.train.seed = self.seed;
        cfg.train.head = self.head;
        let preset = self.preset.unwrap_or(cfg.train.preset);
        cfg.train.set_network(preset, self.width);
        cfg.train.regime_from_first_task = self.regime_from_first_task;
        cfg.train.sgd.lr = self.lr;
        cfg.train.sgd.momentum = self.momentum;
        cfg.train.sgd.weight_decay = self.weight_decay;
        cfg.train.batch = self.batch;
        if let Some(e) = self.epochs {
            cfg.train.epochs = e;
        }
        cfg.train.cache_prefix = !self.no_prefix_cache;
        cfg.train_per_task = self.train_per_task;
        cfg.test_per_task = self.test_per_task;
        cfg.train_from_test_split = self.train_from_test_split;
        if let Some(t) = self.threads {
            cfg.threads = t;
        }
        cfg.data_dir = self.data_dir.clone();
        Ok(cfg)
    }

    fn out_path(&self, cfg: &RunConfig) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            let regime = cfg.train.regime.name.replace(',', "+");
            PathBuf::from(format!(
                "results/{}-{regime}-{}-{}-o{}-s{}.json",
                cfg.dataset,
                cfg.method.kind(),
                cfg.train.head,
                cfg.order,
                cfg.train.seed
            ))
        })
    }
}

/// Runs one configuration, prints its summary and writes its JSON result atomically.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let cfg = args.config()?;
    let out = args.out_path(&cfg);
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "task {prefix} [{bar:30}] {pos}/{len} steps, loss {msg} ({per_sec}, eta {eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let mut current = usize::MAX;
    let mut progress = |task: usize, step: usize, steps: usize, loss: f32| {
        if task != current {
            current = task;
            bar.reset();
            bar.set_length(steps as u64);
            bar.set_prefix(format!("{}", task + 1));
        }
        bar.set_position(step as u64);
        if step.is_multiple_of(10) || step == steps {
            bar.set_message(format!("{loss:.4}"));
        }
    };
    let result = run::execute(&cfg, &mut progress)?;
    bar.finish_and_clear();
    print_summary(&result);
    run::write_atomically(&out, &serde_json::to_vec_pretty(&result)?)?;
    println!("result: {}", out.display());
    Ok(())
}

fn print_summary(r: &RunResult) {
    let c = &r.config;
    println!(
        "{} | regime {} | {} | order {} | seed {} | {} head ({} x {} outputs) | isa {} | {:.1} s",
        c.dataset,
        c.train.regime,
        c.method.kind(),
        c.order,
        c.train.seed,
        r.heads.layout,
        r.heads.layers,
        r.heads.outputs_per_layer,
        r.isa,
        r.wall_seconds
    );
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    for note in &r.data.notes {
        println!("note: {note}");
    }
    println!("accuracy A[i][j] (row: after task i, column: task j)");
    for (i, row) in r.accuracy.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|a| format!("{:6.2}", 100.0 * a)).collect();
        println!("  after {:>2}: {}", i + 1, cells.join(" "));
    }
    let s = &r.summary;
    let f = s
        .forgetting
        .as_ref()
        .map_or("n/a".into(), |f| format!("{:.2}", 100.0 * f.mean));
    let b = s.bwt.map_or("n/a".into(), |b| format!("{:.2}", 100.0 * b));
    println!("ACC {:.2}%  forgetting {f}%  BWT {b}%", 100.0 * s.acc);
    let u: Vec<String> = r
        .update_norms
        .per_task
        .iter()
        .map(|u| format!("{u:.3}"))
        .collect();
    println!(
        "update norms u_t: {}  drift U: {:.3}",
        u.join(" "),
        r.update_norms.drift.unwrap_or(0.0)
    );
}
