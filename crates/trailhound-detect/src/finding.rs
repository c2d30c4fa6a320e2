//! Findings: what a rule concluded, about whom, where and when, with the events behind it.

use serde::Serialize;
use trailhound_event::CloudTrailEvent;

use crate::rule::{Level, Rule};

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
    /// Who: [`trailhound_event::UserIdentity::principal`].
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
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
    /// Their eventIDs (the first 100 for large correlations).
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

/// Most event ids one finding lists.
pub(crate) const MAX_EVENT_IDS: usize = 100;

impl Finding {
    /// A single-event rule's finding.
    pub(crate) fn single(rule: &Rule, facts: &EventFacts) -> Finding {
        let who = facts.principal.as_deref().unwrap_or("an unknown principal");
        let service = facts
            .event_source
            .as_deref()
            .map(|s| s.trim_end_matches(".amazonaws.com"))
            .unwrap_or("?");
        let mut summary = format!(
            "{}: {who} called {service}:{}",
            rule.title,
            facts.event_name.as_deref().unwrap_or("?")
        );
        if let Some(ip) = &facts.source_ip {
            summary.push_str(&format!(" from {ip}"));
        }
        if let Some(region) = &facts.region {
            summary.push_str(&format!(" in {region}"));
        }
        if let Some(error) = &facts.error_code {
            summary.push_str(&format!(" (failed: {error})"));
        }
        Finding::from_events(rule, std::slice::from_ref(facts), summary)
    }

    /// A finding over several events (the last one gives who, where and when).
    pub(crate) fn from_events(rule: &Rule, events: &[EventFacts], summary: String) -> Finding {
        let last = events.last();
        let field = |f: fn(&EventFacts) -> &Option<String>| last.and_then(|e| f(e).clone());
        Finding {
            rule_id: rule.id.clone(),
            rule_title: rule.title.clone(),
            level: rule.level,
            tags: rule.tags.clone(),
            time: field(|e| &e.time),
            first_time: events.first().and_then(|e| e.time.clone()),
            event_count: events.len() as u64,
            event_ids: events
                .iter()
                .filter_map(|e| e.event_id.clone())
                .take(MAX_EVENT_IDS)
                .collect(),
            event_source: field(|e| &e.event_source),
            event_name: field(|e| &e.event_name),
            principal: field(|e| &e.principal),
            account: field(|e| &e.account),
            region: field(|e| &e.region),
            source_ip: field(|e| &e.source_ip),
            summary,
        }
    }
}
