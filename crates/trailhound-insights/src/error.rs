//! What can go wrong, sorted by who is at fault.

use thiserror::Error;

/// Errors of the Insights engine.
#[derive(Debug, Error)]
pub enum InsightsError {
    /// A setting the user gave is out of range.
    #[error("invalid insights setting: {0}")]
    Settings(String),
    /// Nothing matches what the user asked for.
    #[error("{0}")]
    NotFound(String),
    /// The lake could not be read.
    #[error(transparent)]
    Query(#[from] trailhound_query::QueryError),
    /// The catalog could not be written.
    #[error(transparent)]
    Lake(#[from] trailhound_lake::LakeError),
    /// Exported files could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A query returned what the engine did not ask for: a bug.
    #[error("internal error: {0}")]
    Internal(String),
}
