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
use trailhound_event::{Finding, Level};
use trailhound_lake::{Catalog, FirstPair, FirstSeenChanges};

use crate::InsightsError;
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

/// What [`first_seen`] concluded.
#[derive(Debug, Default)]
pub struct FirstSeen {
    /// The findings whose first event lies in the stretch asked for, recorded before or now.
    pub findings: Vec<Finding>,
    /// How many of them were recorded for the first time.
    pub new_findings: u64,
}

/// The entity columns, by the name the catalog remembers their first activity under.
const ENTITIES: [(usize, &str); 3] = [
    (PRINCIPAL, "principal"),
    (ACCESS_KEY, "access_key"),
    (ACCOUNT, "account"),
];

/// Compares what `history` read with what the catalog remembers of all earlier history and
/// records, in one transaction, the first-seen findings whose first event lies in
/// `[from_us, to_us]` (with `learning_minutes` of each entity's history needed first), the
/// new firsts, and that `history`'s files are folded in.
///
/// Only what `history` saw is looked up: its entities and pairs, and, for an entity it shows
/// to be older than remembered (late-delivered events), that entity's remembered pairs in
/// the stretch, which its longer history may now make findings.
///
/// # Errors
///
/// When the catalog cannot be read or written.
pub fn first_seen(
    catalog: &mut Catalog,
    history: &History,
    from_us: Option<i64>,
    to_us: Option<i64>,
    learning_minutes: i64,
) -> Result<FirstSeen, InsightsError> {
    let learning_us = learning_minutes.saturating_mul(60_000_000);
    let in_range = |time_us: i64| {
        from_us.is_none_or(|from| time_us >= from) && to_us.is_none_or(|to| time_us <= to)
    };
    let mut changes = FirstSeenChanges {
        replace: history.whole_lake,
        folded: &history.folded,
        ..FirstSeenChanges::default()
    };
    // Per entity column: each entity's first activity, and those now known to be older.
    let mut since: [HashMap<&str, i64>; 3] = Default::default();
    let mut older: [Vec<&str>; 3] = Default::default();
    for (at, (column, name)) in ENTITIES.iter().enumerate() {
        for first in history.firsts() {
            if let Some(entity) = first.values[*column].as_deref() {
                let seen = since[at].entry(entity).or_insert(first.time_us);
                *seen = (*seen).min(first.time_us);
            }
        }
        let remembered = if history.whole_lake {
            HashMap::new()
        } else {
            catalog.first_seen_since(name, since[at].keys().copied())?
        };
        for (entity, seen) in &mut since[at] {
            match remembered.get(entity) {
                Some(&kept) if kept <= *seen => *seen = kept,
                kept => {
                    changes.entities.push((name, entity, *seen));
                    if kept.is_some() {
                        older[at].push(entity);
                    }
                }
            }
        }
    }
    let mut findings = Vec::new();
    for kind in &KINDS {
        let Some(at) = ENTITIES
            .iter()
            .position(|(column, _)| *column == kind.entity)
        else {
            continue;
        };
        // (entity, value) → its first event; the earliest wins, then the smallest eventID.
        let mut pairs: HashMap<(&str, &str), &First> = HashMap::new();
        for first in history.firsts() {
            let (Some(entity), Some(value)) = (
                first.values[kind.entity].as_deref(),
                first.values[kind.value].as_deref(),
            ) else {
                continue;
            };
            let earliest = pairs.entry((entity, value)).or_insert(first);
            if earliest.is_after(first.time_us, first.event_id.as_deref()) {
                *earliest = first;
            }
        }
        let remembered = if history.whole_lake {
            HashMap::new()
        } else {
            catalog.first_seen_pairs(kind.rule_id, pairs.keys().copied())?
        };
        let qualifies = |pair: &FirstPair, since_us: i64| {
            in_range(pair.time_us) && pair.time_us >= since_us.saturating_add(learning_us)
        };
        for ((entity, value), first) in &pairs {
            let since_us = since[at].get(entity).copied().unwrap_or(first.time_us);
            let pair = match remembered.get(&(*entity, *value)) {
                Some(kept) if !kept.is_after(first.time_us, first.event_id.as_deref()) => {
                    kept.clone()
                }
                _ => {
                    let pair = pair_of(kind, entity, value, first);
                    changes.pairs.push(pair.clone());
                    pair
                }
            };
            if qualifies(&pair, since_us) {
                findings.push(finding(kind, &pair, since_us));
            }
        }
        // A longer history can make an entity's remembered pairs findings that were not.
        for entity in &older[at] {
            let since_us = since[at].get(entity).copied().unwrap_or(i64::MIN);
            for pair in catalog.first_seen_pairs_of(kind.rule_id, entity, from_us, to_us)? {
                let seen_now = pairs.contains_key(&(pair.entity.as_str(), pair.value.as_str()));
                if !seen_now && qualifies(&pair, since_us) {
                    findings.push(finding(kind, &pair, since_us));
                }
            }
        }
    }
    findings.sort_by(|a, b| {
        (&a.time, &a.rule_id, &a.principal).cmp(&(&b.time, &b.rule_id, &b.principal))
    });
    changes.findings = &findings;
    let new_findings = catalog.record_first_seen(&changes)?;
    Ok(FirstSeen {
        findings,
        new_findings,
    })
}

/// The pair `(entity, value)` of `kind`, first seen in `first`.
fn pair_of(kind: &Kind, entity: &str, value: &str, first: &First) -> FirstPair {
    FirstPair {
        rule_id: kind.rule_id.to_owned(),
        entity: entity.to_owned(),
        value: value.to_owned(),
        time_us: first.time_us,
        event_id: first.event_id.clone(),
        event_source: first.event_source.clone(),
        event_name: first.event_name.clone(),
        account: first.values[ACCOUNT].clone(),
        region: first.values[REGION].clone(),
        source_ip: first.source_ip.clone(),
    }
}

/// The finding for one pair, its entity known since `since_us`.
fn finding(kind: &Kind, pair: &FirstPair, since_us: i64) -> Finding {
    let first_time = format_us(pair.time_us);
    let days = (pair.time_us - since_us) / 86_400_000_000;
    let (entity, value) = (&pair.entity, &pair.value);
    let what = match (kind.value, &pair.event_source, &pair.event_name) {
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
        event_ids: pair.event_id.iter().cloned().collect(),
        event_source: pair.event_source.clone(),
        event_name: pair.event_name.clone(),
        principal: Some(entity.to_owned()),
        account: pair.account.clone(),
        region: pair.region.clone(),
        source_ip: pair.source_ip.clone(),
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
    use crate::series::MINUTE_US;

    const DAY: i64 = 24 * 60;

    type Outcome<T = ()> = Result<T, Box<dyn std::error::Error>>;

    /// A real catalog in a folder of its own (kept alive by the returned guard).
    fn catalog() -> Outcome<(tempfile::TempDir, Catalog)> {
        let dir = tempfile::tempdir()?;
        let catalog = Catalog::open(&dir.path().join("catalog.sqlite"))?;
        Ok((dir, catalog))
    }

    /// Rule and event id of each finding, in order.
    fn found(first_seen: &FirstSeen) -> Vec<(String, String)> {
        first_seen
            .findings
            .iter()
            .map(|f| (f.rule_id.clone(), f.event_ids.join(",")))
            .collect()
    }

    fn minutes(minute: i64) -> Option<i64> {
        Some(minute * MINUTE_US)
    }

    #[test]
    fn a_new_region_after_the_learning_period() -> Outcome {
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
        // Inside the learning period, and outside the stretch asked for: nothing.
        let (_dir, mut catalog) = catalog()?;
        assert!(
            first_seen(&mut catalog, &history, None, None, 11 * DAY)?
                .findings
                .is_empty()
        );
        let before = minutes(ROW.minute + DAY);
        let early = first_seen(&mut catalog, &history, None, before, 7 * DAY)?;
        assert!(early.findings.is_empty());
        let first_seen = first_seen(&mut catalog, &history, None, None, 7 * DAY)?;
        let rules: Vec<&str> = first_seen
            .findings
            .iter()
            .map(|f| f.rule_id.as_str())
            .collect();
        assert_eq!(rules, ["trailhound-first-seen-region"]);
        assert_eq!(first_seen.new_findings, 1);
        let region = &first_seen.findings[0];
        assert_eq!(region.event_ids, ["x1"]);
        assert_eq!(region.region.as_deref(), Some("ap-northeast-3"));
        assert_eq!(
            region.summary,
            "arn:aws:iam::111122223333:role/App acted in region ap-northeast-3 \
             (ec2:DescribeInstances) for the first time in 10 days of its history"
        );
        Ok(())
    }

    /// Three weeks of one principal's activity, with a new region, network, client and API
    /// along the way, and a long-term access key.
    fn weeks() -> Vec<Row<'static>> {
        let key = Some("AKIAEXAMPLEKEY");
        vec![
            Row {
                id: "a1",
                key,
                ..ROW
            },
            Row {
                minute: ROW.minute + 2 * DAY,
                id: "a2",
                name: "ListBuckets",
                key,
                ..ROW
            },
            Row {
                minute: ROW.minute + 8 * DAY,
                id: "b1",
                region: "eu-west-1",
                key,
                ..ROW
            },
            Row {
                minute: ROW.minute + 9 * DAY,
                id: "b2",
                ip: "198.51.100.9",
                key,
                ..ROW
            },
            Row {
                minute: ROW.minute + 9 * DAY,
                id: "b0",
                ip: "198.51.100.4",
                key,
                ..ROW
            },
            Row {
                minute: ROW.minute + 12 * DAY,
                id: "c1",
                agent: "Boto3/1.34",
                ..ROW
            },
            Row {
                minute: ROW.minute + 15 * DAY,
                id: "c2",
                name: "GetObject",
                ..ROW
            },
            Row {
                minute: ROW.minute + 16 * DAY,
                id: "c3",
                principal: "arn:aws:iam::111122223333:user/new",
                region: "sa-east-1",
                ..ROW
            },
            Row {
                minute: ROW.minute + 20 * DAY,
                id: "d1",
                region: "sa-east-1",
                ..ROW
            },
        ]
    }

    #[test]
    fn ingests_one_after_another_find_what_one_look_at_everything_finds() -> Outcome {
        let rows = weeks();
        let settings = Settings::default();
        let (_whole_dir, mut whole) = catalog()?;
        let all = first_seen(
            &mut whole,
            &history_of(&settings, &rows)?,
            None,
            None,
            7 * DAY,
        )?;
        assert_eq!(
            found(&all),
            [
                ("trailhound-first-seen-region".to_owned(), "b1".to_owned()),
                (
                    "trailhound-first-seen-access-key-network".to_owned(),
                    "b0".to_owned()
                ),
                ("trailhound-first-seen-network".to_owned(), "b0".to_owned()),
                (
                    "trailhound-first-seen-user-agent".to_owned(),
                    "c1".to_owned()
                ),
                (
                    "trailhound-first-seen-account-api".to_owned(),
                    "c2".to_owned()
                ),
                ("trailhound-first-seen-api".to_owned(), "c2".to_owned()),
                ("trailhound-first-seen-region".to_owned(), "d1".to_owned()),
            ]
        );
        // The same events in four ingests, each asking for its own stretch: only what each
        // one brings is read, the rest is remembered.
        let (_dir, mut catalog) = catalog()?;
        let mut findings = Vec::new();
        for part in [&rows[..2], &rows[2..5], &rows[5..8], &rows[8..]] {
            let from = minutes(part.iter().map(|r| r.minute).min().unwrap_or_default());
            let to = minutes(part.iter().map(|r| r.minute).max().unwrap_or_default() + 1);
            let history = history_of(&settings, part)?;
            findings.extend(found(&first_seen(
                &mut catalog,
                &history,
                from,
                to,
                7 * DAY,
            )?));
        }
        findings.sort();
        let mut expected = found(&all);
        expected.sort();
        assert_eq!(findings, expected);
        Ok(())
    }

    #[test]
    fn late_events_make_an_entity_older_and_its_remembered_pairs_findings() -> Outcome {
        let settings = Settings::default();
        let (_dir, mut catalog) = catalog()?;
        let recent = [
            Row {
                minute: ROW.minute + 10 * DAY,
                id: "r1",
                ..ROW
            },
            Row {
                minute: ROW.minute + 11 * DAY,
                id: "r2",
                region: "eu-west-1",
                ..ROW
            },
        ];
        let now = (
            minutes(ROW.minute + 10 * DAY),
            minutes(ROW.minute + 12 * DAY),
        );
        let history = history_of(&settings, &recent)?;
        // Two days of history: the new region is inside the learning period.
        assert!(
            first_seen(&mut catalog, &history, now.0, now.1, 7 * DAY)?
                .findings
                .is_empty()
        );
        // Older logs of the same principal arrive late, with newer ones: its history now
        // starts eleven days before the region, so the remembered pair in this ingest's
        // stretch is a finding.
        let late = [
            ROW,
            Row {
                minute: ROW.minute + 12 * DAY,
                id: "r4",
                ..ROW
            },
        ];
        let stretch = (minutes(ROW.minute), minutes(ROW.minute + 12 * DAY + 1));
        let history = history_of(&settings, &late)?;
        let found_now = first_seen(&mut catalog, &history, stretch.0, stretch.1, 7 * DAY)?;
        assert_eq!(
            found(&found_now),
            [("trailhound-first-seen-region".to_owned(), "r2".to_owned())]
        );
        assert_eq!(found_now.new_findings, 1);
        // An earlier first event replaces the remembered one.
        let earlier = [Row {
            minute: ROW.minute + 9 * DAY,
            id: "r3",
            region: "eu-west-1",
            ..ROW
        }];
        let moved = first_seen(
            &mut catalog,
            &history_of(&settings, &earlier)?,
            None,
            None,
            7 * DAY,
        )?;
        assert_eq!(
            found(&moved),
            [("trailhound-first-seen-region".to_owned(), "r3".to_owned())]
        );
        Ok(())
    }
}
