//! Who am I, how is the monitor doing (`trailhound status`), what was read, and what the
//! integrity checks found.

use axum::extract::State;
use axum::{Extension, Json};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use trailhound_pipeline::watch::{MonitorStatus, monitor_status};

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

pub(super) async fn posture(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let run = state
        .lake
        .with_catalog(|catalog| Ok(catalog.latest_posture()?))?;
    Ok(Json(json!({ "run": run })))
}
