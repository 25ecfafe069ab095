//! Fuzzes the IDX readers (images and labels) behind the gzip/xz/plain sniffing layer: any bytes must
//! give Ok with consistent sizes or a DataError, never a panic or a huge allocation.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use regimebench::data::{idx, open::Decoded};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz-input");
    if let Ok(mut r) = Decoded::new(Cursor::new(data.to_vec()), path) {
        if let Ok(img) = idx::read_images(&mut r, path) {
            assert_eq!(img.pixels.len(), img.n * img.height * img.width);
        }
    }
    if let Ok(mut r) = Decoded::new(Cursor::new(data.to_vec()), path) {
        if let Ok(labels) = idx::read_labels(&mut r, path, 10) {
            assert!(labels.iter().all(|&l| l < 10));
        }
    }
});
