//! The catalog: a SQLite database beside the lake recording what was ingested and which lake
//! files exist. A lake file is visible only once its row is committed here.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use trailhound_detect::{Finding, Level};
use trailhound_source::Previously;

use crate::LakeError;

/// Bumped whenever the tables change; older catalogs are migrated on open.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sources (
    location      TEXT PRIMARY KEY,
    size          INTEGER,
    modified_ns   INTEGER,
    content_hash  TEXT,
    events_read   INTEGER NOT NULL,
    events_new    INTEGER NOT NULL,
    rejected      INTEGER NOT NULL,
    outcome       TEXT NOT NULL,  -- ok | failed | digest
    error         TEXT,
    ingested_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lake_files (
    path          TEXT PRIMARY KEY,  -- relative to the lake root
    account       TEXT NOT NULL,
    region        TEXT NOT NULL,
    date          TEXT NOT NULL,
    rows          INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    min_time_us   INTEGER,
    max_time_us   INTEGER,
    staged_as     TEXT,              -- staging name until moved into place
    created_at    TEXT NOT NULL,
    history_folded INTEGER NOT NULL DEFAULT 0  -- its events are in the first-seen tables
);
CREATE INDEX IF NOT EXISTS lake_files_partition ON lake_files (account, region, date);
CREATE TABLE IF NOT EXISTS findings (
    id              INTEGER PRIMARY KEY,
    rule_id         TEXT NOT NULL,
    rule_title      TEXT NOT NULL,
    level           TEXT NOT NULL,
    tags            TEXT NOT NULL,   -- comma-separated
    time            TEXT,            -- of the last event behind it
    first_time      TEXT,
    event_count     INTEGER NOT NULL,
    event_ids       TEXT NOT NULL,   -- JSON array
    first_event_id  TEXT NOT NULL,   -- '' when the events have no ids
    event_source    TEXT,
    event_name      TEXT,
    principal       TEXT,
    account         TEXT,
    region          TEXT,
    source_ip       TEXT,
    summary         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open',
    found_at        TEXT NOT NULL,
    -- The same conclusion about the same events is recorded once, however often it is found.
    UNIQUE (rule_id, first_event_id, time)
);
CREATE INDEX IF NOT EXISTS findings_time ON findings (time);
CREATE TABLE IF NOT EXISTS insights (
    event_id          TEXT PRIMARY KEY,
    shared_event_id   TEXT NOT NULL,
    state             TEXT NOT NULL,   -- Start | End
    event_time        TEXT NOT NULL,   -- as in the record
    start_us          INTEGER NOT NULL, -- the insight's first minute, for replacing a range
    account           TEXT NOT NULL,
    region            TEXT NOT NULL,
    event_source      TEXT NOT NULL,
    event_name        TEXT NOT NULL,
    insight_type      TEXT NOT NULL,
    error_code        TEXT,
    baseline_average  REAL NOT NULL,
    insight_average   REAL NOT NULL,
    insight_duration  INTEGER,
    baseline_duration INTEGER NOT NULL,
    record            TEXT NOT NULL,   -- the Insights event, in CloudTrail's format
    computed_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS insights_start ON insights (start_us);
CREATE INDEX IF NOT EXISTS insights_shared ON insights (shared_event_id);
";

/// One ingested source object, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// Path or key.
    pub location: String,
    /// Stored size, if known.
    pub size: Option<u64>,
    /// Modification time (ns since the epoch), if known.
    pub modified_ns: Option<i64>,
    /// xxh3-64 of the stored bytes, hex, if read to the end.
    pub content_hash: Option<String>,
    /// Records found.
    pub events_read: u64,
    /// Records that were new to the lake.
    pub events_new: u64,
    /// Records rejected.
    pub rejected: u64,
    /// `ok`, `failed` or `digest`.
    pub outcome: String,
    /// Why it failed.
    pub error: Option<String>,
    /// When (RFC 3339).
    pub ingested_at: String,
}

/// One lake file, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeFileRecord {
    /// Path relative to the lake root (`events/account=…/…/part-….parquet`).
    pub path: String,
    /// Partition values.
    pub account: String,
    /// Partition values.
    pub region: String,
    /// Partition values.
    pub date: String,
    /// Rows in the file.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// Earliest and latest `eventTime` in microseconds.
    pub min_time_us: Option<i64>,
    /// See `min_time_us`.
    pub max_time_us: Option<i64>,
    /// Name in the staging folder while not yet moved into place.
    pub staged_as: Option<String>,
}

/// A finding as the catalog holds it: what the rule concluded, and its triage state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFinding {
    /// Its row id: findings are numbered in the order they were recorded.
    pub id: i64,
    /// The finding.
    pub finding: Finding,
    /// open, acknowledged, resolved or suppressed.
    pub status: String,
    /// When it was recorded (RFC 3339).
    pub found_at: String,
}

/// An Insights event Trailhound computed, as the catalog holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredInsight {
    /// The record's `eventID`.
    pub event_id: String,
    /// Shared by the Start and End records of one insight.
    pub shared_event_id: String,
    /// `Start` or `End`.
    pub state: String,
    /// The record's `eventTime`.
    pub event_time: String,
    /// The insight's first minute, in microseconds since the epoch.
    pub start_us: i64,
    /// `recipientAccountId`.
    pub account: String,
    /// `awsRegion`.
    pub region: String,
    /// The API's service.
    pub event_source: String,
    /// The API.
    pub event_name: String,
    /// `ApiCallRateInsight` or `ApiErrorRateInsight`.
    pub insight_type: String,
    /// For error-rate insights.
    pub error_code: Option<String>,
    /// Calls (or errors) per minute in the baseline.
    pub baseline_average: f64,
    /// Calls (or errors) per minute during the insight.
    pub insight_average: f64,
    /// Minutes, once known.
    pub insight_duration: Option<i64>,
    /// Minutes of baseline.
    pub baseline_duration: i64,
    /// The whole record as CloudTrail writes it.
    pub record: String,
}

pub(crate) const FINDING_COLUMNS: &str = "SELECT rule_id, rule_title, level, tags, time, first_time, event_count, event_ids,
        event_source, event_name, principal, account, region, source_ip, summary, status, found_at, id
     FROM findings";

pub(crate) fn finding_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredFinding> {
    let tags: String = row.get(3)?;
    let ids: String = row.get(7)?;
    let level: String = row.get(2)?;
    Ok(StoredFinding {
        id: row.get(17)?,
        finding: Finding {
            rule_id: row.get(0)?,
            rule_title: row.get(1)?,
            level: Level::parse(&level).unwrap_or(Level::Medium),
            tags: tags
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            time: row.get(4)?,
            first_time: row.get(5)?,
            event_count: row.get::<_, i64>(6)? as u64,
            event_ids: sonic_rs::from_str(&ids).unwrap_or_default(),
            event_source: row.get(8)?,
            event_name: row.get(9)?,
            principal: row.get(10)?,
            account: row.get(11)?,
            region: row.get(12)?,
            source_ip: row.get(13)?,
            summary: row.get(14)?,
        },
        status: row.get(15)?,
        found_at: row.get(16)?,
    })
}

/// The catalog connection.
pub struct Catalog {
    pub(crate) connection: Connection,
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `path`.
    pub fn open(path: &Path) -> Result<Catalog, LakeError> {
        let connection = Connection::open(path)?;
        // WAL lets queries read while an ingest writes; FULL sync makes a commit durable
        // before its files are moved into place.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(std::time::Duration::from_secs(30))?;
        connection.execute_batch(SCHEMA)?;
        connection.execute_batch(crate::checkpoints::SCHEMA)?;
        connection.execute_batch(crate::outbox::SCHEMA)?;
        connection.execute_batch(crate::triage::SCHEMA)?;
        connection.execute_batch(crate::first_seen::SCHEMA)?;
        let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(LakeError::Config(format!(
                "the catalog at {} was written by a newer Trailhound (schema {version}); upgrade Trailhound to use it",
                path.display()
            )));
        }
        // Only when it changes: setting it is a write, and a write tells every reader (the
        // server's snapshot check) that the catalog changed.
        if version != SCHEMA_VERSION {
            migrate(&connection)?;
            connection.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        Ok(Catalog { connection })
    }

    /// The recorded source at `location`, if any.
    pub fn source(&self, location: &str) -> Result<Option<SourceRecord>, LakeError> {
        Ok(self
            .connection
            .query_row(
                "SELECT location, size, modified_ns, content_hash, events_read, events_new, rejected, outcome, error, ingested_at
                 FROM sources WHERE location = ?1",
                [location],
                source_from_row,
            )
            .optional()?)
    }

    /// All recorded sources, failed ones only if asked.
    pub fn sources(&self, failed_only: bool) -> Result<Vec<SourceRecord>, LakeError> {
        let sql = if failed_only {
            "SELECT location, size, modified_ns, content_hash, events_read, events_new, rejected, outcome, error, ingested_at
             FROM sources WHERE outcome = 'failed' OR rejected > 0 ORDER BY location"
        } else {
            "SELECT location, size, modified_ns, content_hash, events_read, events_new, rejected, outcome, error, ingested_at
             FROM sources ORDER BY location"
        };
        let mut statement = self.connection.prepare(sql)?;
        let rows = statement.query_map([], source_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Lake files, optionally of one partition.
    pub fn lake_files(
        &self,
        partition: Option<(&str, &str, &str)>,
    ) -> Result<Vec<LakeFileRecord>, LakeError> {
        let mut statement = self.connection.prepare(
            "SELECT path, account, region, date, rows, bytes, min_time_us, max_time_us, staged_as
             FROM lake_files
             WHERE (?1 IS NULL OR (account = ?1 AND region = ?2 AND date = ?3))
             ORDER BY path",
        )?;
        let (account, region, date) = match partition {
            Some((a, r, d)) => (Some(a), Some(r), Some(d)),
            None => (None, None, None),
        };
        let rows = statement.query_map(params![account, region, date], |row| {
            Ok(LakeFileRecord {
                path: row.get(0)?,
                account: row.get(1)?,
                region: row.get(2)?,
                date: row.get(3)?,
                rows: row.get::<_, i64>(4)? as u64,
                bytes: row.get::<_, i64>(5)? as u64,
                min_time_us: row.get(6)?,
                max_time_us: row.get(7)?,
                staged_as: row.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records new lake files, finished sources and their findings, and retires replaced
    /// files, in one transaction: either all of it is visible afterwards or none of it.
    /// Returns how many findings were new.
    pub fn commit(
        &mut self,
        files: &[LakeFileRecord],
        retired: &[String],
        sources: &[SourceRecord],
        findings: &[Finding],
    ) -> Result<u64, LakeError> {
        let now = chrono::Utc::now().to_rfc3339();
        let transaction = self.connection.transaction()?;
        let inserted;
        {
            // A merged file holds only the retired files' events: it is folded into the
            // first-seen tables exactly when all of them were.
            let mut folded_flag =
                transaction.prepare("SELECT history_folded FROM lake_files WHERE path = ?1")?;
            let mut folded = !retired.is_empty();
            for path in retired {
                let flag: Option<i64> =
                    folded_flag.query_row([path], |row| row.get(0)).optional()?;
                folded &= flag == Some(1);
            }
            let mut insert_file = transaction.prepare(
                "INSERT INTO lake_files (path, account, region, date, rows, bytes, min_time_us, max_time_us, staged_as, created_at, history_folded)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for file in files {
                insert_file.execute(params![
                    file.path,
                    file.account,
                    file.region,
                    file.date,
                    file.rows as i64,
                    file.bytes as i64,
                    file.min_time_us,
                    file.max_time_us,
                    file.staged_as,
                    now,
                    folded
                ])?;
            }
            let mut retire = transaction.prepare("DELETE FROM lake_files WHERE path = ?1")?;
            for path in retired {
                retire.execute([path])?;
            }
            let mut upsert = transaction.prepare(
                "INSERT INTO sources (location, size, modified_ns, content_hash, events_read, events_new, rejected, outcome, error, ingested_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (location) DO UPDATE SET
                   size = excluded.size, modified_ns = excluded.modified_ns, content_hash = excluded.content_hash,
                   events_read = excluded.events_read, events_new = excluded.events_new, rejected = excluded.rejected,
                   outcome = excluded.outcome, error = excluded.error, ingested_at = excluded.ingested_at",
            )?;
            for source in sources {
                upsert.execute(params![
                    source.location,
                    source.size.map(|s| s as i64),
                    source.modified_ns,
                    source.content_hash,
                    source.events_read as i64,
                    source.events_new as i64,
                    source.rejected as i64,
                    source.outcome,
                    source.error,
                    source.ingested_at
                ])?;
            }
            inserted = insert_findings(&transaction, findings, &now)?;
        }
        transaction.commit()?;
        Ok(inserted)
    }

    /// Records findings on their own (e.g. correlations concluded at the end of an ingest).
    /// Findings already recorded are not recorded again.
    pub fn add_findings(&mut self, findings: &[Finding]) -> Result<u64, LakeError> {
        let now = chrono::Utc::now().to_rfc3339();
        let transaction = self.connection.transaction()?;
        let inserted = insert_findings(&transaction, findings, &now)?;
        transaction.commit()?;
        Ok(inserted)
    }

    /// Every recorded finding, oldest event first.
    pub fn findings(&self) -> Result<Vec<StoredFinding>, LakeError> {
        let mut statement = self
            .connection
            .prepare(&format!("{FINDING_COLUMNS} ORDER BY time, id"))?;
        let rows = statement.query_map([], finding_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Findings recorded after the one numbered `after`, in the order they were recorded, at
    /// most `limit` of them: how alerting picks up what is new.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn findings_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredFinding>, LakeError> {
        let mut statement = self.connection.prepare(&format!(
            "{FINDING_COLUMNS} WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map(params![after, limit], finding_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The number of the newest finding (0 when there is none).
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn last_finding_id(&self) -> Result<i64, LakeError> {
        Ok(self
            .connection
            .query_row("SELECT coalesce(max(id), 0) FROM findings", [], |row| {
                row.get(0)
            })?)
    }

    /// Replaces the computed insights that start in `[from_us, to_us)` with `insights`, in one
    /// transaction, so that recomputing a stretch of history never leaves it half done.
    pub fn replace_insights(
        &mut self,
        from_us: i64,
        to_us: i64,
        insights: &[StoredInsight],
    ) -> Result<(), LakeError> {
        let now = chrono::Utc::now().to_rfc3339();
        let transaction = self.connection.transaction()?;
        transaction.execute(
            "DELETE FROM insights WHERE start_us >= ?1 AND start_us < ?2",
            [from_us, to_us],
        )?;
        {
            let mut insert = transaction.prepare(
                "INSERT OR REPLACE INTO insights (event_id, shared_event_id, state, event_time, start_us, account,
                    region, event_source, event_name, insight_type, error_code, baseline_average,
                    insight_average, insight_duration, baseline_duration, record, computed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            )?;
            for insight in insights {
                insert.execute(rusqlite::params![
                    insight.event_id,
                    insight.shared_event_id,
                    insight.state,
                    insight.event_time,
                    insight.start_us,
                    insight.account,
                    insight.region,
                    insight.event_source,
                    insight.event_name,
                    insight.insight_type,
                    insight.error_code,
                    insight.baseline_average,
                    insight.insight_average,
                    insight.insight_duration,
                    insight.baseline_duration,
                    insight.record,
                    now,
                ])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// Every computed insight record, by time.
    pub fn insights(&self) -> Result<Vec<StoredInsight>, LakeError> {
        let mut statement = self.connection.prepare(
            "SELECT event_id, shared_event_id, state, event_time, start_us, account, region, event_source,
                    event_name, insight_type, error_code, baseline_average, insight_average,
                    insight_duration, baseline_duration, record
             FROM insights ORDER BY start_us, shared_event_id, state DESC",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(StoredInsight {
                event_id: row.get(0)?,
                shared_event_id: row.get(1)?,
                state: row.get(2)?,
                event_time: row.get(3)?,
                start_us: row.get(4)?,
                account: row.get(5)?,
                region: row.get(6)?,
                event_source: row.get(7)?,
                event_name: row.get(8)?,
                insight_type: row.get(9)?,
                error_code: row.get(10)?,
                baseline_average: row.get(11)?,
                insight_average: row.get(12)?,
                insight_duration: row.get(13)?,
                baseline_duration: row.get(14)?,
                record: row.get(15)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The first minute of insights that have started but not ended (their End needs data
    /// that had not arrived), so that the next computation starts early enough to end them.
    pub fn earliest_open_insight_us(&self) -> Result<Option<i64>, LakeError> {
        Ok(self.connection.query_row(
            "SELECT min(start_us) FROM insights s WHERE state = 'Start' AND NOT EXISTS
                (SELECT 1 FROM insights e WHERE e.shared_event_id = s.shared_event_id AND e.state = 'End')",
            [],
            |row| row.get(0),
        )?)
    }

    /// Marks files as moved into place.
    pub fn mark_in_place(&self, paths: &[&str]) -> Result<(), LakeError> {
        if paths.is_empty() {
            return Ok(());
        }
        // One transaction for all: a commit of its own per file waited for the disk each time.
        let transaction = self.connection.unchecked_transaction()?;
        {
            let mut update =
                transaction.prepare("UPDATE lake_files SET staged_as = NULL WHERE path = ?1")?;
            for path in paths {
                update.execute([path])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }
}

/// Which sources were read completely and successfully, looked up one at a time on a
/// read-only connection of its own, so that the thread walking an ingest's inputs can ask
/// while the ingest commits. Looking each input up costs in proportion to the inputs; loading
/// every recorded source first cost in proportion to the catalog, which for continuous
/// monitoring grows by thousands of objects a day.
pub(crate) struct ReadSources {
    connection: Connection,
    /// Look-ups made in the read transaction now open (none is open at 0).
    in_snapshot: usize,
}

/// Look-ups per read transaction. Each transaction takes and releases file locks, a few
/// system calls that cost more than the look-up itself; sharing one among many keeps that
/// cost small, and ending it now and then lets the writer's commits be seen and checkpointed.
const LOOKUPS_PER_SNAPSHOT: usize = 1024;

impl ReadSources {
    pub(crate) fn open(path: &Path) -> Result<ReadSources, LakeError> {
        let connection = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(std::time::Duration::from_secs(30))?;
        Ok(ReadSources {
            connection,
            in_snapshot: 0,
        })
    }

    /// The size and modification time (ns) `location` had when it was last read to its end,
    /// or failed for a fault in its own bytes, and which of the two, as of a snapshot at most
    /// [`LOOKUPS_PER_SNAPSHOT`] look-ups old. A source committed since is at worst read
    /// again, and its events are deduplicated.
    pub(crate) fn facts(
        &mut self,
        location: &str,
    ) -> Result<Option<(u64, i64, Previously)>, LakeError> {
        if self.in_snapshot == 0 {
            self.connection.execute_batch("BEGIN")?;
        }
        self.in_snapshot += 1;
        let found = self
            .connection
            .prepare_cached(
                "SELECT size, modified_ns, outcome = 'failed' FROM sources
                 WHERE location = ?1 AND size IS NOT NULL AND modified_ns IS NOT NULL",
            )?
            .query_row([location], |row| {
                let previously = if row.get::<_, bool>(2)? {
                    Previously::Failed
                } else {
                    Previously::Read
                };
                Ok((
                    row.get::<_, i64>(0)? as u64,
                    row.get::<_, i64>(1)?,
                    previously,
                ))
            })
            .optional()?;
        if self.in_snapshot == LOOKUPS_PER_SNAPSHOT {
            // A snapshot still open when the connection closes ends with it.
            self.in_snapshot = 0;
            self.connection.execute_batch("COMMIT")?;
        }
        Ok(found)
    }
}

/// Brings a catalog written by an older Trailhound up to [`SCHEMA_VERSION`]. New tables were
/// already made by the schema; only columns added to existing tables need doing here.
fn migrate(connection: &Connection) -> Result<(), LakeError> {
    let folded_known: bool = connection.query_row(
        "SELECT count(*) > 0 FROM pragma_table_info('lake_files') WHERE name = 'history_folded'",
        [],
        |row| row.get(0),
    )?;
    if !folded_known {
        // Version 2: no file of an older lake is in the first-seen tables yet, so the next
        // run reads them all once.
        connection.execute_batch(
            "ALTER TABLE lake_files ADD COLUMN history_folded INTEGER NOT NULL DEFAULT 0",
        )?;
    }
    Ok(())
}

pub(crate) fn insert_findings(
    transaction: &rusqlite::Transaction<'_>,
    findings: &[Finding],
    now: &str,
) -> Result<u64, LakeError> {
    let mut inserted = 0;
    let mut insert = transaction.prepare(
        "INSERT OR IGNORE INTO findings (rule_id, rule_title, level, tags, time, first_time, event_count, event_ids,
            first_event_id, event_source, event_name, principal, account, region, source_ip, summary, status, found_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?;
    for finding in findings {
        let ids = sonic_rs::to_string(&finding.event_ids).unwrap_or_else(|_| "[]".to_owned());
        inserted += insert.execute(params![
            finding.rule_id,
            finding.rule_title,
            finding.level.as_str(),
            finding.tags.join(","),
            finding.time,
            finding.first_time,
            finding.event_count as i64,
            ids,
            finding.event_ids.first().map_or("", String::as_str),
            finding.event_source,
            finding.event_name,
            finding.principal,
            finding.account,
            finding.region,
            finding.source_ip,
            finding.summary,
            "open",
            now
        ])? as u64;
    }
    Ok(inserted)
}

fn source_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SourceRecord> {
    Ok(SourceRecord {
        location: row.get(0)?,
        size: row.get::<_, Option<i64>>(1)?.map(|s| s as u64),
        modified_ns: row.get(2)?,
        content_hash: row.get(3)?,
        events_read: row.get::<_, i64>(4)? as u64,
        events_new: row.get::<_, i64>(5)? as u64,
        rejected: row.get::<_, i64>(6)? as u64,
        outcome: row.get(7)?,
        error: row.get(8)?,
        ingested_at: row.get(9)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insight(shared: &str, state: &str, start_us: i64) -> StoredInsight {
        StoredInsight {
            event_id: format!("{shared}-{state}"),
            shared_event_id: shared.to_owned(),
            state: state.to_owned(),
            event_time: "2024-07-01T00:00:00Z".to_owned(),
            start_us,
            account: "111122223333".to_owned(),
            region: "us-east-1".to_owned(),
            event_source: "ec2.amazonaws.com".to_owned(),
            event_name: "RunInstances".to_owned(),
            insight_type: "ApiCallRateInsight".to_owned(),
            error_code: None,
            baseline_average: 0.5,
            insight_average: 12.0,
            insight_duration: None,
            baseline_duration: 10080,
            record: "{}".to_owned(),
        }
    }

    #[test]
    fn sources_read_or_failed_for_their_bytes_are_looked_up_while_the_catalog_is_written()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("catalog.sqlite");
        let mut catalog = Catalog::open(&path)?;
        let source = |location: &str, outcome: &str| SourceRecord {
            location: location.to_owned(),
            size: Some(10),
            modified_ns: Some(20),
            content_hash: None,
            events_read: 1,
            events_new: 1,
            rejected: 0,
            outcome: outcome.to_owned(),
            error: None,
            ingested_at: "2024-07-01T00:00:00Z".to_owned(),
        };
        let mut sources = ReadSources::open(&path)?;
        assert_eq!(sources.facts("a.json.gz")?, None);
        // The writer leaves out the modification time of a read the machine failed.
        let machine_failed = SourceRecord {
            modified_ns: None,
            ..source("c.json.gz", "failed")
        };
        catalog.commit(
            &[],
            &[],
            &[
                source("a.json.gz", "ok"),
                source("b.json.gz", "failed"),
                machine_failed,
            ],
            &[],
        )?;
        // Committed by the writer after the reader's snapshot began: seen once it renews.
        let read = Some((10, 20, Previously::Read));
        let mut renewed = false;
        for _ in 1..LOOKUPS_PER_SNAPSHOT {
            renewed |= sources.facts("a.json.gz")? == read;
        }
        assert!(!renewed, "a snapshot keeps what it saw");
        assert_eq!(sources.facts("a.json.gz")?, read);
        // Bytes at fault fail again while unchanged; the machine's faults may pass.
        assert_eq!(
            sources.facts("b.json.gz")?,
            Some((10, 20, Previously::Failed))
        );
        assert_eq!(sources.facts("c.json.gz")?, None);
        Ok(())
    }

    #[test]
    fn insights_are_replaced_by_stretch_and_open_ones_are_remembered()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut catalog = Catalog::open(&dir.path().join("catalog.sqlite"))?;
        catalog.replace_insights(
            0,
            100,
            &[
                insight("a", "Start", 10),
                insight("a", "End", 10),
                insight("b", "Start", 50),
            ],
        )?;
        assert_eq!(catalog.insights()?.len(), 3);
        // "b" has no End yet: the next computation must start at its start.
        assert_eq!(catalog.earliest_open_insight_us()?, Some(50));
        // Recomputing [40, 100) replaces "b" (now ended) and leaves "a" alone.
        catalog.replace_insights(
            40,
            100,
            &[insight("b", "Start", 50), insight("b", "End", 50)],
        )?;
        assert_eq!(catalog.insights()?.len(), 4);
        assert_eq!(catalog.earliest_open_insight_us()?, None);
        // Recomputing a stretch that now holds nothing unusual empties it.
        catalog.replace_insights(0, 40, &[])?;
        let left: Vec<String> = catalog
            .insights()?
            .into_iter()
            .map(|i| i.event_id)
            .collect();
        assert_eq!(left, vec!["b-Start", "b-End"]);
        Ok(())
    }
}
