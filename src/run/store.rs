//! Writing result files so that a reader never sees a partial one: a unique temporary file in the
//! target directory, fsync, rename, fsync of the directory.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: through a temporary file of a unique name in the same
/// directory (parallel writers never share one), synced, renamed over `path`, then the directory
/// synced so that the rename survives a crash. A killed writer leaves at most a hidden
/// `.tmp*` file, never a partial `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp");
    // As a file made by `File::create`: 0o666 less the umask (a temporary file's own 0o600 would
    // keep the results from the rest of a group sharing the directory, on a cluster say).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/r.json");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["r.json"]);
    }

    /// Results are as readable as any file the user makes (not a temporary file's 0o600).
    #[cfg(unix)]
    #[test]
    fn files_get_the_modes_of_ordinary_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (ours, plain) = (dir.path().join("r.json"), dir.path().join("plain"));
        write_atomically(&ours, b"x").unwrap();
        std::fs::write(&plain, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ours), mode(&plain));
    }

    #[test]
    fn parallel_writers_to_one_directory_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|s| {
            for i in 0..8 {
                let path = dir.path().join(format!("{i}.json"));
                s.spawn(move || write_atomically(&path, format!("{i}").as_bytes()).unwrap());
            }
        });
        for i in 0..8 {
            let text = std::fs::read_to_string(dir.path().join(format!("{i}.json"))).unwrap();
            assert_eq!(text, format!("{i}"));
        }
    }
}
