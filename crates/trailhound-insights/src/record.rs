//! Insights events in CloudTrail's own format, field for field and in CloudTrail's order, so
//! that tools reading real `CloudTrail-Insight` files read ours too.

use chrono::DateTime;

use crate::series::{Minute, SeriesKey};

/// Whether a record opens or closes an insight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The unusual activity began.
    Start,
    /// It returned to the baseline.
    End,
}

impl State {
    /// The name CloudTrail writes.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Start => "Start",
            State::End => "End",
        }
    }
}

/// The top values of one attribute during the insight and in the baseline, with their
/// per-minute averages.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    /// `userIdentityArn`, `userAgent` or `errorCode`.
    pub attribute: &'static str,
    /// Up to five values, most frequent first.
    pub insight: Vec<(String, f64)>,
    /// Up to five values, most frequent first.
    pub baseline: Vec<(String, f64)>,
}

/// One Insights event.
#[derive(Debug, Clone, PartialEq)]
pub struct InsightRecord {
    /// `eventID`.
    pub event_id: String,
    /// Shared by the Start and End of one insight.
    pub shared_event_id: String,
    /// Start or End.
    pub state: State,
    /// The minute the insight started (Start) or ended (End).
    pub event_time: Minute,
    /// The API, account and region, and what was counted.
    pub key: SeriesKey,
    /// `statistics.baseline.average`.
    pub baseline_average: f64,
    /// `statistics.insight.average`.
    pub insight_average: f64,
    /// `statistics.insightDuration`, minutes, once known.
    pub insight_duration: Option<i64>,
    /// `statistics.baselineDuration`, minutes.
    pub baseline_duration: i64,
    /// `insightContext.attributions`.
    pub attributions: Vec<Attribution>,
}

/// The `eventVersion` CloudTrail writes on Insights events.
pub const EVENT_VERSION: &str = "1.07";

impl InsightRecord {
    /// The record as CloudTrail writes it (compact JSON, CloudTrail's field order).
    pub fn to_json(&self) -> String {
        let mut out = Json::default();
        out.open('{');
        out.field("eventVersion").string(EVENT_VERSION);
        out.field("eventTime")
            .string(&format_minute(self.event_time));
        out.field("awsRegion").string(&self.key.region);
        out.field("eventID").string(&self.event_id);
        out.field("eventType").string("AwsCloudTrailInsight");
        out.field("recipientAccountId").string(&self.key.account);
        out.field("sharedEventID").string(&self.shared_event_id);
        out.field("insightDetails").open('{');
        out.field("state").string(self.state.as_str());
        out.field("eventSource").string(&self.key.event_source);
        out.field("eventName").string(&self.key.event_name);
        out.field("insightType")
            .string(self.key.insight_type.as_str());
        if let Some(code) = &self.key.error_code {
            out.field("errorCode").string(code);
        }
        out.field("insightContext").open('{');
        out.field("statistics").open('{');
        out.field("baseline").open('{');
        out.field("average").number(self.baseline_average);
        out.close('}');
        out.field("insight").open('{');
        out.field("average").number(self.insight_average);
        out.close('}');
        if let Some(duration) = self.insight_duration {
            out.field("insightDuration").integer(duration);
        }
        out.field("baselineDuration")
            .integer(self.baseline_duration);
        out.close('}');
        if !self.attributions.is_empty() {
            out.field("attributions").open('[');
            for attribution in &self.attributions {
                out.element().open('{');
                out.field("attribute").string(attribution.attribute);
                for (name, values) in [
                    ("insight", &attribution.insight),
                    ("baseline", &attribution.baseline),
                ] {
                    out.field(name).open('[');
                    for (value, average) in values {
                        out.element().open('{');
                        out.field("value").string(value);
                        out.field("average").number(*average);
                        out.close('}');
                    }
                    out.close(']');
                }
                out.close('}');
            }
            out.close(']');
        }
        out.close('}'); // insightContext
        out.close('}'); // insightDetails
        out.field("eventCategory").string("Insight");
        out.close('}');
        out.text
    }
}

/// `2019-11-14T00:51:00Z`, as CloudTrail writes Insights times.
pub fn format_minute(minute: Minute) -> String {
    DateTime::from_timestamp(minute.saturating_mul(60), 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// A stable GUID-shaped identifier from the parts that make a record what it is, so that
/// computing the same insight again yields the same ids (and replaces, never duplicates).
pub fn stable_id(parts: &[&str]) -> String {
    let hash = xxhash_rust::xxh3::xxh3_128(parts.join("\u{1f}").as_bytes());
    let hex = format!("{hash:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Averages as CloudTrail prints them: whole numbers without a fraction, others rounded to
/// ten decimals without trailing zeros, never in exponent notation (`0.0000882145`).
pub fn format_average(value: f64) -> String {
    if !value.is_finite() {
        return "0".to_owned();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.10}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// A small JSON writer: CloudTrail's field order matters, and its number style is not
/// serde_json's.
#[derive(Default)]
struct Json {
    text: String,
    /// Whether the innermost open container already has a member.
    filled: Vec<bool>,
}

impl Json {
    fn open(&mut self, bracket: char) {
        self.text.push(bracket);
        self.filled.push(false);
    }

    fn close(&mut self, bracket: char) {
        self.text.push(bracket);
        self.filled.pop();
    }

    fn separate(&mut self) {
        if let Some(filled) = self.filled.last_mut() {
            if *filled {
                self.text.push(',');
            }
            *filled = true;
        }
    }

    fn field(&mut self, name: &str) -> &mut Self {
        self.separate();
        self.push_string(name);
        self.text.push(':');
        self
    }

    fn element(&mut self) -> &mut Self {
        self.separate();
        self
    }

    fn string(&mut self, value: &str) {
        self.push_string(value);
    }

    fn number(&mut self, value: f64) {
        self.text.push_str(&format_average(value));
    }

    fn integer(&mut self, value: i64) {
        self.text.push_str(&value.to_string());
    }

    fn push_string(&mut self, value: &str) {
        // serde_json's escaping of a plain string cannot fail.
        match serde_json::to_string(value) {
            Ok(quoted) => self.text.push_str(&quoted),
            Err(_) => self.text.push_str("\"\""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_print_as_cloudtrail_prints_them() {
        assert_eq!(format_average(0.0000882145), "0.0000882145");
        assert_eq!(format_average(85.42023809523), "85.4202380952");
        assert_eq!(format_average(664.0), "664");
        assert_eq!(format_average(0.6), "0.6");
        assert_eq!(format_average(0.0), "0");
        assert_eq!(format_average(1e-12), "0");
    }

    #[test]
    fn ids_are_stable_and_guid_shaped() {
        let a = stable_id(&["a", "b"]);
        assert_eq!(a, stable_id(&["a", "b"]));
        assert_ne!(a, stable_id(&["ab", ""]));
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }

    #[test]
    fn minutes_format_as_utc() {
        assert_eq!(format_minute(26_253_771), "2019-12-01T18:51:00Z");
    }
}
