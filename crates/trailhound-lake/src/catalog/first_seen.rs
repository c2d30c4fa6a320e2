//! What the first-seen detections remember between runs: when each principal, access key and
//! account was first active, and the first event of each (entity, value) pair a detection
//! compares, with the lake files already folded into both.
//!
//! Without it, every ingest had to read the whole lake again to learn whether a pair was new,
//! so continuous monitoring slowed down as the lake grew. With it, an ingest reads only the
//! files it added (plus the Insights baseline) and looks up the pairs it saw.
//!
//! Earliest times only ever move earlier, so folding an event twice changes nothing: a file
//! counts as folded once its events are in these tables, and a compacted file inherits that
//! from the files it merges.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};
use trailhound_event::Finding;

use super::findings::insert_findings;
use crate::{Catalog, LakeError};

/// The first event of one (entity, value) pair of a first-seen detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstPair {
    /// The detection's rule id.
    pub rule_id: String,
    /// The principal, access key or account.
    pub entity: String,
    /// The region, network, client or API it was first seen with.
    pub value: String,
    /// When (µs since the epoch).
    pub time_us: i64,
    /// That event's `eventID` (the smallest, when several share the first instant).
    pub event_id: Option<String>,
    /// That event's `eventSource`.
    pub event_source: Option<String>,
    /// That event's `eventName`.
    pub event_name: Option<String>,
    /// That event's `recipientAccountId`.
    pub account: Option<String>,
    /// That event's `awsRegion`.
    pub region: Option<String>,
    /// That event's `sourceIPAddress`.
    pub source_ip: Option<String>,
}

impl FirstPair {
    /// Whether an event at `time_us` with `event_id` came before this one: the earliest wins,
    /// then the smallest `eventID`.
    pub fn is_after(&self, time_us: i64, event_id: Option<&str>) -> bool {
        (time_us, event_id) < (self.time_us, self.event_id.as_deref())
    }
}

/// What one first-seen run learned, to be recorded in one transaction.
#[derive(Debug, Default)]
pub struct FirstSeenChanges<'a> {
    /// Forget everything remembered first: the run read the whole lake.
    pub replace: bool,
    /// (kind, entity, since) of entities first seen, or seen earlier than remembered.
    pub entities: Vec<(&'a str, &'a str, i64)>,
    /// Pairs first seen, or seen earlier than remembered.
    pub pairs: Vec<FirstPair>,
    /// Lake files (paths as [`Catalog::lake_files`] gives them) whose events the run read.
    pub folded: &'a [String],
    /// The findings the run concluded.
    pub findings: &'a [Finding],
}

impl Catalog {
    /// Lake files whose events are not yet remembered by the first-seen tables.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn first_seen_pending(&self) -> Result<Vec<String>, LakeError> {
        let mut statement = self
            .connection
            .prepare("SELECT path FROM lake_files WHERE history_folded = 0 ORDER BY path")?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The earliest and latest event times (µs) of the lake files not yet in the first-seen
    /// tables: the stretch an update must cover, whether the files came from the last
    /// ingest or from one whose update was interrupted or skipped.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn first_seen_pending_stretch(&self) -> Result<Option<(i64, i64)>, LakeError> {
        let (from, to): (Option<i64>, Option<i64>) = self.connection.query_row(
            "SELECT min(min_time_us), max(max_time_us) FROM lake_files WHERE history_folded = 0",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(from.zip(to))
    }

    /// When each of `entities` of `kind` was first active, for those remembered.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn first_seen_since<'e>(
        &self,
        kind: &str,
        entities: impl IntoIterator<Item = &'e str>,
    ) -> Result<HashMap<&'e str, i64>, LakeError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT since_us FROM first_seen_entities WHERE kind = ?1 AND entity = ?2",
        )?;
        let mut found = HashMap::new();
        for entity in entities {
            if let Some(since) = statement
                .query_row(params![kind, entity], |row| row.get(0))
                .optional()?
            {
                found.insert(entity, since);
            }
        }
        Ok(found)
    }

    /// The remembered first event of each of `pairs` (entity, value) of `rule_id`.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn first_seen_pairs<'p>(
        &self,
        rule_id: &str,
        pairs: impl IntoIterator<Item = (&'p str, &'p str)>,
    ) -> Result<HashMap<(&'p str, &'p str), FirstPair>, LakeError> {
        let mut statement = self.connection.prepare_cached(&format!(
            "{PAIR_COLUMNS} WHERE rule_id = ?1 AND entity = ?2 AND value = ?3"
        ))?;
        let mut found = HashMap::new();
        for (entity, value) in pairs {
            if let Some(pair) = statement
                .query_row(params![rule_id, entity, value], pair_row)
                .optional()?
            {
                found.insert((entity, value), pair);
            }
        }
        Ok(found)
    }

    /// The remembered pairs of `entity` under `rule_id` first seen in `[from_us, to_us]`
    /// (either end open when not given).
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn first_seen_pairs_of(
        &self,
        rule_id: &str,
        entity: &str,
        from_us: Option<i64>,
        to_us: Option<i64>,
    ) -> Result<Vec<FirstPair>, LakeError> {
        let mut statement = self.connection.prepare_cached(&format!(
            "{PAIR_COLUMNS} WHERE rule_id = ?1 AND entity = ?2
               AND (?3 IS NULL OR time_us >= ?3) AND (?4 IS NULL OR time_us <= ?4)"
        ))?;
        let rows = statement.query_map(params![rule_id, entity, from_us, to_us], pair_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records what a first-seen run learned, marks the files it read as folded and records
    /// its findings, all in one transaction, so a crash never leaves a file counted as read
    /// without its pairs, or pairs without their findings. Returns how many findings were new.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn record_first_seen(&mut self, changes: &FirstSeenChanges<'_>) -> Result<u64, LakeError> {
        let now = chrono::Utc::now().to_rfc3339();
        let transaction = self.connection.transaction()?;
        let inserted;
        {
            if changes.replace {
                transaction.execute_batch(
                    "DELETE FROM first_seen_entities; DELETE FROM first_seen_pairs;",
                )?;
            }
            let mut entity = transaction.prepare(
                "INSERT INTO first_seen_entities (kind, entity, since_us) VALUES (?1, ?2, ?3)
                 ON CONFLICT (kind, entity) DO UPDATE SET since_us = min(since_us, excluded.since_us)",
            )?;
            for (kind, name, since) in &changes.entities {
                entity.execute(params![kind, name, since])?;
            }
            let mut pair = transaction.prepare(
                "INSERT OR REPLACE INTO first_seen_pairs
                   (rule_id, entity, value, time_us, event_id, event_source, event_name, account, region, source_ip)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for p in &changes.pairs {
                pair.execute(params![
                    p.rule_id,
                    p.entity,
                    p.value,
                    p.time_us,
                    p.event_id,
                    p.event_source,
                    p.event_name,
                    p.account,
                    p.region,
                    p.source_ip
                ])?;
            }
            let mut folded =
                transaction.prepare("UPDATE lake_files SET history_folded = 1 WHERE path = ?1")?;
            for path in changes.folded {
                folded.execute([path])?;
            }
            inserted = insert_findings(&transaction, changes.findings, &now)?;
        }
        transaction.commit()?;
        Ok(inserted)
    }
}

const PAIR_COLUMNS: &str = "SELECT rule_id, entity, value, time_us, event_id, event_source,
        event_name, account, region, source_ip
    FROM first_seen_pairs";

fn pair_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<FirstPair> {
    Ok(record_from_row!(
        row,
        FirstPair {
            rule_id,
            entity,
            value,
            time_us,
            event_id,
            event_source,
            event_name,
            account,
            region,
            source_ip,
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LakeFileRecord;

    type Outcome<T = ()> = Result<T, Box<dyn std::error::Error>>;

    fn file(path: &str) -> LakeFileRecord {
        LakeFileRecord {
            path: path.to_owned(),
            account: "111122223333".to_owned(),
            region: "us-east-1".to_owned(),
            date: "2024-07-01".to_owned(),
            rows: 1,
            bytes: 1,
            min_time_us: Some(0),
            max_time_us: Some(0),
            staged_as: None,
        }
    }

    fn pair(value: &str, time_us: i64) -> FirstPair {
        FirstPair {
            rule_id: "trailhound-first-seen-region".to_owned(),
            entity: "arn:aws:iam::111122223333:user/bob".to_owned(),
            value: value.to_owned(),
            time_us,
            event_id: Some(format!("{value}-{time_us}")),
            event_source: None,
            event_name: None,
            account: None,
            region: Some(value.to_owned()),
            source_ip: None,
        }
    }

    fn folded(catalog: &mut Catalog, paths: &[&str]) -> Outcome<u64> {
        let folded: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        Ok(catalog.record_first_seen(&FirstSeenChanges {
            folded: &folded,
            ..FirstSeenChanges::default()
        })?)
    }

    #[test]
    fn a_merged_file_is_folded_only_when_all_it_merges_were() -> Outcome {
        let dir = tempfile::tempdir()?;
        let mut catalog = Catalog::open(&dir.path().join("catalog.sqlite"))?;
        catalog.commit(&[file("a"), file("b"), file("c")], &[], &[], &[])?;
        assert_eq!(catalog.first_seen_pending()?, ["a", "b", "c"]);
        folded(&mut catalog, &["a", "b"])?;
        assert_eq!(catalog.first_seen_pending()?, ["c"]);
        catalog.commit(&[file("ab")], &["a".to_owned(), "b".to_owned()], &[], &[])?;
        assert_eq!(catalog.first_seen_pending()?, ["c"]);
        catalog.commit(&[file("abc")], &["ab".to_owned(), "c".to_owned()], &[], &[])?;
        assert_eq!(catalog.first_seen_pending()?, ["abc"]);
        Ok(())
    }

    #[test]
    fn firsts_only_move_earlier_and_a_whole_lake_run_replaces_them() -> Outcome {
        let dir = tempfile::tempdir()?;
        let mut catalog = Catalog::open(&dir.path().join("catalog.sqlite"))?;
        let bob = "arn:aws:iam::111122223333:user/bob";
        let record = |catalog: &mut Catalog, replace, since, pairs| {
            catalog.record_first_seen(&FirstSeenChanges {
                replace,
                entities: vec![("principal", bob, since)],
                pairs,
                ..FirstSeenChanges::default()
            })
        };
        record(&mut catalog, false, 50, vec![pair("eu-west-1", 70)])?;
        // A later since is not an older history; the pair's earlier event replaces it.
        record(&mut catalog, false, 60, vec![pair("eu-west-1", 65)])?;
        assert_eq!(
            catalog
                .first_seen_since("principal", [bob, "other"])?
                .get(bob),
            Some(&50)
        );
        let pairs = catalog.first_seen_pairs(
            "trailhound-first-seen-region",
            [(bob, "eu-west-1"), (bob, "us-east-1")],
        )?;
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs.get(&(bob, "eu-west-1")).map(|p| p.time_us), Some(65));
        let in_stretch = |catalog: &Catalog, from, to| -> Result<usize, LakeError> {
            Ok(catalog
                .first_seen_pairs_of("trailhound-first-seen-region", bob, from, to)?
                .len())
        };
        assert_eq!(in_stretch(&catalog, Some(60), Some(65))?, 1);
        assert_eq!(in_stretch(&catalog, Some(66), None)?, 0);
        // Reading the whole lake again forgets what it did not see.
        record(&mut catalog, true, 80, vec![pair("us-east-1", 80)])?;
        assert_eq!(
            catalog.first_seen_since("principal", [bob])?.get(bob),
            Some(&80)
        );
        assert_eq!(in_stretch(&catalog, None, None)?, 1);
        Ok(())
    }

    #[test]
    fn a_catalog_from_before_first_seen_tables_gets_them_with_every_file_pending() -> Outcome {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("catalog.sqlite");
        {
            let mut catalog = Catalog::open(&path)?;
            catalog.commit(&[file("a")], &[], &[], &[])?;
            // What version 1 of the schema looked like.
            catalog.connection.execute_batch(
                "ALTER TABLE lake_files DROP COLUMN history_folded;
                 DROP TABLE first_seen_pairs; DROP TABLE first_seen_entities;
                 PRAGMA user_version = 1;",
            )?;
        }
        let mut catalog = Catalog::open(&path)?;
        assert_eq!(catalog.first_seen_pending()?, ["a"]);
        folded(&mut catalog, &["a"])?;
        assert!(catalog.first_seen_pending()?.is_empty());
        let version: i64 = catalog
            .connection
            .pragma_query_value(None, "user_version", |row| row.get(0))?;
        assert_eq!(version, Catalog::SCHEMA_VERSION);
        Ok(())
    }
}
