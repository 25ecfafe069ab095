//! `status`: per dataset, where its files were found, what they hold and whether their checksums match,
//! without keeping the data (the report behind `regimebench data status`).

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use super::checksums::Verdict;
use super::cifar;
use super::error::DataError;
use super::id::{DatasetId, FileRole};
use super::idx;
use super::locate::{locate, DataOptions};
use super::open::open;
use super::unpack;

/// One file's status.
#[derive(Clone, Debug, Serialize)]
pub struct FileStatus {
    pub name: &'static str,
    pub role: FileRole,
    pub path: PathBuf,
    pub stored_bytes: u64,
    /// Records (images or labels) read; None if the file failed to read.
    pub records: Option<u64>,
    pub sha256: Option<String>,
    pub checksum: Option<Verdict>,
    /// Why the file could not be read, if it could not.
    pub error: Option<String>,
}

/// One dataset's status.
#[derive(Clone, Debug, Serialize)]
pub struct DatasetStatus {
    pub id: DatasetId,
    pub dir: Option<PathBuf>,
    pub found_via: Option<&'static str>,
    pub files: Vec<FileStatus>,
    /// Names of needed files not found.
    pub missing: Vec<&'static str>,
}

impl DatasetStatus {
    /// Every file present, readable and not mismatching a recorded checksum.
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
            && self
                .files
                .iter()
                .all(|f| f.error.is_none() && !matches!(f.checksum, Some(Verdict::Mismatch { .. })))
    }

    /// Human-readable lines for the CLI.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let state = if self.dir.is_none() {
            "not found".to_string()
        } else if self.complete() {
            "complete".to_string()
        } else if self.missing.is_empty() {
            "PROBLEMS".to_string()
        } else {
            format!("partial: missing {}", self.missing.join(", "))
        };
        let _ = writeln!(s, "{:<14} {state}", self.id.name());
        if let Some(dir) = &self.dir {
            let _ = writeln!(
                s,
                "  found in {} (via {})",
                dir.display(),
                self.found_via.unwrap_or("?")
            );
        }
        for f in &self.files {
            let file = f
                .path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let what = match (&f.error, f.records, &f.checksum) {
                (Some(e), _, _) => format!("ERROR: {e}"),
                (None, Some(n), Some(v)) => format!("{n} records, {}", v.short()),
                _ => String::new(),
            };
            let _ = writeln!(s, "  {file:<34} {:>11} bytes  {what}", f.stored_bytes);
        }
        if !self.missing.is_empty() {
            let only_train = self.files.iter().any(|f| !f.role.is_train())
                && self
                    .id
                    .files()
                    .iter()
                    .filter(|s| self.missing.contains(&s.name))
                    .all(|s| s.role.is_train());
            let _ = writeln!(
                s,
                "  get the missing files: regimebench data fetch {}",
                self.id.name()
            );
            if only_train {
                let _ = writeln!(
                    s,
                    "  or run with --train-from-test-split (seeded 80/20 split of the test split)"
                );
            }
        }
        s
    }
}

/// Locates the dataset and reads every file present (fully, to check it and hash it).
pub fn status(id: DatasetId, opts: &DataOptions) -> DatasetStatus {
    let found = locate(id, opts);
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for (spec, path) in &found.files {
        let Some(path) = path else {
            missing.push(spec.name);
            continue;
        };
        let stored_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut st = FileStatus {
            name: spec.name,
            role: spec.role,
            path: path.clone(),
            stored_bytes,
            records: None,
            sha256: None,
            checksum: None,
            error: None,
        };
        match check_file(id, spec.role, path, opts) {
            Ok((records, sha)) => {
                st.checksum = Some(Verdict::of(id, spec.name, &sha));
                st.records = Some(records);
                st.sha256 = Some(sha);
            }
            Err(e) => st.error = Some(e.to_string()),
        }
        files.push(st);
    }
    DatasetStatus {
        id,
        dir: found.dir,
        found_via: found.origin,
        files,
        missing,
    }
}

/// Reads one file with the reader for its role; returns its record count and decompressed SHA-256.
fn check_file(
    id: DatasetId,
    role: FileRole,
    path: &std::path::Path,
    opts: &DataOptions,
) -> Result<(u64, String), DataError> {
    let source = match (id.is_cifar(), opts.cache_root()) {
        (true, Some(cache)) if unpack::is_xz(path)? => {
            unpack::unpack_xz(path, &cache).unwrap_or_else(|_| path.into())
        }
        _ => path.to_path_buf(),
    };
    let mut r = open(&source)?;
    let n = match role {
        FileRole::TrainRecords | FileRole::TestRecords => cifar::read_cifar(&mut r, &source)?.n,
        FileRole::TrainImages | FileRole::TestImages => idx::read_images(&mut r, &source)?.n,
        FileRole::TrainLabels | FileRole::TestLabels => {
            idx::read_labels(&mut r, &source, id.classes() as u32)?.len()
        }
    };
    Ok((n as u64, r.finish().0))
}
