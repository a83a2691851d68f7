//! Benchmark support: synthetic Pods and in-memory API servers for our client and for kube-rs;
//! peak memory is measured with the `peak_alloc` allocator in the benchmark binaries. `peer`
//! holds what the programs of `just bench-peers` share, `report` what the runners of
//! `just bench-webhook` and `just bench-remote` share.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod mock;
pub mod peer;
pub mod pod_lists;
pub mod pods;
pub mod report;
