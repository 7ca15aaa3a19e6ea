//! The wire contract of radio-control API v1 and the vocabulary every part of rcload shares.
//!
//! Holds what the generator, the mock and any other client or server of the contract agree on:
//! the request, answer and event shapes (`wire`), the one list of measured operations (`Op`),
//! the reference format that ties a request to the events it causes (`reference`), and the
//! scalar value types users write (`values`: durations, rates, percentages).
//!
//! It knows nothing of profiles, schedules, the engine, metrics or the mock; it depends on serde
//! and small parsing crates only.

pub mod mix;
pub mod op;
pub mod reference;
pub mod values;
pub mod wire;

pub use op::Op;
pub use values::{Dur, Percent, Rate, parse_duration, parse_percent, parse_rate};
pub use wire::*;
