//! Results: `summary.json` (schema `rcload.summary/1`), `events.jsonl`, and the short text
//! table `run` prints.

pub mod events;
pub mod summary;
pub mod table;

pub use summary::{SCHEMA, Summary};
