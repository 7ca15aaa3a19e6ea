//! Results: `summary.json` (schema `rcload.summary/1`) and the short text table `run` prints.

pub mod summary;
pub mod table;

pub use summary::{SCHEMA, Summary};
