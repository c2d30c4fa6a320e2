//! `GET /report`: the report of `trailhound report`, as HTML (opened by the dashboard's
//! Report button), PDF, Markdown or JSON.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use trailhound_report::{Format, Renderer, ReportRequest, Scope, Section};

use super::{Params, time_param};
use crate::error::ApiError;
use crate::state::AppState;

/// The query string.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ReportParams {
    /// Start of the period (`30d` by default; `all`: the lake's first event).
    since: Option<String>,
    /// End of the period (now by default).
    until: Option<String>,
    /// html (default), pdf, md or json.
    format: Option<String>,
    /// Comma-separated accounts.
    account: Option<String>,
    /// Comma-separated sections.
    sections: Option<String>,
    /// The title.
    title: Option<String>,
}

fn list(text: Option<&str>) -> impl Iterator<Item = &str> {
    text.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A report needs no script and loads nothing: its page may use its own stylesheet and
/// inline SVG, nothing else.
const REPORT_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub(super) async fn report(
    State(state): State<AppState>,
    Params(params): Params<ReportParams>,
) -> Result<Response, ApiError> {
    let invalid = |message: String| ApiError::bad_request("invalid", message);
    let now = chrono::Utc::now();
    let since = match params.since.as_deref().map(str::trim) {
        // The lake's whole history: from the hour of its first event.
        Some("all") => state
            .lake
            .with_catalog(|catalog| Ok(catalog.event_span_us()?.0))?
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map_or(now, |first| {
                chrono::DurationRound::duration_trunc(first, chrono::TimeDelta::hours(1))
                    .unwrap_or(first)
            }),
        other => time_param("since", other.or(Some("30d")), now)?.unwrap_or(now),
    };
    let until = time_param("until", params.until.as_deref(), now)?.unwrap_or(now);
    let format: Format = params
        .format
        .as_deref()
        .unwrap_or("html")
        .parse()
        .map_err(invalid)?;
    let sections = list(params.sections.as_deref())
        .map(str::parse::<Section>)
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let request = ReportRequest {
        scope: Scope {
            since,
            until,
            accounts: list(params.account.as_deref()).map(str::to_owned).collect(),
        },
        sections,
        title: params.title,
        lake: state.settings.data_dir.display().to_string(),
    };
    let snapshot = state.lake.snapshot().await?;
    let report = state.lake.report(&snapshot, &request).await?;
    // Printing with Chromium blocks for a second or more: not on a runtime thread.
    let document = tokio::task::spawn_blocking(move || Renderer::default().render(&report, format))
        .await
        .map_err(ApiError::internal)?
        .map_err(|err| match err {
            trailhound_report::ReportError::Pdf(message) => {
                ApiError::too_heavy("pdf_unavailable", message)
            }
            other => ApiError::internal(other),
        })?;
    let mut response = document.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(REPORT_POLICY),
    );
    if format != Format::Html {
        let name = format!(
            "attachment; filename=\"trailhound-report-{}.{}\"",
            until.format("%Y-%m-%d"),
            format.extension()
        );
        if let Ok(value) = HeaderValue::from_str(&name) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}
