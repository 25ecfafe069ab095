//! Every dataset in ../shared/data trains under every regime R1..R5 and every head layout (tiny
//! class-balanced subsets: this checks wiring, not accuracy).

mod support;

use regimebench::data::{self, DataOptions, DatasetId};
use regimebench::heads::HeadLayout;
use regimebench::regime::Regime;
use regimebench::run::{execute_on, RunConfig};
use std::path::PathBuf;
use std::time::Instant;

#[test]
fn every_dataset_every_regime_every_head_layout() {
    let Some(root) = support::shared_data() else {
        return;
    };
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("regimebench-data-cache");
    for id in [
        DatasetId::Mnist,
        DatasetId::FashionMnist,
        DatasetId::Kmnist,
        DatasetId::Cifar100,
    ] {
        let mut opts = DataOptions::isolated(&root, &cache);
        opts.train_from_test_split = id == DatasetId::Kmnist;
        let ds = data::load(id, &opts).unwrap_or_else(|e| panic!("{id}: {e}"));
        if id == DatasetId::Kmnist {
            // A dataset split with one seed refuses a run of another.
            let mut other = RunConfig::defaults(id, Regime::depth(1));
            other.train_from_test_split = true;
            other.train.seed = 1;
            let err = execute_on(&other, &ds, &mut |_, _, _, _| {}, Instant::now()).unwrap_err();
            assert!(err.to_string().contains("split 80/20 with seed 0"), "{err}");
        }
        let k = id.classes_per_task();
        for d in 1..=5 {
            for head in HeadLayout::ALL {
                let mut cfg = RunConfig::defaults(id, Regime::depth(d));
                cfg.train.head = head;
                cfg.train.epochs = 1;
                cfg.train_from_test_split = opts.train_from_test_split;
                cfg.train_per_task = Some(4 * k);
                cfg.test_per_task = Some(2 * k);
                let r = execute_on(&cfg, &ds, &mut |_, _, _, _| {}, Instant::now())
                    .unwrap_or_else(|e| panic!("{id} R{d} {head:?}: {e:#}"));
                let t = id.tasks();
                assert_eq!(
                    (r.accuracy.len(), r.accuracy[0].len()),
                    (t, t),
                    "{id} R{d} {head:?}"
                );
                assert!(r.accuracy.iter().flatten().all(|a| (0.0..=1.0).contains(a)));
                assert_eq!(r.data.train_from_test_split, id == DatasetId::Kmnist);
                assert_eq!((r.heads.layout, r.heads.classes), (head, id.classes()));
            }
        }
    }
}
