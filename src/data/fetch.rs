//! `fetch`: downloads from each dataset's canonical home (or a mirror) into the cache dir, with a progress
//! bar, verified against checksums recorded here, written atomically (temp file, fsync, rename): a file
//! that failed any check is deleted, never left where a later run would trust it.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::{Digest, Md5};

use super::error::DataError;
use super::id::DatasetId;
use super::open::{hex, sha256_decoded};
use super::sources::downloads;
use super::unpack::sync_dir;

/// Environment variable replacing every canonical home: files are fetched from
/// `$REGIMEBENCH_MIRROR/<dataset>/<remote file name>`.
pub const MIRROR_ENV: &str = "REGIMEBENCH_MIRROR";

/// Where and how to fetch.
#[derive(Clone, Debug, Default)]
pub struct FetchOptions {
    /// Cache root to store into (default: `DataOptions::default().cache_root()`).
    pub cache_dir: Option<PathBuf>,
    /// Base URL replacing the canonical homes (default: `$REGIMEBENCH_MIRROR`).
    pub mirror: Option<String>,
    /// Draw a progress bar on stderr (hidden anyway when stderr is not a terminal).
    pub progress: bool,
}

/// What `fetch_file` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Downloaded,
    AlreadyPresent,
}

/// The checks a download must pass.
#[derive(Clone, Debug, Default)]
pub struct Expect {
    pub sha256_decoded: Option<String>,
    pub md5: Option<String>,
}

/// Fetches every file of `id` into `<cache>/<dataset dir>/`; returns the stored paths.
pub fn fetch(id: DatasetId, opts: &FetchOptions) -> Result<Vec<(PathBuf, Outcome)>, DataError> {
    let cache = opts
        .cache_dir
        .clone()
        .or_else(|| super::locate::DataOptions::default().cache_root())
        .ok_or_else(|| {
            DataError::Invalid(
                "no cache directory: pass --cache-dir or set REGIMEBENCH_CACHE".into(),
            )
        })?;
    let dir = cache.join(id.dir_names()[0]);
    let mirror = opts
        .mirror
        .clone()
        .or_else(|| std::env::var(MIRROR_ENV).ok());
    let (home, list) = downloads(id);
    let mut out = Vec::new();
    for d in list {
        let url = match &mirror {
            Some(m) => format!("{}/{}/{}", m.trim_end_matches('/'), id.name(), d.remote),
            None => format!("{home}{}", d.remote),
        };
        let expect = Expect {
            sha256_decoded: d.sha256_decoded.map(str::to_string),
            md5: d.md5.map(str::to_string),
        };
        if d.members.is_empty() {
            let dest = dir.join(d.remote);
            let outcome = fetch_file(&url, &dest, &expect, opts.progress)?;
            out.push((dest, outcome));
        } else {
            out.extend(fetch_tarball(
                &url,
                &dir,
                &expect,
                d.members,
                opts.progress,
            )?);
        }
    }
    Ok(out)
}

/// Downloads `url` to `dest` unless a file there already passes `expect`. The body goes to a temp file
/// beside `dest`; it is renamed into place only after the length and every checksum in `expect` match.
pub fn fetch_file(
    url: &str,
    dest: &Path,
    expect: &Expect,
    progress: bool,
) -> Result<Outcome, DataError> {
    if dest.is_file() && verify(dest, None, expect).is_ok() {
        return Ok(Outcome::AlreadyPresent);
    }
    let dir = dest.parent().unwrap_or(Path::new("."));
    let (tmp, md5) = download_to_temp(url, dir, progress)?;
    verify(tmp.path(), Some(&md5), expect).map_err(|e| relabel(e, url))?;
    tmp.persist(dest)
        .map_err(|e| DataError::io(dest, e.error))?;
    sync_dir(dir);
    Ok(Outcome::Downloaded)
}

fn relabel(e: DataError, url: &str) -> DataError {
    match e {
        DataError::ChecksumMismatch {
            algo,
            expected,
            actual,
            ..
        } => DataError::ChecksumMismatch {
            what: url.to_string(),
            algo,
            expected,
            actual,
        },
        other => other,
    }
}

/// Checks a stored file against `expect` (`md5` of the raw file if already known).
fn verify(path: &Path, md5: Option<&str>, expect: &Expect) -> Result<(), DataError> {
    if let Some(want) = &expect.md5 {
        let got = match md5 {
            Some(m) => m.to_string(),
            None => md5_file(path)?,
        };
        if &got != want {
            let what = path.display().to_string();
            return Err(DataError::ChecksumMismatch {
                what,
                algo: "MD5",
                expected: want.clone(),
                actual: got,
            });
        }
    }
    if let Some(want) = &expect.sha256_decoded {
        let (got, _) = sha256_decoded(path)?;
        if &got != want {
            let what = path.display().to_string();
            return Err(DataError::ChecksumMismatch {
                what,
                algo: "SHA-256 of the decompressed content",
                expected: want.clone(),
                actual: got,
            });
        }
    }
    Ok(())
}

fn md5_file(path: &Path) -> Result<String, DataError> {
    let mut f = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut h = Md5::new();
    std::io::copy(&mut f, &mut h).map_err(|e| DataError::io(path, e))?;
    Ok(hex(&h.finalize()))
}

/// GETs `url` into a synced temp file in `dir`; returns it with the MD5 of the body.
fn download_to_temp(
    url: &str,
    dir: &Path,
    progress: bool,
) -> Result<(tempfile::NamedTempFile, String), DataError> {
    let fail = |detail: String| DataError::Fetch {
        url: url.to_string(),
        detail,
    };
    fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(120))
        .build();
    let resp = match agent.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            return Err(fail(format!("HTTP {code} {}", r.status_text())))
        }
        Err(e) => return Err(fail(e.to_string())),
    };
    let total: Option<u64> = resp
        .header("Content-Length")
        .and_then(|v| v.trim().parse().ok());
    let bar = progress_bar(url, total, progress);
    let mut tmp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .map_err(|e| DataError::io(dir, e))?;
    let mut body = resp.into_reader();
    let (mut md5, mut n, mut buf) = (Md5::new(), 0u64, vec![0u8; 1 << 16]);
    loop {
        let k = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(format!("connection broke after {n} bytes: {e}"))),
        };
        md5.update(&buf[..k]);
        tmp.write_all(&buf[..k])
            .map_err(|e| DataError::io(tmp.path(), e))?;
        n += k as u64;
        bar.inc(k as u64);
    }
    bar.finish_and_clear();
    if let Some(t) = total.filter(|&t| t != n) {
        return Err(fail(format!(
            "got {n} of the {t} bytes announced by Content-Length (truncated body)"
        )));
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| DataError::io(tmp.path(), e))?;
    Ok((tmp, hex(&md5.finalize())))
}

fn progress_bar(url: &str, total: Option<u64>, show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total.unwrap_or(0));
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
    bar
}

/// Downloads a tarball (gzip'd tar), checks it against `expect`, and extracts `members` (member path,
/// stored name) into `dir`, each through a temp file, fsync and rename; the tarball itself is not kept.
pub fn fetch_tarball(
    url: &str,
    dir: &Path,
    expect: &Expect,
    members: &[(&str, &str)],
    progress: bool,
) -> Result<Vec<(PathBuf, Outcome)>, DataError> {
    if members.iter().all(|(_, name)| dir.join(name).is_file()) {
        return Ok(members
            .iter()
            .map(|(_, n)| (dir.join(n), Outcome::AlreadyPresent))
            .collect());
    }
    let (tmp, md5) = download_to_temp(url, dir, progress)?;
    verify(tmp.path(), Some(&md5), expect).map_err(|e| relabel(e, url))?;
    let file = File::open(tmp.path()).map_err(|e| DataError::io(tmp.path(), e))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let entries = archive
        .entries()
        .map_err(|e| DataError::from_read(tmp.path(), e))?;
    let mut out = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| DataError::from_read(tmp.path(), e))?;
        let member = entry
            .path()
            .map_err(|e| DataError::from_read(tmp.path(), e))?
            .to_string_lossy()
            .into_owned();
        let Some((_, name)) = members
            .iter()
            .find(|(m, _)| member.trim_start_matches("./") == *m)
        else {
            continue;
        };
        let dest = dir.join(name);
        let mut part = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(dir)
            .map_err(|e| DataError::io(dir, e))?;
        std::io::copy(&mut entry, &mut part).map_err(|e| DataError::from_read(tmp.path(), e))?;
        part.as_file()
            .sync_all()
            .map_err(|e| DataError::io(part.path(), e))?;
        part.persist(&dest)
            .map_err(|e| DataError::io(&dest, e.error))?;
        out.push((dest, Outcome::Downloaded));
    }
    sync_dir(dir);
    if out.len() != members.len() {
        return Err(DataError::Fetch {
            url: url.to_string(),
            detail: format!(
                "the archive holds {} of the {} expected members",
                out.len(),
                members.len()
            ),
        });
    }
    Ok(out)
}
