//! PagerDuty Events API v2: a trigger event, deduplicated by rule and principal so that
//! PagerDuty folds repeats into one incident.

use serde_json::{Value, json};
use trailhound_event::Level;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::tests::sample_alert;

    #[test]
    fn a_trigger_event_as_events_api_v2_documents_it() {
        let body = body(&sample_alert(), "R0UT1NGKEY");
        assert_eq!(body["routing_key"], "R0UT1NGKEY");
        assert_eq!(body["event_action"], "trigger");
        assert_eq!(body["payload"]["severity"], "error");
        assert_eq!(body["payload"]["source"], "111122223333");
        assert_eq!(
            body["dedup_key"],
            "trailhound:stop-logging:arn:aws:iam::111122223333:user/alice"
        );
        assert!(
            body["payload"]["summary"]
                .as_str()
                .is_some_and(|s| s.starts_with("[HIGH]"))
        );
        assert!(body["payload"]["timestamp"].as_str().is_some());
    }
}
