//! The alert outbox: every alert is written here before it is sent, and marked sent only once
//! its sink has taken it. A sink that is down keeps its alerts waiting, retried with backoff;
//! a restart resumes from what is recorded. What an alert says and where it goes is the
//! alerting crate's business; the catalog only keeps it durably and in order.

use rusqlite::{OptionalExtension, params};

use crate::{Catalog, LakeError};

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Waiting for its sink.
    Pending,
    /// Its sink took it.
    Sent,
    /// Throttled or a repeat: recorded, never to be sent.
    Suppressed,
    /// Its sink refused it for good, or kept failing past the give-up time: set aside so
    /// that later alerts go on (`trailhound alert retry ID` sends it again).
    Dead,
}

impl AlertState {
    /// The name the catalog stores.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Sent => "sent",
            AlertState::Suppressed => "suppressed",
            AlertState::Dead => "dead",
        }
    }
}

impl std::fmt::Display for AlertState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl rusqlite::types::FromSql for AlertState {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        match value.as_str()? {
            "pending" => Ok(AlertState::Pending),
            "sent" => Ok(AlertState::Sent),
            "suppressed" => Ok(AlertState::Suppressed),
            "dead" => Ok(AlertState::Dead),
            other => Err(rusqlite::types::FromSqlError::Other(
                format!("unknown alert state {other:?}").into(),
            )),
        }
    }
}

/// An alert to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    /// The sink's name.
    pub sink: String,
    /// What throttling compares: one key per finding, joined by newlines.
    pub dedup_key: String,
    /// The findings behind it.
    pub finding_ids: Vec<i64>,
    /// The alert itself.
    pub payload: String,
    /// Recorded but not to be sent (throttled or a duplicate), kept for the record.
    pub suppressed: bool,
}

/// An alert as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Its number: alerts of a sink are sent in this order.
    pub id: i64,
    /// The sink's name.
    pub sink: String,
    /// What throttling compares.
    pub dedup_key: String,
    /// The findings behind it.
    pub finding_ids: Vec<i64>,
    /// The alert itself.
    pub payload: String,
    /// Where it stands.
    pub state: AlertState,
    /// Failed attempts so far.
    pub attempts: i64,
    /// Not before this time (µs since the epoch).
    pub next_attempt_us: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was recorded (µs since the epoch).
    pub created_us: i64,
    /// When its sink took it (µs since the epoch).
    pub sent_us: Option<i64>,
}

/// Counts by state, for `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Waiting to be sent.
    pub pending: u64,
    /// Taken by their sink.
    pub sent: u64,
    /// Throttled or duplicates, never sent.
    pub suppressed: u64,
    /// Waiting ones whose last attempt failed.
    pub failing: u64,
    /// Dead letters: refused for good or given up on.
    pub dead: u64,
}

const ENTRY_COLUMNS: &str = "SELECT id, sink, dedup_key, finding_ids, payload, state, attempts,
        next_attempt_us, last_error, created_us, sent_us FROM outbox";

impl Catalog {
    /// A named position, if it was ever set.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn cursor(&self, name: &str) -> Result<Option<i64>, LakeError> {
        Ok(self
            .connection
            .query_row(
                "SELECT value FROM cursors WHERE name = ?1",
                params![name],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Sets a named position.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn set_cursor(&self, name: &str, value: i64) -> Result<(), LakeError> {
        self.connection.execute(
            "INSERT INTO cursors (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![name, value],
        )?;
        Ok(())
    }

    /// Records `alerts` and moves the cursor `cursor` to `position`, in one transaction: each
    /// finding is routed exactly once, however the process stops.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written; then nothing is recorded.
    pub fn enqueue_alerts(
        &mut self,
        alerts: &[NewAlert],
        cursor: &str,
        position: i64,
        now_us: i64,
    ) -> Result<(), LakeError> {
        let transaction = self.connection.transaction()?;
        {
            let mut insert = transaction.prepare(
                "INSERT INTO outbox (sink, dedup_key, finding_ids, payload, state, next_attempt_us, created_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            )?;
            for alert in alerts {
                let ids = sonic_rs::to_string(&alert.finding_ids)
                    .map_err(|err| LakeError::Config(err.to_string()))?;
                let state = if alert.suppressed {
                    AlertState::Suppressed
                } else {
                    AlertState::Pending
                };
                insert.execute(params![
                    alert.sink,
                    alert.dedup_key,
                    ids,
                    alert.payload,
                    state.as_str(),
                    now_us
                ])?;
            }
            transaction.execute(
                "INSERT INTO cursors (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![cursor, position],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Alerts recorded for `sink` since `since_us` that were to be sent (sent or waiting),
    /// those carrying `dedup_key` among their keys when it is given: what throttling counts.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn recent_alerts(
        &self,
        sink: &str,
        dedup_key: Option<&str>,
        since_us: i64,
    ) -> Result<u64, LakeError> {
        let count: i64 = match dedup_key {
            Some(key) => self.connection.query_row(
                "SELECT count(*) FROM outbox WHERE sink = ?1 AND created_us >= ?3 AND state != 'suppressed'
                   AND instr(char(10) || dedup_key || char(10), char(10) || ?2 || char(10)) > 0",
                params![sink, key, since_us],
                |row| row.get(0),
            )?,
            None => self.connection.query_row(
                "SELECT count(*) FROM outbox WHERE sink = ?1 AND created_us >= ?2 AND state != 'suppressed'",
                params![sink, since_us],
                |row| row.get(0),
            )?,
        };
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Alerts waiting to be sent, oldest first.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn pending_alerts(&self) -> Result<Vec<OutboxEntry>, LakeError> {
        let mut statement = self.connection.prepare(&format!(
            "{ENTRY_COLUMNS} WHERE state = 'pending' ORDER BY id"
        ))?;
        let rows = statement.query_map([], entry_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every alert recorded, newest first, at most `limit`.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn alerts(&self, limit: usize) -> Result<Vec<OutboxEntry>, LakeError> {
        let mut statement = self
            .connection
            .prepare(&format!("{ENTRY_COLUMNS} ORDER BY id DESC LIMIT ?1"))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map(params![limit], entry_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks an alert taken by its sink.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn mark_alert_sent(&mut self, id: i64, now_us: i64) -> Result<(), LakeError> {
        self.connection.execute(
            "UPDATE outbox SET state = 'sent', sent_us = ?2, last_error = NULL WHERE id = ?1",
            params![id, now_us],
        )?;
        Ok(())
    }

    /// Records a failed attempt; the alert waits until `next_attempt_us`.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn mark_alert_failed(
        &mut self,
        id: i64,
        error: &str,
        next_attempt_us: i64,
    ) -> Result<(), LakeError> {
        self.connection.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_us = ?3 WHERE id = ?1",
            params![id, error, next_attempt_us],
        )?;
        Ok(())
    }

    /// Sets an alert aside as a dead letter, with the reason.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn mark_alert_dead(&mut self, id: i64, error: &str) -> Result<(), LakeError> {
        self.connection.execute(
            "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
            params![id, error],
        )?;
        Ok(())
    }

    /// Puts a dead letter back in its sink's queue, to be sent at the next delivery;
    /// `false` when no dead letter has that number.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn retry_alert(&mut self, id: i64, now_us: i64) -> Result<bool, LakeError> {
        let changed = self.connection.execute(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_us = ?2, created_us = ?2
             WHERE id = ?1 AND state = 'dead'",
            params![id, now_us],
        )?;
        Ok(changed == 1)
    }

    /// Counts by state.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn outbox_counts(&self) -> Result<OutboxCounts, LakeError> {
        Ok(self.connection.query_row(
            "SELECT
               coalesce(sum(state = 'pending'), 0), coalesce(sum(state = 'sent'), 0),
               coalesce(sum(state = 'suppressed'), 0),
               coalesce(sum(state = 'pending' AND last_error IS NOT NULL), 0),
               coalesce(sum(state = 'dead'), 0)
             FROM outbox",
            [],
            |row| {
                let count = |i: usize| row.get::<_, i64>(i).map(|n| u64::try_from(n).unwrap_or(0));
                Ok(OutboxCounts {
                    pending: count(0)?,
                    sent: count(1)?,
                    suppressed: count(2)?,
                    failing: count(3)?,
                    dead: count(4)?,
                })
            },
        )?)
    }
}

fn entry_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let ids: String = row.get(3)?;
    Ok(OutboxEntry {
        id: row.get(0)?,
        sink: row.get(1)?,
        dedup_key: row.get(2)?,
        finding_ids: sonic_rs::from_str(&ids).unwrap_or_default(),
        payload: row.get(4)?,
        state: row.get(5)?,
        attempts: row.get(6)?,
        next_attempt_us: row.get(7)?,
        last_error: row.get(8)?,
        created_us: row.get(9)?,
        sent_us: row.get(10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(sink: &str, key: &str, ids: &[i64], suppressed: bool) -> NewAlert {
        NewAlert {
            sink: sink.to_owned(),
            dedup_key: key.to_owned(),
            finding_ids: ids.to_vec(),
            payload: format!("{{\"key\":\"{key}\"}}"),
            suppressed,
        }
    }

    #[test]
    fn alerts_wait_until_sent_and_the_cursor_moves_with_them()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("catalog.sqlite");
        let mut catalog = Catalog::open(&path)?;
        assert_eq!(catalog.cursor("findings")?, None);
        catalog.enqueue_alerts(
            &[
                alert("hook", "r1|alice", &[1, 2], false),
                alert("hook", "r1|alice", &[3], true),
                alert("mail", "r2|bob\nr3|bob", &[4], false),
            ],
            "findings",
            4,
            1_000,
        )?;
        assert_eq!(catalog.cursor("findings")?, Some(4));
        let pending = catalog.pending_alerts()?;
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[0].finding_ids, vec![1, 2]);
        assert_eq!(catalog.recent_alerts("hook", Some("r1|alice"), 0)?, 1);
        assert_eq!(catalog.recent_alerts("hook", None, 2_000)?, 0);
        assert_eq!(catalog.recent_alerts("mail", Some("r3|bob"), 0)?, 1);
        assert_eq!(catalog.recent_alerts("mail", Some("r3|bo"), 0)?, 0);

        catalog.mark_alert_failed(pending[0].id, "connection refused", 5_000)?;
        let counts = catalog.outbox_counts()?;
        assert_eq!(
            (counts.pending, counts.failing, counts.suppressed),
            (2, 1, 1)
        );
        catalog.mark_alert_sent(pending[0].id, 6_000)?;
        drop(catalog);
        // What was recorded survives a restart.
        let catalog = Catalog::open(&path)?;
        let left = catalog.pending_alerts()?;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].sink, "mail");
        let all = catalog.alerts(10)?;
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].state, AlertState::Sent);
        assert_eq!(all[2].attempts, 1);
        Ok(())
    }
}
