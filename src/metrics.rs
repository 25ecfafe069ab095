//! Metrics of PROTOCOL section 6, computed from the accuracy matrix and parameter snapshots.
