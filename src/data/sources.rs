//! The canonical home of every dataset and the checksum each download must match (SHA-256 of the
//! decompressed content where recorded, else the publisher's MD5 of the file as served).

use super::id::DatasetId;

/// One download and how to check it. At least one checksum is given.
#[derive(Clone, Copy, Debug)]
pub struct Download {
    /// File name at the canonical home (and under the mirror).
    pub remote: &'static str,
    /// SHA-256 of the decompressed content, when recorded.
    pub sha256_decoded: Option<&'static str>,
    /// MD5 of the file as served (the value torchvision and the publishers list), when no SHA-256 is known.
    pub md5: Option<&'static str>,
    /// For a tarball: (member path, stored name) pairs to extract; empty: store the file as is.
    pub members: &'static [(&'static str, &'static str)],
}

const fn sha(remote: &'static str, sha256: &'static str) -> Download {
    Download {
        remote,
        sha256_decoded: Some(sha256),
        md5: None,
        members: &[],
    }
}
const fn md5(remote: &'static str, md5: &'static str) -> Download {
    Download {
        remote,
        sha256_decoded: None,
        md5: Some(md5),
        members: &[],
    }
}

/// Canonical home and downloads of a dataset. SHA-256 values are those of `checksums.rs`.
pub fn downloads(id: DatasetId) -> (&'static str, Vec<Download>) {
    use super::checksums::known;
    let by_sha = |names: &[&'static str], gz: &[&'static str]| -> Vec<Download> {
        names
            .iter()
            .zip(gz)
            .map(|(n, g)| sha(g, known(id, n)[0].sha256))
            .collect()
    };
    const GZ: [&str; 4] = [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ];
    const RAW: [&str; 4] = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];
    match id {
        DatasetId::Mnist => (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            by_sha(&RAW, &GZ),
        ),
        DatasetId::FashionMnist => (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            by_sha(&RAW, &GZ),
        ),
        DatasetId::Kmnist => {
            let mut d = vec![md5(GZ[0], "bdb82020997e1d708af4cf47b453dcf7")];
            d.extend(by_sha(&RAW[1..], &GZ[1..]));
            ("https://codh.rois.ac.jp/kmnist/dataset/kmnist/", d)
        }
        DatasetId::Qmnist => (
            "https://raw.githubusercontent.com/facebookresearch/qmnist/master/",
            vec![
                md5(
                    "qmnist-train-images-idx3-ubyte.gz",
                    "ed72d4157d28c017586c42bc6afe6370",
                ),
                sha(
                    "qmnist-train-labels-idx2-int.gz",
                    known(id, "qmnist-train-labels-idx2-int")[0].sha256,
                ),
                md5(
                    "qmnist-test-images-idx3-ubyte.gz",
                    "1394631089c404de565df7b7aeaf9412",
                ),
                sha(
                    "qmnist-test-labels-idx2-int.gz",
                    known(id, "qmnist-test-labels-idx2-int")[0].sha256,
                ),
            ],
        ),
        DatasetId::Cifar100 => (
            "https://www.cs.toronto.edu/~kriz/",
            vec![Download {
                remote: "cifar-100-binary.tar.gz",
                sha256_decoded: None,
                md5: Some("03b5dce01913d631647c71ecec9e9cb8"),
                members: &[
                    ("cifar-100-binary/train.bin", "train.bin"),
                    ("cifar-100-binary/test.bin", "test.bin"),
                    (
                        "cifar-100-binary/fine_label_names.txt",
                        "fine_label_names.txt",
                    ),
                    (
                        "cifar-100-binary/coarse_label_names.txt",
                        "coarse_label_names.txt",
                    ),
                ],
            }],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_download_has_a_well_formed_checksum() {
        for id in DatasetId::ALL {
            let (home, list) = downloads(id);
            assert!(home.starts_with("http") && home.ends_with('/'));
            for d in list {
                let sha_ok = d
                    .sha256_decoded
                    .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
                let md5_ok = d
                    .md5
                    .is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()));
                assert!(sha_ok || md5_ok, "{id}: {}", d.remote);
            }
        }
    }

    #[test]
    fn every_needed_file_has_a_download() {
        for id in DatasetId::ALL {
            let (_, list) = downloads(id);
            for spec in id.files() {
                let stored = list.iter().any(|d| {
                    d.remote.trim_end_matches(".gz") == spec.name
                        || d.members.iter().any(|(_, n)| *n == spec.name)
                });
                assert!(stored, "{id}: nothing fetches {}", spec.name);
            }
        }
    }
}
