//! Datasets: readers, locating and fetching files, task splits.
