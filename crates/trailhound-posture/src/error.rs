//! What can go wrong reading or changing a trail's configuration, sorted by who can fix it.

use trailhound_source::SourceError;

use crate::api::Refusal;

/// A posture or setup error.
#[derive(Debug, thiserror::Error)]
pub enum PostureError {
    /// The credentials, profile or endpoint are unusable (the user's setup).
    #[error("cannot reach AWS: {0}")]
    Connect(#[source] SourceError),
    /// A service refused a call (permissions, a missing resource, a bad argument).
    #[error("{0}")]
    Refused(Refusal),
    /// A service answered something we could not read (a server that implements less).
    #[error("{call}: unreadable answer: {reason}")]
    Unreadable {
        /// The call.
        call: String,
        /// What was wrong with it.
        reason: String,
    },
    /// What the user asked for cannot be done as asked.
    #[error("{0}")]
    Usage(String),
    /// A bug on our side.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<SourceError> for PostureError {
    fn from(err: SourceError) -> Self {
        PostureError::Connect(err)
    }
}
