//! `load`: a whole dataset in memory (u8 images in one NCHW buffer per split), checked, checksummed,
//! with its normalisation and a provenance record that says where every file came from.

use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::checksums::{Verdict, SUBSET};
use super::cifar;
use super::error::DataError;
use super::id::{DatasetId, FileRole, FileSpec};
use super::idx;
use super::locate::{locate, DataOptions, Found};
use super::normalize::Norm;
use super::open::{open, Compression};
use super::unpack;

/// One split: `n` images of `image_len` bytes each (C x H x W, contiguous) and their class labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    pub n: usize,
    pub image_len: usize,
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Split {
    /// The bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * self.image_len..(i + 1) * self.image_len]
    }

    /// Images per class.
    pub fn class_counts(&self, classes: usize) -> Vec<usize> {
        let mut counts = vec![0; classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(usize::from(l)) {
                *c += 1;
            }
        }
        counts
    }

    /// The split made of the images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Split {
        let mut images = Vec::with_capacity(indices.len() * self.image_len);
        for &i in indices {
            images.extend_from_slice(self.image(i));
        }
        Split {
            n: indices.len(),
            image_len: self.image_len,
            images,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}

/// One file that was read: where, how big, and its checksum verdict.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileCheck {
    pub role: FileRole,
    pub path: PathBuf,
    /// Where the bytes were actually read from, if not `path` (the unpacked copy of an `.xz`).
    pub read_from: Option<PathBuf>,
    pub decompressed_bytes: u64,
    pub sha256: String,
    pub checksum: Verdict,
}

/// Where a dataset came from and how it was assembled. The run JSON records this verbatim.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Provenance {
    pub dir: PathBuf,
    pub found_via: String,
    pub files: Vec<FileCheck>,
    /// True if train and test are a seeded 80/20 split of the official test split.
    pub train_from_test_split: bool,
    /// The seed of that split (a run of another seed must load the dataset again).
    pub split_seed: Option<u64>,
    /// Sentences for reports ("train is a seeded 80/20 split of ...", checksum warnings).
    pub notes: Vec<String>,
}

/// A loaded dataset.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub id: DatasetId,
    pub train: Split,
    pub test: Split,
    /// Computed on `train` (after any 80/20 split).
    pub norm: Norm,
    pub provenance: Provenance,
}

/// Loads a dataset: locate its files, read and check them, optionally re-split the test split 80/20,
/// compute the normalisation on the train split.
pub fn load(id: DatasetId, opts: &DataOptions) -> Result<Dataset, DataError> {
    let found = locate(id, opts);
    let needed: Vec<FileSpec> = id
        .files()
        .iter()
        .copied()
        .filter(|s| !(opts.train_from_test_split && s.role.is_train()))
        .collect();
    check_missing(&found, &needed, opts)?;
    let dir = found.dir.clone().unwrap_or_default();
    let mut checks = Vec::new();
    let mut notes = Vec::new();
    let (train, test) = if id.is_cifar() {
        let test = read_cifar_split(&found, FileRole::TestRecords, opts, &mut checks)?;
        let train = if opts.train_from_test_split {
            None
        } else {
            Some(read_cifar_split(
                &found,
                FileRole::TrainRecords,
                opts,
                &mut checks,
            )?)
        };
        (train, test)
    } else {
        let test = read_idx_split(
            &found,
            FileRole::TestImages,
            FileRole::TestLabels,
            &mut checks,
        )?;
        let train = if opts.train_from_test_split {
            None
        } else {
            Some(read_idx_split(
                &found,
                FileRole::TrainImages,
                FileRole::TrainLabels,
                &mut checks,
            )?)
        };
        (train, test)
    };
    let (train, test) = match train {
        Some(train) => (train, test),
        None => {
            let (train, test2) = split_80_20(&test, id.classes(), opts.seed);
            notes.push(format!(
                "train/test are NOT the official splits: train = {} images, a seeded (seed {}), class-balanced \
                 80% of the official {}-image test split; test = the other {} images. The official train split \
                 was not used (--train-from-test-split).",
                train.n, opts.seed, test.n, test2.n
            ));
            (train, test2)
        }
    };
    // Known by its checksums wherever it was found (the last search root is its home).
    let subset = |c: &FileCheck| matches!(&c.checksum, Verdict::Ok { note } if note == SUBSET);
    if checks.iter().any(subset) {
        notes.push(format!(
            "MNIST SUBSET: loaded from {}, the repository's committed subset ({} train and {} test \
             images, the first of each class); not the full dataset, not comparable with full-data runs",
            dir.display(),
            train.n,
            test.n
        ));
    }
    for c in &checks {
        if let Verdict::Mismatch { expected } = &c.checksum {
            notes.push(format!(
                "{}: decompressed SHA-256 {} differs from the recorded {expected}",
                c.path.display(),
                c.sha256
            ));
        }
    }
    let norm = Norm::from_images(&train.images, id.channels(), id.height() * id.width());
    let provenance = Provenance {
        dir,
        found_via: found.origin.unwrap_or("").to_string(),
        files: checks,
        train_from_test_split: opts.train_from_test_split,
        split_seed: opts.train_from_test_split.then_some(opts.seed),
        notes,
    };
    Ok(Dataset {
        id,
        train,
        test,
        norm,
        provenance,
    })
}

/// A `Missing` error if any needed file is absent, with the next step spelled out.
fn check_missing(found: &Found, needed: &[FileSpec], opts: &DataOptions) -> Result<(), DataError> {
    let missing: Vec<FileSpec> = needed
        .iter()
        .copied()
        .filter(|s| found.missing().iter().any(|m| m.name == s.name))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let only_train = missing.iter().all(|s| s.role.is_train());
    let mut hint = String::new();
    if let Some(dir) = &found.dir {
        hint.push_str(&format!(" (partial copy found in {})", dir.display()));
    }
    if only_train && !opts.train_from_test_split {
        hint.push_str(", or pass --train-from-test-split to train and test on a seeded 80/20 split of the test split");
    }
    let what = |s: &FileSpec| match s.role {
        FileRole::TrainImages | FileRole::TestImages => format!("{}.gz (images)", s.name),
        FileRole::TrainLabels | FileRole::TestLabels => format!("{}.gz (labels)", s.name),
        _ => s.name.to_string(),
    };
    Err(DataError::Missing {
        dataset: found.id.name(),
        files: missing.iter().map(what).collect(),
        searched: found.searched.clone(),
        hint,
    })
}

fn path_of(found: &Found, role: FileRole) -> Result<&Path, DataError> {
    found
        .path(role)
        .ok_or_else(|| DataError::Invalid(format!("{}: no file for {role:?}", found.id)))
}

fn check_of(
    found: &Found,
    role: FileRole,
    path: &Path,
    read_from: Option<PathBuf>,
    digest: (String, u64),
) -> FileCheck {
    let name = found
        .files
        .iter()
        .find(|(s, _)| s.role == role)
        .map_or("", |(s, _)| s.name);
    FileCheck {
        role,
        path: path.to_path_buf(),
        read_from,
        decompressed_bytes: digest.1,
        checksum: Verdict::of(found.id, name, &digest.0),
        sha256: digest.0,
    }
}

fn read_idx_split(
    found: &Found,
    ri: FileRole,
    rl: FileRole,
    checks: &mut Vec<FileCheck>,
) -> Result<Split, DataError> {
    let id = found.id;
    let (pi, pl) = (path_of(found, ri)?, path_of(found, rl)?);
    let mut r = open(pi)?;
    let images = idx::read_images(&mut r, pi)?;
    checks.push(check_of(found, ri, pi, None, r.finish()));
    if (images.height, images.width) != (id.height(), id.width()) {
        return Err(DataError::WrongShape {
            path: pi.into(),
            detail: format!(
                "images are {}x{}, {id} images are {}x{}",
                images.height,
                images.width,
                id.height(),
                id.width()
            ),
        });
    }
    let mut r = open(pl)?;
    let labels = idx::read_labels(&mut r, pl, id.classes() as u32)?;
    checks.push(check_of(found, rl, pl, None, r.finish()));
    if labels.len() != images.n {
        return Err(DataError::CountMismatch {
            images: pi.into(),
            n_images: images.n as u64,
            labels: pl.into(),
            n_labels: labels.len() as u64,
        });
    }
    if images.n == 0 {
        return Err(DataError::Empty { path: pi.into() });
    }
    Ok(Split {
        n: images.n,
        image_len: id.image_len(),
        images: images.pixels,
        labels,
    })
}

fn read_cifar_split(
    found: &Found,
    role: FileRole,
    opts: &DataOptions,
    checks: &mut Vec<FileCheck>,
) -> Result<Split, DataError> {
    let path = path_of(found, role)?;
    let read_from = match opts.cache_root() {
        Some(cache) if unpack::is_xz(path)? => unpack::unpack_xz(path, &cache).ok(),
        _ => None,
    };
    let source = read_from.as_deref().unwrap_or(path);
    let mut r = open(source)?;
    let len_hint = match r.compression() {
        Compression::None => std::fs::metadata(source).map_or(0, |m| m.len()),
        _ => 0,
    };
    let rec = cifar::read_cifar_sized(&mut r, source, len_hint)?;
    checks.push(check_of(found, role, path, read_from.clone(), r.finish()));
    Ok(Split {
        n: rec.n,
        image_len: cifar::PIXELS,
        images: rec.pixels,
        labels: rec.fine,
    })
}

/// The seeded, class-balanced 80/20 split of `split`: per class c, its images shuffled by
/// `stream("train-from-test-split", [seed, c])`, the first floor(0.8 n_c) to train, the rest to test;
/// both keep file order.
pub fn split_80_20(split: &Split, classes: usize, seed: u64) -> (Split, Split) {
    let mut train = Vec::new();
    let mut test = Vec::new();
    for c in 0..classes {
        let mut idx: Vec<usize> = (0..split.n)
            .filter(|&i| usize::from(split.labels[i]) == c)
            .collect();
        idx.shuffle(&mut crate::rng::stream(
            "train-from-test-split",
            &[seed, c as u64],
        ));
        let cut = idx.len() * 4 / 5;
        train.extend_from_slice(&idx[..cut]);
        test.extend_from_slice(&idx[cut..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (split.select(&train), split.select(&test))
}
