//! The mock's integration tests, linked into one binary: each starts the real server on a
//! loopback port and talks to it over HTTP, as any client of the contract would.
//!
//! The timing-sensitive capacity tests are `#[ignore]`d with the reason `second tier` and run
//! by `scripts/test` as `cargo test -- --ignored`.

mod api;
mod capacity;
mod contract;
mod faults;
mod limits;
mod metrics;
mod promtool;
