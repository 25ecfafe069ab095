//! Loading whole datasets from a temp data dir the tests write: missing files, image and label
//! counts or sizes that do not match, the 80/20 split of a test-only dataset, the cache of unpacked
//! xz files, the status report and dotted file names.

mod data_common;

use data_common::*;
use regimebench::data::{load, DataError, DataOptions, DatasetId};

#[test]
fn load_a_small_dataset_from_a_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    write_mnist_dir(tmp.path(), "fashion-mnist", 40, 20);
    let opts = DataOptions::isolated(tmp.path(), tmp.path().join("cache"));
    let ds = load(DatasetId::FashionMnist, &opts).unwrap();
    assert_eq!((ds.train.n, ds.test.n), (40, 20));
    assert_eq!(ds.train.class_counts(10), vec![4; 10]);
    assert_eq!(ds.provenance.files.len(), 4);
    assert!(!ds.provenance.train_from_test_split);
    assert_eq!(ds.provenance.found_via, "--data-dir");
    assert_eq!(ds.norm.channels(), 1);
    // not the real files: checksums are recorded and do not match
    assert!(ds
        .provenance
        .files
        .iter()
        .all(|f| matches!(f.checksum, regimebench::data::Verdict::Mismatch { .. })));
    // the MNIST dir is absent: a Missing error that names every file and the fetch command
    let e = load(DatasetId::Mnist, &opts).unwrap_err().to_string();
    assert!(
        e.contains("train-images-idx3-ubyte.gz") && e.contains("regimebench data fetch mnist"),
        "{e}"
    );
}

#[test]
fn image_label_count_mismatch() {
    let tmp = tempfile::tempdir().unwrap();
    write_mnist_dir(tmp.path(), "mnist", 30, 10);
    let (_, l) = mnist_like(29, 10);
    write(&tmp.path().join("mnist"), "train-labels-idx1-ubyte", &l);
    let e = load(
        DatasetId::Mnist,
        &DataOptions::isolated(tmp.path(), tmp.path()),
    )
    .unwrap_err();
    let m = e.to_string();
    assert!(
        matches!(
            e,
            DataError::CountMismatch {
                n_images: 30,
                n_labels: 29,
                ..
            }
        ),
        "{m}"
    );
    assert!(
        m.contains("train-images-idx3-ubyte.gz holds 30 images") && m.contains("29 labels"),
        "{m}"
    );
}

#[test]
fn wrong_image_size_for_the_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    write_mnist_dir(tmp.path(), "kmnist", 10, 10);
    write(
        &tmp.path().join("kmnist"),
        "t10k-images-idx3-ubyte.xz",
        &xz(&idx_u8(&[10, 32, 32], &[0; 10240])),
    );
    let e = load(
        DatasetId::Kmnist,
        &DataOptions::isolated(tmp.path(), tmp.path()),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("images are 32x32, kmnist images are 28x28"),
        "{e}"
    );
}

#[test]
fn labels_only_dataset_says_which_images_are_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("qmnist");
    write(
        &d,
        "qmnist-train-labels-idx2-int.gz",
        &gz(&idx_i32(&[2, 8], &[1; 16])),
    );
    write(
        &d,
        "qmnist-test-labels-idx2-int.gz",
        &gz(&idx_i32(&[2, 8], &[1; 16])),
    );
    let e = load(
        DatasetId::Qmnist,
        &DataOptions::isolated(tmp.path(), tmp.path()),
    )
    .unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, DataError::Missing { .. }));
    assert!(
        m.contains("qmnist-train-images-idx3-ubyte.gz (images)"),
        "{m}"
    );
    assert!(
        m.contains("qmnist-test-images-idx3-ubyte.gz (images)"),
        "{m}"
    );
    assert!(m.contains("regimebench data fetch qmnist"), "{m}");
    assert!(!m.contains("labels-idx2-int.gz (labels)"), "{m}");
}

#[test]
fn test_split_only_dataset_and_the_80_20_opt_in() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("kmnist");
    let (i, l) = mnist_like(100, 10);
    write(&d, "t10k-images-idx3-ubyte.gz", &gz(&i));
    write(&d, "t10k-labels-idx1-ubyte.gz", &gz(&l));
    let mut opts = DataOptions::isolated(tmp.path(), tmp.path());
    let m = load(DatasetId::Kmnist, &opts).unwrap_err().to_string();
    assert!(
        m.contains("train-images-idx3-ubyte.gz (images)") && m.contains("--train-from-test-split"),
        "{m}"
    );
    opts.train_from_test_split = true;
    opts.seed = 3;
    let ds = load(DatasetId::Kmnist, &opts).unwrap();
    assert_eq!((ds.train.n, ds.test.n), (80, 20));
    assert_eq!(ds.train.class_counts(10), vec![8; 10]);
    assert_eq!(ds.test.class_counts(10), vec![2; 10]);
    assert!(ds.provenance.train_from_test_split);
    assert!(ds
        .provenance
        .notes
        .iter()
        .any(|n| n.contains("NOT the official splits")));
    // disjoint, together the whole test split (each image encodes its index in pixel 0)
    let mut firsts: Vec<u8> = (0..80)
        .map(|i| ds.train.image(i)[0])
        .chain((0..20).map(|i| ds.test.image(i)[0]))
        .collect();
    firsts.sort_unstable();
    let mut all: Vec<u8> = (0..100).map(|i| (i * 7) as u8).collect();
    all.sort_unstable();
    assert_eq!(firsts, all);
    // deterministic per seed, different across seeds
    assert_eq!(load(DatasetId::Kmnist, &opts).unwrap().train, ds.train);
    opts.seed = 4;
    assert_ne!(load(DatasetId::Kmnist, &opts).unwrap().train, ds.train);
}

#[test]
fn cifar_xz_is_unpacked_once_into_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cifar-100-binary");
    write(&d, "train.bin.xz", &xz(&cifar_like(200)));
    write(&d, "test.bin", &cifar_like(100));
    let cache = tmp.path().join("cache");
    let opts = DataOptions::isolated(tmp.path(), &cache);
    let ds = load(DatasetId::Cifar100, &opts).unwrap();
    assert_eq!((ds.train.n, ds.test.n), (200, 100));
    assert_eq!(ds.norm.channels(), 3);
    let unpacked = ds.provenance.files[1]
        .read_from
        .clone()
        .expect("train.bin.xz read from its unpacked copy");
    assert!(unpacked.starts_with(&cache) && unpacked.is_file());
    let before = std::fs::metadata(&unpacked).unwrap().modified().unwrap();
    let again = load(DatasetId::Cifar100, &opts).unwrap();
    assert_eq!(again.train, ds.train);
    assert_eq!(
        std::fs::metadata(&unpacked).unwrap().modified().unwrap(),
        before
    );
    // no temp files left behind
    let leftovers = std::fs::read_dir(unpacked.parent().unwrap())
        .unwrap()
        .count();
    assert_eq!(leftovers, 1);
}

#[test]
fn status_reports_found_missing_and_broken_files() {
    let tmp = tempfile::tempdir().unwrap();
    write_mnist_dir(tmp.path(), "mnist", 10, 10);
    write(
        &tmp.path().join("mnist"),
        "t10k-labels-idx1-ubyte.gz",
        b"\x1f\x8bnot really gzip",
    );
    let opts = DataOptions::isolated(tmp.path(), tmp.path().join("cache"));
    let s = regimebench::data::status(DatasetId::Mnist, &opts);
    assert!(s.missing.is_empty() && !s.complete());
    let text = s.render();
    assert!(
        text.contains("ERROR") && text.contains("corrupt gzip"),
        "{text}"
    );
    assert!(text.contains("10 records, sha256 MISMATCH"), "{text}");
    let q = regimebench::data::status(DatasetId::Qmnist, &opts);
    assert!(q.dir.is_none() && q.render().contains("not found"));
}

#[test]
fn dotted_file_names_are_found_too() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("mnist");
    let (ti, tl) = mnist_like(10, 10);
    write(&d, "train-images.idx3-ubyte", &ti);
    write(&d, "train-labels.idx1-ubyte", &tl);
    write(&d, "t10k-images.idx3-ubyte.gz", &gz(&ti));
    write(&d, "t10k-labels-idx1-ubyte", &tl);
    let ds = load(
        DatasetId::Mnist,
        &DataOptions::isolated(tmp.path(), tmp.path()),
    )
    .unwrap();
    assert_eq!((ds.train.n, ds.test.n), (10, 10));
}
