//! The recorded SHA-256 of every dataset file we know, taken over the *decompressed* content, so a
//! recompressed copy (Debian's Fashion-MNIST, the xz'd CIFAR-100 in ../shared/data) still matches.

use serde::{Deserialize, Serialize};

use super::id::DatasetId;

/// One accepted checksum of a file's decompressed content.
#[derive(Clone, Copy, Debug)]
pub struct Known {
    pub sha256: &'static str,
    /// Decompressed length in bytes.
    pub len: u64,
    /// Which version of the file this is.
    pub note: &'static str,
}

/// A `Known` literal (a macro, not a fn, so `&[k!(..)]` is promoted to a `'static` slice).
macro_rules! k {
    ($sha:expr, $len:expr, $note:expr) => {
        Known {
            sha256: $sha,
            len: $len,
            note: $note,
        }
    };
}

const OFFICIAL: &str = "official release";
/// The note of the committed subset's files (data/subset/SOURCES.md).
pub const SUBSET: &str = "regimebench's committed MNIST subset (data/subset/SOURCES.md): the first 500 train / 200 test images of each class, NOT the full dataset";

/// The accepted checksums of `file` (its uncompressed name, as in `DatasetId::files`). Empty when
/// no value is recorded (e.g. KMNIST's train images, which no copy here holds).
pub fn known(id: DatasetId, file: &str) -> &'static [Known] {
    use DatasetId::*;
    match (id, file) {
        (Mnist, "train-images-idx3-ubyte") => &[k!("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47_040_016, OFFICIAL), k!("36cb395b94762f0009909e61c7df0bc6d23da1b3e0251f38b10b10501b652034", 3_920_016, SUBSET)],
        (Mnist, "train-labels-idx1-ubyte") => &[k!("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60_008, OFFICIAL), k!("6bf07e4d2b09bd66291b74f06f4d0e8c9f34e62ddcb50269a3126f861d1e7d68", 5_008, SUBSET)],
        (Mnist, "t10k-images-idx3-ubyte") => &[k!("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7_840_016, OFFICIAL), k!("780e99a56e963f3affe4791a03545a6ddbdc0904dd880c7f3c50753282177303", 1_568_016, SUBSET)],
        (Mnist, "t10k-labels-idx1-ubyte") => &[k!("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10_008, OFFICIAL), k!("b547e409b08f1d55c77b7f0964dfb27202f97c41c014d9427a3acecfcf6a7129", 2_008, SUBSET)],
        (FashionMnist, "train-images-idx3-ubyte") => &[k!("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47_040_016, OFFICIAL)],
        (FashionMnist, "train-labels-idx1-ubyte") => &[k!("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60_008, OFFICIAL)],
        (FashionMnist, "t10k-images-idx3-ubyte") => &[k!("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7_840_016, OFFICIAL)],
        (FashionMnist, "t10k-labels-idx1-ubyte") => &[k!("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10_008, OFFICIAL)],
        (Kmnist, "train-labels-idx1-ubyte") => &[k!("2a16eeae62da984b8bd24fa32e31d47291f01dac3fe84d5594f304f71e7d374b", 60_008, OFFICIAL)],
        (Kmnist, "t10k-images-idx3-ubyte") => &[k!("76fbd229ce87db80dd281af5e6670de4ad0e42fb30a7bd643972994c47c1f42e", 7_840_016, OFFICIAL)],
        (Kmnist, "t10k-labels-idx1-ubyte") => &[k!("a11dc742be8e781a40a92f53d6a4957e7b7d36df2faa097659131ebfd8fd60c6", 10_008, OFFICIAL)],
        (Qmnist, "qmnist-train-labels-idx2-int") => &[k!("bb1b6e1ec7b04fd5696f1ed50b5f58f8ef195118edd5c93c81783df9740b8ac5", 1_920_012, OFFICIAL)],
        (Qmnist, "qmnist-test-labels-idx2-int") => &[k!("92d0ccb8c25f9c6534270fb4be7e1d24a1c6d315edfc8a638bfbd31c70f362dd", 1_920_012, OFFICIAL)],
        (Cifar100, "train.bin") => &[k!("f31298fc616915fa142368359df1c4ca2ae984d6915ca468b998a5ec6aeebf29", 153_700_000, "official record order (../shared/data reconstruction, see its SOURCES.md)")],
        (Cifar100, "test.bin") => &[k!("0963a711c782a600e363bd27b2591918dc74a2e98edcd81325889cbdbe2d73fc", 30_740_000, "../shared/data reconstruction: records sorted by fine class; the official file's order differs and its checksum is not recorded")],
        _ => &[],
    }
}

/// The outcome of comparing a file's decompressed SHA-256 with the recorded values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "verdict")]
pub enum Verdict {
    /// Matches a recorded value.
    Ok { note: String },
    /// A value is recorded and this file differs from it.
    Mismatch { expected: String },
    /// No value is recorded for this file.
    Unrecorded,
}

impl Verdict {
    /// Compares `sha256` (lowercase hex) with the values recorded for `file`.
    pub fn of(id: DatasetId, file: &str, sha256: &str) -> Verdict {
        let known = known(id, file);
        if let Some(m) = known.iter().find(|k| k.sha256 == sha256) {
            Verdict::Ok {
                note: m.note.to_string(),
            }
        } else if let Some(first) = known.first() {
            Verdict::Mismatch {
                expected: first.sha256.to_string(),
            }
        } else {
            Verdict::Unrecorded
        }
    }

    /// "ok", "MISMATCH (expected ...)", "no recorded checksum".
    pub fn short(&self) -> String {
        match self {
            Verdict::Ok { .. } => "sha256 ok".into(),
            Verdict::Mismatch { expected } => format!("sha256 MISMATCH (expected {expected})"),
            Verdict::Unrecorded => "no recorded sha256".into(),
        }
    }
}
