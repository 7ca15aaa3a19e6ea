//! `rcload capacity`: how much load a system takes before its objectives break. Stages run
//! the profile at rising levels (`vary`), each a full run with its own run directory, judged
//! against the profile's SLOs; the search (`search`) stops at the first failing level and may
//! narrow down between the last pass and the first fail.

pub mod model;
pub mod render;
pub mod search;
pub mod stages;
pub mod vary;
