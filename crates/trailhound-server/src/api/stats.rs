//! `GET /stats` (the overview `trailhound stats` prints) and `GET /timeline` (events and
//! errors over time, with the findings and Insights that fall in it). Both are computed once
//! per lake snapshot and reused.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use serde::Deserialize;
use serde_json::{Value, json};
use trailhound_lake::FindingQuery;
use trailhound_query::stats_queries;

use super::{FilterParams, Params, rfc3339, rows};
use crate::error::ApiError;
use crate::state::AppState;

/// Beside the filters, which come from the same query string as [`FilterParams`].
#[derive(Debug, Deserialize)]
pub(super) struct StatsParams {
    top: Option<usize>,
}

pub(super) async fn stats(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Params(filter): Params<FilterParams>,
    Params(params): Params<StatsParams>,
) -> Result<Json<Arc<Value>>, ApiError> {
    let filter = filter.filter()?;
    let top = params.top.unwrap_or(10).clamp(1, 100);
    let snapshot = state.lake.snapshot().await?;
    let key = format!("stats?{}", raw.unwrap_or_default());
    let answer = state
        .lake
        .cached(&snapshot, key, || async {
            let mut sections = serde_json::Map::new();
            for section in stats_queries(&filter, top) {
                let batches = state.lake.sql(&snapshot, &section.sql, None).await?;
                let mut found = rows(&batches)?;
                let value = if section.key == "overview" {
                    found.pop().unwrap_or(Value::Null)
                } else {
                    Value::Array(found)
                };
                sections.insert(section.key.to_owned(), value);
            }
            Ok(Value::Object(sections))
        })
        .await?;
    Ok(Json(answer))
}

/// Beside the filters, which come from the same query string as [`FilterParams`].
#[derive(Debug, Deserialize)]
pub(super) struct TimelineParams {
    /// `minute`, `hour`, `day` or `auto` (the default: about 50 to 300 points).
    bucket: Option<String>,
}

/// Seconds in a bucket that gives a readable number of points over `span` seconds.
fn auto_bucket(span: i64) -> i64 {
    match span {
        s if s <= 6 * 3600 => 60,
        s if s <= 2 * 86_400 => 600,
        s if s <= 14 * 86_400 => 3600,
        _ => 86_400,
    }
}

pub(super) async fn timeline(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Params(filter): Params<FilterParams>,
    Params(params): Params<TimelineParams>,
) -> Result<Json<Arc<Value>>, ApiError> {
    let filter = filter.filter()?;
    let snapshot = state.lake.snapshot().await?;
    let key = format!("timeline?{}", raw.unwrap_or_default());
    let answer = state
        .lake
        .cached(&snapshot, key, || async {
            // The span decides the bucket: the filter's, or the lake's own from the catalog.
            let (first_us, last_us) = state
                .lake
                .with_catalog(|catalog| Ok(catalog.event_span_us()?))?;
            let from = filter
                .since
                .map(|t| t.timestamp())
                .or(first_us.map(|us| us / 1_000_000))
                .unwrap_or(0);
            let to = filter
                .until
                .map(|t| t.timestamp())
                .or(last_us.map(|us| us / 1_000_000 + 1))
                .unwrap_or(from + 1);
            let bucket = match params.bucket.as_deref() {
                None | Some("auto") => auto_bucket(to - from),
                Some("minute") => 60,
                Some("hour") => 3600,
                Some("day") => 86_400,
                Some(other) => {
                    return Err(ApiError::bad_request(
                        "invalid",
                        format!("bucket {other:?}: use minute, hour, day or auto"),
                    ));
                }
            };
            let condition = filter.where_clause();
            let sql = format!(
                "SELECT date_bin(INTERVAL '{bucket} seconds', eventTime, TIMESTAMP '1970-01-01T00:00:00Z') AS time, \
                 count(*) AS events, sum(CASE WHEN errorCode IS NOT NULL THEN 1 ELSE 0 END) AS errors \
                 FROM events WHERE {condition} GROUP BY 1 ORDER BY 1"
            );
            let series = rows(&state.lake.sql(&snapshot, &sql, None).await?)?;
            let (findings_total, findings) = state.lake.with_catalog(|catalog| {
                Ok(catalog.find_findings(&FindingQuery {
                    since: filter.since.map(rfc3339),
                    until: filter.until.map(rfc3339),
                    limit: 500,
                    ..FindingQuery::default()
                })?)
            })?;
            let markers: Vec<Value> = findings
                .iter()
                .map(|f| {
                    json!({
                        "id": f.id,
                        "time": f.finding.time,
                        "level": f.finding.level,
                        "title": f.finding.rule_title,
                        "status": f.status,
                    })
                })
                .collect();
            let mut insight_condition = "state = 'Start'".to_owned();
            if let Some(since) = filter.since {
                insight_condition.push_str(&format!(
                    " AND eventTime >= TIMESTAMP '{}'",
                    rfc3339(since)
                ));
            }
            if let Some(until) = filter.until {
                insight_condition.push_str(&format!(
                    " AND eventTime < TIMESTAMP '{}'",
                    rfc3339(until)
                ));
            }
            let insights = rows(
                &state
                    .lake
                    .sql(
                        &snapshot,
                        &format!(
                            "SELECT eventTime AS time, sharedEventID, eventSource, eventName, insightType, errorCode \
                             FROM insights WHERE {insight_condition} ORDER BY eventTime LIMIT 500"
                        ),
                        None,
                    )
                    .await?,
            )?;
            Ok(json!({
                "bucket_seconds": bucket,
                "series": series,
                "findings": markers,
                "findings_total": findings_total,
                "insights": insights,
            }))
        })
        .await?;
    Ok(Json(answer))
}

#[cfg(test)]
mod tests {
    use super::auto_bucket;

    #[test]
    fn buckets_keep_charts_readable() {
        assert_eq!(auto_bucket(3600), 60);
        assert_eq!(auto_bucket(86_400), 600);
        assert_eq!(auto_bucket(7 * 86_400), 3600);
        assert_eq!(auto_bucket(30 * 86_400), 86_400);
    }
}
