//! Findings: list with filters, counts by level and state, one finding with its events and
//! triage history, and triage (admins only).

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};
use trailhound_event::Level;
use trailhound_lake::{FindingQuery, FindingStatus, StoredFinding};
use trailhound_query::{search_columns, sql_string};

use super::{Params, json_body, page_size, rfc3339, rows, time_param};
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub(super) struct ListParams {
    status: Option<String>,
    min_level: Option<String>,
    rule: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

fn finding_json(stored: &StoredFinding) -> Value {
    let mut value = serde_json::to_value(&stored.finding).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("id".to_owned(), json!(stored.id));
        map.insert("status".to_owned(), json!(stored.status));
        map.insert("found_at".to_owned(), json!(stored.found_at));
    }
    value
}

fn status_param(status: Option<String>) -> Result<Option<FindingStatus>, ApiError> {
    match status.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => FindingStatus::parse(&s).map(Some).ok_or_else(|| {
            ApiError::bad_request(
                "invalid",
                format!("status {s:?}: use one of {}", FindingStatus::names()),
            )
        }),
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    Params(params): Params<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let min_level = match params.min_level.as_deref().filter(|l| !l.is_empty()) {
        Some(text) => Some(Level::parse(text).ok_or_else(|| {
            ApiError::bad_request(
                "invalid",
                format!("min_level {text:?}: use informational, low, medium, high or critical"),
            )
        })?),
        None => None,
    };
    let now = chrono::Utc::now();
    let time = |name: &str, text: Option<String>| {
        time_param(name, text.as_deref(), now).map(|t| t.map(rfc3339))
    };
    let query = FindingQuery {
        status: status_param(params.status)?,
        min_level,
        rule_id: params.rule.filter(|r| !r.is_empty()),
        since: time("since", params.since)?,
        until: time("until", params.until)?,
        limit: page_size(params.limit, 100, 1000),
        offset: params.offset.unwrap_or(0),
    };
    let (total, found) = state
        .lake
        .with_catalog(|catalog| Ok(catalog.find_findings(&query)?))?;
    Ok(Json(json!({
        "total": total,
        "limit": query.limit,
        "offset": query.offset,
        "findings": found.iter().map(finding_json).collect::<Vec<_>>(),
    })))
}

pub(super) async fn summary(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let counts = state
        .lake
        .with_catalog(|catalog| Ok(catalog.finding_counts()?))?;
    Ok(Json(json!({
        "counts": counts.iter().map(|(level, status, count)| json!({
            "level": level, "status": status, "count": count,
        })).collect::<Vec<_>>(),
    })))
}

fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request("invalid", format!("{text:?} is not a finding id")))
}

pub(super) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let (stored, history) = state.lake.with_catalog(|catalog| {
        let stored = catalog
            .finding(id)?
            .ok_or_else(|| ApiError::not_found(format!("no finding {id}")))?;
        Ok((stored, catalog.triage_history(id)?))
    })?;
    // The events behind it, as search rows; the original JSON is one click further.
    let ids: Vec<String> = stored
        .finding
        .event_ids
        .iter()
        .take(100)
        .map(|id| sql_string(id))
        .collect();
    let events = if ids.is_empty() {
        Vec::new()
    } else {
        let snapshot = state.lake.snapshot().await?;
        rows(
            &state
                .lake
                .sql(
                    &snapshot,
                    &format!(
                        "SELECT {} FROM events WHERE eventID IN ({}) ORDER BY eventTime",
                        search_columns(),
                        ids.join(", ")
                    ),
                    None,
                )
                .await?,
        )?
    };
    Ok(Json(json!({
        "finding": finding_json(&stored),
        "history": history.iter().map(|h| json!({
            "status": h.status, "note": h.note, "by": h.by, "at": h.at,
        })).collect::<Vec<_>>(),
        "events": events,
    })))
}

#[derive(Debug, Deserialize)]
pub(super) struct TriageRequest {
    status: String,
    note: Option<String>,
}

pub(super) async fn triage(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let id = parse_id(&id)?;
    let request: TriageRequest =
        json_body(&body, "{\"status\": \"acknowledged\", \"note\": \"…\"}")?;
    let status = status_param(Some(request.status))?
        .ok_or_else(|| ApiError::bad_request("invalid", "status is empty"))?;
    let note = request
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let stored = state.lake.with_catalog(|catalog| {
        if !catalog.triage_finding(id, status, note, &caller.token.name)? {
            return Err(ApiError::not_found(format!("no finding {id}")));
        }
        catalog
            .finding(id)?
            .ok_or_else(|| ApiError::not_found(format!("no finding {id}")))
    })?;
    tracing::info!(finding = id, %status, by = %caller.token.name, "triaged");
    Ok(Json(finding_json(&stored)))
}
