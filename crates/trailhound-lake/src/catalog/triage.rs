//! What people conclude about findings (acknowledged, resolved, suppressed, with a note). An
//! annotation beside the lake, not lake content, so it is written through any catalog handle:
//! a dashboard triages while `watch` ingests.

use rusqlite::params;

use super::findings::FindingStatus;
use crate::{Catalog, LakeError};

/// One change of a finding's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriageEntry {
    /// The new state.
    pub status: FindingStatus,
    /// Why.
    pub note: Option<String>,
    /// Who (a token's name).
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

impl Catalog {
    /// Moves finding `id` to `status` with a `note`, recording who did it and when.
    /// Returns `false` when there is no such finding.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn triage_finding(
        &self,
        id: i64,
        status: FindingStatus,
        note: Option<&str>,
        by: &str,
    ) -> Result<bool, LakeError> {
        let now = chrono::Utc::now().to_rfc3339();
        // A read handle's connection is shared, not exclusive: the transaction is still one
        // atomic change, SQLite serialises it with any other writer.
        let transaction = self.connection.unchecked_transaction()?;
        let changed = transaction.execute(
            "UPDATE findings SET status = ?2 WHERE id = ?1",
            params![id, status.as_str()],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        transaction.execute(
            "INSERT INTO finding_triage (finding_id, status, note, by_whom, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, status.as_str(), note, by, now],
        )?;
        transaction.commit()?;
        Ok(true)
    }

    /// The triage history of finding `id`, oldest first.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn triage_history(&self, id: i64) -> Result<Vec<TriageEntry>, LakeError> {
        let mut statement = self.connection.prepare(
            "SELECT status, note, by_whom, at FROM finding_triage WHERE finding_id = ?1 ORDER BY id",
        )?;
        let rows = statement.query_map([id], |row| {
            Ok(TriageEntry {
                status: row.get(0)?,
                note: row.get(1)?,
                by: row.get(2)?,
                at: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Each triaged finding's newest triage entry, by finding id.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn latest_triage(&self) -> Result<std::collections::HashMap<i64, TriageEntry>, LakeError> {
        let mut statement = self.connection.prepare(
            "SELECT finding_id, status, note, by_whom, at FROM finding_triage
             WHERE id IN (SELECT max(id) FROM finding_triage GROUP BY finding_id)",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get(0)?,
                TriageEntry {
                    status: row.get(1)?,
                    note: row.get(2)?,
                    by: row.get(3)?,
                    at: row.get(4)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
