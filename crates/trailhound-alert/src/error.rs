use thiserror::Error;

/// What can go wrong with alerting, sorted by who is at fault.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AlertError {
    // --- configuration: fix the file ---
    /// The configuration cannot be used.
    #[error("{origin}: {reason}")]
    Config {
        /// The file (or what stood for it).
        origin: String,
        /// What is wrong, and where.
        reason: String,
    },
    /// A sink was asked for by a name no sink has.
    #[error("no sink is named {0:?}; `trailhound alert list` shows the configured ones")]
    UnknownSink(String),

    // --- the sink: it refused or could not be reached; the alert waits and is retried ---
    /// Delivery failed.
    #[error("{sink}: {reason}")]
    Delivery {
        /// The sink's name.
        sink: String,
        /// What went wrong (status and body, or the connection error).
        reason: String,
    },

    // --- the machine ---
    /// The catalog could not be read or written.
    #[error(transparent)]
    Catalog(#[from] trailhound_lake::LakeError),
    /// A payload could not be encoded or decoded (a bug).
    #[error("internal error, please report it as a bug: {0}")]
    Internal(String),
}
