//! rcload: open-model load and soak testing for radio-control (dispatch console) systems.
//!
//! Data flows one way: profile -> typed run config -> schedule -> engine -> outcomes ->
//! recorder -> summary / reports. See `docs/` and the README for the design.

pub mod capacity;
pub mod cli;
pub mod compare;
pub mod config;
pub mod csv;
pub mod detect;
pub mod engine;
pub mod fleet;
pub mod ids;
pub mod judge;
pub mod locate;
pub mod merge;
pub mod metrics;
pub mod profile;
pub mod progress;
pub mod reach;
pub mod replay;
pub mod report;
pub mod run;
pub mod schedule;
pub mod start;
pub mod targets;
pub mod text;
