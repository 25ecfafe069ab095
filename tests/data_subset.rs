//! The committed MNIST subset (data/subset): real images, class-balanced, found last, and named as
//! the subset in every result that loads it.

mod support;

use regimebench::data::checksums::SUBSET;
use regimebench::data::locate::SUBSET_ROOT;
use regimebench::data::{load, DataOptions, DatasetId, Split, Verdict};
use std::path::Path;

fn subset_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/subset"))
}

fn load_subset() -> regimebench::data::Dataset {
    let cache = tempfile::tempdir().unwrap();
    load(
        DatasetId::Mnist,
        &DataOptions::isolated(subset_dir(), cache.path()),
    )
    .unwrap()
}

fn per_class(s: &Split) -> Vec<usize> {
    let mut n = vec![0; 10];
    for &l in &s.labels {
        n[l as usize] += 1;
    }
    n
}

#[test]
fn the_subset_is_balanced_checksummed_and_says_what_it_is() {
    let ds = load_subset();
    assert_eq!((ds.train.n, ds.test.n), (5000, 2000));
    assert_eq!(per_class(&ds.train), vec![500; 10]);
    assert_eq!(per_class(&ds.test), vec![200; 10]);
    for c in &ds.provenance.files {
        assert_eq!(
            c.checksum,
            Verdict::Ok {
                note: SUBSET.into()
            },
            "{}",
            c.path.display()
        );
    }
    assert!(
        ds.provenance
            .notes
            .iter()
            .any(|n| n.starts_with("MNIST SUBSET")),
        "{:?}",
        ds.provenance.notes
    );
}

#[test]
fn the_subset_is_searched_after_every_other_root() {
    let roots = DataOptions::default().roots();
    let (last, origin) = roots.last().unwrap();
    assert_eq!(*origin, SUBSET_ROOT);
    assert_eq!(
        last.canonicalize().unwrap(),
        subset_dir().canonicalize().unwrap()
    );
}

/// Each class's images are the official files' first images of that class, in order.
#[test]
fn the_subset_holds_the_first_official_images_of_each_class() {
    let Some(root) = support::shared_data() else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let full = load(DatasetId::Mnist, &DataOptions::isolated(root, cache.path())).unwrap();
    let sub = load_subset();
    for (full, sub, per) in [(&full.train, &sub.train, 500), (&full.test, &sub.test, 200)] {
        for class in 0..10u8 {
            let of = |s: &Split| -> Vec<usize> {
                (0..s.n)
                    .filter(|&i| s.labels[i] == class)
                    .take(per)
                    .collect()
            };
            let (a, b) = (of(full), of(sub));
            assert_eq!(b.len(), per);
            for (&i, &j) in a.iter().zip(&b) {
                assert_eq!(full.image(i), sub.image(j), "class {class}");
            }
        }
    }
}
