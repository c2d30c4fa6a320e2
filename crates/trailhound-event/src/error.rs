use thiserror::Error;

/// Why a piece of text could not be read as a CloudTrail record, or a field path could not be
/// parsed. Every variant is a fault of the input, not of Trailhound.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventError {
    /// The record is valid JSON but not an object (a string, number, array, …).
    #[error("record is a JSON {found}, not an object")]
    NotAnObject {
        /// The JSON type that was found instead.
        found: &'static str,
    },
    /// The record is not valid JSON.
    #[error("record is not valid JSON: {message}")]
    InvalidJson {
        /// The parser's description, with line and column.
        message: String,
    },
    /// A field path such as `userIdentity..arn` is malformed.
    #[error("invalid field path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}
