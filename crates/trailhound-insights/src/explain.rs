//! Reading Insights records back: the gist of one record (ours or CloudTrail's own), and the
//! minutes an insight covers, so the CLI's `insights show` and the dashboard explain an
//! insight the same way.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use serde_json::Value;

use crate::InsightsError;
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
