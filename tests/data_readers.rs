//! The IDX and CIFAR-100 readers and their errors, on small in-memory files the tests build: IDX
//! (idx1, idx3, idx2-int; plain, gzip, xz) and CIFAR-100 binary records.

mod data_common;

use std::io::Cursor;
use std::path::Path;

use data_common::*;
use regimebench::data::open::{Compression, Decoded};
use regimebench::data::{cifar, idx, DataError};

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
