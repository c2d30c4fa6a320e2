//! An alert: one or more findings, about one principal, told to one sink.

use serde::{Deserialize, Serialize};
use trailhound_event::{Finding, Level};

/// What a sink is told. Stored in the outbox as JSON, so a restart sends exactly what was
/// decided before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// One line: the level, what happened, who, where.
    pub title: String,
    /// The highest level among the findings.
    pub level: Level,
    /// Who (when the findings agree).
    pub principal: Option<String>,
    /// Which account (when the findings agree).
    pub account: Option<String>,
    /// The findings, oldest first.
    pub findings: Vec<AlertedFinding>,
}

/// A finding with its number in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertedFinding {
    /// `findings.id`.
    pub id: i64,
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
}

impl Alert {
    /// An alert about `findings` (at least one).
    pub fn new(findings: Vec<AlertedFinding>) -> Alert {
        let level = findings
            .iter()
            .map(|f| f.finding.level)
            .max()
            .unwrap_or(Level::Informational);
        let agreed = |field: fn(&Finding) -> &Option<String>| {
            let first = findings.first().and_then(|f| field(&f.finding).clone());
            findings
                .iter()
                .all(|f| *field(&f.finding) == first)
                .then_some(first)
                .flatten()
        };
        let principal = agreed(|f| &f.principal);
        let account = agreed(|f| &f.account);
        let lead = findings
            .iter()
            .max_by_key(|f| f.finding.level)
            .map(|f| f.finding.summary.clone())
            .unwrap_or_default();
        let mut title = format!("[{}] {lead}", level.as_str().to_ascii_uppercase());
        if findings.len() > 1 {
            title.push_str(&format!(" (+{} more findings", findings.len() - 1));
            if let Some(principal) = &principal {
                title.push_str(&format!(" on {principal}"));
            }
            title.push(')');
        }
        Alert {
            title,
            level,
            principal,
            account,
            findings,
        }
    }

    /// An alert to try a sink with (`trailhound alert test`).
    pub fn sample() -> Alert {
        Alert::new(vec![AlertedFinding {
            id: 0,
            finding: Finding {
                rule_id: "trailhound-alert-test".to_owned(),
                rule_title: "Trailhound test alert".to_owned(),
                level: Level::Informational,
                tags: vec!["test".to_owned()],
                time: Some(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                first_time: None,
                event_count: 0,
                event_ids: Vec::new(),
                event_source: None,
                event_name: None,
                principal: None,
                account: None,
                region: None,
                source_ip: None,
                summary: "Test alert from `trailhound alert test`: this sink works".to_owned(),
            },
        }])
    }

    /// The time of the newest finding, else now (RFC 3339).
    pub fn time(&self) -> String {
        self.findings
            .iter()
            .filter_map(|f| f.finding.time.clone())
            .max()
            .unwrap_or_else(|| chrono::Utc::now().to_rfc3339())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An alert about one high finding, for the sinks' format tests.
    pub(crate) fn sample_alert() -> Alert {
        Alert::new(vec![AlertedFinding {
            id: 7,
            finding: Finding {
                rule_id: "stop-logging".to_owned(),
                rule_title: "CloudTrail logging stopped".to_owned(),
                level: Level::High,
                tags: vec!["attack.defense_evasion".to_owned()],
                time: Some("2024-07-02T10:00:00Z".to_owned()),
                first_time: None,
                event_count: 1,
                event_ids: vec!["e1".to_owned()],
                event_source: Some("cloudtrail.amazonaws.com".to_owned()),
                event_name: Some("StopLogging".to_owned()),
                principal: Some("arn:aws:iam::111122223333:user/alice".to_owned()),
                account: Some("111122223333".to_owned()),
                region: Some("us-east-1".to_owned()),
                source_ip: Some("203.0.113.7".to_owned()),
                summary: "StopLogging by alice".to_owned(),
            },
        }])
    }

    #[test]
    fn titles_name_the_level_and_the_lead_finding() {
        let alert = sample_alert();
        assert_eq!(alert.title, "[HIGH] StopLogging by alice");
        assert_eq!(alert.time(), "2024-07-02T10:00:00Z");
        let json = serde_json::to_string(&alert).unwrap_or_default();
        let back: Alert = serde_json::from_str(&json).unwrap_or_else(|_| Alert::sample());
        assert_eq!(back, alert);
    }
}
