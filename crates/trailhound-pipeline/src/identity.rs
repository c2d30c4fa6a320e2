//! The identity index after an ingest, and traces from whatever a user holds: an access key,
//! an ARN, or the `eventID` of any event (resolved to its caller through the lake).

use std::sync::Arc;

use trailhound_identity::{IndexUpdate, Trace, TraceSettings, WrittenCounts};
use trailhound_lake::Lake;
use trailhound_query::{QueryEngine, event_by_id, first_text};

use crate::PipelineError;

/// Brings the identity index up to date with the lake files it does not count yet (those of
/// the last ingest, or of an ingest whose update was interrupted), concluding the chain
/// signals. Files in `counted` (counted by [`count_written_files`] as they were written) are
/// not read back.
///
/// # Errors
///
/// When the catalog cannot be read or written; the files stay pending and the next update
/// reads them.
pub fn update_identity_index(
    lake: &mut Lake,
    settings: &trailhound_identity::Settings,
    counted: Option<&WrittenCounts>,
) -> Result<IndexUpdate, PipelineError> {
    Ok(trailhound_identity::update_index_counted(
        lake, settings, counted,
    )?)
}

/// Has the identity index count every file `lake` writes from now on, from the rows the
/// writer holds; give the counts to [`update_identity_index`] after the commit.
pub fn count_written_files(lake: &mut Lake) -> Arc<WrittenCounts> {
    let counts = Arc::new(WrittenCounts::new());
    lake.observe_written_files(Some(counts.clone()));
    counts
}

/// Traces `asked`: an access key id, an ARN, or an `eventID` (the trace of that event's
/// caller, from the lake).
///
/// # Errors
///
/// [`PipelineError::Identity`] when nothing is known of `asked`; lake and query failures.
pub fn trace_in_lake(
    lake: &Lake,
    asked: &str,
    settings: &TraceSettings,
) -> Result<Trace, PipelineError> {
    let asked = asked.trim();
    if trailhound_identity::is_traceable(asked) {
        return Ok(trailhound_identity::trace(lake.catalog(), asked, settings)?);
    }
    let engine = QueryEngine::open(lake.root())?;
    let record = first_text(&engine.sql(&event_by_id(asked))?).ok_or_else(|| {
        trailhound_identity::IdentityError::NotFound(format!(
            "{asked:?} is not an access key id (AKIA…, ASIA…) or an ARN, and no event of the \
             lake has it as eventID"
        ))
    })?;
    Ok(trailhound_identity::trace_record(
        lake.catalog(),
        asked,
        &record,
        settings,
    )?)
}
