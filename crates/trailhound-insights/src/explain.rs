//! Reading Insights records back: the gist of one record (ours or CloudTrail's own), and the
//! minutes an insight covers, so the CLI's `insights show` and the dashboard explain an
//! insight the same way.

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use serde_json::{Value, json};

use crate::InsightsError;
use crate::chart::ChartPoint;
use crate::record::{format_average, format_minute};
use crate::series::{InsightType, Minute, SeriesKey};

/// Every Insights record of the lake, in time order: Trailhound's own and CloudTrail's, as
/// the `insights` view holds them. Read the result with [`insight_events`].
pub const INSIGHT_RECORDS_SQL: &str = "SELECT eventJson, origin FROM insights ORDER BY eventTime";

/// The records of a result of [`INSIGHT_RECORDS_SQL`].
///
/// # Errors
///
/// [`InsightsError::Internal`] when the result does not have the view's columns.
pub fn insight_events(batches: &[RecordBatch]) -> Result<Vec<InsightEvent>, InsightsError> {
    let text = |batch: &RecordBatch, index: usize| {
        arrow::compute::cast(batch.column(index), &DataType::Utf8)
            .map_err(|err| InsightsError::Internal(format!("insights view: {err}")))
    };
    let mut found = Vec::new();
    for batch in batches {
        let (records, origins) = (text(batch, 0)?, text(batch, 1)?);
        let (records, origins) = (records.as_string::<i32>(), origins.as_string::<i32>());
        for row in 0..batch.num_rows() {
            let origin = if origins.is_valid(row) && origins.value(row) == "cloudtrail" {
                "cloudtrail"
            } else {
                "trailhound"
            };
            if records.is_valid(row)
                && let Some(event) = InsightEvent::parse(records.value(row), origin)
            {
                found.push(event);
            }
        }
    }
    Ok(found)
}

/// The gist of one Insights record, from its JSON.
#[derive(Debug, Clone)]
pub struct InsightEvent {
    /// `sharedEventID`: the same on an insight's Start and End.
    pub shared: String,
    /// `eventID`.
    pub event_id: String,
    /// `Start` or `End`.
    pub state: String,
    /// `eventTime`, as written.
    pub time: String,
    /// The series it is about.
    pub key: SeriesKey,
    /// `baseline.average`.
    pub baseline: f64,
    /// `insight.average`.
    pub average: f64,
    /// `insightDuration`, in minutes.
    pub duration: Option<i64>,
    /// `baselineDuration`, in minutes.
    pub baseline_duration: Option<i64>,
    /// The top `userIdentityArn` attribution during the insight.
    pub principal: Option<String>,
    /// `trailhound` (computed) or `cloudtrail` (ingested from CloudTrail-Insight files).
    pub origin: &'static str,
    /// The whole record.
    pub json: Value,
}

impl InsightEvent {
    /// Reads a record; `None` if it is not an Insights event.
    pub fn parse(text: &str, origin: &'static str) -> Option<InsightEvent> {
        let json: Value = serde_json::from_str(text).ok()?;
        let details = &json["insightDetails"];
        let statistics = &details["insightContext"]["statistics"];
        let text_of = |v: &Value| v.as_str().map(str::to_owned);
        let principal = details["insightContext"]["attributions"]
            .as_array()
            .and_then(|list| list.iter().find(|a| a["attribute"] == "userIdentityArn"))
            .and_then(|a| a["insight"][0]["value"].as_str())
            .map(str::to_owned);
        Some(InsightEvent {
            shared: text_of(&json["sharedEventID"])?,
            event_id: text_of(&json["eventID"])?,
            state: text_of(&details["state"])?,
            time: text_of(&json["eventTime"])?,
            key: SeriesKey {
                account: text_of(&json["recipientAccountId"]).unwrap_or_default(),
                region: text_of(&json["awsRegion"]).unwrap_or_default(),
                event_source: text_of(&details["eventSource"])?,
                event_name: text_of(&details["eventName"])?,
                insight_type: details["insightType"]
                    .as_str()
                    .and_then(InsightType::parse)?,
                error_code: text_of(&details["errorCode"]),
            },
            baseline: statistics["baseline"]["average"].as_f64().unwrap_or(0.0),
            average: statistics["insight"]["average"].as_f64().unwrap_or(0.0),
            duration: statistics["insightDuration"].as_i64(),
            baseline_duration: statistics["baselineDuration"].as_i64(),
            principal,
            origin,
            json,
        })
    }

    /// The minute of its `eventTime`.
    pub fn minute(&self) -> Option<Minute> {
        chrono::DateTime::parse_from_rfc3339(&self.time)
            .ok()
            .map(|t| t.timestamp().div_euclid(60))
    }
}

/// One insight as its records tell it: its Start and its End, as far as they exist (an
/// insight still going on has no End).
#[derive(Debug, Clone, Copy)]
pub struct RecordedInsight<'r> {
    /// The Start record.
    pub start: Option<&'r InsightEvent>,
    /// The End record.
    pub end: Option<&'r InsightEvent>,
}

impl<'r> RecordedInsight<'r> {
    /// Either record, the Start first: what both agree on (series, origin, baseline).
    pub fn any(&self) -> Option<&'r InsightEvent> {
        self.start.or(self.end)
    }

    /// Its records, the Start first.
    pub fn records(&self) -> Vec<&'r InsightEvent> {
        self.start.into_iter().chain(self.end).collect()
    }

    /// The rate during the insight: the End's, once there is one.
    pub fn average(&self) -> Option<f64> {
        self.end.or(self.start).map(|r| r.average)
    }

    /// Its length in minutes, once known.
    pub fn duration(&self) -> Option<i64> {
        self.end.and_then(|e| e.duration).or(self.any()?.duration)
    }

    /// Who made most of the calls.
    pub fn principal(&self) -> Option<&'r str> {
        self.records()
            .into_iter()
            .find_map(|r| r.principal.as_deref())
    }

    /// The minutes `[start, end)` it covers.
    pub fn minutes(&self) -> (Minute, Minute) {
        insight_minutes(&self.records())
    }
}

impl RecordedInsight<'_> {
    /// The gist as JSON: one row of the API's and the dashboard's list.
    pub fn summary_json(&self) -> Value {
        let Some(any) = self.any() else {
            return Value::Null;
        };
        json!({
            "sharedEventID": any.shared,
            "origin": any.origin,
            "start": self.start.map(|r| r.time.clone()),
            "end": self.end.map(|r| r.time.clone()),
            "account": any.key.account,
            "region": any.key.region,
            "eventSource": any.key.event_source,
            "eventName": any.key.event_name,
            "insightType": any.key.insight_type.as_str(),
            "errorCode": any.key.error_code,
            "baselineAverage": any.baseline,
            "insightAverage": self.average(),
            "insightDuration": self.duration(),
            "principal": self.principal(),
        })
    }

    /// The insight with its records and the per-minute rate around it (`points`, from
    /// [`crate::chart::points`]): what `insights show --format json` prints and the API's
    /// `/insights/{id}` answers.
    pub fn explained_json(&self, points: &[ChartPoint]) -> Value {
        let any = self.any();
        json!({
            "sharedEventID": any.map(|r| r.shared.clone()),
            "origin": any.map(|r| r.origin),
            "insight": self.summary_json(),
            "records": self.records().iter().map(|r| r.json.clone()).collect::<Vec<_>>(),
            "baselineAverage": any.map(|r| r.baseline),
            "series": points.iter().map(|p| json!({
                "time": format_minute(p.minute),
                "count": p.count,
                "insight": p.inside,
            })).collect::<Vec<_>>(),
        })
    }

    /// The insight for people: what it is about, its records, who, and a chart `width`
    /// columns wide of the rate against the baseline.
    pub fn explained_text(&self, points: &[ChartPoint], width: usize) -> String {
        let Some(first) = self.any() else {
            return String::new();
        };
        let key = &first.key;
        let mut text = format!("{key} ({})\n", key.insight_type);
        text.push_str(&format!(
            "sharedEventID {} ({})\n",
            first.shared, first.origin
        ));
        for record in self.records() {
            text.push_str(&format!(
                "  {:<5} {}  eventID {}  {} per minute (baseline {} over {} minutes){}\n",
                record.state,
                record.time,
                record.event_id,
                format_average(record.average),
                format_average(record.baseline),
                record
                    .baseline_duration
                    .map_or_else(|| "?".to_owned(), |d| d.to_string()),
                record
                    .duration
                    .map_or_else(String::new, |d| format!(", lasted {d} minutes")),
            ));
        }
        if let Some(principal) = &first.principal {
            text.push_str(&format!("  mostly {principal}\n"));
        }
        text.push('\n');
        text.push_str(&crate::chart::render(points, first.baseline, width));
        text
    }
}

/// The records grouped into insights (one per `sharedEventID` and origin), the earliest
/// first.
pub fn group_insights(records: &[InsightEvent]) -> Vec<RecordedInsight<'_>> {
    let mut grouped: BTreeMap<(&str, &str), RecordedInsight<'_>> = BTreeMap::new();
    for record in records {
        let insight = grouped
            .entry((record.shared.as_str(), record.origin))
            .or_insert(RecordedInsight {
                start: None,
                end: None,
            });
        if record.state == "Start" {
            insight.start = Some(record);
        } else {
            insight.end = Some(record);
        }
    }
    let mut insights: Vec<RecordedInsight<'_>> = grouped.into_values().collect();
    let when = |i: &RecordedInsight<'_>| i.start.map(|r| r.time.clone()).unwrap_or_default();
    insights.sort_by_cached_key(|i| (when(i), i.any().map(|r| r.shared.clone())));
    insights
}

/// The one insight whose `sharedEventID`, or the `eventID` of one of its records, is `id`,
/// or starts with it when `prefix` (people type a few characters; programs send the id).
///
/// # Errors
///
/// [`InsightsError::NotFound`] when none matches or several do.
pub fn find_insight<'r>(
    records: &'r [InsightEvent],
    id: &str,
    prefix: bool,
) -> Result<RecordedInsight<'r>, InsightsError> {
    let id = id.trim();
    let names = |r: &InsightEvent| {
        if prefix {
            !id.is_empty() && (r.shared.starts_with(id) || r.event_id.starts_with(id))
        } else {
            r.shared == id || r.event_id == id
        }
    };
    let shared: BTreeSet<&str> = records
        .iter()
        .filter(|r| names(r))
        .map(|r| r.shared.as_str())
        .collect();
    let shared = match shared.len() {
        1 => shared.into_iter().next().unwrap_or_default(),
        0 => {
            return Err(InsightsError::NotFound(format!(
                "no insight has the id {id:?}"
            )));
        }
        n => {
            return Err(InsightsError::NotFound(format!(
                "{n} insights have ids starting with {id:?}; give more of the id"
            )));
        }
    };
    let mut insight = RecordedInsight {
        start: None,
        end: None,
    };
    for record in records.iter().filter(|r| r.shared == shared) {
        if record.state == "Start" {
            insight.start = Some(record);
        } else {
            insight.end = Some(record);
        }
    }
    Ok(insight)
}

/// The minutes `[start, end)` one insight covers, from its Start and End records (either may
/// be missing: an insight still going on has no End).
pub fn insight_minutes(records: &[&InsightEvent]) -> (Minute, Minute) {
    let end_record = records.iter().find(|r| r.state == "End");
    let duration = records.iter().find_map(|r| r.duration);
    let start = records
        .iter()
        .find(|r| r.state == "Start")
        .and_then(|r| r.minute())
        .or_else(|| end_record.and_then(|e| Some(e.minute()? - e.duration.unwrap_or(1))))
        .unwrap_or_default();
    let end = end_record
        .and_then(|e| e.minute())
        .unwrap_or(start + duration.unwrap_or(1));
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(state: &str, time: &str, duration: Option<i64>) -> String {
        let duration = duration.map_or_else(String::new, |d| format!(r#","insightDuration":{d}"#));
        format!(
            r#"{{"eventID":"e-{state}","sharedEventID":"s1","eventTime":"{time}","recipientAccountId":"111122223333","awsRegion":"us-east-1",
            "insightDetails":{{"state":"{state}","eventSource":"iam.amazonaws.com","eventName":"ListUsers","insightType":"ApiCallRateInsight",
            "insightContext":{{"statistics":{{"baseline":{{"average":0.5}},"insight":{{"average":12.0}}{duration},"baselineDuration":10080}},
            "attributions":[{{"attribute":"userIdentityArn","insight":[{{"value":"arn:aws:iam::111122223333:user/eve","average":12.0}}]}}]}}}}}}"#
        )
    }

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn reads_the_gist_of_a_record() -> TestResult {
        let event =
            InsightEvent::parse(&record("Start", "2026-11-02T10:00:00Z", None), "trailhound")
                .ok_or("does not parse")?;
        assert_eq!(event.key.event_name, "ListUsers");
        assert_eq!(
            event.principal.as_deref(),
            Some("arn:aws:iam::111122223333:user/eve")
        );
        assert_eq!(event.average, 12.0);
        assert!(InsightEvent::parse(r#"{"eventID":"x"}"#, "cloudtrail").is_none());
        Ok(())
    }

    #[test]
    fn minutes_come_from_start_and_end_or_the_duration() -> TestResult {
        let start = InsightEvent::parse(&record("Start", "2026-11-02T10:00:00Z", None), "t")
            .ok_or("start")?;
        let end = InsightEvent::parse(&record("End", "2026-11-02T10:07:00Z", Some(7)), "t")
            .ok_or("end")?;
        let minute = start.minute().ok_or("minute")?;
        assert_eq!(insight_minutes(&[&start, &end]), (minute, minute + 7));
        assert_eq!(insight_minutes(&[&end]), (minute, minute + 7));
        assert_eq!(insight_minutes(&[&start]), (minute, minute + 1));
        Ok(())
    }
}
