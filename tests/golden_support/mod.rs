//! What the PyTorch golden tests share: reading a golden file of `tests/golden/` (gzipped when its
//! name ends in `.gz`) and comparing tensors by their largest error relative to the largest value;
//! in [`methods`], what the methods golden's two test files share.

#![allow(dead_code)] // each test binary uses its own part

pub mod methods;

use regimebench::params::ParamStore;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::io::Read;

/// A named tensor of a golden file: a parameter, a buffer or a gradient.
#[derive(Deserialize)]
pub struct Named {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// `tests/golden/{file}`, parsed.
pub fn read_golden<T: DeserializeOwned>(file: &str) -> T {
    let path = format!("{}/tests/golden/{file}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = if file.ends_with(".gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .unwrap_or_else(|e| panic!("{path}: gzip: {e}"));
        s
    } else {
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// max |ours − want| / max |want|, printed, and asserted to be at most `tol`.
pub fn assert_close(what: &str, ours: &[f32], want: &[f32], tol: f64) -> f64 {
    let ours: Vec<f64> = ours.iter().map(|&v| f64::from(v)).collect();
    let want: Vec<f64> = want.iter().map(|&v| f64::from(v)).collect();
    assert_close64(what, &ours, &want, tol)
}

/// [`assert_close`] in f64.
pub fn assert_close64(what: &str, ours: &[f64], want: &[f64], tol: f64) -> f64 {
    assert_eq!(ours.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: all zero");
    let worst = ours
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let rel = worst / scale;
    eprintln!("{what}: max |ours - torch| / max |torch| = {rel:.2e}");
    assert!(
        rel <= tol,
        "{what}: off by {worst:e} at scale {scale:e} ({rel:.2e} > {tol:e})"
    );
    rel
}

/// Copies every golden parameter into `p` by name, checking that there is one per parameter and
/// that its layout is the store's.
pub fn load_params(p: &mut ParamStore, values: &[Named]) {
    assert_eq!(
        values.len(),
        p.ids().count(),
        "one golden tensor per parameter"
    );
    for t in values {
        let id = p
            .by_name(&t.name)
            .unwrap_or_else(|| panic!("no parameter {}", t.name));
        assert_eq!(p.info(id).shape, t.shape, "{}: layout", t.name);
        p.get_mut(id).copy_from_slice(&t.values);
    }
}
