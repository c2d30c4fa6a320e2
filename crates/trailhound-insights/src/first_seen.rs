//! First-seen detections: a principal (or access key, or account) doing something it has never
//! done in all the history the lake holds — a new region, a new source network, a new kind
//! of client, a new API — once it has a learning period of history to compare with.
//!
//! Roles are followed by the role, not the session: `assumed-role/R/i-123` and
//! `assumed-role/R/i-456` are the same principal, so a role's fresh sessions are not "new".
//! The lake's [`History`] holds the first event of every combination of principal, access
//! key, account, region, network, client and API; every kind's (entity, value) firsts are
//! derived from it here. A pair becomes a finding when its first event comes at least the
//! learning period after the entity's own first event and inside the stretch asked for.
//! Findings carry the first event's id, so recording them again never duplicates them.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat};
use trailhound_detect::{Finding, Level};

use crate::history::{
    ACCESS_KEY, ACCOUNT, API, CLIENT, First, History, NETWORK, PRINCIPAL, REGION,
};

/// One kind of first-seen detection: which column is the entity, which the value.
struct Kind {
    rule_id: &'static str,
    title: &'static str,
    level: Level,
    tags: &'static [&'static str],
    entity: usize,
    value: usize,
    /// "{entity} {verb} {value}".
    verb: &'static str,
}

const KINDS: [Kind; 6] = [
    Kind {
        rule_id: "trailhound-first-seen-region",
        title: "Principal active in a region for the first time",
        level: Level::Medium,
        tags: &["attack.defense-evasion", "attack.t1535"],
        entity: PRINCIPAL,
        value: REGION,
        verb: "acted in region",
    },
    Kind {
        rule_id: "trailhound-first-seen-network",
        title: "Principal calling from a new network",
        level: Level::Low,
        tags: &["attack.initial-access", "attack.t1078.004"],
        entity: PRINCIPAL,
        value: NETWORK,
        verb: "called from network",
    },
    Kind {
        rule_id: "trailhound-first-seen-access-key-network",
        title: "Long-term access key used from a new network",
        level: Level::Medium,
        tags: &[
            "attack.credential-access",
            "attack.t1078.004",
            "attack.t1552",
        ],
        entity: ACCESS_KEY,
        value: NETWORK,
        verb: "was used from network",
    },
    Kind {
        rule_id: "trailhound-first-seen-user-agent",
        title: "Principal using a new kind of client",
        level: Level::Low,
        tags: &["attack.initial-access", "attack.t1078.004"],
        entity: PRINCIPAL,
        value: CLIENT,
        verb: "used client",
    },
    Kind {
        rule_id: "trailhound-first-seen-api",
        title: "Principal calling an API for the first time",
        level: Level::Informational,
        tags: &["attack.discovery"],
        entity: PRINCIPAL,
        value: API,
        verb: "called",
    },
    Kind {
        rule_id: "trailhound-first-seen-account-api",
        title: "An API never called in the account before",
        level: Level::Low,
        tags: &["attack.discovery"],
        entity: ACCOUNT,
        value: API,
        verb: "saw a call of",
    },
];

/// First-seen findings whose first event lies in `[from_us, to_us)`, with `learning_minutes`
/// of each entity's history needed first.
pub fn first_seen(
    history: &History,
    from_us: Option<i64>,
    to_us: Option<i64>,
    learning_minutes: i64,
) -> Vec<Finding> {
    let learning_us = learning_minutes.saturating_mul(60_000_000);
    let mut findings = Vec::new();
    for kind in &KINDS {
        let mut entities: HashMap<&str, i64> = HashMap::new();
        // (entity, value) → its first event; the earliest wins, then the smallest eventID.
        let mut pairs: HashMap<(&str, &str), &First> = HashMap::new();
        for first in history.firsts() {
            let Some(entity) = first.values[kind.entity].as_deref() else {
                continue;
            };
            let since = entities.entry(entity).or_insert(first.time_us);
            *since = (*since).min(first.time_us);
            let Some(value) = first.values[kind.value].as_deref() else {
                continue;
            };
            let earliest = pairs.entry((entity, value)).or_insert(first);
            if earliest.is_after(first.time_us, first.event_id.as_deref()) {
                *earliest = first;
            }
        }
        for ((entity, value), first) in pairs {
            let since_us = entities.get(entity).copied().unwrap_or(first.time_us);
            let in_range = from_us.is_none_or(|from| first.time_us >= from)
                && to_us.is_none_or(|to| first.time_us <= to);
            if in_range && first.time_us >= since_us.saturating_add(learning_us) {
                findings.push(finding(kind, entity, value, first, since_us));
            }
        }
    }
    findings.sort_by(|a, b| {
        (&a.time, &a.rule_id, &a.principal).cmp(&(&b.time, &b.rule_id, &b.principal))
    });
    findings
}

/// The finding for one pair first seen at `first`, its entity known since `since_us`.
fn finding(kind: &Kind, entity: &str, value: &str, first: &First, since_us: i64) -> Finding {
    let first_time = format_us(first.time_us);
    let days = (first.time_us - since_us) / 86_400_000_000;
    let what = match (kind.value, &first.event_source, &first.event_name) {
        (API, _, _) => value.to_owned(),
        (_, Some(source), Some(name)) => format!(
            "{value} ({}:{name})",
            source.trim_end_matches(".amazonaws.com")
        ),
        _ => value.to_owned(),
    };
    Finding {
        rule_id: kind.rule_id.to_owned(),
        rule_title: kind.title.to_owned(),
        level: kind.level,
        tags: kind.tags.iter().map(|t| (*t).to_owned()).collect(),
        time: Some(first_time.clone()),
        first_time: Some(first_time),
        event_count: 1,
        event_ids: first.event_id.iter().cloned().collect(),
        event_source: first.event_source.clone(),
        event_name: first.event_name.clone(),
        principal: Some(entity.to_owned()),
        account: first.values[ACCOUNT].clone(),
        region: first.values[REGION].clone(),
        source_ip: first.source_ip.clone(),
        summary: format!(
            "{entity} {} {what} for the first time in {days} days of its history",
            kind.verb
        ),
    }
}

fn format_us(us: i64) -> String {
    DateTime::from_timestamp_micros(us).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;
    use crate::history::tests::{ROW, Row, history_of};

    const DAY: i64 = 24 * 60;

    #[test]
    fn a_new_region_after_the_learning_period() -> Result<(), Box<dyn std::error::Error>> {
        let rows = [
            ROW,
            Row {
                minute: ROW.minute + 10 * DAY,
                id: "x2",
                region: "ap-northeast-3",
                ..ROW
            },
            Row {
                minute: ROW.minute + 10 * DAY,
                id: "x1",
                region: "ap-northeast-3",
                ..ROW
            },
        ];
        let history = history_of(&Settings::default(), &rows)?;
        let findings = first_seen(&history, None, None, 7 * DAY);
        let rules: Vec<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(rules, ["trailhound-first-seen-region"]);
        let region = &findings[0];
        assert_eq!(region.event_ids, ["x1"]);
        assert_eq!(region.region.as_deref(), Some("ap-northeast-3"));
        assert_eq!(
            region.summary,
            "arn:aws:iam::111122223333:role/App acted in region ap-northeast-3 \
             (ec2:DescribeInstances) for the first time in 10 days of its history"
        );
        // Inside the learning period, and outside the stretch asked for: nothing.
        assert!(first_seen(&history, None, None, 11 * DAY).is_empty());
        let before = (ROW.minute + DAY) * crate::series::MINUTE_US;
        assert!(first_seen(&history, None, Some(before), 7 * DAY).is_empty());
        Ok(())
    }
}
