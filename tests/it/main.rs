//! The integration tests of the `rcload` package, linked into one binary: they run the real
//! binary (or the real client code) against real servers on loopback.
//!
//! Two tiers: `cargo test` runs the quick ones; the long end-to-end runs (load runs of many
//! seconds against the mock) are `#[ignore]`d with the reason `second tier` and run by
//! `scripts/test` as `cargo test -- --ignored`.

#![allow(dead_code)]

mod common;

mod adapters;
mod capacity;
mod cli_errors;
mod consent;
mod coordinated_omission;
mod damaged;
mod detect_faults;
mod detect_run;
mod fleet;
mod gate;
mod hostile;
mod incident;
mod k8s;
mod mock_vendor_x;
mod proxy;
mod replay;
mod reports;
mod run_mock;
mod secrets;
mod shards;
mod slo_windows;
mod soak;
mod tls;
mod verdict;
