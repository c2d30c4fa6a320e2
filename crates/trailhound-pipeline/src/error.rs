use std::path::PathBuf;

use thiserror::Error;

/// What can stop a stage of the pipeline, sorted by who is at fault. Bad input never does:
/// a file that cannot be read is reported through the read's messages and the rest goes on.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PipelineError {
    // --- configuration ---
    /// Something the user asked for cannot work as given (a followed path that is not a
    /// folder, a bucket that cannot be listed at start-up).
    #[error("{0}")]
    Config(String),

    // --- infrastructure ---
    /// The lake or its catalog failed.
    #[error(transparent)]
    Lake(#[from] trailhound_lake::LakeError),
    /// Reaching a source failed (S3, SQS, credentials).
    #[error(transparent)]
    Source(#[from] trailhound_source::SourceError),
    /// Computing Insights or first-seen findings failed.
    #[error(transparent)]
    Insights(#[from] trailhound_insights::InsightsError),
    /// Opening the query engine over the lake failed.
    #[error(transparent)]
    Query(#[from] trailhound_query::QueryError),
    /// Routing or recording alerts failed (a sink that refuses is not an error: its alerts
    /// wait in the outbox).
    #[error(transparent)]
    Alert(#[from] trailhound_alert::AlertError),
    /// Reading the trail's configuration failed as a whole (credentials, endpoint).
    #[error(transparent)]
    Posture(#[from] trailhound_posture::PostureError),
    /// The rules could not be loaded.
    #[error(transparent)]
    Rules(#[from] trailhound_detect::DetectError),
    /// Sample data could not be generated.
    #[error(transparent)]
    Generate(#[from] trailhound_generate::GenerateError),
    /// The identity index or a trace failed (or the trace found nothing).
    #[error(transparent)]
    Identity(#[from] trailhound_identity::IdentityError),
    /// A scheduled report could not be made.
    #[error("report: {0}")]
    Report(#[from] trailhound_report::ReportError),
    /// Writing OCSF failed.
    #[error("OCSF export: {0}")]
    Ocsf(#[from] trailhound_ocsf::OcsfError),
    /// Writing to the caller's output failed.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    /// Reading or writing a local file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    // --- bugs ---
    /// A broken invariant: a bug in Trailhound.
    #[error("internal error, please report it as a bug: {0}")]
    Internal(String),
}

impl PipelineError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PipelineError {
        let path = path.into();
        move |source| PipelineError::Io { path, source }
    }
}
