//! The real files in ../shared/data (skipped with a note when absent): counts, per-class counts,
//! checksums of the decoded data, normalisation, `status`, and task splits for orders 0..=10.
//! CIFAR-100's xz is unpacked into a cache under the target dir at most once, ever.

mod data_common;

use std::sync::OnceLock;

use data_common::{check_split, shared_cache, shared_data};
use regimebench::data::{
    build_tasks, load, status, DataError, DataOptions, Dataset, DatasetId, Verdict,
};

const MNIST_TRAIN: [usize; 10] = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const MNIST_TEST: [usize; 10] = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

fn opts() -> Option<DataOptions> {
    shared_data().map(|d| DataOptions::isolated(d, shared_cache()))
}

fn loaded(id: DatasetId) -> Option<&'static Dataset> {
    static CELLS: [OnceLock<Option<Dataset>>; 5] = [const { OnceLock::new() }; 5];
    let i = DatasetId::ALL.iter().position(|&d| d == id).unwrap();
    CELLS[i]
        .get_or_init(|| {
            let mut o = opts()?;
            o.train_from_test_split = id == DatasetId::Kmnist;
            Some(load(id, &o).unwrap_or_else(|e| panic!("loading {id}: {e}")))
        })
        .as_ref()
}

fn all_checksums_ok(ds: &Dataset) {
    for f in &ds.provenance.files {
        assert!(
            matches!(f.checksum, Verdict::Ok { .. }),
            "{}: {:?}",
            f.path.display(),
            f.checksum
        );
    }
}

#[test]
fn mnist() {
    let Some(ds) = loaded(DatasetId::Mnist) else {
        return;
    };
    assert_eq!((ds.train.n, ds.test.n), (60_000, 10_000));
    assert_eq!(ds.train.class_counts(10), MNIST_TRAIN);
    assert_eq!(ds.test.class_counts(10), MNIST_TEST);
    assert_eq!(ds.provenance.files.len(), 4);
    all_checksums_ok(ds);
    // the well-known MNIST statistics
    assert!(
        (ds.norm.mean[0] - 0.1307).abs() < 1e-4 && (ds.norm.std[0] - 0.3081).abs() < 1e-4,
        "{:?}",
        ds.norm
    );
}

#[test]
fn fashion_mnist() {
    let Some(ds) = loaded(DatasetId::FashionMnist) else {
        return;
    };
    assert_eq!((ds.train.n, ds.test.n), (60_000, 10_000));
    assert_eq!(ds.train.class_counts(10), vec![6000; 10]);
    assert_eq!(ds.test.class_counts(10), vec![1000; 10]);
    all_checksums_ok(ds);
    assert!(
        (ds.norm.mean[0] - 0.2860).abs() < 1e-4 && (ds.norm.std[0] - 0.3530).abs() < 1e-4,
        "{:?}",
        ds.norm
    );
}

#[test]
fn kmnist_has_only_its_test_split() {
    let Some(o) = opts() else { return };
    let e = load(DatasetId::Kmnist, &o).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, DataError::Missing { .. }), "{m}");
    assert!(
        m.contains("train-images-idx3-ubyte.gz (images)") && !m.contains("train-labels"),
        "{m}"
    );
    assert!(
        m.contains("regimebench data fetch kmnist") && m.contains("--train-from-test-split"),
        "{m}"
    );
    let ds = loaded(DatasetId::Kmnist).unwrap();
    assert_eq!((ds.train.n, ds.test.n), (8_000, 2_000));
    assert_eq!(ds.train.class_counts(10), vec![800; 10]);
    assert_eq!(ds.test.class_counts(10), vec![200; 10]);
    assert!(ds.provenance.train_from_test_split);
    assert_eq!(ds.provenance.files.len(), 2, "only the test files are read");
    all_checksums_ok(ds);
}

#[test]
fn qmnist_has_no_images() {
    let Some(o) = opts() else { return };
    let m = load(DatasetId::Qmnist, &o).unwrap_err().to_string();
    assert!(
        m.contains("qmnist-train-images-idx3-ubyte.gz")
            && m.contains("qmnist-test-images-idx3-ubyte.gz"),
        "{m}"
    );
    assert!(m.contains("regimebench data fetch qmnist"), "{m}");
    // its labels are there and read correctly (column 0 of the idx2-int tables)
    let s = status(DatasetId::Qmnist, &o);
    assert_eq!(
        s.missing,
        vec![
            "qmnist-train-images-idx3-ubyte",
            "qmnist-test-images-idx3-ubyte"
        ]
    );
    for f in &s.files {
        assert_eq!(f.records, Some(60_000), "{}", f.path.display());
        assert!(matches!(f.checksum, Some(Verdict::Ok { .. })));
    }
    let mut r = regimebench::data::open::open(&s.files[0].path).unwrap();
    let labels = regimebench::data::idx::read_labels(&mut r, &s.files[0].path, 10).unwrap();
    let mut counts = [0usize; 10];
    labels.iter().for_each(|&l| counts[usize::from(l)] += 1);
    assert_eq!(counts, MNIST_TRAIN);
}

#[test]
fn cifar100() {
    let Some(ds) = loaded(DatasetId::Cifar100) else {
        return;
    };
    assert_eq!((ds.train.n, ds.test.n), (50_000, 10_000));
    assert_eq!(ds.train.class_counts(100), vec![500; 100]);
    assert_eq!(ds.test.class_counts(100), vec![100; 100]);
    assert_eq!(&ds.train.labels[..5], &[19, 29, 0, 11, 1]);
    assert_eq!(&ds.train.image(0)[..3], &[255, 255, 255]);
    all_checksums_ok(ds);
    assert!(
        ds.provenance.files.iter().all(|f| f.read_from.is_some()),
        "xz read through the unpacked cache"
    );
    let want_mean = [0.5071, 0.4865, 0.4409];
    let want_std = [0.2673, 0.2564, 0.2762];
    for c in 0..3 {
        assert!(
            (ds.norm.mean[c] - want_mean[c]).abs() < 1e-3,
            "{:?}",
            ds.norm
        );
        assert!((ds.norm.std[c] - want_std[c]).abs() < 1e-3, "{:?}", ds.norm);
    }
}

#[test]
fn splits_of_every_loadable_dataset_for_orders_0_to_10() {
    for id in [
        DatasetId::Mnist,
        DatasetId::FashionMnist,
        DatasetId::Kmnist,
        DatasetId::Cifar100,
    ] {
        let Some(ds) = loaded(id) else { return };
        for order in 0..=10 {
            let s = build_tasks(ds, order, None, None, 0).unwrap();
            check_split(ds, &s);
            let total: usize = s.tasks.iter().map(|t| t.train.len()).sum();
            assert_eq!(total, ds.train.n);
            let sub = build_tasks(ds, order, Some(100), Some(50), 1).unwrap();
            check_split(ds, &sub);
            assert!(sub
                .tasks
                .iter()
                .all(|t| t.train.len() == 100 && t.test.len() == 50));
        }
    }
}

#[test]
fn status_reports_everything_shared_data_holds() {
    let Some(o) = opts() else { return };
    let all: Vec<_> = DatasetId::ALL.iter().map(|&id| status(id, &o)).collect();
    let text: String = all.iter().map(|s| s.render()).collect();
    println!("{text}");
    for s in &all {
        assert!(s.dir.is_some(), "{} not found", s.id);
        assert!(
            s.files
                .iter()
                .all(|f| f.error.is_none() && matches!(f.checksum, Some(Verdict::Ok { .. }))),
            "{text}"
        );
    }
    assert!(
        all[0].complete() && all[1].complete() && all[4].complete(),
        "{text}"
    );
    assert_eq!(all[2].missing, vec!["train-images-idx3-ubyte"]);
    assert!(
        text.contains("partial: missing train-images-idx3-ubyte")
            && text.contains("--train-from-test-split")
    );
    assert!(text.contains("regimebench data fetch qmnist"));
    let cifar = &all[4];
    assert_eq!(
        cifar.files.iter().map(|f| f.records).collect::<Vec<_>>(),
        vec![Some(50_000), Some(10_000)]
    );
}
