//! Insights: the list (Start and End together), and one insight with its per-minute rate
//! against the baseline, the series `trailhound insights show --format json` prints.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use trailhound_insights::{
    INSIGHT_RECORDS_SQL, InsightEvent, RecordedInsight, Settings, chart, find_insight,
    group_insights, insight_events, series_from, series_sql,
};

use super::Params;
use crate::error::ApiError;
use crate::lake_view::Snapshot;
use crate::state::AppState;

async fn all(state: &AppState, snapshot: &Snapshot) -> Result<Vec<InsightEvent>, ApiError> {
    let batches = state.lake.sql(snapshot, INSIGHT_RECORDS_SQL, None).await?;
    insight_events(&batches).map_err(ApiError::internal)
}

pub(super) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let snapshot = state.lake.snapshot().await?;
    let records = all(&state, &snapshot).await?;
    let mut insights: Vec<Value> = group_insights(&records)
        .iter()
        .map(RecordedInsight::summary_json)
        .collect();
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
    let insight = find_insight(&records, &id, false)
        .map_err(|_| ApiError::not_found(format!("no insight with the id {id:?}")))?;
    let (start, end) = insight.minutes();
    let context = params.context.unwrap_or(60).clamp(0, 24 * 60);
    let (from, to) = (start - context, end + context);
    let first = insight
        .any()
        .ok_or_else(|| ApiError::not_found(format!("no insight with the id {id:?}")))?;
    let key = &first.key;
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
    Ok(Json(insight.explained_json(&points)))
}
