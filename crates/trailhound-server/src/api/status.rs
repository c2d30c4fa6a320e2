//! Who am I, how is the monitor doing (`trailhound status`), what was read, and what the
//! integrity checks found.

use axum::extract::State;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use trailhound_lake::{Catalog, LakeError};
use trailhound_source::LogKey;

use super::Params;
use super::page_size;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

pub(super) async fn me(Extension(caller): Extension<Caller>) -> Json<Value> {
    Json(json!({
        "name": caller.token.name,
        "role": caller.token.role,
        "csrf": caller.csrf,
    }))
}

/// The monitor's health: the lake's size and freshness, each followed source's lag and last
/// error, and the alert outbox. `trailhound status` prints it; `/api/v1/status` serves it.
///
/// # Errors
///
/// When the catalog cannot be read.
pub fn monitor_status(catalog: &Catalog, now: DateTime<Utc>) -> Result<Value, LakeError> {
    let files = catalog.lake_files(None)?;
    let events: u64 = files.iter().map(|f| f.rows).sum();
    let newest_event = files
        .iter()
        .filter_map(|f| f.max_time_us)
        .max()
        .and_then(DateTime::from_timestamp_micros);
    let sources = catalog.sources(false)?;
    let failed_sources = sources.iter().filter(|s| s.outcome == "failed").count();
    let checkpoints = catalog.checkpoints()?;
    let followed: Vec<Value> = checkpoints
        .iter()
        .map(|c| {
            // CloudTrail keys carry their delivery time: how far behind the newest object is.
            let delivered = c
                .position
                .as_deref()
                .and_then(|p| LogKey::parse(p).delivered);
            json!({
                "source": c.source,
                "position": c.position,
                "newest_delivery": delivered.map(|t| t.to_rfc3339()),
                "lag_seconds": delivered.map(|t| (now - t).num_seconds()),
                "polled_at": c.polled_at,
                "advanced_at": c.advanced_at,
                "objects": c.objects,
                "error": c.error,
            })
        })
        .collect();
    let outbox = catalog.outbox_counts()?;
    let mut failing_sinks: Vec<(String, String)> = Vec::new();
    for entry in catalog.pending_alerts()? {
        if let Some(error) = entry.last_error
            && !failing_sinks.iter().any(|(sink, _)| *sink == entry.sink)
        {
            failing_sinks.push((entry.sink, error));
        }
    }
    let healthy = checkpoints.iter().all(|c| c.error.is_none()) && failing_sinks.is_empty();
    Ok(json!({
        "healthy": healthy,
        "lake": {
            "events": events,
            "files": files.len(),
            "newest_event": newest_event.map(|t| t.to_rfc3339()),
            "sources_read": sources.len(),
            "sources_failed": failed_sources,
        },
        "followed": followed,
        "alerts": {
            "pending": outbox.pending,
            "sent": outbox.sent,
            "suppressed": outbox.suppressed,
            "failing_sinks": failing_sinks.iter().map(|(sink, error)| json!({"sink": sink, "error": error})).collect::<Vec<_>>(),
        },
    }))
}

pub(super) async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let report = state
        .lake
        .with_catalog(|catalog| Ok(monitor_status(catalog, Utc::now())?))?;
    Ok(Json(report))
}

#[derive(Debug, Deserialize)]
pub(super) struct SourcesParams {
    failed: Option<bool>,
    limit: Option<usize>,
    offset: Option<usize>,
}

pub(super) async fn sources(
    State(state): State<AppState>,
    Params(params): Params<SourcesParams>,
) -> Result<Json<Value>, ApiError> {
    let mut all = state
        .lake
        .with_catalog(|catalog| Ok(catalog.sources(params.failed.unwrap_or(false))?))?;
    // Newest first: what an operator looks at after an ingest.
    all.sort_by(|a, b| {
        b.ingested_at
            .cmp(&a.ingested_at)
            .then(a.location.cmp(&b.location))
    });
    let limit = page_size(params.limit, 100, 1000);
    let offset = params.offset.unwrap_or(0);
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|s| {
            json!({
                "location": s.location,
                "size": s.size,
                "events_read": s.events_read,
                "events_new": s.events_new,
                "rejected": s.rejected,
                "outcome": s.outcome,
                "error": s.error,
                "ingested_at": s.ingested_at,
            })
        })
        .collect();
    Ok(Json(json!({
        "total": all.len(),
        "limit": limit,
        "offset": offset,
        "sources": page,
    })))
}

pub(super) async fn integrity(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let checks = state
        .lake
        .with_catalog(|catalog| Ok(catalog.integrity_checks(50)?))?;
    Ok(Json(json!({
        "checks": checks.iter().map(|c| json!({
            "location": c.location,
            "checked_at": c.checked_at,
            "valid": c.valid,
            "report": serde_json::from_str::<Value>(&c.report).unwrap_or(Value::Null),
        })).collect::<Vec<_>>(),
    })))
}
