//! CloudTrail for the Open Cybersecurity Schema Framework: each record as an OCSF 1.1 API
//! Activity event (class 6003, [`api_activity`]), and those events as Parquet laid out as
//! Amazon Security Lake expects of a custom source ([`SecurityLakeWriter`]).
//!
//! The mapping is documented field by field in docs/ocsf.md; a test validates the events
//! against the class's JSON Schema, derived from the public OCSF schema by
//! `scripts/ocsf-json-schema`.
#![deny(missing_docs)]

mod api_activity;
mod security_lake;

use std::path::{Path, PathBuf};

pub use api_activity::{Activity, CATEGORY_UID, CLASS_UID, OCSF_VERSION, api_activity};
pub use security_lake::{SecurityLakeWriter, schema};

/// What can go wrong, sorted by who is at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OcsfError {
    // --- bad input ---
    /// A record that is not a CloudTrail event.
    #[error("not a CloudTrail event OCSF can describe: {0}")]
    Record(String),

    // --- infrastructure ---
    /// Writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// Encoding Parquet failed.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),

    // --- bugs ---
    /// An event did not fit the Parquet schema: a bug in Trailhound.
    #[error(
        "internal error (an OCSF event does not fit its Parquet schema), please report it as a bug: {0}"
    )]
    Arrow(#[from] arrow::error::ArrowError),
}

impl OcsfError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OcsfError + '_ {
        move |source| OcsfError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
