//! What can go wrong, sorted by who can fix it.

use trailhound_lake::LakeError;

/// An identity index or trace failure.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The user asked for something the trace cannot start from.
    #[error("{0}")]
    Usage(String),
    /// The index knows nothing of what was asked.
    #[error("{0}")]
    NotFound(String),
    /// The lake or its catalog failed.
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// A bug in Trailhound.
    #[error("internal error in the identity index: {0}; please report it")]
    Internal(String),
}
