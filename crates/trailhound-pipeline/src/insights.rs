//! Bringing what is computed from the lake up to date: Insights (unusual call and error
//! rates) and first-seen findings, after an ingest or over all history.

use trailhound_insights::{Computation, History, Settings};
use trailhound_lake::Lake;
use trailhound_query::QueryEngine;

use crate::PipelineError;

/// What [`update_insights`] did.
pub struct InsightsUpdate {
    /// The insights computed for the stretch.
    pub computation: Computation,
    /// First-seen findings in the stretch (recorded before or now).
    pub first_seen: usize,
    /// Findings recorded for the first time.
    pub new_findings: u64,
}

/// Computes the insights starting in `[from_us, to_us)` and records them, replacing what an
/// earlier run recorded for that stretch. Insights left open by an earlier run (their End
/// needed data that had not arrived) are computed again too. First-seen findings come from
/// the files not yet folded into the catalog's first-seen memory, or with `whole_lake` from
/// every event, rebuilding that memory.
///
/// # Errors
///
/// When the lake cannot be read or the catalog written; nothing is recorded then, and the
/// next update covers the same stretch.
pub fn update_insights(
    lake: &mut Lake,
    from_us: Option<i64>,
    to_us: Option<i64>,
    settings: &Settings,
    whole_lake: bool,
) -> Result<InsightsUpdate, PipelineError> {
    let open = lake.catalog().earliest_open_insight_us()?;
    let from_us = match (from_us, open) {
        (Some(from), Some(open)) => Some(from.min(open)),
        (from, _) => from,
    };
    let engine = QueryEngine::open(lake.root())?;
    let files = lake.catalog().lake_files(None)?;
    let history = History::scan(&engine, lake, &files, settings, from_us, whole_lake)?;
    let computation =
        trailhound_insights::compute(&engine, &files, &history, from_us, to_us, settings)?;
    if computation.to_us > computation.from_us {
        lake.catalog_mut()?.replace_insights(
            computation.from_us,
            computation.to_us,
            &computation.stored(),
        )?;
    }
    let first_seen = trailhound_insights::first_seen(
        lake.catalog_mut()?,
        &history,
        from_us,
        to_us,
        settings.first_seen_learning_minutes,
    )?;
    Ok(InsightsUpdate {
        computation,
        first_seen: first_seen.findings.len(),
        new_findings: first_seen.new_findings,
    })
}

/// Brings Insights and first-seen findings up to date for the lake files no update has read
/// yet: those of the last ingest, and those of any ingest whose update was interrupted (a
/// kill between the commit and the update) or skipped (`--no-insights`). `None` when every
/// file has been read.
///
/// # Errors
///
/// As [`update_insights`].
pub fn update_pending_insights(
    lake: &mut Lake,
    settings: &Settings,
) -> Result<Option<InsightsUpdate>, PipelineError> {
    let Some((from_us, to_us)) = lake.catalog().first_seen_pending_stretch()? else {
        return Ok(None);
    };
    update_insights(lake, Some(from_us), Some(to_us), settings, false).map(Some)
}
