//! The record of integrity checks (`trailhound validate`), for the dashboard's integrity
//! page. Like triage, an annotation beside the lake: written through any catalog handle.

use rusqlite::params;

use crate::{Catalog, LakeError};

/// One recorded integrity check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityCheck {
    /// What was validated (`s3://bucket/prefix` or a folder).
    pub location: String,
    /// When (RFC 3339).
    pub checked_at: String,
    /// Whether nothing was invalid.
    pub valid: bool,
    /// The validation's summary, JSON.
    pub report: String,
}

impl Catalog {
    /// Records an integrity check of `location`.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn record_integrity_check(
        &self,
        location: &str,
        valid: bool,
        report: &str,
    ) -> Result<(), LakeError> {
        self.connection.execute(
            "INSERT INTO integrity_checks (location, checked_at, valid, report) VALUES (?1, ?2, ?3, ?4)",
            params![location, chrono::Utc::now().to_rfc3339(), valid, report],
        )?;
        Ok(())
    }

    /// The latest integrity checks, newest first.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn integrity_checks(&self, limit: usize) -> Result<Vec<IntegrityCheck>, LakeError> {
        let mut statement = self.connection.prepare(
            "SELECT location, checked_at, valid, report FROM integrity_checks ORDER BY id DESC LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map([limit], |row| {
            Ok(IntegrityCheck {
                location: row.get(0)?,
                checked_at: row.get(1)?,
                valid: row.get(2)?,
                report: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
