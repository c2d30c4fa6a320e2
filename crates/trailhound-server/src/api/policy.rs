//! `GET /policy?principal=…` (and `POST /policy` with the principal's current policies): the
//! least-privilege policy of `trailhound policy`, for the dashboard's Policy page.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use trailhound_policy::{Gathered, Principal, Resources, data_events_sql, events_sql};

use super::{Params, rfc3339, time_param};
use crate::error::ApiError;
use crate::state::AppState;

/// The query string, or the body of a POST.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PolicyParams {
    /// A role, user, session ARN or name, as `trailhound policy` takes it.
    principal: Option<String>,
    /// Start of the period (`90d` by default).
    since: Option<String>,
    /// End of the period (now by default).
    until: Option<String>,
    /// `exact` (default) or `wildcard`.
    resources: Option<String>,
    /// The output of `aws iam get-account-authorization-details` (POST only).
    #[serde(default)]
    attached: Option<Value>,
}

pub(super) async fn get(
    State(state): State<AppState>,
    Params(params): Params<PolicyParams>,
) -> Result<Json<Value>, ApiError> {
    answer(&state, params).await
}

pub(super) async fn post(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let params: PolicyParams = super::json_body(
        &body,
        "{\"principal\": \"arn:aws:iam::111122223333:role/deploy\", \"attached\": {…get-account-authorization-details…}}",
    )?;
    answer(&state, params).await
}

async fn answer(state: &AppState, params: PolicyParams) -> Result<Json<Value>, ApiError> {
    let invalid = |message: String| ApiError::bad_request("invalid", message);
    let text = params
        .principal
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            invalid(
                "give principal=ROLE-OR-USER (an ARN, role/NAME, user/NAME or a name)".to_owned(),
            )
        })?;
    let principal = Principal::parse(text).map_err(invalid)?;
    let now = chrono::Utc::now();
    let since = time_param("since", params.since.as_deref().or(Some("90d")), now)?.unwrap_or(now);
    let until = time_param("until", params.until.as_deref(), now)?.unwrap_or(now);
    if until <= since {
        return Err(invalid("until must be later than since".to_owned()));
    }
    let resources = match params.resources.as_deref().unwrap_or("exact") {
        "exact" => Resources::Exact,
        "wildcard" => Resources::Wildcard,
        other => return Err(invalid(format!("resources={other}: exact or wildcard"))),
    };
    let period = format!(
        "eventTime >= TIMESTAMP '{}' AND eventTime < TIMESTAMP '{}'",
        rfc3339(since),
        rfc3339(until)
    );
    let snapshot = state.lake.snapshot().await?;
    let mut gathered = Gathered::default();
    for batch in state
        .lake
        .sql(&snapshot, &events_sql(&principal, &period), None)
        .await?
    {
        gathered.add_rows(&batch);
    }
    for batch in state
        .lake
        .sql(&snapshot, &data_events_sql(&period), None)
        .await?
    {
        gathered.add_data_event_sources(&batch);
    }
    let granted = match &params.attached {
        Some(details) => Some(
            gathered
                .granted(details)
                .map_err(|err| invalid(err.to_string()))?,
        ),
        None => None,
    };
    Ok(Json(gathered.summary(
        &principal.describe(),
        (Some(rfc3339(since)), Some(rfc3339(until))),
        resources,
        granted.as_deref(),
    )))
}
