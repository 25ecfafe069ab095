//! Unpacking `.xz` files once into the cache (temp file, fsync, rename), so that loading CIFAR-100 reads
//! 184 MB of raw records instead of decompressing xz (about 10 s) on every run. The SHA-256 of the
//! content is still computed on every read, so a damaged copy shows up as a checksum mismatch.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::error::DataError;
use super::open::{hex, sniff, Compression};

/// Serialises unpacking within one process (parallel tests load the same file).
static UNPACK_LOCK: Mutex<()> = Mutex::new(());

/// True if the file starts with the xz magic bytes.
pub fn is_xz(path: &Path) -> Result<bool, DataError> {
    let mut head = [0u8; 6];
    let mut f = File::open(path).map_err(|e| DataError::io(path, e))?;
    let n = super::open::read_full(&mut f, &mut head).map_err(|e| DataError::io(path, e))?;
    Ok(sniff(&head[..n]) == Compression::Xz)
}

/// The cache path of the unpacked copy of `src`, keyed by the source's content: its length and its
/// first and last MiB (the xz index and checksums sit at the end). The same file anywhere, e.g. a fresh
/// checkout with new mtimes, reuses one copy; a replaced file gets a new one.
pub fn unpacked_path(src: &Path, cache_root: &Path) -> Result<PathBuf, DataError> {
    const EDGE: u64 = 1 << 20;
    let mut f = File::open(src).map_err(|e| DataError::io(src, e))?;
    let len = f.metadata().map_err(|e| DataError::io(src, e))?.len();
    let mut h = Sha256::new();
    h.update(len.to_le_bytes());
    let mut edge = Vec::new();
    (&mut f)
        .take(EDGE)
        .read_to_end(&mut edge)
        .map_err(|e| DataError::io(src, e))?;
    h.update(&edge);
    f.seek(SeekFrom::Start(len.saturating_sub(EDGE)))
        .map_err(|e| DataError::io(src, e))?;
    edge.clear();
    f.read_to_end(&mut edge)
        .map_err(|e| DataError::io(src, e))?;
    h.update(&edge);
    let key = &hex(&h.finalize())[..16];
    let stem = src
        .file_stem()
        .map_or_else(|| "data".into(), |s| s.to_string_lossy().into_owned());
    Ok(cache_root.join("unpacked").join(key).join(stem))
}

/// Returns the unpacked copy of the xz file `src`, creating it if needed. A copy exists only once it
/// is complete: it is written to a temp file in the same directory, synced, then renamed.
pub fn unpack_xz(src: &Path, cache_root: &Path) -> Result<PathBuf, DataError> {
    let dest = unpacked_path(src, cache_root)?;
    if dest.is_file() {
        return Ok(dest);
    }
    let _guard = UNPACK_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if dest.is_file() {
        return Ok(dest);
    }
    let dir = dest.parent().unwrap_or(cache_root);
    fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| DataError::io(dir, e))?;
    let mut input = super::open::open(src)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = input
            .read(&mut buf)
            .map_err(|e| DataError::from_read(src, e))?;
        if n == 0 {
            break;
        }
        tmp.write_all(&buf[..n])
            .map_err(|e| DataError::io(tmp.path(), e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| DataError::io(tmp.path(), e))?;
    tmp.persist(&dest)
        .map_err(|e| DataError::io(&dest, e.error))?;
    sync_dir(dir);
    Ok(dest)
}

/// Best-effort fsync of a directory so a rename survives a crash.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
