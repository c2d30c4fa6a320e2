//! Findings: what a rule concluded about some events, with who, where and when. Detection
//! makes them, the catalog stores them, alerting sends them; all three share this type, which
//! is why it lives with the record model rather than with the rules.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::CloudTrailEvent;

/// How severe a finding is, Sigma's levels in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Informational.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    /// Parses Sigma's level names.
    pub fn parse(text: &str) -> Option<Level> {
        Some(match text.to_ascii_lowercase().as_str() {
            "informational" | "info" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    /// The name as Sigma writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The facts of one event that a finding reports.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct EventFacts {
    /// `eventID`.
    pub event_id: Option<String>,
    /// `eventTime` as written.
    pub time: Option<String>,
    /// `eventTime` in milliseconds since the epoch (0 when absent or unreadable).
    #[serde(skip)]
    pub time_ms: i64,
    /// `eventSource`.
    pub event_source: Option<String>,
    /// `eventName`.
    pub event_name: Option<String>,
    /// Who: [`crate::UserIdentity::principal`].
    pub principal: Option<String>,
    /// Account: `recipientAccountId`, else the identity's account.
    pub account: Option<String>,
    /// `awsRegion`.
    pub region: Option<String>,
    /// `sourceIPAddress`.
    pub source_ip: Option<String>,
    /// `errorCode`.
    pub error_code: Option<String>,
}

impl EventFacts {
    /// Reads the facts from a parsed event.
    pub fn of(event: &CloudTrailEvent<'_>) -> EventFacts {
        let identity = event.user_identity();
        let principal = identity.and_then(|i| i.principal()).map(str::to_owned);
        let owned = |v: Option<&str>| v.map(str::to_owned);
        EventFacts {
            event_id: owned(event.event_id()),
            time: owned(event.event_time_text()),
            time_ms: event.event_time().map_or(0, |t| t.timestamp_millis()),
            event_source: owned(event.event_source()),
            event_name: owned(event.event_name()),
            principal,
            account: owned(event.account_id()),
            region: owned(event.aws_region()),
            source_ip: owned(event.source_ip_address()),
            error_code: owned(event.error_code()),
        }
    }
}

/// A rule's conclusion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub rule_title: String,
    /// Its level.
    pub level: Level,
    /// Its tags (ATT&CK, CIS, …).
    pub tags: Vec<String>,
    /// Time of the (last) event behind the finding.
    pub time: Option<String>,
    /// Time of the first event behind it (correlations span several).
    pub first_time: Option<String>,
    /// How many events are behind it.
    pub event_count: u64,
    /// Their eventIDs (the first [`Finding::MAX_EVENT_IDS`] for large correlations).
    pub event_ids: Vec<String>,
    /// `eventSource` of the last event.
    pub event_source: Option<String>,
    /// `eventName` of the last event.
    pub event_name: Option<String>,
    /// Who.
    pub principal: Option<String>,
    /// Which account.
    pub account: Option<String>,
    /// Which region.
    pub region: Option<String>,
    /// From where.
    pub source_ip: Option<String>,
    /// One line a person reads first.
    pub summary: String,
}

impl Finding {
    /// Most event ids one finding lists.
    pub const MAX_EVENT_IDS: usize = 100;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_parse_and_print_as_sigma_names_them() {
        assert!(Level::ALL.windows(2).all(|pair| pair[0] < pair[1]));
        for level in Level::ALL {
            assert_eq!(Level::parse(level.as_str()), Some(level));
        }
        assert_eq!(Level::parse("INFO"), Some(Level::Informational));
        assert_eq!(Level::parse("severe"), None);
    }
}
