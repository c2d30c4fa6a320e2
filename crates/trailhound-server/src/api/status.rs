//! Who am I, how is the monitor doing (`trailhound status`), what was read, and what the
//! integrity checks found.

use axum::extract::State;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use trailhound_lake::{Catalog, Checkpoint, LakeError};
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
#[derive(Debug, Clone, Serialize)]
pub struct MonitorStatus {
    /// No followed source failed its last poll and no sink is failing.
    pub healthy: bool,
    /// The lake.
    pub lake: LakeSummary,
    /// Each followed source (`watch`), with its checkpoint.
    pub followed: Vec<Followed>,
    /// The alert outbox.
    pub alerts: AlertSummary,
}

/// The lake's size and freshness.
#[derive(Debug, Clone, Serialize)]
pub struct LakeSummary {
    /// Events in all.
    pub events: u64,
    /// Parquet files.
    pub files: usize,
    /// `eventTime` of the newest event.
    #[serde(serialize_with = "rfc3339")]
    pub newest_event: Option<DateTime<Utc>>,
    /// Source objects recorded.
    pub sources_read: usize,
    /// Of those, the ones that could not be read.
    pub sources_failed: usize,
}

/// One followed source.
#[derive(Debug, Clone, Serialize)]
pub struct Followed {
    /// What is followed, with its checkpoint.
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
    /// When CloudTrail delivered the newest object taken (from its key).
    #[serde(serialize_with = "rfc3339")]
    pub newest_delivery: Option<DateTime<Utc>>,
    /// How far behind that delivery is.
    pub lag_seconds: Option<i64>,
}

/// The alert outbox.
#[derive(Debug, Clone, Serialize)]
pub struct AlertSummary {
    /// Waiting for their sink.
    pub pending: u64,
    /// Delivered.
    pub sent: u64,
    /// Throttled or duplicates.
    pub suppressed: u64,
    /// Sinks whose last attempt failed, with the error.
    pub failing_sinks: Vec<FailingSink>,
}

/// A sink whose last attempt failed.
#[derive(Debug, Clone, Serialize)]
pub struct FailingSink {
    /// Its name in trailhound.toml.
    pub sink: String,
    /// Its answer.
    pub error: String,
}

fn rfc3339<S: serde::Serializer>(time: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => s.serialize_str(&time.to_rfc3339()),
        None => s.serialize_none(),
    }
}

/// Reads the monitor's health from the catalog at `now`.
///
/// # Errors
///
/// When the catalog cannot be read.
pub fn monitor_status(catalog: &Catalog, now: DateTime<Utc>) -> Result<MonitorStatus, LakeError> {
    let files = catalog.lake_files(None)?;
    let sources = catalog.sources(false)?;
    let followed: Vec<Followed> = catalog
        .checkpoints()?
        .into_iter()
        .map(|c| {
            // CloudTrail keys carry their delivery time: how far behind the newest object is.
            let delivered = c
                .position
                .as_deref()
                .and_then(|p| LogKey::parse(p).delivered);
            Followed {
                newest_delivery: delivered,
                lag_seconds: delivered.map(|t| (now - t).num_seconds()),
                checkpoint: c,
            }
        })
        .collect();
    let outbox = catalog.outbox_counts()?;
    let mut failing_sinks: Vec<FailingSink> = Vec::new();
    for entry in catalog.pending_alerts()? {
        if let Some(error) = entry.last_error
            && !failing_sinks.iter().any(|f| f.sink == entry.sink)
        {
            failing_sinks.push(FailingSink {
                sink: entry.sink,
                error,
            });
        }
    }
    Ok(MonitorStatus {
        healthy: followed.iter().all(|f| f.checkpoint.error.is_none()) && failing_sinks.is_empty(),
        lake: LakeSummary {
            events: files.iter().map(|f| f.rows).sum(),
            files: files.len(),
            newest_event: files
                .iter()
                .filter_map(|f| f.max_time_us)
                .max()
                .and_then(DateTime::from_timestamp_micros),
            sources_read: sources.len(),
            sources_failed: sources.iter().filter(|s| s.outcome == "failed").count(),
        },
        followed,
        alerts: AlertSummary {
            pending: outbox.pending,
            sent: outbox.sent,
            suppressed: outbox.suppressed,
            failing_sinks,
        },
    })
}

pub(super) async fn status(State(state): State<AppState>) -> Result<Json<MonitorStatus>, ApiError> {
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
