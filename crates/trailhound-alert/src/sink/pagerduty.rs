//! PagerDuty Events API v2: a trigger event, deduplicated by rule and principal so that
//! PagerDuty folds repeats into one incident.

use serde_json::{Value, json};
use trailhound_detect::Level;

use crate::Alert;

pub(crate) fn body(alert: &Alert, routing_key: &str) -> Value {
    let severity = match alert.level {
        Level::Critical => "critical",
        Level::High => "error",
        Level::Medium => "warning",
        Level::Low | Level::Informational => "info",
    };
    let rule = alert
        .findings
        .first()
        .map(|f| f.finding.rule_id.as_str())
        .unwrap_or("trailhound");
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": format!("trailhound:{rule}:{}", alert.principal.as_deref().unwrap_or("-")),
        "payload": {
            "summary": alert.title.chars().take(1024).collect::<String>(),
            "source": alert.account.as_deref().unwrap_or("trailhound"),
            "severity": severity,
            "timestamp": alert.time(),
            "component": "cloudtrail",
            "class": rule,
            "custom_details": {"findings": alert.findings},
        },
    })
}
