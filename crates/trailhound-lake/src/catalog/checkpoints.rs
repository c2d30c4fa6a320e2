//! Where each followed source stands: the catalog's record of a `watch`, so that a restart
//! resumes exactly where it stopped and `status` can show health and lag.

use rusqlite::{OptionalExtension, params};

use crate::{Catalog, LakeError};

/// One followed source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Checkpoint {
    /// The trail folder or local folder followed.
    pub source: String,
    /// Key of the newest object taken, where the source has keys that sort by time.
    pub position: Option<String>,
    /// When it was last polled (RFC 3339).
    pub polled_at: Option<String>,
    /// When a poll last took new objects (RFC 3339).
    pub advanced_at: Option<String>,
    /// Objects taken in all.
    pub objects: i64,
    /// Why the last poll failed, if it did.
    pub error: Option<String>,
}

impl Catalog {
    /// The checkpoint of `source`, if it was ever polled.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn checkpoint(&self, source: &str) -> Result<Option<Checkpoint>, LakeError> {
        Ok(self
            .connection
            .query_row(
                "SELECT source, position, polled_at, advanced_at, objects, error
                 FROM checkpoints WHERE source = ?1",
                params![source],
                checkpoint_row,
            )
            .optional()?)
    }

    /// Every checkpoint, by source.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>, LakeError> {
        let mut statement = self.connection.prepare(
            "SELECT source, position, polled_at, advanced_at, objects, error
             FROM checkpoints ORDER BY source",
        )?;
        let rows = statement.query_map([], checkpoint_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a successful poll of `source` that took `objects` new objects, the newest at
    /// `position` (which stays as it was when `None`).
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn advance_checkpoint(
        &mut self,
        source: &str,
        position: Option<&str>,
        objects: i64,
    ) -> Result<(), LakeError> {
        let now = chrono::Utc::now().to_rfc3339();
        let advanced = (objects > 0).then_some(now.as_str());
        self.connection.execute(
            "INSERT INTO checkpoints (source, position, polled_at, advanced_at, objects, error)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL)
             ON CONFLICT (source) DO UPDATE SET
               position = coalesce(excluded.position, position),
               polled_at = excluded.polled_at,
               advanced_at = coalesce(excluded.advanced_at, advanced_at),
               objects = objects + excluded.objects,
               error = NULL",
            params![source, position, now, advanced, objects],
        )?;
        Ok(())
    }

    /// Records a failed poll of `source`; its position stays, so the next poll retries.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn fail_checkpoint(&mut self, source: &str, error: &str) -> Result<(), LakeError> {
        let now = chrono::Utc::now().to_rfc3339();
        self.connection.execute(
            "INSERT INTO checkpoints (source, polled_at, error) VALUES (?1, ?2, ?3)
             ON CONFLICT (source) DO UPDATE SET polled_at = excluded.polled_at, error = excluded.error",
            params![source, now, error],
        )?;
        Ok(())
    }
}

fn checkpoint_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Checkpoint> {
    Ok(record_from_row!(
        row,
        Checkpoint {
            source,
            position,
            polled_at,
            advanced_at,
            objects,
            error,
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_advance_and_survive_failed_polls() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut catalog = Catalog::open(&dir.path().join("catalog.sqlite"))?;
        let source = "s3://b/AWSLogs/111122223333/CloudTrail/us-east-1/";
        assert_eq!(catalog.checkpoint(source)?, None);
        catalog.advance_checkpoint(source, Some("k1"), 3)?;
        catalog.fail_checkpoint(source, "connection refused")?;
        let failed = catalog.checkpoint(source)?.ok_or("missing")?;
        assert_eq!(failed.position.as_deref(), Some("k1"));
        assert_eq!(failed.error.as_deref(), Some("connection refused"));
        catalog.advance_checkpoint(source, None, 0)?;
        catalog.advance_checkpoint(source, Some("k2"), 2)?;
        let advanced = catalog.checkpoint(source)?.ok_or("missing")?;
        assert_eq!(advanced.position.as_deref(), Some("k2"));
        assert_eq!(advanced.objects, 5);
        assert_eq!(advanced.error, None);
        assert!(advanced.advanced_at.is_some());
        // A fresh connection sees the same: it is in the database, not in memory.
        drop(catalog);
        let reopened = Catalog::open(&dir.path().join("catalog.sqlite"))?;
        assert_eq!(reopened.checkpoints()?.len(), 1);
        Ok(())
    }
}
