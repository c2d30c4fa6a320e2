//! What can go wrong making a report, sorted by who can fix it.

use std::path::PathBuf;

/// An error making or rendering a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The request is wrong (a section that does not exist, a period that ends before it
    /// starts): the user's to fix.
    #[error("{0}")]
    Request(String),
    /// A template of the user's does not parse or render.
    #[error("template {name}: {reason}")]
    Template {
        /// The template's name (its file name in the templates folder).
        name: String,
        /// What is wrong, with the line.
        reason: String,
    },
    /// PDF was asked for and no renderer is available, or it failed.
    #[error("{0}")]
    Pdf(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The lake could not be asked.
    #[error(transparent)]
    Query(#[from] trailhound_query::QueryError),
    /// The built-in rules could not be read (a bug).
    #[error(transparent)]
    Rules(#[from] trailhound_detect::DetectError),
    /// Our own mistake.
    #[error("internal error: {0}")]
    Internal(String),
}
