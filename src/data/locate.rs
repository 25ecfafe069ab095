//! Finding dataset files: the search roots in order (`--data-dir`, `REGIMEBENCH_DATA`, the cache dir,
//! system dataset dirs, `../shared/data`, last the repository's MNIST subset), the options that steer it, and the per-dataset result.

use std::path::{Path, PathBuf};

use super::id::{DatasetId, FileSpec};

/// Environment variable naming an extra data root (searched after `--data-dir`).
pub const DATA_ENV: &str = "REGIMEBENCH_DATA";
/// Environment variable overriding the cache root (downloads and unpacked `.xz` files).
pub const CACHE_ENV: &str = "REGIMEBENCH_CACHE";

/// How the last root, the repository's committed MNIST subset (`data/subset`), is named in results.
pub const SUBSET_ROOT: &str =
    "the repository's MNIST subset (data/subset: 500 train / 200 test images per class)";

/// Where to look for data and how to load it.
#[derive(Clone, Debug)]
pub struct DataOptions {
    /// `--data-dir`: searched first.
    pub data_dir: Option<PathBuf>,
    /// Cache root for downloads and unpacked `.xz` files; default `$REGIMEBENCH_CACHE`, else the
    /// user's cache dir (`~/.cache/regimebench` on Linux).
    pub cache_dir: Option<PathBuf>,
    /// Use a seeded, class-balanced 80/20 split of the official test split as train/test.
    pub train_from_test_split: bool,
    /// Seed of that split.
    pub seed: u64,
    /// Search the default roots after `data_dir` (environment, cache, system dirs, ../shared/data).
    /// Tests turn this off to see only their own files.
    pub search_defaults: bool,
}

impl Default for DataOptions {
    fn default() -> Self {
        DataOptions {
            data_dir: None,
            cache_dir: None,
            train_from_test_split: false,
            seed: 0,
            search_defaults: true,
        }
    }
}

impl DataOptions {
    /// Options that look only in `dir` (and cache into `cache`), for tests and scripted use.
    pub fn isolated(dir: impl Into<PathBuf>, cache: impl Into<PathBuf>) -> Self {
        DataOptions {
            data_dir: Some(dir.into()),
            cache_dir: Some(cache.into()),
            search_defaults: false,
            ..DataOptions::default()
        }
    }

    /// The cache root, if one can be determined.
    pub fn cache_root(&self) -> Option<PathBuf> {
        self.cache_dir
            .clone()
            .or_else(|| std::env::var_os(CACHE_ENV).map(PathBuf::from))
            .or_else(|| dirs::cache_dir().map(|d| d.join("regimebench")))
    }

    /// The data roots in search order, each with where it came from.
    pub fn roots(&self) -> Vec<(PathBuf, &'static str)> {
        let mut roots = Vec::new();
        if let Some(d) = &self.data_dir {
            roots.push((d.clone(), "--data-dir"));
        }
        if self.search_defaults {
            if let Some(d) = std::env::var_os(DATA_ENV) {
                roots.push((PathBuf::from(d), DATA_ENV));
            }
        }
        if let Some(c) = self.cache_root() {
            if self.search_defaults || self.cache_dir.is_some() {
                roots.push((c, "cache dir"));
            }
        }
        if self.search_defaults {
            roots.push((PathBuf::from("/usr/share/datasets"), "system datasets dir"));
            roots.push((
                PathBuf::from("/usr/local/share/datasets"),
                "system datasets dir",
            ));
            roots.push((
                PathBuf::from("../shared/data"),
                "../shared/data (current dir)",
            ));
            roots.push((PathBuf::from("shared/data"), "shared/data (current dir)"));
            roots.push((
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
                "../shared/data (crate root)",
            ));
            roots.push((
                Path::new(env!("CARGO_MANIFEST_DIR")).join("data/subset"),
                SUBSET_ROOT,
            ));
        }
        let mut seen = Vec::new();
        roots.retain(|(p, _)| {
            let key = p.canonicalize().unwrap_or_else(|_| p.clone());
            let fresh = !seen.contains(&key);
            seen.push(key);
            fresh
        });
        roots
    }
}

/// Where a dataset's files were found.
#[derive(Clone, Debug)]
pub struct Found {
    pub id: DatasetId,
    /// The directory chosen: the first holding every file, else the first holding any.
    pub dir: Option<PathBuf>,
    /// How that directory was reached ("--data-dir", "cache dir", ...).
    pub origin: Option<&'static str>,
    /// Each needed file and its path in `dir`, if present.
    pub files: Vec<(FileSpec, Option<PathBuf>)>,
    /// The dataset directories looked at.
    pub searched: Vec<PathBuf>,
}

impl Found {
    /// Names of the files not present in `dir`.
    pub fn missing(&self) -> Vec<FileSpec> {
        self.files
            .iter()
            .filter(|(_, p)| p.is_none())
            .map(|(s, _)| *s)
            .collect()
    }

    /// The path of the file with this role, if present.
    pub fn path(&self, role: super::id::FileRole) -> Option<&Path> {
        self.files
            .iter()
            .find(|(s, _)| s.role == role)
            .and_then(|(_, p)| p.as_deref())
    }
}

/// The stored form of a file in `dir`: `name`, `name.gz` or `name.xz`, also with the dotted spelling
/// some copies use (`train-images.idx3-ubyte`).
pub fn stored_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let dotted = name.replacen("-idx", ".idx", 1);
    [name, dotted.as_str()]
        .iter()
        .flat_map(|n| {
            ["", ".gz", ".xz"]
                .iter()
                .map(move |ext| dir.join(format!("{n}{ext}")))
        })
        .find(|p| p.is_file())
}

/// Searches every root for the dataset's files.
pub fn locate(id: DatasetId, opts: &DataOptions) -> Found {
    let mut searched = Vec::new();
    let mut partial: Option<Found> = None;
    for (root, origin) in opts.roots() {
        for sub in id.dir_names() {
            let dir = root.join(sub);
            searched.push(dir.clone());
            if !dir.is_dir() {
                continue;
            }
            let files: Vec<_> = id
                .files()
                .iter()
                .map(|s| (*s, stored_file(&dir, s.name)))
                .collect();
            let present = files.iter().filter(|(_, p)| p.is_some()).count();
            let found = Found {
                id,
                dir: Some(dir.canonicalize().unwrap_or(dir)),
                origin: Some(origin),
                files,
                searched: Vec::new(),
            };
            if present == id.files().len() {
                return Found { searched, ..found };
            }
            if present > 0 && partial.is_none() {
                partial = Some(found);
            }
        }
    }
    match partial {
        Some(p) => Found { searched, ..p },
        None => Found {
            id,
            dir: None,
            origin: None,
            files: id.files().iter().map(|s| (*s, None)).collect(),
            searched,
        },
    }
}
