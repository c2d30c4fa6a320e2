//! What people conclude about findings (acknowledged, resolved, suppressed, with a note), and
//! the record of integrity checks. Both are annotations beside the lake, not lake content, so
//! they are written through any catalog handle: a dashboard triages while `watch` ingests.

use rusqlite::{OptionalExtension, params};
use trailhound_detect::Level;

use crate::LakeError;
use crate::catalog::{Catalog, FINDING_COLUMNS, StoredFinding, finding_row};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS finding_triage (
    id          INTEGER PRIMARY KEY,
    finding_id  INTEGER NOT NULL,
    status      TEXT NOT NULL,
    note        TEXT,
    by_whom     TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS finding_triage_finding ON finding_triage (finding_id);
CREATE TABLE IF NOT EXISTS integrity_checks (
    id          INTEGER PRIMARY KEY,
    location    TEXT NOT NULL,
    checked_at  TEXT NOT NULL,
    valid       INTEGER NOT NULL,  -- 1 when nothing was invalid
    report      TEXT NOT NULL      -- the validation summary, JSON
);
";

/// The states a finding can be in.
pub const FINDING_STATUSES: [&str; 4] = ["open", "acknowledged", "resolved", "suppressed"];

/// Which findings to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingQuery {
    /// Only in this state.
    pub status: Option<String>,
    /// Only at this level or above.
    pub min_level: Option<Level>,
    /// Only this rule.
    pub rule_id: Option<String>,
    /// Only those whose last event is at or after (RFC 3339).
    pub since: Option<String>,
    /// Only those whose last event is before (RFC 3339).
    pub until: Option<String>,
    /// At most this many, newest first.
    pub limit: usize,
    /// After skipping this many.
    pub offset: usize,
}

/// One change of a finding's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriageEntry {
    /// The new state.
    pub status: String,
    /// Why.
    pub note: Option<String>,
    /// Who (a token's name).
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

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

fn levels_at_or_above(level: Level) -> Vec<&'static str> {
    [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ]
    .into_iter()
    .filter(|l| *l >= level)
    .map(Level::as_str)
    .collect()
}

impl Catalog {
    /// The findings `query` selects, newest first, and how many it selects in all.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn find_findings(
        &self,
        query: &FindingQuery,
    ) -> Result<(u64, Vec<StoredFinding>), LakeError> {
        let mut terms: Vec<String> = Vec::new();
        let mut values: Vec<String> = Vec::new();
        let mut bind = |term: &str, value: &str, terms: &mut Vec<String>| {
            values.push(value.to_owned());
            terms.push(term.replace('?', &format!("?{}", values.len())));
        };
        if let Some(status) = &query.status {
            bind("status = ?", status, &mut terms);
        }
        if let Some(rule) = &query.rule_id {
            bind("rule_id = ?", rule, &mut terms);
        }
        if let Some(since) = &query.since {
            bind("time >= ?", since, &mut terms);
        }
        if let Some(until) = &query.until {
            bind("time < ?", until, &mut terms);
        }
        if let Some(level) = query.min_level {
            let levels: Vec<String> = levels_at_or_above(level)
                .iter()
                .map(|l| format!("'{l}'"))
                .collect();
            terms.push(format!("level IN ({})", levels.join(", ")));
        }
        let condition = if terms.is_empty() {
            "TRUE".to_owned()
        } else {
            terms.join(" AND ")
        };
        let total: i64 = self.connection.query_row(
            &format!("SELECT count(*) FROM findings WHERE {condition}"),
            rusqlite::params_from_iter(values.iter()),
            |row| row.get(0),
        )?;
        let mut statement = self.connection.prepare(&format!(
            "{FINDING_COLUMNS} WHERE {condition} ORDER BY time DESC, id DESC LIMIT {} OFFSET {}",
            query.limit, query.offset
        ))?;
        let rows = statement.query_map(rusqlite::params_from_iter(values.iter()), finding_row)?;
        Ok((total.max(0) as u64, rows.collect::<Result<Vec<_>, _>>()?))
    }

    /// The finding numbered `id`.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn finding(&self, id: i64) -> Result<Option<StoredFinding>, LakeError> {
        Ok(self
            .connection
            .query_row(
                &format!("{FINDING_COLUMNS} WHERE id = ?1"),
                [id],
                finding_row,
            )
            .optional()?)
    }

    /// Findings counted by level and state.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn finding_counts(&self) -> Result<Vec<(String, String, u64)>, LakeError> {
        let mut statement = self.connection.prepare(
            "SELECT level, status, count(*) FROM findings GROUP BY level, status ORDER BY level, status",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get::<_, i64>(2)?.max(0) as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Moves finding `id` to `status` with a `note`, recording who did it and when.
    /// Returns `false` when there is no such finding.
    ///
    /// # Errors
    ///
    /// [`LakeError::Config`] for a state that is not one of [`FINDING_STATUSES`]; otherwise
    /// when the catalog cannot be written.
    pub fn triage_finding(
        &self,
        id: i64,
        status: &str,
        note: Option<&str>,
        by: &str,
    ) -> Result<bool, LakeError> {
        if !FINDING_STATUSES.contains(&status) {
            return Err(LakeError::Config(format!(
                "{status:?} is not a finding state; use one of {}",
                FINDING_STATUSES.join(", ")
            )));
        }
        let now = chrono::Utc::now().to_rfc3339();
        // A read handle's connection is shared, not exclusive: the transaction is still one
        // atomic change, SQLite serialises it with any other writer.
        let transaction = self.connection.unchecked_transaction()?;
        let changed = transaction.execute(
            "UPDATE findings SET status = ?2 WHERE id = ?1",
            params![id, status],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        transaction.execute(
            "INSERT INTO finding_triage (finding_id, status, note, by_whom, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, status, note, by, now],
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
