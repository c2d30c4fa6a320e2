//! First-seen detections: a principal (or access key, or account) doing something it has never
//! done in all the history the lake holds — a new region, a new source network, a new kind
//! of client, a new API — once it has a learning period of history to compare with.
//!
//! Roles are followed by the role, not the session: `assumed-role/R/i-123` and
//! `assumed-role/R/i-456` are the same principal, so a role's fresh sessions are not "new".
//! Every (entity, value) pair's first event is found by one aggregate query per kind over the
//! lake; a pair becomes a finding when its first event comes at least the learning period
//! after the entity's own first event and inside the stretch asked for. Findings carry that
//! first event's id, so recording them again never duplicates them.

use arrow::array::Array;
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

/// One kind of first-seen detection.
struct Kind {
    rule_id: &'static str,
    title: &'static str,
    level: Level,
    tags: &'static [&'static str],
    /// SQL for the entity and the value, and which events count.
    entity: &'static str,
    value: &'static str,
    only: &'static str,
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
        value: "awsRegion",
        only: "TRUE",
        verb: "acted in region",
    },
    Kind {
        rule_id: "trailhound-first-seen-network",
        title: "Principal calling from a new network",
        level: Level::Low,
        tags: &["attack.initial-access", "attack.t1078.004"],
        entity: PRINCIPAL,
        value: NETWORK,
        only: "TRUE",
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
        entity: "userIdentity.accessKeyId",
        value: NETWORK,
        only: "userIdentity.accessKeyId LIKE 'AKIA%'",
        verb: "was used from network",
    },
    Kind {
        rule_id: "trailhound-first-seen-user-agent",
        title: "Principal using a new kind of client",
        level: Level::Low,
        tags: &["attack.initial-access", "attack.t1078.004"],
        entity: PRINCIPAL,
        value: AGENT_FAMILY,
        only: "userAgent IS NOT NULL AND userAgent <> ''",
        verb: "used client",
    },
    Kind {
        rule_id: "trailhound-first-seen-api",
        title: "Principal calling an API for the first time",
        level: Level::Informational,
        tags: &["attack.discovery"],
        entity: PRINCIPAL,
        value: API,
        only: "TRUE",
        verb: "called",
    },
    Kind {
        rule_id: "trailhound-first-seen-account-api",
        title: "An API never called in the account before",
        level: Level::Low,
        tags: &["attack.discovery"],
        entity: "recipientAccountId",
        value: API,
        only: "TRUE",
        verb: "saw a call of",
    },
];

/// First-seen findings whose first event lies in `[from_us, to_us)`, with `learning_minutes`
/// of each entity's history needed first.
pub fn first_seen(
    engine: &QueryEngine,
    from_us: Option<i64>,
    to_us: Option<i64>,
    learning_minutes: i64,
) -> Result<Vec<Finding>, InsightsError> {
    let mut findings = Vec::new();
    for kind in &KINDS {
        findings.extend(one_kind(engine, kind, from_us, to_us, learning_minutes)?);
    }
    findings.sort_by(|a, b| (&a.time, &a.rule_id).cmp(&(&b.time, &b.rule_id)));
    Ok(findings)
}

fn one_kind(
    engine: &QueryEngine,
    kind: &Kind,
    from_us: Option<i64>,
    to_us: Option<i64>,
    learning_minutes: i64,
) -> Result<Vec<Finding>, InsightsError> {
    let bound = |us: Option<i64>, comparison: &str| {
        us.and_then(DateTime::from_timestamp_micros)
            .map_or_else(String::new, |t| {
                format!(
                    " AND f.first {comparison} TIMESTAMP '{}'",
                    t.to_rfc3339_opts(SecondsFormat::Micros, true)
                )
            })
    };
    let sql = format!(
        "WITH calls AS (
            SELECT {entity} AS entity, {value} AS value, eventTime, eventID, recipientAccountId,
                   awsRegion, eventSource, eventName, sourceIPAddress
            FROM events
            WHERE eventType IN ('AwsApiCall', 'AwsConsoleSignIn') AND eventTime IS NOT NULL
              AND {only}),
         entities AS (SELECT entity, min(eventTime) AS since FROM calls WHERE entity IS NOT NULL GROUP BY entity),
         firsts AS (
            SELECT entity, value, min(eventTime) AS first,
                   first_value(eventID ORDER BY eventTime) AS event_id,
                   first_value(recipientAccountId ORDER BY eventTime) AS account,
                   first_value(awsRegion ORDER BY eventTime) AS region,
                   first_value(eventSource ORDER BY eventTime) AS source,
                   first_value(eventName ORDER BY eventTime) AS name,
                   first_value(sourceIPAddress ORDER BY eventTime) AS ip
            FROM calls WHERE entity IS NOT NULL AND value IS NOT NULL GROUP BY entity, value)
         SELECT f.entity, f.value, f.first, e.since, f.event_id, f.account, f.region, f.source, f.name, f.ip
         FROM firsts f JOIN entities e ON f.entity = e.entity
         WHERE f.first >= e.since + INTERVAL '{learning_minutes} minutes'{from}{to}
         ORDER BY f.first",
        entity = kind.entity,
        value = kind.value,
        only = kind.only,
        from = bound(from_us, ">="),
        to = bound(to_us.map(|us| us + 1), "<"),
    );
    let mut findings = Vec::new();
    for batch in engine.sql(&sql)? {
        let texts: Vec<arrow::array::StringArray> = [0, 1, 4, 5, 6, 7, 8, 9]
            .iter()
            .map(|column| text(&batch, *column))
            .collect::<Result<_, _>>()?;
        let [entity, value, event_id, account, region, source, name, ip] = &texts[..] else {
            return Err(InsightsError::Internal("first-seen columns".to_owned()));
        };
        let (first, since) = (times(&batch, 2)?, times(&batch, 3)?);
        for row in 0..batch.num_rows() {
            let optional = |column: &arrow::array::StringArray| {
                (!column.is_null(row)).then(|| column.value(row).to_owned())
            };
            let first_time = format_us(first.value(row));
            let days = (first.value(row) - since.value(row)) / 86_400_000_000;
            let what = if kind.value == API {
                value.value(row).to_owned()
            } else {
                format!(
                    "{} ({}:{})",
                    value.value(row),
                    source.value(row).trim_end_matches(".amazonaws.com"),
                    name.value(row)
                )
            };
            let summary = format!(
                "{} {} {what} for the first time in {days} days of its history",
                entity.value(row),
                kind.verb,
            );
            findings.push(Finding {
                rule_id: kind.rule_id.to_owned(),
                rule_title: kind.title.to_owned(),
                level: kind.level,
                tags: kind.tags.iter().map(|t| (*t).to_owned()).collect(),
                time: Some(first_time.clone()),
                first_time: Some(first_time),
                event_count: 1,
                event_ids: optional(event_id).into_iter().collect(),
                event_source: optional(source),
                event_name: optional(name),
                principal: Some(entity.value(row).to_owned()),
                account: optional(account),
                region: optional(region),
                source_ip: optional(ip),
                summary,
            });
        }
    }
    Ok(findings)
}

fn format_us(us: i64) -> String {
    DateTime::from_timestamp_micros(us).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    })
}
