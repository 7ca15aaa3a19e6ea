//! Results: `summary.json` (schema `rcload.summary/3`), `events.jsonl`, the per-interval raw
//! data (`latency.hlog`, `timeseries.csv`, `run.json`), and the reports derived from them
//! (`report.html`, `junit.xml`, `summary.md`), plus the short text table `run` prints.

pub(crate) mod chart_series;
pub(crate) mod chart_style;
pub mod charts;
pub mod events;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod groups;
pub mod heatmap;
pub mod hlog;
pub mod html;
pub mod junit;
pub mod latency;
pub mod limits;
pub mod markdown;
pub mod model;
pub mod rundir;
pub mod runinfo;
pub mod summary;
pub mod table;
pub mod timeseries;
pub mod wall;
pub mod windows;

pub use model::ReportData;
pub use summary::{SCHEMA, Summary};

use std::path::{Path, PathBuf};

/// Why a report could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file of the run directory is not what rcload writes.
    #[error("{path}{}: {message}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("cannot render {what}: {message}")]
    Render { what: String, message: String },
}

/// Write a file whole or not at all (a temporary file beside it, then a rename).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), ReportError> {
    let tmp = path.with_extension("tmp");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    std::fs::write(&tmp, contents).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}
