//! Helpers shared by the tests/data_*.rs files: writing small IDX / CIFAR files (plain, gzip, xz),
//! synthetic in-memory datasets, the path of ../shared/data, and a tiny HTTP server.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use regimebench::data::{Dataset, DatasetId, Norm, Provenance, Split, TaskSplit};

/// ../shared/data if present; prints a note and returns None otherwise.
pub fn shared_data() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data"));
    if p.join("mnist").is_dir() {
        Some(p)
    } else {
        eprintln!(
            "note: {} is absent; skipping the real-data checks",
            p.display()
        );
        None
    }
}

/// A cache dir shared by every test run (so the CIFAR-100 xz is unpacked once, ever).
pub fn shared_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("regimebench-data-cache")
}

pub fn idx_u8(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

pub fn idx_i32(dims: &[u32], data: &[i32]) -> Vec<u8> {
    let mut v = vec![0, 0, 0x0c, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    for x in data {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v
}

pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub fn xz(bytes: &[u8]) -> Vec<u8> {
    let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `n` 28x28 images whose pixels encode (image index, pixel index), and labels i % classes.
pub fn mnist_like(n: usize, classes: usize) -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..n * 784)
        .map(|j| ((j / 784) * 7 + j % 784) as u8)
        .collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % classes) as u8).collect();
    (
        idx_u8(&[n as u32, 28, 28], &pixels),
        idx_u8(&[n as u32], &labels),
    )
}

/// CIFAR records: record i has fine label i % 100, coarse fine / 5, pixels (i + j) as u8.
pub fn cifar_like(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * 3074);
    for i in 0..n {
        v.push(((i % 100) / 5) as u8);
        v.push((i % 100) as u8);
        v.extend((0..3072).map(|j| (i + j) as u8));
    }
    v
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Writes a complete MNIST-layout dataset (`<root>/<sub>/...-ubyte.gz`) of n_train / n_test images.
pub fn write_mnist_dir(root: &Path, sub: &str, n_train: usize, n_test: usize) {
    let d = root.join(sub);
    let (ti, tl) = mnist_like(n_train, 10);
    let (ei, el) = mnist_like(n_test, 10);
    write(&d, "train-images-idx3-ubyte.gz", &gz(&ti));
    write(&d, "train-labels-idx1-ubyte", &tl);
    write(&d, "t10k-images-idx3-ubyte.xz", &xz(&ei));
    write(&d, "t10k-labels-idx1-ubyte.gz", &gz(&el));
}

/// An in-memory dataset with `train_pc` / `test_pc` images per class, interleaved by class.
pub fn synthetic(id: DatasetId, train_pc: usize, test_pc: usize) -> Dataset {
    let split = |per_class: usize| {
        let n = per_class * id.classes();
        let len = id.image_len();
        Split {
            n,
            image_len: len,
            images: (0..n * len).map(|j| (j * 31 % 251) as u8).collect(),
            labels: (0..n).map(|i| (i % id.classes()) as u8).collect(),
        }
    };
    let train = split(train_pc);
    let norm = Norm::from_images(&train.images, id.channels(), id.height() * id.width());
    Dataset {
        id,
        train,
        test: split(test_pc),
        norm,
        provenance: Provenance {
            dir: PathBuf::new(),
            found_via: "synthetic".into(),
            files: vec![],
            train_from_test_split: false,
            split_seed: None,
            notes: vec![],
        },
    }
}

/// A response of the test server: status, body, and the Content-Length to announce (None: body length).
#[derive(Clone)]
pub struct Route {
    pub status: u16,
    pub body: Vec<u8>,
    pub declared_len: Option<usize>,
}

impl Route {
    pub fn ok(body: Vec<u8>) -> Route {
        Route {
            status: 200,
            body,
            declared_len: None,
        }
    }
}

/// Starts an HTTP/1.1 server on 127.0.0.1 serving `routes` (path -> response; others get 404) and
/// returns its base URL. The thread lives until the test process ends.
pub fn serve(routes: HashMap<String, Route>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&req);
            let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
            let route = routes.get(&path).cloned().unwrap_or(Route {
                status: 404,
                body: b"not found".to_vec(),
                declared_len: None,
            });
            let len = route.declared_len.unwrap_or(route.body.len());
            let reason = if route.status == 200 {
                "OK"
            } else {
                "Not Found"
            };
            let head = format!(
                "HTTP/1.1 {} {reason}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n",
                route.status
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&route.body);
            let _ = s.flush();
        }
    });
    format!("http://{addr}")
}

/// Each class in exactly one task, k classes per task, local labels 0..k-1 that map back to the class.
pub fn check_split(ds: &Dataset, s: &TaskSplit) {
    let (classes, k) = (ds.id.classes(), ds.id.classes_per_task());
    assert_eq!(s.tasks.len(), ds.id.tasks());
    let mut seen = vec![0; classes];
    for (t, task) in s.tasks.iter().enumerate() {
        assert_eq!(task.id, t);
        assert_eq!(task.classes.len(), k);
        assert_eq!(task.classes, s.perm[t * k..(t + 1) * k].to_vec());
        for &c in &task.classes {
            seen[usize::from(c)] += 1;
        }
        for (set, split) in [(&task.train, &ds.train), (&task.test, &ds.test)] {
            assert!(!set.is_empty());
            assert!(
                set.indices.windows(2).all(|w| w[0] < w[1]),
                "indices ascending and unique"
            );
            for (&i, &l) in set.indices.iter().zip(&set.labels) {
                assert!(usize::from(l) < k);
                assert_eq!(
                    u16::from(split.labels[i as usize]),
                    task.classes[usize::from(l)]
                );
            }
        }
    }
    assert!(
        seen.iter().all(|&n| n == 1),
        "every class in exactly one task: {seen:?}"
    );
}
