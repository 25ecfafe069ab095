//! `DataError`: every way reading, locating or fetching a dataset can fail, each naming the file and the fix.

use std::io;
use std::path::PathBuf;

/// A data error. Every message names the file (or URL) and says what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The OS refused a read or write.
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: io::Error },

    /// The first four bytes are not the magic number of the expected file kind.
    #[error("{}: wrong magic number 0x{found:08x}, expected {expected}", path.display())]
    BadMagic {
        path: PathBuf,
        found: u32,
        expected: &'static str,
    },

    /// The file ends inside its header or inside a compressed stream.
    #[error("{}: truncated file: {detail}", path.display())]
    Truncated { path: PathBuf, detail: String },

    /// The header's dimensions and the number of data bytes disagree.
    #[error(
        "{}: header dimensions {dims} need {expected} data bytes but the file holds {actual}{}",
        path.display(),
        if actual < expected { " (truncated?)" } else { " (trailing bytes)" }
    )]
    SizeMismatch {
        path: PathBuf,
        dims: String,
        expected: u64,
        actual: u64,
    },

    /// The header is readable but describes data of the wrong shape for this dataset.
    #[error("{}: {detail}", path.display())]
    WrongShape { path: PathBuf, detail: String },

    /// The gzip stream is damaged (bad header, bad deflate data or a CRC mismatch).
    #[error("{}: corrupt gzip stream: {detail}", path.display())]
    CorruptGzip { path: PathBuf, detail: String },

    /// The xz stream is damaged.
    #[error("{}: corrupt xz stream: {detail}", path.display())]
    CorruptXz { path: PathBuf, detail: String },

    /// A label outside 0..classes.
    #[error("{}: {what} label {label} at record {index} is outside 0..{classes}", path.display())]
    LabelOutOfRange {
        path: PathBuf,
        what: &'static str,
        index: u64,
        label: i64,
        classes: u32,
    },

    /// The image file and the label file of one split hold different numbers of records.
    #[error(
        "{} holds {n_images} images but {} holds {n_labels} labels",
        images.display(),
        labels.display()
    )]
    CountMismatch {
        images: PathBuf,
        n_images: u64,
        labels: PathBuf,
        n_labels: u64,
    },

    /// A CIFAR binary file whose length is not a whole number of records.
    #[error(
        "{}: {len} bytes is not a multiple of the 3074-byte CIFAR record \
         (1 coarse label byte, 1 fine label byte, 3072 pixel bytes)",
        path.display()
    )]
    CifarSize { path: PathBuf, len: u64 },

    /// A file that holds no records at all.
    #[error("{}: holds no records", path.display())]
    Empty { path: PathBuf },

    /// Files the dataset needs were not found anywhere on the search path.
    #[error(
        "{dataset}: missing {}; searched {}. Get them with `regimebench data fetch {dataset}`{hint}",
        files.join(", "),
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    Missing {
        dataset: &'static str,
        files: Vec<String>,
        searched: Vec<PathBuf>,
        hint: String,
    },

    /// A download failed (connection, HTTP status, short body).
    #[error("downloading {url}: {detail}")]
    Fetch { url: String, detail: String },

    /// Downloaded content whose checksum is not the recorded one; nothing was kept.
    #[error("{what}: {algo} is {actual}, expected {expected}; the download was discarded")]
    ChecksumMismatch {
        what: String,
        algo: &'static str,
        expected: String,
        actual: String,
    },

    /// A request that makes no sense for this dataset (e.g. more classes per task than classes).
    #[error("{0}")]
    Invalid(String),
}

impl DataError {
    /// The path-carrying I/O error.
    pub fn io(path: impl Into<PathBuf>, error: io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            error,
        }
    }

    /// Turns an `io::Error` raised while reading `path` into a `DataError`. A `DataError` that a
    /// decoding reader wrapped into the `io::Error` (see `open.rs`) comes back out unchanged; an
    /// early end of file becomes `Truncated`.
    pub fn from_read(path: impl Into<PathBuf>, e: io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<DataError>()) {
            if let Some(inner) = e.into_inner() {
                if let Ok(de) = inner.downcast::<DataError>() {
                    return *de;
                }
            }
            return DataError::Invalid("lost a wrapped data error".into());
        }
        let path = path.into();
        if e.kind() == io::ErrorKind::UnexpectedEof {
            return DataError::Truncated {
                path,
                detail: e.to_string(),
            };
        }
        DataError::Io { path, error: e }
    }
}
