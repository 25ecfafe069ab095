//! A run's key: a hash of every config field that can change one of its numbers, which names its
//! result file; the hashed text is written into that file beside the result.
//!
//! The input is the run's serialized `RunConfig` (serde_json, keys sorted) minus the fields that
//! change no number: `threads` (results are bit-identical for any count), `train.cache_prefix`
//! (the frozen-prefix cache is bit-identical to recomputing) and `data_dir` (never serialized:
//! where the files are, not what they hold; the result records their checksums). The regimebench
//! version and the kernel path (`isa`) are not inputs either: they are recorded in every result,
//! and a results directory is meant for one build; after a change that moves numbers, sweep into a
//! new directory (or bump [`SCHEME`] to invalidate every key on purpose).

use crate::run::RunConfig;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Names the hashing scheme inside every hash input; changing the inputs means changing this.
pub const SCHEME: &str = "regimebench-sweep-1";

/// Hex digits of the hash in file names (the first 64 bits of the SHA-256).
pub const HASH_LEN: usize = 16;

/// A run's hash and the exact text it is the SHA-256 of.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunKey {
    /// [`HASH_LEN`] lowercase hex digits: the start of SHA-256(`input`).
    pub hash: String,
    /// `{"config":{..},"scheme":"regimebench-sweep-1"}`, compact JSON with sorted keys.
    pub input: String,
}

impl RunKey {
    pub fn of(cfg: &RunConfig) -> RunKey {
        let mut config = shortest(cfg);
        if let Some(c) = config.as_object_mut() {
            c.remove("threads");
            if let Some(t) = c.get_mut("train").and_then(Value::as_object_mut) {
                t.remove("cache_prefix");
            }
        }
        let input = json!({ "scheme": SCHEME, "config": config }).to_string();
        let digest = Sha256::digest(input.as_bytes());
        let hash = digest[..HASH_LEN / 2]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        RunKey { hash, input }
    }

    /// Whether `s` has the form of a hash (so other files in a results directory are ignored).
    pub fn is_hash(s: &str) -> bool {
        s.len() == HASH_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }
}

/// `v` as a JSON value whose floats print as they serialize (an f32 0.05 as `0.05`, where
/// `serde_json::to_value` would widen it to 0.05000000074505806).
pub(super) fn shortest<T: serde::Serialize>(v: &T) -> Value {
    let text = serde_json::to_string(v).expect("serializes");
    serde_json::from_str(&text).expect("serde_json reads what it writes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DatasetId;
    use crate::heads::HeadLayout;
    use crate::methods::EwcConfig;
    use crate::regime::Regime;
    use crate::run::MethodConfig;

    fn base() -> RunConfig {
        let mut c = RunConfig::defaults(DatasetId::Mnist, Regime::depth(3));
        c.method = MethodConfig::Ewc(EwcConfig::default());
        c.order = 4;
        c.train_per_task = Some(100);
        c.test_per_task = Some(50);
        c.threads = 1;
        c
    }

    #[test]
    fn the_hash_of_a_fixed_config_is_pinned() {
        // A change here means every existing results directory is re-run from scratch: bump
        // SCHEME and say so in the commit.
        let k = RunKey::of(&base());
        assert!(k
            .input
            .starts_with(r#"{"config":{"dataset":"mnist","method":{"fisher""#));
        assert!(k.input.ends_with(r#""scheme":"regimebench-sweep-1"}"#));
        assert!(!k.input.contains("threads") && !k.input.contains("cache_prefix"));
        assert_eq!(k.hash, "9a49ff76cbefd3b0");
        assert!(RunKey::is_hash(&k.hash));
        let sha = Sha256::digest(k.input.as_bytes());
        assert_eq!(format!("{sha:x}")[..HASH_LEN], k.hash);
    }

    #[test]
    fn only_fields_that_change_no_number_leave_the_hash_alone() {
        let h = |c: &RunConfig| RunKey::of(c).hash;
        let b = base();
        let mut same = b.clone();
        same.threads = 7;
        same.data_dir = Some("/elsewhere".into());
        same.train.cache_prefix = false;
        assert_eq!(h(&same), h(&b));
        type Edit = fn(&mut RunConfig);
        let edits: [Edit; 17] = [
            |c| c.dataset = DatasetId::FashionMnist,
            |c| c.method = MethodConfig::Naive,
            |c| {
                if let MethodConfig::Ewc(e) = &mut c.method {
                    e.lambda = 100.0
                }
            },
            |c| {
                if let MethodConfig::Ewc(e) = &mut c.method {
                    e.fisher.samples = 10
                }
            },
            |c| c.order = 5,
            |c| c.train.seed = 1,
            |c| c.train.regime = Regime::depth(4),
            |c| c.train.regime = Regime::custom("conv3,head").unwrap(),
            |c| c.train.head = HeadLayout::Multi,
            |c| c.train.regime_from_first_task = true,
            |c| c.train.sgd.lr = 0.050001,
            |c| c.train.sgd.momentum = 0.9,
            |c| c.train.sgd.weight_decay = 1e-4,
            |c| c.train.batch = 32,
            |c| c.train.epochs = 2,
            |c| c.train_per_task = Some(200),
            |c| c.train_from_test_split = true,
        ];
        let mut seen = vec![h(&b)];
        for edit in edits {
            let mut c = b.clone();
            edit(&mut c);
            let k = h(&c);
            assert!(!seen.contains(&k), "{}", RunKey::of(&c).input);
            seen.push(k);
        }
        let mut c = b.clone();
        c.test_per_task = None;
        assert!(!seen.contains(&h(&c)));
    }
}
