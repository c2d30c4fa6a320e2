//! The verdicts of each `trailhound posture` run, and which checks started failing with it
//! (what `watch --posture-every` alerts on).

use rusqlite::{OptionalExtension, params};

use crate::{Catalog, LakeError};

/// One check's verdict on one resource, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PostureCheck {
    /// The check's ID (`TH-CT-01`).
    pub check_id: String,
    /// The resource.
    pub resource: String,
    /// `pass`, `fail`, `unknown` or `not-applicable`.
    pub verdict: String,
    /// The check's severity.
    pub severity: String,
    /// What the check asks for.
    pub title: String,
    /// The CIS controls it evidences, comma-separated.
    pub cis: String,
    /// What was found.
    pub found: String,
    /// The fix, for a failure.
    pub fix: Option<String>,
}

/// One recorded run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PostureRun {
    /// Its number.
    pub id: i64,
    /// When it ran (RFC 3339).
    pub checked_at: String,
    /// `live` (the AWS APIs) or `lake` (reconstructed from the events).
    pub origin: String,
    /// The account checked.
    pub account: Option<String>,
    /// Its verdicts.
    pub checks: Vec<PostureCheck>,
}

const FAIL: &str = "fail";

impl Catalog {
    /// Records a run and returns the checks that fail in it but did not in the previous
    /// run of the same origin and account (all failures, for the first run).
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn record_posture(
        &mut self,
        checked_at: &str,
        origin: &str,
        account: Option<&str>,
        checks: &[PostureCheck],
    ) -> Result<Vec<PostureCheck>, LakeError> {
        let transaction = self.connection.transaction()?;
        let previous: Option<i64> = transaction
            .query_row(
                "SELECT id FROM posture_runs WHERE origin = ?1 AND account IS ?2 ORDER BY id DESC LIMIT 1",
                params![origin, account],
                |row| row.get(0),
            )
            .optional()?;
        let mut failing_before = std::collections::HashSet::new();
        if let Some(previous) = previous {
            let mut statement = transaction.prepare(
                "SELECT check_id, resource FROM posture_checks WHERE run_id = ?1 AND verdict = ?2",
            )?;
            let rows = statement.query_map(params![previous, FAIL], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?;
            for row in rows {
                failing_before.insert(row?);
            }
        }
        transaction.execute(
            "INSERT INTO posture_runs (checked_at, origin, account) VALUES (?1, ?2, ?3)",
            params![checked_at, origin, account],
        )?;
        let run = transaction.last_insert_rowid();
        {
            let mut insert = transaction.prepare(
                "INSERT OR REPLACE INTO posture_checks (run_id, check_id, resource, verdict, severity, title, cis, found, fix)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for c in checks {
                insert.execute(params![
                    run, c.check_id, c.resource, c.verdict, c.severity, c.title, c.cis, c.found,
                    c.fix
                ])?;
            }
        }
        transaction.commit()?;
        Ok(checks
            .iter()
            .filter(|c| {
                c.verdict == FAIL
                    && !failing_before.contains(&(c.check_id.clone(), c.resource.clone()))
            })
            .cloned()
            .collect())
    }

    /// When the newest run of `origin` was made.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn posture_checked_at(&self, origin: &str) -> Result<Option<String>, LakeError> {
        Ok(self
            .connection
            .query_row(
                "SELECT checked_at FROM posture_runs WHERE origin = ?1 ORDER BY id DESC LIMIT 1",
                [origin],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// The newest run (of any origin), with its verdicts.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn latest_posture(&self) -> Result<Option<PostureRun>, LakeError> {
        let run = self
            .connection
            .query_row(
                "SELECT id, checked_at, origin, account FROM posture_runs ORDER BY id DESC LIMIT 1",
                [],
                |row| {
                    Ok(PostureRun {
                        id: row.get(0)?,
                        checked_at: row.get(1)?,
                        origin: row.get(2)?,
                        account: row.get(3)?,
                        checks: Vec::new(),
                    })
                },
            )
            .optional()?;
        let Some(mut run) = run else {
            return Ok(None);
        };
        let mut statement = self.connection.prepare(
            "SELECT check_id, resource, verdict, severity, title, cis, found, fix
             FROM posture_checks WHERE run_id = ?1 ORDER BY rowid",
        )?;
        let rows = statement.query_map([run.id], |row| {
            Ok(PostureCheck {
                check_id: row.get(0)?,
                resource: row.get(1)?,
                verdict: row.get(2)?,
                severity: row.get(3)?,
                title: row.get(4)?,
                cis: row.get(5)?,
                found: row.get(6)?,
                fix: row.get(7)?,
            })
        })?;
        run.checks = rows.collect::<Result<_, _>>()?;
        Ok(Some(run))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, verdict: &str) -> PostureCheck {
        PostureCheck {
            check_id: id.to_owned(),
            resource: "arn:aws:cloudtrail:us-east-1:1:trail/t".to_owned(),
            verdict: verdict.to_owned(),
            severity: "high".to_owned(),
            title: "t".to_owned(),
            cis: String::new(),
            found: String::new(),
            fix: None,
        }
    }

    #[test]
    fn only_checks_that_start_failing_are_new() -> Result<(), LakeError> {
        let dir = tempfile::tempdir().map_err(|e| LakeError::Config(e.to_string()))?;
        let mut catalog = Catalog::open(&dir.path().join("catalog.sqlite"))?;
        let first = catalog.record_posture(
            "2024-07-01T00:00:00Z",
            "live",
            Some("1"),
            &[check("A", "fail"), check("B", "pass")],
        )?;
        assert_eq!(first.len(), 1);
        let second = catalog.record_posture(
            "2024-07-01T01:00:00Z",
            "live",
            Some("1"),
            &[check("A", "fail"), check("B", "fail")],
        )?;
        assert_eq!(
            second
                .iter()
                .map(|c| c.check_id.as_str())
                .collect::<Vec<_>>(),
            ["B"]
        );
        // Another origin is compared with its own previous run.
        let lake = catalog.record_posture(
            "2024-07-01T02:00:00Z",
            "lake",
            Some("1"),
            &[check("A", "fail")],
        )?;
        assert_eq!(lake.len(), 1);
        let latest = catalog
            .latest_posture()?
            .ok_or(LakeError::Config("no run".to_owned()))?;
        assert_eq!((latest.origin.as_str(), latest.checks.len()), ("lake", 1));
        Ok(())
    }
}
