//! Every source object an ingest read (a file, an S3 object), with what came of it: how
//! later ingests and every `watch` poll know what they need not read again.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};
use trailhound_source::Previously;

use crate::{Catalog, LakeError};

/// What came of reading a source object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceOutcome {
    /// Read to its end; its events are in the lake.
    Read,
    /// A CloudTrail digest file: recognised, holds no events by design.
    Digest,
    /// It could not be read; the record's `error` says why.
    Failed,
}

impl SourceOutcome {
    /// The name the catalog stores (`ok`, `digest`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            SourceOutcome::Read => "ok",
            SourceOutcome::Digest => "digest",
            SourceOutcome::Failed => "failed",
        }
    }

    /// The outcome a stored name stands for.
    pub fn parse(text: &str) -> Option<SourceOutcome> {
        match text {
            "ok" => Some(SourceOutcome::Read),
            "digest" => Some(SourceOutcome::Digest),
            "failed" => Some(SourceOutcome::Failed),
            _ => None,
        }
    }

    /// Whether the object was taken whole: read to its end, or a digest (nothing to take).
    pub fn is_taken(self) -> bool {
        matches!(self, SourceOutcome::Read | SourceOutcome::Digest)
    }
}

impl std::fmt::Display for SourceOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl rusqlite::types::FromSql for SourceOutcome {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        SourceOutcome::parse(text).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown source outcome {text:?}").into())
        })
    }
}

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
    /// What came of reading it.
    pub outcome: SourceOutcome,
    /// Why it failed.
    pub error: Option<String>,
    /// When (RFC 3339).
    pub ingested_at: String,
}

const SOURCE_COLUMNS: &str = "SELECT location, size, modified_ns, content_hash, events_read, events_new, rejected, outcome, error, ingested_at
     FROM sources";

impl Catalog {
    /// The recorded source at `location`, if any.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn source(&self, location: &str) -> Result<Option<SourceRecord>, LakeError> {
        Ok(self
            .connection
            .query_row(
                &format!("{SOURCE_COLUMNS} WHERE location = ?1"),
                [location],
                source_from_row,
            )
            .optional()?)
    }

    /// All recorded sources (only those that failed or had records rejected, if asked).
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn sources(&self, failed_only: bool) -> Result<Vec<SourceRecord>, LakeError> {
        let condition = if failed_only {
            "WHERE outcome = 'failed' OR rejected > 0"
        } else {
            ""
        };
        let mut statement = self
            .connection
            .prepare(&format!("{SOURCE_COLUMNS} {condition} ORDER BY location"))?;
        let rows = statement.query_map([], source_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
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

    #[test]
    fn sources_read_or_failed_for_their_bytes_are_looked_up_while_the_catalog_is_written()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("catalog.sqlite");
        let mut catalog = Catalog::open(&path)?;
        let source = |location: &str, outcome: SourceOutcome| SourceRecord {
            location: location.to_owned(),
            size: Some(10),
            modified_ns: Some(20),
            content_hash: None,
            events_read: 1,
            events_new: 1,
            rejected: 0,
            outcome,
            error: None,
            ingested_at: "2024-07-01T00:00:00Z".to_owned(),
        };
        let mut sources = ReadSources::open(&path)?;
        assert_eq!(sources.facts("a.json.gz")?, None);
        // The writer leaves out the modification time of a read the machine failed.
        let machine_failed = SourceRecord {
            modified_ns: None,
            ..source("c.json.gz", SourceOutcome::Failed)
        };
        catalog.commit(
            &[],
            &[],
            &[
                source("a.json.gz", SourceOutcome::Read),
                source("b.json.gz", SourceOutcome::Failed),
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
}
