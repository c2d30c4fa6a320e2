//! Insights: the list (Start and End together), and one insight with its per-minute rate
//! against the baseline, the series `trailhound insights show --format json` prints.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use trailhound_insights::{
    INSIGHT_RECORDS_SQL, InsightEvent, Settings, chart, insight_events, insight_minutes, record,
    series_from, series_sql,
};

use super::Params;
use crate::error::ApiError;
use crate::lake_view::Snapshot;
use crate::state::AppState;

async fn all(state: &AppState, snapshot: &Snapshot) -> Result<Vec<InsightEvent>, ApiError> {
    let batches = state.lake.sql(snapshot, INSIGHT_RECORDS_SQL, None).await?;
    insight_events(&batches).map_err(ApiError::internal)
}

fn summary(records: &[&InsightEvent]) -> Option<Value> {
    let any = records.first()?;
    let start = records.iter().find(|r| r.state == "Start");
    let end = records.iter().find(|r| r.state == "End");
    Some(json!({
        "sharedEventID": any.shared,
        "origin": any.origin,
        "start": start.map(|r| r.time.clone()),
        "end": end.map(|r| r.time.clone()),
        "account": any.key.account,
        "region": any.key.region,
        "eventSource": any.key.event_source,
        "eventName": any.key.event_name,
        "insightType": any.key.insight_type.as_str(),
        "errorCode": any.key.error_code,
        "baselineAverage": any.baseline,
        "insightAverage": end.map_or(any.average, |e| e.average),
        "insightDuration": end.and_then(|e| e.duration).or(any.duration),
        "principal": records.iter().find_map(|r| r.principal.clone()),
    }))
}

pub(super) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let snapshot = state.lake.snapshot().await?;
    let records = all(&state, &snapshot).await?;
    let mut grouped: BTreeMap<&str, Vec<&InsightEvent>> = BTreeMap::new();
    for record in &records {
        grouped
            .entry(record.shared.as_str())
            .or_default()
            .push(record);
    }
    let mut insights: Vec<Value> = grouped.values().filter_map(|r| summary(r)).collect();
    // Newest first.
    insights.sort_by(|a, b| {
        let when = |v: &Value| {
            v["start"]
                .as_str()
                .or(v["end"].as_str())
                .unwrap_or("")
                .to_owned()
        };
        when(b).cmp(&when(a))
    });
    Ok(Json(json!({ "insights": insights })))
}

#[derive(Debug, Deserialize)]
pub(super) struct ShowParams {
    /// Minutes shown before and after the insight.
    context: Option<i64>,
}

pub(super) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Params(params): Params<ShowParams>,
) -> Result<Json<Value>, ApiError> {
    let snapshot = state.lake.snapshot().await?;
    let records = all(&state, &snapshot).await?;
    let matching: Vec<&InsightEvent> = records
        .iter()
        .filter(|r| r.shared == id || r.event_id == id)
        .collect();
    let Some(shared) = matching.first().map(|r| r.shared.clone()) else {
        return Err(ApiError::not_found(format!(
            "no insight with the id {id:?}"
        )));
    };
    let mut matching: Vec<&InsightEvent> = records.iter().filter(|r| r.shared == shared).collect();
    matching.sort_by_key(|r| r.state != "Start");
    let (start, end) = insight_minutes(&matching);
    let context = params.context.unwrap_or(60).clamp(0, 24 * 60);
    let (from, to) = (start - context, end + context);
    let key = &matching[0].key;
    let batches = state
        .lake
        .sql(
            &snapshot,
            &series_sql(key, from, to, &Settings::default()),
            None,
        )
        .await?;
    let series = series_from(key, &batches).map_err(ApiError::internal)?;
    let points = chart::points(&series, from, to, (start, end));
    Ok(Json(json!({
        "insight": summary(&matching),
        "records": matching.iter().map(|r| r.json.clone()).collect::<Vec<_>>(),
        "baselineAverage": matching[0].baseline,
        "series": points.iter().map(|p| json!({
            "time": record::format_minute(p.minute),
            "count": p.count,
            "insight": p.inside,
        })).collect::<Vec<_>>(),
    })))
}
