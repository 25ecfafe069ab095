//! Readers and their errors on small files the tests write: IDX (idx1, idx3, idx2-int; plain, gzip, xz),
//! CIFAR-100 binary, and loading whole datasets from a temp data dir (missing files, 80/20 split).

mod data_common;

use std::io::Cursor;
use std::path::Path;

use data_common::*;
use regimebench::data::open::{Compression, Decoded};
use regimebench::data::{cifar, idx, load, DataError, DataOptions, DatasetId};

fn dec(bytes: Vec<u8>) -> Decoded {
    Decoded::new(Cursor::new(bytes), "test-file").unwrap()
}

fn images(bytes: Vec<u8>) -> Result<idx::IdxImages, DataError> {
    idx::read_images(&mut dec(bytes), Path::new("test-file"))
}

fn labels(bytes: Vec<u8>) -> Result<Vec<u8>, DataError> {
    idx::read_labels(&mut dec(bytes), Path::new("test-file"), 10)
}

fn msg<T: std::fmt::Debug>(r: Result<T, DataError>) -> (DataError, String) {
    let e = r.expect_err("expected an error");
    let m = e.to_string();
    assert!(
        m.contains("test-file") || m.contains('/'),
        "message does not name the file: {m}"
    );
    (e, m)
}

#[test]
fn idx_images_plain_gzip_xz_agree() {
    let (img, _) = mnist_like(5, 10);
    let plain = images(img.clone()).unwrap();
    assert_eq!((plain.n, plain.height, plain.width), (5, 28, 28));
    assert_eq!(plain.pixels, img[16..].to_vec());
    for (bytes, comp) in [
        (gz(&img), Compression::Gzip),
        (xz(&img), Compression::Xz),
        (img.clone(), Compression::None),
    ] {
        let mut d = dec(bytes);
        assert_eq!(d.compression(), comp);
        assert_eq!(idx::read_images(&mut d, Path::new("f")).unwrap(), plain);
        // the checksum is of the decompressed content, whatever the compression
        let (sha, len) = d.finish();
        assert_eq!(len, img.len() as u64);
        assert_eq!(
            sha,
            regimebench::data::open::hex(&<sha2::Sha256 as sha2::Digest>::digest(&img))
        );
    }
}

#[test]
fn idx1_and_idx2_int_labels() {
    assert_eq!(
        labels(idx_u8(&[4], &[0, 9, 3, 3])).unwrap(),
        vec![0, 9, 3, 3]
    );
    // QMNIST layout: N x 8 int32, column 0 is the class
    let rows: Vec<i32> = [7, 1, 2, 3, 4, 5, 6, 7, 2, -1, -1, -1, -1, -1, -1, -1].to_vec();
    assert_eq!(labels(idx_i32(&[2, 8], &rows)).unwrap(), vec![7, 2]);
    assert_eq!(labels(gz(&idx_i32(&[1, 1], &[9]))).unwrap(), vec![9]);
}

#[test]
fn wrong_magic() {
    let (_, m) = msg(images(idx_u8(&[3], &[1, 2, 3]))); // a label file where images are expected
    assert!(m.contains("wrong magic number 0x00000801"), "{m}");
    let (e, m) = msg(labels(b"GIF89a and more bytes".to_vec()));
    assert!(matches!(e, DataError::BadMagic { .. }), "{m}");
    let (e, _) = msg(images(vec![0, 0, 0x0d, 3, 0, 0, 0, 0])); // float IDX: unsupported
    assert!(matches!(e, DataError::BadMagic { .. }));
}

#[test]
fn dims_do_not_match_file_size() {
    let mut short = idx_u8(&[2, 28, 28], &[0; 784]);
    let (e, m) = msg(images(short.clone()));
    assert!(
        matches!(
            e,
            DataError::SizeMismatch {
                expected: 1584,
                actual: 800,
                ..
            }
        ),
        "{m}"
    );
    assert!(m.contains("2 x 28 x 28") && m.contains("truncated?"), "{m}");
    short.extend_from_slice(&[0; 784 + 5]);
    let (e, m) = msg(images(short));
    assert!(
        matches!(
            e,
            DataError::SizeMismatch {
                expected: 1584,
                actual: 1589,
                ..
            }
        ),
        "{m}"
    );
    assert!(m.contains("trailing bytes"), "{m}");
    let (e, _) = msg(labels(idx_i32(&[3, 8], &[1; 20])));
    assert!(matches!(e, DataError::SizeMismatch { .. }));
}

#[test]
fn truncated_header() {
    for cut in [0, 2, 5, 11] {
        let (e, m) = msg(images(idx_u8(&[1, 28, 28], &[0; 784])[..cut].to_vec()));
        assert!(matches!(e, DataError::Truncated { .. }), "cut {cut}: {m}");
    }
}

#[test]
fn truncated_gzip_stream() {
    let (img, _) = mnist_like(20, 10);
    let z = gz(&img);
    for cut in [z.len() - 4, z.len() / 2, 30] {
        let (e, m) = msg(images(z[..cut].to_vec()));
        assert!(
            matches!(e, DataError::Truncated { .. }) && m.contains("gzip stream ends"),
            "cut {cut}: {m}"
        );
    }
    let x = xz(&img);
    let (e, m) = msg(images(x[..x.len() / 2].to_vec()));
    assert!(
        matches!(e, DataError::Truncated { .. }) && m.contains("xz stream ends"),
        "{m}"
    );
}

#[test]
fn corrupt_gzip_stream() {
    let (img, _) = mnist_like(20, 10);
    let mut z = gz(&img);
    let n = z.len();
    z[n - 6] ^= 0xff; // CRC32 of the trailer
    let (e, m) = msg(images(z.clone()));
    assert!(matches!(e, DataError::CorruptGzip { .. }), "{m}");
    assert!(m.contains("corrupt gzip"), "{m}");
    let mut z = gz(&img);
    for b in &mut z[20..40] {
        *b ^= 0x5a; // damage the deflate data
    }
    let (e, m) = msg(images(z));
    assert!(matches!(e, DataError::CorruptGzip { .. }), "{m}");
}

#[test]
fn label_out_of_range() {
    let (e, m) = msg(labels(idx_u8(&[3], &[1, 10, 2])));
    assert!(
        matches!(
            e,
            DataError::LabelOutOfRange {
                index: 1,
                label: 10,
                classes: 10,
                ..
            }
        ),
        "{m}"
    );
    let (e, _) = msg(labels(idx_i32(&[2, 2], &[3, 0, -1, 0])));
    assert!(matches!(
        e,
        DataError::LabelOutOfRange {
            index: 1,
            label: -1,
            ..
        }
    ));
    let mut c = cifar_like(3);
    c[3074 * 2 + 1] = 100;
    let (e, m) = msg(cifar::read_cifar(&mut dec(c), Path::new("test-file")));
    assert!(
        matches!(
            e,
            DataError::LabelOutOfRange {
                what: "fine",
                index: 2,
                label: 100,
                ..
            }
        ),
        "{m}"
    );
    let mut c = cifar_like(3);
    c[0] = 20;
    let (e, _) = msg(cifar::read_cifar(&mut dec(c), Path::new("test-file")));
    assert!(matches!(
        e,
        DataError::LabelOutOfRange {
            what: "coarse",
            index: 0,
            ..
        }
    ));
}

#[test]
fn cifar_records_plain_and_compressed() {
    let raw = cifar_like(7);
    for bytes in [raw.clone(), gz(&raw), xz(&raw)] {
        let r = cifar::read_cifar(&mut dec(bytes), Path::new("t")).unwrap();
        assert_eq!(r.n, 7);
        assert_eq!(r.fine, vec![0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(r.coarse, vec![0, 0, 0, 0, 0, 1, 1]);
        assert_eq!(&r.pixels[3072..3075], &raw[3074 + 2..3074 + 5]);
    }
}

#[test]
fn cifar_size_not_multiple_of_3074() {
    let mut raw = cifar_like(2);
    raw.truncate(3074 + 100);
    let (e, m) = msg(cifar::read_cifar(&mut dec(raw), Path::new("test-file")));
    assert!(matches!(e, DataError::CifarSize { len: 3174, .. }), "{m}");
    assert!(m.contains("not a multiple of the 3074-byte"), "{m}");
    let (e, _) = msg(cifar::read_cifar(
        &mut dec(Vec::new()),
        Path::new("test-file"),
    ));
    assert!(matches!(e, DataError::Empty { .. }));
}

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
