//! Splunk HTTP Event Collector: one event per alert, timed at its newest finding.

use serde_json::{Value, json};

use crate::Alert;

pub(crate) fn body(alert: &Alert, delivery: i64, index: Option<&str>, sourcetype: &str) -> Value {
    let time = chrono::DateTime::parse_from_rfc3339(&alert.time())
        .map(|t| t.timestamp_millis() as f64 / 1000.0)
        .unwrap_or_else(|_| chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
    let mut event = json!({
        "time": time,
        "source": "trailhound",
        "sourcetype": sourcetype,
        "event": super::webhook::body(alert, delivery),
    });
    if let (Some(index), Some(fields)) = (index, event.as_object_mut()) {
        fields.insert("index".to_owned(), Value::String(index.to_owned()));
    }
    event
}
