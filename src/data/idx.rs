//! The IDX reader: idx3 unsigned-byte images, idx1 unsigned-byte labels and QMNIST's idx2 int32 labels
//! (column 0 is the class), from any `Read` (decompression happens one layer down, in `open.rs`).
//!
//! Format: magic `00 00 TT DD` (TT = 0x08 unsigned byte, 0x0C big-endian int32; DD = number of dims),
//! then DD big-endian u32 sizes, then the data in row-major order and nothing after it.

use std::io::{self, Read};
use std::path::Path;

use byteorder::{BigEndian, ReadBytesExt};

use super::error::DataError;
use super::open::read_full;

/// Element type of an IDX file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdxType {
    U8,
    I32,
}

impl IdxType {
    fn size(self) -> u64 {
        match self {
            IdxType::U8 => 1,
            IdxType::I32 => 4,
        }
    }
}

/// The parsed header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxHeader {
    pub kind: IdxType,
    pub dims: Vec<u32>,
    pub magic: u32,
}

impl IdxHeader {
    /// "10000 x 28 x 28".
    pub fn dims_string(&self) -> String {
        self.dims
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" x ")
    }
}

/// Images from an idx3-ubyte file: `n` images of `height x width` bytes, contiguous.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    pub n: usize,
    pub height: usize,
    pub width: usize,
    pub pixels: Vec<u8>,
}

const IMAGES_MAGIC: &str = "0x00000803 (idx3 unsigned-byte images)";
const LABELS_MAGIC: &str =
    "0x00000801 (idx1 unsigned-byte labels) or 0x00000c02 (idx2 int32 labels)";

/// Reads and checks the magic number and the dimensions.
pub fn read_header(r: &mut impl Read, path: &Path) -> Result<IdxHeader, DataError> {
    let magic = match r.read_u32::<BigEndian>() {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            return Err(DataError::Truncated {
                path: path.into(),
                detail: "ends inside the 4-byte magic number".into(),
            })
        }
        Err(e) => return Err(DataError::from_read(path, e)),
    };
    let [z0, z1, t, nd] = magic.to_be_bytes();
    let kind = match t {
        0x08 => IdxType::U8,
        0x0c => IdxType::I32,
        _ => IdxType::U8,
    };
    if z0 != 0 || z1 != 0 || !(t == 0x08 || t == 0x0c) || nd == 0 || nd > 4 {
        return Err(DataError::BadMagic {
            path: path.into(),
            found: magic,
            expected: "an IDX magic 0x0000TTDD",
        });
    }
    let mut dims = Vec::with_capacity(usize::from(nd));
    for i in 0..nd {
        match r.read_u32::<BigEndian>() {
            Ok(d) => dims.push(d),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(DataError::Truncated {
                    path: path.into(),
                    detail: format!("ends inside the header, at dimension {} of {nd}", i + 1),
                })
            }
            Err(e) => return Err(DataError::from_read(path, e)),
        }
    }
    Ok(IdxHeader { kind, dims, magic })
}

/// Reads exactly the payload the header announces, then checks that nothing follows it.
fn read_payload(r: &mut impl Read, path: &Path, h: &IdxHeader) -> Result<Vec<u8>, DataError> {
    let header_len = 4 + 4 * h.dims.len() as u64;
    let expected = h
        .dims
        .iter()
        .try_fold(h.kind.size(), |acc, &d| acc.checked_mul(u64::from(d)))
        .ok_or_else(|| DataError::WrongShape {
            path: path.into(),
            detail: format!("header dimensions {} overflow", h.dims_string()),
        })?;
    // Grow with the data actually present: a lying header cannot make us allocate gigabytes up front.
    let mut buf = Vec::with_capacity(expected.min(1 << 26) as usize);
    r.by_ref()
        .take(expected)
        .read_to_end(&mut buf)
        .map_err(|e| DataError::from_read(path, e))?;
    let got = buf.len() as u64;
    let mut probe = [0u8; 1];
    let extra = read_full(r, &mut probe).map_err(|e| DataError::from_read(path, e))? as u64;
    if got < expected || extra > 0 {
        let rest = if extra > 0 {
            1 + io::copy(r, &mut io::sink()).map_err(|e| DataError::from_read(path, e))?
        } else {
            0
        };
        return Err(DataError::SizeMismatch {
            path: path.into(),
            dims: h.dims_string(),
            expected: header_len + expected,
            actual: header_len + got + rest,
        });
    }
    Ok(buf)
}

/// Reads an idx3 unsigned-byte image file.
pub fn read_images(r: &mut impl Read, path: &Path) -> Result<IdxImages, DataError> {
    let h = read_header(r, path)?;
    if h.magic != 0x0000_0803 {
        return Err(DataError::BadMagic {
            path: path.into(),
            found: h.magic,
            expected: IMAGES_MAGIC,
        });
    }
    let (n, height, width) = (h.dims[0] as usize, h.dims[1] as usize, h.dims[2] as usize);
    let pixels = read_payload(r, path, &h)?;
    Ok(IdxImages {
        n,
        height,
        width,
        pixels,
    })
}

/// Reads class labels: idx1 unsigned bytes, or an idx2 int32 table (N x C, C >= 1) whose column 0
/// is the class (QMNIST). Every label must lie in `0..classes`.
pub fn read_labels(r: &mut impl Read, path: &Path, classes: u32) -> Result<Vec<u8>, DataError> {
    let h = read_header(r, path)?;
    if h.magic != 0x0000_0801 && h.magic != 0x0000_0c02 {
        return Err(DataError::BadMagic {
            path: path.into(),
            found: h.magic,
            expected: LABELS_MAGIC,
        });
    }
    if h.kind == IdxType::I32 && h.dims[1] == 0 {
        return Err(DataError::WrongShape {
            path: path.into(),
            detail: format!("int32 label table {} has no columns", h.dims_string()),
        });
    }
    let raw = read_payload(r, path, &h)?;
    let out_of_range = |index: usize, label: i64| DataError::LabelOutOfRange {
        path: path.into(),
        what: "class",
        index: index as u64,
        label,
        classes,
    };
    let classes = i64::from(classes.min(256));
    match h.kind {
        IdxType::U8 => {
            if let Some(i) = raw.iter().position(|&l| i64::from(l) >= classes) {
                return Err(out_of_range(i, i64::from(raw[i])));
            }
            Ok(raw)
        }
        IdxType::I32 => {
            let row = 4 * h.dims[1] as usize;
            let mut labels = Vec::with_capacity(h.dims[0] as usize);
            for (i, rec) in raw.chunks_exact(row).enumerate() {
                let v = i64::from(i32::from_be_bytes([rec[0], rec[1], rec[2], rec[3]]));
                if !(0..classes).contains(&v) {
                    return Err(out_of_range(i, v));
                }
                labels.push(v as u8);
            }
            Ok(labels)
        }
    }
}
