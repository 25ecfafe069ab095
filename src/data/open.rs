//! Opening data streams: gzip, xz or plain (told apart by their magic bytes), hashed with SHA-256 as the
//! decompressed bytes stream by, with decoder failures turned into `DataError`s that name the file.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::DataError;

/// How a stream is compressed, read from its first bytes (not from its name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Xz,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0x00];

/// The compression of a stream that starts with `head` (at least 6 bytes for xz to be recognised).
pub fn sniff(head: &[u8]) -> Compression {
    if head.starts_with(&XZ_MAGIC) {
        Compression::Xz
    } else if head.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else {
        Compression::None
    }
}

/// A decompressing, hashing reader. Read it to the end, then `finish` gives the SHA-256 (lowercase hex)
/// and the length of the decompressed content.
pub struct Decoded {
    inner: Box<dyn Read + Send>,
    path: PathBuf,
    compression: Compression,
    hasher: Sha256,
    bytes: u64,
}

impl Decoded {
    /// Wraps any byte source; `path` is only used in error messages.
    pub fn new<R: Read + Send + 'static>(
        source: R,
        path: impl Into<PathBuf>,
    ) -> Result<Self, DataError> {
        let path = path.into();
        let mut buffered = BufReader::with_capacity(1 << 16, source);
        let head = buffered.fill_buf().map_err(|e| DataError::io(&path, e))?;
        let compression = sniff(head);
        let inner: Box<dyn Read + Send> = match compression {
            Compression::None => Box::new(buffered),
            Compression::Gzip => Box::new(flate2::bufread::GzDecoder::new(buffered)),
            Compression::Xz => Box::new(BufReader::with_capacity(
                1 << 16,
                xz2::bufread::XzDecoder::new(buffered),
            )),
        };
        Ok(Decoded {
            inner,
            path,
            compression,
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    /// The compression detected from the stream's first bytes.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The path given for error messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Decompressed bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// SHA-256 (lowercase hex) and length of everything read.
    pub fn finish(self) -> (String, u64) {
        (hex(&self.hasher.finalize()), self.bytes)
    }

    fn decoder_error(&self, e: io::Error) -> DataError {
        let path = self.path.clone();
        let eof = e.kind() == io::ErrorKind::UnexpectedEof;
        match self.compression {
            Compression::Gzip if eof => DataError::Truncated {
                path,
                detail: "the gzip stream ends before its end marker".into(),
            },
            Compression::Gzip => DataError::CorruptGzip {
                path,
                detail: e.to_string(),
            },
            Compression::Xz if eof => DataError::Truncated {
                path,
                detail: "the xz stream ends before its end marker".into(),
            },
            Compression::Xz => DataError::CorruptXz {
                path,
                detail: e.to_string(),
            },
            Compression::None => DataError::from_read(path, e),
        }
    }
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.bytes += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => Err(io::Error::other(self.decoder_error(e))),
        }
    }
}

/// Opens a file (gzip, xz or plain) for decoding and hashing.
pub fn open(path: &Path) -> Result<Decoded, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    Decoded::new(file, path)
}

/// Reads until `buf` is full or the stream ends; returns how many bytes were read.
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of the decompressed content of a file (reads it to the end).
pub fn sha256_decoded(path: &Path) -> Result<(String, u64), DataError> {
    let mut d = open(path)?;
    io::copy(&mut d, &mut io::sink()).map_err(|e| DataError::from_read(path, e))?;
    Ok(d.finish())
}
