//! The axes of the report's tables: setup, dataset (or pooled), regime and method variant, and how
//! each run's config maps onto them.
//!
//! A *setup* is everything in a config except dataset, method, order, regime and seed (and the
//! fields that cannot change the numbers: threads, prefix cache, data directory); a *method
//! variant* is a method with its constants. Labels name only what varies inside the results
//! directory: with one head layout in every file the setup label is empty; with EWC at two
//! lambdas the variants are `ewc lambda=10` and `ewc lambda=5000`.

use crate::data::DatasetId;
use crate::run::{MethodKind, RunConfig};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// A dataset, or every dataset of a setup together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pool {
    Dataset(DatasetId),
    All,
}

impl Pool {
    pub fn name(self) -> &'static str {
        match self {
            Pool::Dataset(d) => d.name(),
            Pool::All => "pooled",
        }
    }
}

/// Which runs a table row covers: one setup (index into [`Labels::setups`]) and a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    pub setup: usize,
    pub pool: Pool,
}

/// A regime, ordered R1..R5 first, then custom sets by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegimeKey {
    /// d of Rd; 9 for a custom set.
    pub depth: u8,
    pub name: String,
}

impl RegimeKey {
    pub fn of(name: &str) -> RegimeKey {
        let depth = match name.as_bytes() {
            [b'R', d @ b'1'..=b'5'] => d - b'0',
            _ => 9,
        };
        RegimeKey {
            depth,
            name: name.to_string(),
        }
    }

    pub fn depth(d: u8) -> RegimeKey {
        RegimeKey::of(&format!("R{d}"))
    }
}

/// A method with its constants; `label` names the constants that vary in the directory.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    pub kind: MethodKind,
    pub label: String,
    /// The variant the rankings, norms, correlations and claims use for its method: the one with
    /// the protocol's constants if present, else the one with the most runs.
    pub primary: bool,
}

impl Ord for Variant {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.kind as usize)
            .cmp(&(o.kind as usize))
            .then_with(|| natural_cmp(&self.label, &o.label))
    }
}

impl PartialOrd for Variant {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Compares labels with their digit runs as numbers, so `lambda=20.0` sorts before
/// `lambda=100.0`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let b = s.as_bytes();
        for i in 1..=b.len() {
            if i == b.len() || b[i].is_ascii_digit() != b[start].is_ascii_digit() {
                out.push((b[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let o = match (x, y) {
            ((true, p), (true, q)) => {
                let (p, q) = (p.trim_start_matches('0'), q.trim_start_matches('0'));
                p.len().cmp(&q.len()).then_with(|| p.cmp(q))
            }
            ((_, p), (_, q)) => p.cmp(q),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    ca.len().cmp(&cb.len()).then_with(|| a.cmp(b))
}

/// Where one run (or failure) sits on the axes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    pub setup: usize,
    pub dataset: DatasetId,
    pub regime: RegimeKey,
    pub variant: Variant,
    pub order: u64,
    pub seed: u64,
}

/// The labels of every config in a directory.
#[derive(Clone, Debug, Default)]
pub struct Labels {
    /// Setup labels (`key=value, ...` of the setup fields that vary; empty if none does), sorted.
    pub setups: Vec<String>,
    /// Setup fields that take one value in every run of a dataset, for the report's inputs
    /// section: `value`, or `dataset=value, ...` when the datasets differ.
    pub common: Vec<(String, String)>,
    varying_setup: BTreeSet<String>,
    varying_method: BTreeMap<usize, BTreeSet<String>>,
    /// (setup, method kind index) -> primary variant label.
    primary: BTreeMap<(usize, usize), String>,
}

impl Labels {
    /// Labels for `configs` (every run and failure of the directory).
    pub fn new(configs: &[&RunConfig]) -> Labels {
        let raw: Vec<BTreeMap<String, String>> = configs.iter().map(|c| setup_fields(c)).collect();
        let setups: Vec<BTreeMap<String, String>> = configs
            .iter()
            .zip(&raw)
            .map(|(c, f)| with_default_preset(c, f.clone()))
            .collect();
        // a field splits setups only if it varies within one dataset: one that is fixed per
        // dataset (the preset, CIFAR-100's 5 epochs) describes the dataset, not a setup
        let mut per_dataset: BTreeMap<DatasetId, Vec<BTreeMap<String, String>>> = BTreeMap::new();
        for (c, s) in configs.iter().zip(&setups) {
            per_dataset.entry(c.dataset).or_default().push(s.clone());
        }
        let varying_setup: BTreeSet<String> =
            per_dataset.values().flat_map(|m| varying(m)).collect();
        let mut by_kind: BTreeMap<usize, Vec<BTreeMap<String, String>>> = BTreeMap::new();
        for c in configs {
            by_kind
                .entry(c.method.kind() as usize)
                .or_default()
                .push(method_fields(c));
        }
        let varying_method = by_kind.iter().map(|(&k, v)| (k, varying(v))).collect();
        let mut labels = Labels {
            varying_setup,
            varying_method,
            ..Labels::default()
        };
        let mut raw_per_dataset: BTreeMap<DatasetId, Vec<BTreeMap<String, String>>> =
            BTreeMap::new();
        for (c, f) in configs.iter().zip(raw) {
            raw_per_dataset.entry(c.dataset).or_default().push(f);
        }
        labels.common = common_fields(&raw_per_dataset, &labels.varying_setup);
        let names: BTreeSet<String> = configs.iter().map(|c| labels.setup_label(c)).collect();
        labels.setups = names.into_iter().collect();
        // primary variant per (setup, kind): protocol defaults, else the most runs, else the first label
        let mut counts: BTreeMap<(usize, usize), BTreeMap<String, (bool, usize)>> = BTreeMap::new();
        for c in configs {
            let kind = c.method.kind();
            let slot = counts
                .entry((labels.setup_index(c), kind as usize))
                .or_default()
                .entry(labels.variant_label(c))
                .or_insert((false, 0));
            slot.0 |= c.method == kind.defaults();
            slot.1 += 1;
        }
        for (key, variants) in counts {
            let best = variants
                .iter()
                .max_by(|a, b| (a.1 .0, a.1 .1).cmp(&(b.1 .0, b.1 .1)).then(b.0.cmp(a.0)))
                .map(|(l, _)| l.clone())
                .expect("at least one variant");
            labels.primary.insert(key, best);
        }
        labels
    }

    /// The axes of one config.
    pub fn tag(&self, c: &RunConfig) -> Tag {
        let setup = self.setup_index(c);
        let label = self.variant_label(c);
        let kind = c.method.kind();
        let primary = self.primary.get(&(setup, kind as usize)) == Some(&label);
        Tag {
            setup,
            dataset: c.dataset,
            regime: RegimeKey::of(&c.train.regime.name),
            variant: Variant {
                kind,
                label,
                primary,
            },
            order: c.order,
            seed: c.train.seed,
        }
    }

    /// Whether any method has more than one variant in the directory.
    pub fn method_constants_vary(&self, kind: MethodKind) -> bool {
        self.varying_method
            .get(&(kind as usize))
            .is_some_and(|v| !v.is_empty())
    }

    fn setup_label(&self, c: &RunConfig) -> String {
        join(
            &with_default_preset(c, setup_fields(c)),
            &self.varying_setup,
        )
    }

    fn setup_index(&self, c: &RunConfig) -> usize {
        let l = self.setup_label(c);
        self.setups.binary_search(&l).unwrap_or(0)
    }

    fn variant_label(&self, c: &RunConfig) -> String {
        let kind = c.method.kind();
        let none = BTreeSet::new();
        let vary = self.varying_method.get(&(kind as usize)).unwrap_or(&none);
        let consts = join(&method_fields(c), vary);
        if consts.is_empty() {
            kind.name().to_string()
        } else {
            format!("{} {consts}", kind.name())
        }
    }
}

/// The fields outside `varying`: their one value, or each dataset's value when they differ.
fn common_fields(
    per_dataset: &BTreeMap<DatasetId, Vec<BTreeMap<String, String>>>,
    varying: &BTreeSet<String>,
) -> Vec<(String, String)> {
    let keys: BTreeSet<&String> = per_dataset
        .values()
        .flat_map(|ms| ms.iter().flat_map(|m| m.keys()))
        .filter(|k| !varying.contains(*k))
        .collect();
    keys.into_iter()
        .map(|k| {
            let values: BTreeMap<DatasetId, &str> = per_dataset
                .iter()
                .filter_map(|(d, ms)| Some((*d, ms.first()?.get(k)?.as_str())))
                .collect();
            let distinct: BTreeSet<&str> = values.values().copied().collect();
            let text = if distinct.len() == 1 {
                distinct.into_iter().next().expect("one").to_string()
            } else {
                values
                    .iter()
                    .map(|(d, v)| format!("{d}={v}"))
                    .collect::<Vec<_>>()
                    .join(" / ")
            };
            (k.clone(), text)
        })
        .collect()
}

/// `key=value` of the keys in `keys` that `fields` has, comma-separated (a config without the
/// field, such as the width of a preset that has none, names nothing).
fn join(fields: &BTreeMap<String, String>, keys: &BTreeSet<String>) -> String {
    keys.iter()
        .filter_map(|k| Some(format!("{k}={}", fields.get(k)?)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Keys whose value is not the same in every map (a key missing from one map varies).
fn varying(maps: &[BTreeMap<String, String>]) -> BTreeSet<String> {
    let keys: BTreeSet<&String> = maps.iter().flat_map(|m| m.keys()).collect();
    keys.into_iter()
        .filter(|k| {
            let first = maps.first().and_then(|m| m.get(*k));
            maps.iter().any(|m| m.get(*k) != first)
        })
        .cloned()
        .collect()
}

/// The value of `train.preset` in setup labels for a run on its dataset's default network
/// (`small` for the MNIST family, `cifar` for CIFAR-100, at its own width).
pub const DEFAULT_PRESET: &str = "default";

/// `fields` ([`setup_fields`] of `c`) as the setups are told apart: a run on its dataset's
/// default network has `train.preset` [`DEFAULT_PRESET`], so that the grayscale sets on `small`
/// and CIFAR-100 on `cifar` stay one setup (the study's comparison across datasets) when a
/// directory also holds runs on another network.
fn with_default_preset(
    c: &RunConfig,
    mut out: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let default = RunConfig::defaults(c.dataset, c.train.regime.clone()).train;
    if c.train.preset == default.preset && c.train.width == default.width {
        out.insert("train.preset".into(), DEFAULT_PRESET.into());
    }
    out
}

/// Every field of a config but those of the report's other axes (dataset, method, order,
/// regime, seed) and those that change no number (threads, prefix cache, data directory).
fn setup_fields(c: &RunConfig) -> BTreeMap<String, String> {
    let mut v = serde_json::to_value(c).expect("a RunConfig serialises");
    if let Some(o) = v.as_object_mut() {
        for k in ["dataset", "method", "order", "threads", "data_dir"] {
            o.remove(k);
        }
        if let Some(t) = o.get_mut("train").and_then(Value::as_object_mut) {
            for k in ["regime", "seed", "cache_prefix"] {
                t.remove(k);
            }
        }
    }
    let mut out = BTreeMap::new();
    flatten("", &v, &mut out);
    out
}

fn method_fields(c: &RunConfig) -> BTreeMap<String, String> {
    let mut v = serde_json::to_value(c.method).expect("a MethodConfig serialises");
    if let Some(o) = v.as_object_mut() {
        o.remove("name");
    }
    let mut out = BTreeMap::new();
    flatten("", &v, &mut out);
    out
}

/// Nested objects as dotted keys; every other value as its JSON text (strings unquoted).
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        // an f32 field arrives as the f64 nearest it: print the shortest text of the f32
        Value::Number(n)
            if n.as_f64()
                .is_some_and(|f| !n.is_i64() && !n.is_u64() && f64::from(f as f32) == f) =>
        {
            let f = n.as_f64().expect("checked") as f32;
            out.insert(prefix.to_string(), format!("{f:?}"));
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}
