//! Making findings: a rule's conclusion about the events that matched it. The types
//! themselves ([`Finding`], [`EventFacts`]) live in `trailhound-event`, shared with the
//! catalog and alerting.

use trailhound_event::{EventFacts, Finding};

use crate::rule::Rule;

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
    from_events(rule, std::slice::from_ref(facts), summary)
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
            .take(Finding::MAX_EVENT_IDS)
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
