//! Insights over the lake: the detector over each series of the lake's [`History`], and the
//! attributions of what it finds. The same code serves a backfill over months and the few
//! minutes an ingest (or, later, `watch`) has just added.

use std::collections::HashMap;

use arrow::array::RecordBatch;
use chrono::{DateTime, SecondsFormat};
use trailhound_lake::{LakeFileRecord, StoredInsight};
use trailhound_query::{QueryEngine, sql_string};

use crate::InsightsError;
use crate::columns::{integers, text};
use crate::detect::{Anomaly, Coverage, Settings, detect};
use crate::history::History;
use crate::record::{Attribution, InsightRecord, State, format_minute, stable_id};
use crate::series::{MINUTE_US, Minute, Series, SeriesKey};

/// One insight found, with its records.
#[derive(Debug, Clone)]
pub struct Insight {
    /// The series it was found in.
    pub key: SeriesKey,
    /// What the detector found.
    pub anomaly: Anomaly,
    /// The history of its account and region.
    pub coverage: Coverage,
    /// The Start record, and the End record once the insight is over.
    pub records: Vec<InsightRecord>,
}

/// The result of one computation.
#[derive(Debug, Clone, Default)]
pub struct Computation {
    /// Insights were looked for among minutes `[from, to)` (µs since the epoch).
    pub from_us: i64,
    /// See `from_us`.
    pub to_us: i64,
    /// Series examined.
    pub series: usize,
    /// What was found, by start time.
    pub insights: Vec<Insight>,
}

impl Computation {
    /// The records to store in the catalog.
    pub fn stored(&self) -> Vec<StoredInsight> {
        self.insights
            .iter()
            .flat_map(|insight| {
                insight.records.iter().map(move |record| StoredInsight {
                    event_id: record.event_id.clone(),
                    shared_event_id: record.shared_event_id.clone(),
                    state: record.state.as_str().to_owned(),
                    event_time: format_minute(record.event_time),
                    start_us: insight.anomaly.start * MINUTE_US,
                    account: insight.key.account.clone(),
                    region: insight.key.region.clone(),
                    event_source: insight.key.event_source.clone(),
                    event_name: insight.key.event_name.clone(),
                    insight_type: insight.key.insight_type.as_str().to_owned(),
                    error_code: insight.key.error_code.clone(),
                    baseline_average: record.baseline_average,
                    insight_average: record.insight_average,
                    insight_duration: record.insight_duration,
                    baseline_duration: record.baseline_duration,
                    record: record.to_json(),
                })
            })
            .collect()
    }
}

/// Which events Insights counts: API calls that are management events (data events and
/// Insights events themselves are not), and only writes if the settings say so.
fn counted(settings: &Settings) -> &'static str {
    if settings.write_only {
        "eventType = 'AwsApiCall' AND (managementEvent IS NULL OR managementEvent) AND readOnly = false"
    } else {
        "eventType = 'AwsApiCall' AND (managementEvent IS NULL OR managementEvent)"
    }
}

/// How much history each account and region has, from the catalog's record of lake files
/// (their first and last `eventTime`), so no query is needed for it.
pub fn coverage_of(files: &[LakeFileRecord]) -> HashMap<(String, String), Coverage> {
    let mut coverage: HashMap<(String, String), Coverage> = HashMap::new();
    for file in files {
        let (Some(min), Some(max)) = (file.min_time_us, file.max_time_us) else {
            continue;
        };
        let (first, end) = (min.div_euclid(MINUTE_US), max.div_euclid(MINUTE_US) + 1);
        coverage
            .entry((file.account.clone(), file.region.clone()))
            .and_modify(|c| {
                c.first = c.first.min(first);
                c.end = c.end.max(end);
            })
            .or_insert(Coverage { first, end });
    }
    coverage
}

/// Finds the insights that start in `[from_us, to_us)` (the whole lake when not given).
/// `files` are the lake's files as the catalog records them: their time spans give each
/// account's and region's history (see [`coverage_of`]) without a query. `history` must be scanned
/// for the same `from_us` (see [`History::scan`]).
pub fn compute(
    engine: &QueryEngine,
    files: &[LakeFileRecord],
    history: &History,
    from_us: Option<i64>,
    to_us: Option<i64>,
    settings: &Settings,
) -> Result<Computation, InsightsError> {
    settings.validate()?;
    let coverage = coverage_of(files);
    let Some(first) = coverage.values().map(|c| c.first).min() else {
        return Ok(Computation::default());
    };
    let last = coverage.values().map(|c| c.end).max().unwrap_or(first);
    let from = from_us
        .map_or(first, |us| us.div_euclid(MINUTE_US))
        .max(first);
    let to = to_us
        .map_or(last, |us| us.div_euclid(MINUTE_US) + 1)
        .min(last);
    let mut computation = Computation {
        from_us: from * MINUTE_US,
        to_us: to * MINUTE_US,
        ..Computation::default()
    };
    if from >= to {
        return Ok(computation);
    }
    let all_series = history.series();
    computation.series = all_series.len();
    let mut found = Vec::new();
    for series in &all_series {
        let place = (series.key.account.clone(), series.key.region.clone());
        let Some(cover) = coverage.get(&place).copied() else {
            continue;
        };
        for anomaly in detect(series, cover, from, to, settings) {
            found.push(Found {
                key: &series.key,
                anomaly,
                coverage: cover,
            });
        }
    }
    let mut attributed = Vec::with_capacity(found.len());
    for chunk in found.chunks(ATTRIBUTIONS_PER_QUERY) {
        attributed.extend(attributions(engine, chunk, settings)?);
    }
    for (found, attributions) in found.into_iter().zip(attributed) {
        computation.insights.push(Insight {
            key: found.key.clone(),
            records: records(found.key, &found.anomaly, found.coverage, attributions),
            anomaly: found.anomaly,
            coverage: found.coverage,
        });
    }
    computation
        .insights
        .sort_by(|a, b| (a.anomaly.start, &a.key).cmp(&(b.anomaly.start, &b.key)));
    Ok(computation)
}

/// The Start and (when over) End records of an anomaly.
fn records(
    key: &SeriesKey,
    anomaly: &Anomaly,
    coverage: Coverage,
    attributions: Vec<Attribution>,
) -> Vec<InsightRecord> {
    let start = anomaly.start.to_string();
    let kind = key.insight_type.as_str();
    let code = key.error_code.as_deref().unwrap_or("");
    let identity = [
        key.account.as_str(),
        &key.region,
        &key.event_source,
        &key.event_name,
        kind,
        code,
        &start,
    ];
    let shared = stable_id(&identity);
    let duration = anomaly.duration(coverage);
    let whole_average = anomaly.total as f64 / duration as f64;
    let start_record = InsightRecord {
        event_id: stable_id(&[&shared, "Start"]),
        shared_event_id: shared.clone(),
        state: State::Start,
        event_time: anomaly.start,
        key: key.clone(),
        baseline_average: anomaly.baseline_average,
        insight_average: anomaly.first_count as f64,
        insight_duration: anomaly.end.map(|_| duration),
        baseline_duration: anomaly.baseline_minutes,
        attributions: attributions.clone(),
    };
    let mut records = vec![start_record];
    if let Some(end) = anomaly.end {
        records.push(InsightRecord {
            event_id: stable_id(&[&shared, "End"]),
            shared_event_id: shared,
            state: State::End,
            event_time: end,
            key: key.clone(),
            baseline_average: anomaly.baseline_average,
            insight_average: whole_average,
            insight_duration: Some(duration),
            baseline_duration: anomaly.baseline_minutes,
            attributions,
        });
    }
    records
}

/// The per-minute counts of one series between two minutes, for charts.
pub fn series_between(
    engine: &QueryEngine,
    key: &SeriesKey,
    from: Minute,
    to: Minute,
    settings: &Settings,
) -> Result<Series, InsightsError> {
    let batches = engine.sql(&series_sql(key, from, to, settings))?;
    series_from(key, &batches)
}

/// The SQL behind [`series_between`], for callers that run it themselves (the server, on its
/// own runtime); [`series_from`] reads its result.
pub fn series_sql(key: &SeriesKey, from: Minute, to: Minute, settings: &Settings) -> String {
    format!(
        "SELECT CAST(to_unixtime(eventTime) AS BIGINT) / 60 AS minute, count(*)
         FROM events WHERE {} AND {} AND {}
         GROUP BY 1",
        same_series(key),
        between(from, to),
        counted(settings)
    )
}

/// The series of `key` from the result of [`series_sql`].
pub fn series_from(key: &SeriesKey, batches: &[RecordBatch]) -> Result<Series, InsightsError> {
    let mut points = Vec::new();
    for batch in batches {
        let (minutes, counts) = (integers(batch, 0)?, integers(batch, 1)?);
        for row in 0..batch.num_rows() {
            points.push((minutes.value(row), counts.value(row).max(0) as u64));
        }
    }
    Ok(Series::new(key.clone(), points))
}

/// An anomaly waiting for its attributions.
struct Found<'a> {
    key: &'a SeriesKey,
    anomaly: Anomaly,
    coverage: Coverage,
}

/// Anomalies attributed by one query: each is a small grouped scan of its own series, and a
/// query apiece cost more in planning and file opening than in scanning (docs/benchmarks.md).
const ATTRIBUTIONS_PER_QUERY: usize = 64;

/// Who, with what, and failing how: the top five principals, user agents and error codes
/// during each anomaly and in its baseline, in the order of `found`.
fn attributions(
    engine: &QueryEngine,
    found: &[Found<'_>],
    settings: &Settings,
) -> Result<Vec<Vec<Attribution>>, InsightsError> {
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let selects: Vec<String> = found
        .iter()
        .enumerate()
        .map(|(item, found)| {
            let anomaly = &found.anomaly;
            let end = anomaly.end.unwrap_or(found.coverage.end);
            format!(
                "SELECT CAST({item} AS BIGINT) AS item,
                        CASE WHEN eventTime >= {start} THEN 1 ELSE 0 END AS during,
                        coalesce(userIdentity.arn, userIdentity.invokedBy, 'null') AS principal,
                        coalesce(userAgent, 'null') AS agent,
                        coalesce(errorCode, 'null') AS code,
                        count(*) AS n
                 FROM events WHERE {series} AND {range} AND {counted}
                 GROUP BY 1, 2, 3, 4, 5",
                start = timestamp(anomaly.start),
                series = same_series(found.key),
                range = between(anomaly.start - anomaly.baseline_minutes, end),
                counted = counted(settings)
            )
        })
        .collect();
    // [item][attribute][during?] value → count
    let mut tallies: Vec<[[HashMap<String, u64>; 2]; 3]> = std::iter::repeat_with(Default::default)
        .take(found.len())
        .collect();
    for batch in engine.sql(&selects.join("\nUNION ALL\n"))? {
        let items = integers(&batch, 0)?;
        let during = integers(&batch, 1)?;
        let values = [text(&batch, 2)?, text(&batch, 3)?, text(&batch, 4)?];
        let counts = integers(&batch, 5)?;
        for row in 0..batch.num_rows() {
            let item = usize::try_from(items.value(row))
                .ok()
                .and_then(|item| tallies.get_mut(item))
                .ok_or_else(|| {
                    InsightsError::Internal(format!(
                        "an attribution row names item {} of {}",
                        items.value(row),
                        found.len()
                    ))
                })?;
            let period = usize::from(during.value(row) == 1);
            for (attribute, column) in values.iter().enumerate() {
                *item[attribute][period]
                    .entry(column.value(row).to_owned())
                    .or_default() += counts.value(row).max(0) as u64;
            }
        }
    }
    let names = ["userIdentityArn", "userAgent", "errorCode"];
    Ok(found
        .iter()
        .zip(tallies)
        .map(|(found, tallies)| {
            let duration = found.anomaly.duration(found.coverage) as f64;
            let baseline = found.anomaly.baseline_minutes.max(1) as f64;
            names
                .iter()
                .zip(tallies)
                .map(|(attribute, [before, during])| Attribution {
                    attribute,
                    insight: top_five(during, duration),
                    baseline: top_five(before, baseline),
                })
                .collect()
        })
        .collect())
}

fn top_five(counts: HashMap<String, u64>, minutes: f64) -> Vec<(String, f64)> {
    let mut values: Vec<(String, u64)> = counts.into_iter().collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    values
        .into_iter()
        .take(5)
        .map(|(value, count)| (value, count as f64 / minutes))
        .collect()
}

/// A SQL condition selecting one series' events (all calls, or one error code's). The `events`
/// table skips every other account's and region's folders by itself.
fn same_series(key: &SeriesKey) -> String {
    let mut condition = format!(
        "recipientAccountId = {} AND awsRegion = {} AND eventSource = {} AND eventName = {}",
        sql_string(&key.account),
        sql_string(&key.region),
        sql_string(&key.event_source),
        sql_string(&key.event_name)
    );
    if let Some(code) = &key.error_code {
        condition.push_str(&format!(" AND errorCode = {}", sql_string(code)));
    }
    condition
}

fn timestamp(minute: Minute) -> String {
    let time = DateTime::from_timestamp(minute.saturating_mul(60), 0).unwrap_or_default();
    format!(
        "TIMESTAMP '{}'",
        time.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

/// Events from `minute` on. The `events` table skips the days before it by itself (see
/// `trailhound_query`'s `events_table`).
pub(crate) fn since(minute: Minute) -> String {
    format!("eventTime >= {}", timestamp(minute))
}

fn between(from: Minute, to: Minute) -> String {
    format!("{} AND eventTime < {}", since(from), timestamp(to))
}
