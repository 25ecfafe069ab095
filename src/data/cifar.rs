//! The CIFAR-100 binary reader: records of 1 coarse label byte, 1 fine label byte and 3072 pixel bytes
//! (R, G, B planes of 32x32, row-major), streamed from any `Read` into one contiguous image buffer.

use std::io::Read;
use std::path::Path;

use super::error::DataError;
use super::open::read_full;

/// Pixel bytes per image (3 x 32 x 32).
pub const PIXELS: usize = 3 * 32 * 32;
/// Bytes per record.
pub const RECORD: usize = 2 + PIXELS;
/// Fine classes.
pub const FINE_CLASSES: u32 = 100;
/// Coarse classes (superclasses).
pub const COARSE_CLASSES: u32 = 20;

/// The records of one CIFAR-100 binary file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CifarRecords {
    pub n: usize,
    /// n x 3072 bytes, NCHW.
    pub pixels: Vec<u8>,
    pub fine: Vec<u8>,
    pub coarse: Vec<u8>,
}

/// Reads every record until the end of the stream. The length must be a positive multiple of 3074,
/// the fine label below 100 and the coarse label below 20.
pub fn read_cifar(r: &mut impl Read, path: &Path) -> Result<CifarRecords, DataError> {
    read_cifar_sized(r, path, 0)
}

/// `read_cifar` for a stream expected to hold about `len_hint` bytes: the buffers are reserved up
/// front (capped at the 50 000 records of the train split), so 150 MB are not grown by doubling.
pub fn read_cifar_sized(
    r: &mut impl Read,
    path: &Path,
    len_hint: u64,
) -> Result<CifarRecords, DataError> {
    let records = (len_hint / RECORD as u64).min(50_000) as usize;
    let mut out = CifarRecords {
        n: 0,
        pixels: Vec::with_capacity(records * PIXELS),
        fine: Vec::with_capacity(records),
        coarse: Vec::with_capacity(records),
    };
    let mut rec = vec![0u8; RECORD];
    loop {
        let got = read_full(r, &mut rec).map_err(|e| DataError::from_read(path, e))?;
        if got == 0 {
            break;
        }
        if got < RECORD {
            return Err(DataError::CifarSize {
                path: path.into(),
                len: (out.n * RECORD + got) as u64,
            });
        }
        let (coarse, fine) = (rec[0], rec[1]);
        let bad = |what, label: u8, classes| DataError::LabelOutOfRange {
            path: path.into(),
            what,
            index: out.n as u64,
            label: i64::from(label),
            classes,
        };
        if u32::from(fine) >= FINE_CLASSES {
            return Err(bad("fine", fine, FINE_CLASSES));
        }
        if u32::from(coarse) >= COARSE_CLASSES {
            return Err(bad("coarse", coarse, COARSE_CLASSES));
        }
        out.coarse.push(coarse);
        out.fine.push(fine);
        out.pixels.extend_from_slice(&rec[2..]);
        out.n += 1;
    }
    if out.n == 0 {
        return Err(DataError::Empty { path: path.into() });
    }
    Ok(out)
}
