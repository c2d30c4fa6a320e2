//! `GET /trace?of=KEY|ARN|EVENT-ID[&since=…]`: the chain of `trailhound trace`, for the
//! dashboard's Trace view.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use trailhound_identity::{IdentityError, Trace, TraceSettings};
use trailhound_query::{event_by_id, first_text};

use super::{Params, time_param};
use crate::error::ApiError;
use crate::state::AppState;

/// The query string.
#[derive(Debug, Default, Deserialize)]
pub(super) struct TraceParams {
    /// An access key id, an ARN or an eventID.
    of: Option<String>,
    /// Only sessions handed out or active since then.
    since: Option<String>,
}

fn api_error(err: IdentityError) -> ApiError {
    match err {
        IdentityError::NotFound(message) => ApiError::not_found(message),
        IdentityError::Usage(message) => ApiError::bad_request("invalid", message),
        other => ApiError::internal(other),
    }
}

pub(super) async fn trace(
    State(state): State<AppState>,
    Params(params): Params<TraceParams>,
) -> Result<Json<Trace>, ApiError> {
    let of = params
        .of
        .as_deref()
        .map(str::trim)
        .filter(|of| !of.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid",
                "give of=ACCESS-KEY-ID, of=ARN or of=EVENT-ID (the caller of that event)",
            )
        })?
        .to_owned();
    let now = chrono::Utc::now();
    let settings = TraceSettings {
        since_us: time_param("since", params.since.as_deref(), now)?.map(|t| t.timestamp_micros()),
        ..TraceSettings::default()
    };
    if trailhound_identity::is_traceable(&of) {
        return state
            .lake
            .with_catalog(|catalog| {
                trailhound_identity::trace(catalog, &of, &settings).map_err(api_error)
            })
            .map(Json);
    }
    let snapshot = state.lake.snapshot().await?;
    let found = state.lake.sql(&snapshot, &event_by_id(&of), None).await?;
    let record = first_text(&found).ok_or_else(|| {
        ApiError::not_found(format!(
            "{of:?} is not an access key id or an ARN, and no event of the lake has it as eventID"
        ))
    })?;
    state
        .lake
        .with_catalog(|catalog| {
            trailhound_identity::trace_record(catalog, &of, &record, &settings).map_err(api_error)
        })
        .map(Json)
}
