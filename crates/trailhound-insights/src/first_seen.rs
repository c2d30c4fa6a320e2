//! First-seen detections: a principal (or access key, or account) doing something it has never
//! done in all the history the lake holds — a new region, a new source network, a new kind
//! of client, a new API — once it has a learning period of history to compare with.
//!
//! Roles are followed by the role, not the session: `assumed-role/R/i-123` and
//! `assumed-role/R/i-456` are the same principal, so a role's fresh sessions are not "new".
//! One aggregate query over the lake gives the first time of every combination of principal,
//! access key, account, region, network, client and API; every kind's (entity, value) firsts
//! are derived from it here. A pair becomes a finding when its first event comes at least the
//! learning period after the entity's own first event and inside the stretch asked for; a
//! second, narrow query fetches those few first events. Findings carry the first event's id,
//! so recording them again never duplicates them.

use std::collections::HashMap;

use arrow::array::{Array, StringArray};
use chrono::{DateTime, SecondsFormat};
use trailhound_detect::{Finding, Level};
use trailhound_query::QueryEngine;

use crate::InsightsError;
use crate::columns::{text, times};

/// The principal a call is attributed to: the role for role sessions, else the caller's ARN.
const PRINCIPAL: &str = "coalesce(userIdentity.sessionContext.sessionIssuer.arn, userIdentity.arn)";

/// The source network: /24 for IPv4, /48 for IPv6; NULL for AWS services calling on
/// someone's behalf (their "address" is a service name).
const NETWORK: &str = r"CASE
    WHEN sourceIPAddress ~ '^[0-9]{1,3}(\.[0-9]{1,3}){3}$' THEN regexp_replace(sourceIPAddress, '\.[0-9]+$', '.0/24')
    WHEN sourceIPAddress ~ '^[0-9a-fA-F]{0,4}:[0-9a-fA-F:]*$' THEN regexp_replace(sourceIPAddress, '^([0-9a-fA-F]{0,4}:[0-9a-fA-F]{0,4}:[0-9a-fA-F]{0,4}).*$', '${1}::/48')
    ELSE NULL END";

/// The client family: `aws-cli/2.15.0 Python/3.11` → `aws-cli`, `Boto3/1.34` → `boto3`.
const AGENT_FAMILY: &str = "lower(split_part(split_part(trim(userAgent), ' ', 1), '/', 1))";

const API: &str = "replace(eventSource, '.amazonaws.com', '') || ':' || eventName";

/// The columns of the combined query, in order.
const COLUMNS: [&str; 7] = [
    "principal",
    "access_key",
    "account",
    "region",
    "network",
    "agent",
    "api",
];

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

const PRINCIPAL_COLUMN: usize = 0;
const KEY_COLUMN: usize = 1;
const ACCOUNT_COLUMN: usize = 2;
const REGION_COLUMN: usize = 3;
const NETWORK_COLUMN: usize = 4;
const AGENT_COLUMN: usize = 5;
const API_COLUMN: usize = 6;

const KINDS: [Kind; 6] = [
    Kind {
        rule_id: "trailhound-first-seen-region",
        title: "Principal active in a region for the first time",
        level: Level::Medium,
        tags: &["attack.defense-evasion", "attack.t1535"],
        entity: PRINCIPAL_COLUMN,
        value: REGION_COLUMN,
        verb: "acted in region",
    },
    Kind {
        rule_id: "trailhound-first-seen-network",
        title: "Principal calling from a new network",
        level: Level::Low,
        tags: &["attack.initial-access", "attack.t1078.004"],
        entity: PRINCIPAL_COLUMN,
        value: NETWORK_COLUMN,
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
        entity: KEY_COLUMN,
        value: NETWORK_COLUMN,
        verb: "was used from network",
    },
    Kind {
        rule_id: "trailhound-first-seen-user-agent",
        title: "Principal using a new kind of client",
        level: Level::Low,
        tags: &["attack.initial-access", "attack.t1078.004"],
        entity: PRINCIPAL_COLUMN,
        value: AGENT_COLUMN,
        verb: "used client",
    },
    Kind {
        rule_id: "trailhound-first-seen-api",
        title: "Principal calling an API for the first time",
        level: Level::Informational,
        tags: &["attack.discovery"],
        entity: PRINCIPAL_COLUMN,
        value: API_COLUMN,
        verb: "called",
    },
    Kind {
        rule_id: "trailhound-first-seen-account-api",
        title: "An API never called in the account before",
        level: Level::Low,
        tags: &["attack.discovery"],
        entity: ACCOUNT_COLUMN,
        value: API_COLUMN,
        verb: "saw a call of",
    },
];

/// The SQL expressions behind [`COLUMNS`], named by them.
fn selection() -> String {
    let expressions = [
        PRINCIPAL.to_owned(),
        "CASE WHEN userIdentity.accessKeyId LIKE 'AKIA%' THEN userIdentity.accessKeyId END"
            .to_owned(),
        "recipientAccountId".to_owned(),
        "awsRegion".to_owned(),
        NETWORK.to_owned(),
        format!("CASE WHEN userAgent IS NOT NULL AND userAgent <> '' THEN {AGENT_FAMILY} END"),
        API.to_owned(),
    ];
    expressions
        .iter()
        .zip(COLUMNS)
        .map(|(expression, name)| format!("{expression} AS {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

const COUNTED: &str = "eventType IN ('AwsApiCall', 'AwsConsoleSignIn') AND eventTime IS NOT NULL";

/// A pair first seen after its entity's learning period.
struct Candidate {
    kind: usize,
    entity: String,
    value: String,
    first_us: i64,
    since_us: i64,
}

/// First-seen findings whose first event lies in `[from_us, to_us)`, with `learning_minutes`
/// of each entity's history needed first.
pub fn first_seen(
    engine: &QueryEngine,
    from_us: Option<i64>,
    to_us: Option<i64>,
    learning_minutes: i64,
) -> Result<Vec<Finding>, InsightsError> {
    let select = selection();
    let sql = format!(
        "SELECT {select}, min(eventTime) FROM events WHERE {COUNTED} GROUP BY 1, 2, 3, 4, 5, 6, 7"
    );
    let batches = engine.sql(&sql)?;
    let mut columns: Vec<Vec<StringArray>> = vec![Vec::new(); COLUMNS.len()];
    let mut firsts = Vec::new();
    for batch in &batches {
        for (index, column) in columns.iter_mut().enumerate() {
            column.push(text(batch, index)?);
        }
        firsts.push(times(batch, COLUMNS.len())?);
    }
    let learning_us = learning_minutes.saturating_mul(60_000_000);
    let mut candidates = Vec::new();
    for (kind_index, kind) in KINDS.iter().enumerate() {
        let mut entities: HashMap<&str, i64> = HashMap::new();
        let mut pairs: HashMap<(&str, &str), i64> = HashMap::new();
        for (batch, first) in firsts.iter().enumerate() {
            let (entity, value) = (&columns[kind.entity][batch], &columns[kind.value][batch]);
            for row in 0..first.len() {
                if entity.is_null(row) || first.is_null(row) {
                    continue;
                }
                let time = first.value(row);
                let since = entities.entry(entity.value(row)).or_insert(time);
                *since = (*since).min(time);
                if !value.is_null(row) {
                    let seen = pairs
                        .entry((entity.value(row), value.value(row)))
                        .or_insert(time);
                    *seen = (*seen).min(time);
                }
            }
        }
        for ((entity, value), first_us) in pairs {
            let since_us = entities.get(entity).copied().unwrap_or(first_us);
            let in_range = from_us.is_none_or(|from| first_us >= from)
                && to_us.is_none_or(|to| first_us <= to);
            if in_range && first_us >= since_us.saturating_add(learning_us) {
                candidates.push(Candidate {
                    kind: kind_index,
                    entity: entity.to_owned(),
                    value: value.to_owned(),
                    first_us,
                    since_us,
                });
            }
        }
    }
    let mut findings = describe(engine, &select, &candidates)?;
    findings.sort_by(|a, b| {
        (&a.time, &a.rule_id, &a.principal).cmp(&(&b.time, &b.rule_id, &b.principal))
    });
    Ok(findings)
}

/// Turns candidates into findings, fetching each one's first event with one narrow query.
fn describe(
    engine: &QueryEngine,
    select: &str,
    candidates: &[Candidate],
) -> Result<Vec<Finding>, InsightsError> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut instants: Vec<i64> = candidates.iter().map(|c| c.first_us).collect();
    instants.sort_unstable();
    instants.dedup();
    let mut dates: Vec<String> = instants
        .iter()
        .filter_map(|us| format_us(*us).get(..10).map(str::to_owned))
        .collect();
    dates.dedup();
    let list = |items: Vec<String>| items.join(", ");
    let sql = format!(
        "SELECT {select}, eventTime, eventID, recipientAccountId, awsRegion, eventSource, eventName, sourceIPAddress
         FROM events WHERE {COUNTED} AND date IN ({}) AND eventTime IN ({})
         ORDER BY eventTime, eventID",
        list(dates.iter().map(|d| format!("'{d}'")).collect()),
        list(
            instants
                .iter()
                .map(|us| format!("TIMESTAMP '{}'", format_micros(*us)))
                .collect()
        ),
    );
    // (kind column values, time) → the first event's details; the earliest eventID wins.
    let mut events: HashMap<(usize, String, String, i64), [Option<String>; 6]> = HashMap::new();
    for batch in engine.sql(&sql)? {
        let values: Vec<StringArray> = (0..COLUMNS.len())
            .map(|column| text(&batch, column))
            .collect::<Result<_, _>>()?;
        let time = times(&batch, COLUMNS.len())?;
        let details: Vec<StringArray> = (COLUMNS.len() + 1..COLUMNS.len() + 7)
            .map(|column| text(&batch, column))
            .collect::<Result<_, _>>()?;
        for row in 0..batch.num_rows() {
            for (kind_index, kind) in KINDS.iter().enumerate() {
                let (entity, value) = (&values[kind.entity], &values[kind.value]);
                if entity.is_null(row) || value.is_null(row) {
                    continue;
                }
                let key = (
                    kind_index,
                    entity.value(row).to_owned(),
                    value.value(row).to_owned(),
                    time.value(row),
                );
                events.entry(key).or_insert_with(|| {
                    let field = |column: &StringArray| {
                        (!column.is_null(row)).then(|| column.value(row).to_owned())
                    };
                    [
                        field(&details[0]),
                        field(&details[1]),
                        field(&details[2]),
                        field(&details[3]),
                        field(&details[4]),
                        field(&details[5]),
                    ]
                });
            }
        }
    }
    let mut findings = Vec::new();
    for candidate in candidates {
        let kind = &KINDS[candidate.kind];
        let key = (
            candidate.kind,
            candidate.entity.clone(),
            candidate.value.clone(),
            candidate.first_us,
        );
        let [event_id, account, region, source, name, ip] =
            events.get(&key).cloned().unwrap_or_default();
        let first_time = format_us(candidate.first_us);
        let days = (candidate.first_us - candidate.since_us) / 86_400_000_000;
        let what = match (kind.value, &source, &name) {
            (API_COLUMN, _, _) => candidate.value.clone(),
            (_, Some(source), Some(name)) => format!(
                "{} ({}:{name})",
                candidate.value,
                source.trim_end_matches(".amazonaws.com")
            ),
            _ => candidate.value.clone(),
        };
        findings.push(Finding {
            rule_id: kind.rule_id.to_owned(),
            rule_title: kind.title.to_owned(),
            level: kind.level,
            tags: kind.tags.iter().map(|t| (*t).to_owned()).collect(),
            time: Some(first_time.clone()),
            first_time: Some(first_time),
            event_count: 1,
            event_ids: event_id.into_iter().collect(),
            event_source: source,
            event_name: name,
            principal: Some(candidate.entity.clone()),
            account,
            region,
            source_ip: ip,
            summary: format!(
                "{} {} {what} for the first time in {days} days of its history",
                candidate.entity, kind.verb
            ),
        });
    }
    Ok(findings)
}

fn format_us(us: i64) -> String {
    DateTime::from_timestamp_micros(us).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    })
}

fn format_micros(us: i64) -> String {
    DateTime::from_timestamp_micros(us).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(SecondsFormat::Micros, true)
    })
}
