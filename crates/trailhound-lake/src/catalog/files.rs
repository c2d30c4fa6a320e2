//! The lake's committed Parquet files, and the commit that makes new files, the sources they
//! came from and the findings about them visible together.

use rusqlite::{OptionalExtension, params};
use trailhound_event::Finding;

use super::findings::insert_findings;
use super::sources::SourceRecord;
use crate::{Catalog, LakeError};

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

impl Catalog {
    /// The times (µs since the epoch) of the lake's first and last events, from its files'
    /// statistics; `None` for an empty lake.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn event_span_us(&self) -> Result<(Option<i64>, Option<i64>), LakeError> {
        Ok(self.connection.query_row(
            "SELECT min(min_time_us), max(max_time_us) FROM lake_files",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?)
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
            // The same holds for the OCSF export; compaction only merges files alike in it.
            let mut flags = transaction
                .prepare("SELECT history_folded, exported FROM lake_files WHERE path = ?1")?;
            let mut folded = !retired.is_empty();
            let mut exported = !retired.is_empty();
            for path in retired {
                let flag: Option<(i64, i64)> = flags
                    .query_row([path], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?;
                folded &= flag.is_some_and(|(f, _)| f == 1);
                exported &= flag.is_some_and(|(_, e)| e == 1);
            }
            let mut insert_file = transaction.prepare(
                "INSERT INTO lake_files (path, account, region, date, rows, bytes, min_time_us, max_time_us, staged_as, created_at, history_folded, exported)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
                    folded,
                    exported
                ])?;
            }
            let mut retire = transaction.prepare("DELETE FROM lake_files WHERE path = ?1")?;
            // The identity index counts each file's calls: a retired file's counts go with
            // it, and the files replacing it are counted afresh (they are unfolded), so the
            // index always counts exactly the calls the lake holds.
            let mut forget_usage =
                transaction.prepare("DELETE FROM credential_usage WHERE file = ?1")?;
            for path in retired {
                retire.execute([path])?;
                forget_usage.execute([path])?;
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
                    source.outcome.as_str(),
                    source.error,
                    source.ingested_at
                ])?;
            }
            inserted = insert_findings(&transaction, findings, &now)?;
        }
        transaction.commit()?;
        Ok(inserted)
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
