//! `GET /events` (search with `trailhound search`'s filters) and `GET /events/{id}` (the
//! original record, byte for byte).

use arrow::array::AsArray;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use trailhound_query::{event_by_id, first_text, search_columns};

use super::{FilterParams, Params, page_size, rows};
use crate::error::ApiError;
use crate::state::AppState;

/// The page of a search; the filters come from the same query string as [`FilterParams`].
#[derive(Debug, Deserialize)]
pub(super) struct PageParams {
    limit: Option<usize>,
    offset: Option<usize>,
}

pub(super) async fn search(
    State(state): State<AppState>,
    Params(filter): Params<FilterParams>,
    Params(params): Params<PageParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let filter = filter.filter()?;
    let limit = page_size(params.limit, 100, 1000);
    let offset = params.offset.unwrap_or(0);
    let condition = filter.where_clause();
    let snapshot = state.lake.snapshot().await?;
    let found = state
        .lake
        .sql(
            &snapshot,
            &format!(
                "SELECT {} FROM events WHERE {condition} ORDER BY eventTime DESC, eventID LIMIT {limit} OFFSET {offset}",
                search_columns()
            ),
            None,
        )
        .await?;
    // A first page that is not full holds every match: no need to count them again.
    let shown = found.iter().map(|b| b.num_rows()).sum::<usize>();
    let total = if offset == 0 && shown < limit {
        shown as i64
    } else {
        let counted = state
            .lake
            .sql(
                &snapshot,
                &format!("SELECT count(*) FROM events WHERE {condition}"),
                None,
            )
            .await?;
        counted
            .iter()
            .find(|b| b.num_rows() > 0)
            .and_then(|b| {
                b.column(0)
                    .as_primitive_opt::<arrow::datatypes::Int64Type>()
                    .map(|c| c.value(0))
            })
            .unwrap_or(0)
    };
    Ok(Json(json!({
        "total": total,
        "limit": limit,
        "offset": offset,
        "events": rows(&found)?,
    })))
}

pub(super) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot = state.lake.snapshot().await?;
    let found = state.lake.sql(&snapshot, &event_by_id(&id), None).await?;
    let record = first_text(&found)
        .ok_or_else(|| ApiError::not_found(format!("no event with eventID {id:?} in the lake")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], record).into_response())
}
