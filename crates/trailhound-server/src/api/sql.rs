//! `POST /query` (also `/sql`): a read-only query within the server's time, memory and row
//! limits, as JSON or as a CSV download. SQL in CloudTrail Lake's, Athena's or DataFusion's
//! dialect runs as written; `"language": "logs-insights"` takes a Logs Insights query.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{columns, json_body, rows};
use crate::error::ApiError;
use crate::state::AppState;
use trailhound_query::Language;

#[derive(Debug, Deserialize)]
pub(super) struct QueryRequest {
    /// The query (`query` is accepted for it too).
    #[serde(alias = "query")]
    sql: String,
    /// `sql` (default) or `logs-insights`.
    language: Option<String>,
    /// For SQL: `auto` (default), `lake`, `athena` or `datafusion`.
    dialect: Option<String>,
    /// Rows wanted; at most the server's `--max-rows`.
    limit: Option<usize>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

pub(super) async fn query(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request: QueryRequest = json_body(&body, "{\"sql\": \"SELECT …\"}")?;
    if request.sql.trim().is_empty() {
        return Err(ApiError::bad_request("invalid", "the query is empty"));
    }
    let language = Language::from_names(
        request.language.as_deref().unwrap_or("sql"),
        request.dialect.as_deref().unwrap_or("auto"),
    )
    .map_err(|message| ApiError::bad_request("invalid", message))?;
    let max = state.settings.max_rows;
    let limit = request.limit.unwrap_or(max).clamp(1, max);
    let csv = match request.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid",
                format!("format {other:?}: use json or csv"),
            ));
        }
    };
    let snapshot = state.lake.snapshot().await?;
    let started = std::time::Instant::now();
    // One row more than asked tells whether the answer was cut.
    let batches = state
        .lake
        .query(&snapshot, &request.sql, language, Some(limit + 1))
        .await?;
    let elapsed = started.elapsed();
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let truncated = total > limit;
    let batches: Vec<_> = if truncated {
        let mut left = limit;
        batches
            .into_iter()
            .map(|b| {
                let take = left.min(b.num_rows());
                left -= take;
                b.slice(0, take)
            })
            .collect()
    } else {
        batches
    };
    if csv {
        let mut text = Vec::new();
        trailhound_query::write_batches(&batches, trailhound_query::Format::Csv, &mut text)?;
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"trailhound-query.csv\"",
                ),
            ],
            text,
        )
            .into_response());
    }
    Ok(Json(json!({
        "columns": columns(&batches),
        "rows": rows(&batches)?,
        "truncated": truncated,
        "elapsed_ms": (elapsed.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
    }))
    .into_response())
}
