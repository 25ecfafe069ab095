//! `DatasetId`: the five datasets of PROTOCOL.md section 2, their shapes, task layout and the files each needs.

use serde::{Deserialize, Serialize};

/// One of the five datasets.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetId {
    Mnist,
    FashionMnist,
    Kmnist,
    Qmnist,
    #[value(name = "cifar100")]
    #[serde(rename = "cifar100")]
    Cifar100,
}

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileRole {
    TrainImages,
    TrainLabels,
    TestImages,
    TestLabels,
    /// CIFAR: labels and images interleaved.
    TrainRecords,
    TestRecords,
}

impl FileRole {
    /// True for files of the train split.
    pub fn is_train(self) -> bool {
        matches!(
            self,
            FileRole::TrainImages | FileRole::TrainLabels | FileRole::TrainRecords
        )
    }
}

/// One file a dataset needs: its role and its uncompressed name (it may be stored as `name`,
/// `name.gz` or `name.xz`).
#[derive(Clone, Copy, Debug)]
pub struct FileSpec {
    pub role: FileRole,
    pub name: &'static str,
}

const fn spec(role: FileRole, name: &'static str) -> FileSpec {
    FileSpec { role, name }
}

const MNIST_FILES: [FileSpec; 4] = [
    spec(FileRole::TrainImages, "train-images-idx3-ubyte"),
    spec(FileRole::TrainLabels, "train-labels-idx1-ubyte"),
    spec(FileRole::TestImages, "t10k-images-idx3-ubyte"),
    spec(FileRole::TestLabels, "t10k-labels-idx1-ubyte"),
];
const QMNIST_FILES: [FileSpec; 4] = [
    spec(FileRole::TrainImages, "qmnist-train-images-idx3-ubyte"),
    spec(FileRole::TrainLabels, "qmnist-train-labels-idx2-int"),
    spec(FileRole::TestImages, "qmnist-test-images-idx3-ubyte"),
    spec(FileRole::TestLabels, "qmnist-test-labels-idx2-int"),
];
const CIFAR_FILES: [FileSpec; 2] = [
    spec(FileRole::TrainRecords, "train.bin"),
    spec(FileRole::TestRecords, "test.bin"),
];

impl DatasetId {
    /// All five, in the order of PROTOCOL.md.
    pub const ALL: [DatasetId; 5] = [
        DatasetId::Mnist,
        DatasetId::FashionMnist,
        DatasetId::Kmnist,
        DatasetId::Qmnist,
        DatasetId::Cifar100,
    ];

    /// The CLI / JSON name, which is also the directory name in a data dir.
    pub fn name(self) -> &'static str {
        match self {
            DatasetId::Mnist => "mnist",
            DatasetId::FashionMnist => "fashion-mnist",
            DatasetId::Kmnist => "kmnist",
            DatasetId::Qmnist => "qmnist",
            DatasetId::Cifar100 => "cifar100",
        }
    }

    /// Directory names tried under each data root, first the `../shared/data` layout, then the
    /// torchvision layout (`<root>/MNIST/raw`).
    pub fn dir_names(self) -> &'static [&'static str] {
        match self {
            DatasetId::Mnist => &["mnist", "MNIST/raw"],
            DatasetId::FashionMnist => &["fashion-mnist", "FashionMNIST/raw"],
            DatasetId::Kmnist => &["kmnist", "KMNIST/raw"],
            DatasetId::Qmnist => &["qmnist", "QMNIST/raw"],
            DatasetId::Cifar100 => &["cifar-100-binary"],
        }
    }

    /// Number of classes (fine classes for CIFAR-100).
    pub fn classes(self) -> usize {
        match self {
            DatasetId::Cifar100 => 100,
            _ => 10,
        }
    }

    pub fn channels(self) -> usize {
        match self {
            DatasetId::Cifar100 => 3,
            _ => 1,
        }
    }

    pub fn height(self) -> usize {
        match self {
            DatasetId::Cifar100 => 32,
            _ => 28,
        }
    }

    pub fn width(self) -> usize {
        self.height()
    }

    /// Bytes per image: channels x height x width.
    pub fn image_len(self) -> usize {
        self.channels() * self.height() * self.width()
    }

    /// Classes per task (k): 2 for the MNIST family, 10 for CIFAR-100.
    pub fn classes_per_task(self) -> usize {
        match self {
            DatasetId::Cifar100 => 10,
            _ => 2,
        }
    }

    /// Number of tasks: classes / k.
    pub fn tasks(self) -> usize {
        self.classes() / self.classes_per_task()
    }

    /// The files the dataset needs.
    pub fn files(self) -> &'static [FileSpec] {
        match self {
            DatasetId::Qmnist => &QMNIST_FILES,
            DatasetId::Cifar100 => &CIFAR_FILES,
            _ => &MNIST_FILES,
        }
    }

    /// True for the CIFAR binary format, false for IDX.
    pub fn is_cifar(self) -> bool {
        self == DatasetId::Cifar100
    }
}

impl std::fmt::Display for DatasetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
