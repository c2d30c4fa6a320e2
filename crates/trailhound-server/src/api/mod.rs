//! The JSON API under `/api/v1`. Every handler reads through the [`LakeView`], so the API,
//! the dashboard and the CLI answer from the same engine and the same SQL.
//!
//! [`LakeView`]: crate::lake_view::LakeView

mod events;
mod findings;
mod insights;
mod policy;
mod report;
mod sql;
mod stats;
mod status;
mod tokens;
mod trace;

use arrow::array::RecordBatch;
use axum::Router;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::Value;
use trailhound_query::{ErrorFilter, Pattern, QuickFilter, parse_time_bound};

use crate::error::ApiError;
use crate::state::AppState;

/// The routes under `/api/v1`, relative to it. Each one is in `openapi.json` (a test checks).
pub const ROUTES: [(&str, &str); 24] = [
    ("get", "/me"),
    ("get", "/events"),
    ("get", "/events/{id}"),
    ("post", "/query"),
    ("post", "/sql"),
    ("get", "/stats"),
    ("get", "/timeline"),
    ("get", "/findings"),
    ("get", "/findings/summary"),
    ("get", "/findings/{id}"),
    ("post", "/findings/{id}/triage"),
    ("get", "/insights"),
    ("get", "/insights/{id}"),
    ("get", "/sources"),
    ("get", "/status"),
    ("get", "/integrity"),
    ("get", "/posture"),
    ("get", "/report"),
    ("get", "/policy"),
    ("post", "/policy"),
    ("get", "/trace"),
    ("get", "/tokens"),
    ("post", "/tokens"),
    ("delete", "/tokens/{id}"),
];

/// The API's router (authentication is added by the caller).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(status::me))
        .route("/events", get(events::search))
        .route("/events/{id}", get(events::show))
        .route("/query", post(sql::query))
        .route("/sql", post(sql::query))
        .route("/stats", get(stats::stats))
        .route("/timeline", get(stats::timeline))
        .route("/findings", get(findings::list))
        .route("/findings/summary", get(findings::summary))
        .route("/findings/{id}", get(findings::show))
        .route("/findings/{id}/triage", post(findings::triage))
        .route("/insights", get(insights::list))
        .route("/insights/{id}", get(insights::show))
        .route("/sources", get(status::sources))
        .route("/status", get(status::status))
        .route("/integrity", get(status::integrity))
        .route("/posture", get(status::posture))
        .route("/report", get(report::report))
        .route("/policy", get(policy::get).post(policy::post))
        .route("/trace", get(trace::trace))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", delete(tokens::revoke))
        .route("/openapi.json", get(crate::openapi::document))
}

/// Query parameters, like axum's `Query`, but a malformed one (`limit=ten`) is answered with
/// the API's JSON error rather than plain text.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Params<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Params(value))
            .map_err(|err| ApiError::bad_request("invalid", err.body_text()))
    }
}

/// The filters of `trailhound search`, as query parameters. Lists (`region`, `account`) are
/// comma-separated.
#[derive(Debug, Default, Deserialize)]
pub struct FilterParams {
    event: Option<String>,
    user: Option<String>,
    source: Option<String>,
    ip: Option<String>,
    error: Option<String>,
    region: Option<String>,
    account: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

impl FilterParams {
    /// The filter, with relative times resolved against now.
    ///
    /// # Errors
    ///
    /// 400 for a time that does not parse or a range that ends before it starts.
    pub fn filter(&self) -> Result<QuickFilter, ApiError> {
        let now = chrono::Utc::now();
        let time = |name: &str, text: &Option<String>| time_param(name, text.as_deref(), now);
        let text = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let list = |value: &Option<String>| -> Vec<String> {
            value
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let filter = QuickFilter {
            event: text(&self.event).as_deref().map(Pattern::new),
            user: text(&self.user).as_deref().map(Pattern::contains),
            source: text(&self.source).as_deref().map(Pattern::contains),
            ip: text(&self.ip).as_deref().map(Pattern::new),
            error: text(&self.error).as_deref().map(ErrorFilter::parse),
            regions: list(&self.region),
            accounts: list(&self.account),
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
        };
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && since >= until
        {
            return Err(ApiError::bad_request(
                "invalid",
                format!("since ({since}) must be earlier than until ({until})"),
            ));
        }
        Ok(filter)
    }
}

/// A time parameter (`since=24h`, `until=2024-07-31`) resolved against `now`; empty is none.
///
/// # Errors
///
/// 400 naming the parameter when the time does not parse.
pub fn time_param(
    name: &str,
    text: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    text.filter(|t| !t.trim().is_empty())
        .map(|t| {
            parse_time_bound(t)
                .map(|bound| bound.resolve(now))
                .map_err(|err| ApiError::bad_request("invalid", format!("{name}: {err}")))
        })
        .transpose()
}

/// A time as the catalog writes findings' times (`2024-07-31T13:00:00Z`), which also reads as
/// an SQL timestamp literal.
pub fn rfc3339(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Result rows as JSON objects, nulls included, so every row has every column.
///
/// # Errors
///
/// 500 when a value cannot be written as JSON.
pub fn rows(batches: &[RecordBatch]) -> Result<Vec<Value>, ApiError> {
    let mut buffer = Vec::new();
    {
        let mut writer = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow::json::writer::JsonArray>(&mut buffer);
        for batch in batches {
            writer.write(batch).map_err(ApiError::internal)?;
        }
        writer.finish().map_err(ApiError::internal)?;
    }
    if buffer.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&buffer).map_err(ApiError::internal)
}

/// The columns of a result, with their types.
pub fn columns(batches: &[RecordBatch]) -> Vec<Value> {
    batches
        .first()
        .map(|b| {
            b.schema()
                .fields()
                .iter()
                .map(|f| serde_json::json!({"name": f.name(), "type": f.data_type().to_string()}))
                .collect()
        })
        .unwrap_or_default()
}

/// A JSON request body, whatever its `Content-Type` says (`curl -d` sends a form type), with
/// the shape expected named in the error.
///
/// # Errors
///
/// 400 when the body is not that JSON.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|err| ApiError::bad_request("invalid", format!("send {shape} as JSON: {err}")))
}

/// A page size from a request, within `1..=max`.
pub fn page_size(requested: Option<usize>, default: usize, max: usize) -> usize {
    requested.unwrap_or(default).clamp(1, max)
}
