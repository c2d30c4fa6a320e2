use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong with the lake, sorted by who is at fault.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LakeError {
    // --- bad input ---
    /// A file in the lake's folder is not a lake file as Trailhound writes them: written by
    /// another tool or version, or damaged.
    #[error("{path}: not a lake file Trailhound can read ({reason})")]
    LakeFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    // --- configuration ---
    /// The data directory or catalog cannot be used as asked.
    #[error("{0}")]
    Config(String),
    /// Another Trailhound process is writing to this lake.
    #[error(
        "another trailhound process is writing to {0} (ingest or compact); wait for it to finish, \
         or remove the lock file if no such process is running"
    )]
    Busy(PathBuf),

    // --- infrastructure ---
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The object store holding an S3 lake refused or failed a request.
    #[error("the lake at {lake}: {reason}")]
    Store {
        /// `s3://bucket/prefix`.
        lake: String,
        /// What the store said.
        reason: String,
    },
    /// The SQLite catalog failed.
    #[error("catalog: {0}")]
    Catalog(#[from] rusqlite::Error),
    /// Encoding or decoding Parquet failed.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),

    // --- bugs ---
    /// An Arrow invariant was broken: a bug in Trailhound.
    #[error("internal error (arrow), please report it as a bug: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Any other broken invariant: a bug in Trailhound.
    #[error("internal error, please report it as a bug: {0}")]
    Internal(String),
}

impl LakeError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> LakeError {
        let path = path.into();
        move |source| LakeError::Io { path, source }
    }
}
