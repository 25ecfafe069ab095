//! Fuzzes the CIFAR-100 binary reader behind the gzip/xz/plain sniffing layer: any bytes must give Ok
//! with consistent sizes and labels in range, or a DataError, never a panic.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use regimebench::data::{cifar, open::Decoded};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz-input");
    if let Ok(mut r) = Decoded::new(Cursor::new(data.to_vec()), path) {
        if let Ok(rec) = cifar::read_cifar(&mut r, path) {
            assert_eq!(rec.pixels.len(), rec.n * cifar::PIXELS);
            assert_eq!(rec.fine.len(), rec.n);
            assert!(rec.fine.iter().all(|&l| u32::from(l) < cifar::FINE_CLASSES));
            assert!(rec
                .coarse
                .iter()
                .all(|&l| u32::from(l) < cifar::COARSE_CLASSES));
        }
    }
});
