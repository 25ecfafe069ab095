//! `fetch` end to end against a small HTTP server on 127.0.0.1: a good file, a wrong checksum, a truncated
//! body, a 404, a bad file already in place, and a whole dataset fetched through the mirror setting.

mod data_common;

use std::collections::HashMap;
use std::path::Path;

use data_common::{gz, mnist_like, serve, shared_data, Route};
use regimebench::data::fetch::{fetch_file, Expect, Outcome};
use regimebench::data::open::hex;
use regimebench::data::{fetch, DataError, DataOptions, DatasetId, FetchOptions};
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Files in `dir` other than `keep` (temp files must not survive a failed download).
fn others(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !keep.contains(&n.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn good_wrong_truncated_and_missing_downloads() {
    let (img, _) = mnist_like(50, 10);
    let body = gz(&img);
    let mut routes = HashMap::new();
    routes.insert("/good.gz".to_string(), Route::ok(body.clone()));
    routes.insert(
        "/short.gz".to_string(),
        Route {
            status: 200,
            body: body[..body.len() / 2].to_vec(),
            declared_len: Some(body.len()),
        },
    );
    let base = serve(routes);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("d/file.gz");
    let want = Expect {
        sha256_decoded: Some(sha(&img)),
        md5: None,
    };

    // good file: stored, and a second fetch trusts it without downloading
    assert_eq!(
        fetch_file(&format!("{base}/good.gz"), &dest, &want, false).unwrap(),
        Outcome::Downloaded
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(
        fetch_file(&format!("{base}/good.gz"), &dest, &want, false).unwrap(),
        Outcome::AlreadyPresent
    );
    assert!(others(dest.parent().unwrap(), &["file.gz"]).is_empty());

    // wrong checksum: an error, nothing stored
    let dest2 = tmp.path().join("d/other.gz");
    let bad = Expect {
        sha256_decoded: Some("0".repeat(64)),
        md5: None,
    };
    let e = fetch_file(&format!("{base}/good.gz"), &dest2, &bad, false).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, DataError::ChecksumMismatch { .. }), "{m}");
    assert!(m.contains("good.gz") && m.contains("discarded"), "{m}");
    assert!(!dest2.exists());
    let e = fetch_file(
        &format!("{base}/good.gz"),
        &dest2,
        &Expect {
            sha256_decoded: None,
            md5: Some("0".repeat(32)),
        },
        false,
    );
    assert!(matches!(
        e,
        Err(DataError::ChecksumMismatch { algo: "MD5", .. })
    ));

    // truncated body: an error, nothing stored
    let m = fetch_file(&format!("{base}/short.gz"), &dest2, &want, false)
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("short.gz") && (m.contains("truncated") || m.contains("bytes")),
        "{m}"
    );
    assert!(!dest2.exists());

    // 404
    let m = fetch_file(&format!("{base}/nope.gz"), &dest2, &want, false)
        .unwrap_err()
        .to_string();
    assert!(m.contains("404") && m.contains("nope.gz"), "{m}");
    assert!(!dest2.exists());
    assert!(
        others(dest.parent().unwrap(), &["file.gz"]).is_empty(),
        "no partial files left behind"
    );

    // a corrupt file already in place is not trusted: it is replaced
    std::fs::write(&dest, b"garbage").unwrap();
    assert_eq!(
        fetch_file(&format!("{base}/good.gz"), &dest, &want, false).unwrap(),
        Outcome::Downloaded
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);
}

#[test]
fn fetch_mnist_through_a_mirror_then_load_it() {
    let Some(shared) = shared_data() else { return };
    let mut routes = HashMap::new();
    for f in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        routes.insert(
            format!("/mnist/{f}"),
            Route::ok(std::fs::read(shared.join("mnist").join(f)).unwrap()),
        );
    }
    // Fashion-MNIST's mirror serves MNIST's train images: the recorded checksum catches it
    routes.insert(
        "/fashion-mnist/train-images-idx3-ubyte.gz".into(),
        Route::ok(std::fs::read(shared.join("mnist/train-images-idx3-ubyte.gz")).unwrap()),
    );
    let base = serve(routes);
    let cache = tempfile::tempdir().unwrap();
    let opts = FetchOptions {
        cache_dir: Some(cache.path().into()),
        mirror: Some(base.clone()),
        progress: false,
    };
    let got = fetch(DatasetId::Mnist, &opts).unwrap();
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|(_, o)| *o == Outcome::Downloaded));
    let again = fetch(DatasetId::Mnist, &opts).unwrap();
    assert!(again.iter().all(|(_, o)| *o == Outcome::AlreadyPresent));
    // the cache dir is on the search path: load finds the fetched files there
    let only_cache = DataOptions {
        cache_dir: Some(cache.path().into()),
        search_defaults: false,
        ..DataOptions::default()
    };
    let ds = regimebench::data::load(DatasetId::Mnist, &only_cache).unwrap();
    assert_eq!(ds.train.n, 60_000);
    assert_eq!(ds.provenance.found_via, "cache dir");

    let m = fetch(DatasetId::FashionMnist, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("SHA-256") && m.contains("fashion-mnist/train-images-idx3-ubyte.gz"),
        "{m}"
    );
    assert!(
        others(&cache.path().join("fashion-mnist"), &[]).is_empty(),
        "nothing kept"
    );
}

#[test]
fn tarball_members_are_extracted_atomically() {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (name, body) in [
        ("cifar-100-binary/train.bin", data_common::cifar_like(3)),
        ("cifar-100-binary/readme", b"x".to_vec()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        builder.append_data(&mut h, name, body.as_slice()).unwrap();
    }
    let tgz = builder.into_inner().unwrap().finish().unwrap();
    let md5 = hex(&<md5::Md5 as md5::Digest>::digest(&tgz));
    let base = serve(HashMap::from([("/c.tar.gz".to_string(), Route::ok(tgz))]));
    let tmp = tempfile::tempdir().unwrap();
    let members = [("cifar-100-binary/train.bin", "train.bin")];
    let expect = Expect {
        sha256_decoded: None,
        md5: Some(md5),
    };
    let url = format!("{base}/c.tar.gz");
    let got = regimebench::data::fetch::fetch_tarball(&url, tmp.path(), &expect, &members, false)
        .unwrap();
    assert_eq!(
        got,
        vec![(tmp.path().join("train.bin"), Outcome::Downloaded)]
    );
    assert_eq!(
        std::fs::read(tmp.path().join("train.bin")).unwrap(),
        data_common::cifar_like(3)
    );
    assert_eq!(
        others(tmp.path(), &["train.bin"]),
        Vec::<String>::new(),
        "tarball and temp files removed"
    );
    // a member the archive lacks is an error
    let missing = [("cifar-100-binary/test.bin", "test.bin")];
    let e = regimebench::data::fetch::fetch_tarball(
        &url,
        &tmp.path().join("b"),
        &expect,
        &missing,
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("0 of the 1 expected members"), "{e}");
}
