//! What the rules concluded: findings, numbered in the order they were recorded, each in a
//! [`FindingStatus`] that triage moves it through.

use rusqlite::{OptionalExtension, params};
use trailhound_event::{Finding, Level};

use crate::{Catalog, LakeError};

/// Where a finding stands in triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    /// Nobody has looked at it yet.
    Open,
    /// Someone is on it.
    Acknowledged,
    /// Dealt with.
    Resolved,
    /// Not worth anyone's time (a known, accepted behaviour).
    Suppressed,
}

impl FindingStatus {
    /// Every status, in the order triage usually moves through them.
    pub const ALL: [FindingStatus; 4] = [
        FindingStatus::Open,
        FindingStatus::Acknowledged,
        FindingStatus::Resolved,
        FindingStatus::Suppressed,
    ];

    /// The name the catalog stores and the API shows.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Acknowledged => "acknowledged",
            FindingStatus::Resolved => "resolved",
            FindingStatus::Suppressed => "suppressed",
        }
    }

    /// The status a name stands for.
    pub fn parse(text: &str) -> Option<FindingStatus> {
        FindingStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The names of every status, for messages: `open, acknowledged, resolved, suppressed`.
    pub fn names() -> String {
        FindingStatus::ALL.map(FindingStatus::as_str).join(", ")
    }
}

impl std::fmt::Display for FindingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl rusqlite::types::FromSql for FindingStatus {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        FindingStatus::parse(text).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown finding status {text:?}").into())
        })
    }
}

/// Which findings to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingQuery {
    /// Only in this state.
    pub status: Option<FindingStatus>,
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

/// A finding as the catalog holds it: what the rule concluded, and its triage state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFinding {
    /// Its row id: findings are numbered in the order they were recorded.
    pub id: i64,
    /// The finding.
    pub finding: Finding,
    /// Where it stands in triage.
    pub status: FindingStatus,
    /// When it was recorded (RFC 3339).
    pub found_at: String,
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

pub(crate) fn insert_findings(
    transaction: &rusqlite::Transaction<'_>,
    findings: &[Finding],
    now: &str,
) -> Result<u64, LakeError> {
    let mut inserted = 0;
    // A correlation's burst is handed out again as it grows: the same rule, first event and
    // first time are the same finding, updated in place (the alert already routed for it is
    // not repeated).
    // Reading the same events again (`ingest --force`) hands out the burst's smaller stages
    // once more: a stage no larger than what is recorded is already there, and is not added
    // as a second finding (whose growing would then collide with the first).
    let mut recorded = transaction.prepare(
        "SELECT count(*) > 0 FROM findings
         WHERE rule_id = ?1 AND first_event_id = ?2 AND first_time IS ?3 AND event_count >= ?4",
    )?;
    let mut grow = transaction.prepare(
        "UPDATE OR IGNORE findings SET time = ?4, event_count = ?5, event_ids = ?6, event_source = ?7,
             event_name = ?8, principal = ?9, account = ?10, region = ?11, source_ip = ?12,
             summary = ?13
         WHERE rule_id = ?1 AND first_event_id = ?2 AND first_time IS ?3 AND event_count < ?5",
    )?;
    let mut insert = transaction.prepare(
        "INSERT OR IGNORE INTO findings (rule_id, rule_title, level, tags, time, first_time, event_count, event_ids,
            first_event_id, event_source, event_name, principal, account, region, source_ip, summary, status, found_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?;
    for finding in findings {
        let ids = sonic_rs::to_string(&finding.event_ids).unwrap_or_else(|_| "[]".to_owned());
        let first_event_id = finding.event_ids.first().map_or("", String::as_str);
        if finding.event_count > 1 {
            let grown = grow.execute(params![
                finding.rule_id,
                first_event_id,
                finding.first_time,
                finding.time,
                finding.event_count as i64,
                ids,
                finding.event_source,
                finding.event_name,
                finding.principal,
                finding.account,
                finding.region,
                finding.source_ip,
                finding.summary
            ])?;
            if grown > 0 {
                continue;
            }
            let known: bool = recorded.query_row(
                params![
                    finding.rule_id,
                    first_event_id,
                    finding.first_time,
                    finding.event_count as i64
                ],
                |row| row.get(0),
            )?;
            if known {
                continue;
            }
        }
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
            FindingStatus::Open.as_str(),
            now
        ])? as u64;
    }
    Ok(inserted)
}

impl Catalog {
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
            bind("status = ?", status.as_str(), &mut terms);
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
    pub fn finding_counts(&self) -> Result<Vec<(Level, FindingStatus, u64)>, LakeError> {
        let mut statement = self.connection.prepare(
            "SELECT level, status, count(*) FROM findings GROUP BY level, status ORDER BY level, status",
        )?;
        let rows = statement.query_map([], |row| {
            let level: String = row.get(0)?;
            Ok((
                Level::parse(&level).unwrap_or(Level::Medium),
                row.get(1)?,
                row.get::<_, i64>(2)?.max(0) as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn levels_at_or_above(level: Level) -> Vec<&'static str> {
    Level::ALL
        .into_iter()
        .filter(|l| *l >= level)
        .map(Level::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use trailhound_event::{Finding, Level};

    use crate::{Catalog, LakeError};

    fn burst(count: u64, last: &str) -> Finding {
        Finding {
            rule_id: "many-secrets".to_owned(),
            rule_title: "Many secrets read by one principal".to_owned(),
            level: Level::High,
            tags: Vec::new(),
            time: Some(last.to_owned()),
            first_time: Some("2024-07-01T10:00:00Z".to_owned()),
            event_count: count,
            event_ids: (0..count.min(100)).map(|n| format!("e{n}")).collect(),
            event_source: Some("secretsmanager.amazonaws.com".to_owned()),
            event_name: Some("GetSecretValue".to_owned()),
            principal: Some("arn:aws:iam::1:user/x".to_owned()),
            account: Some("1".to_owned()),
            region: Some("us-east-1".to_owned()),
            source_ip: None,
            summary: format!("{count} matching events"),
        }
    }

    #[test]
    fn a_growing_burst_is_one_finding_updated_in_place() -> Result<(), LakeError> {
        let dir = tempfile::tempdir().map_err(|e| LakeError::Config(e.to_string()))?;
        let mut catalog = Catalog::open(&dir.path().join("catalog.sqlite"))?;
        assert_eq!(
            catalog.add_findings(&[burst(10, "2024-07-01T10:00:12Z")])?,
            1
        );
        // Handed out again, grown, in a later batch; and once more as it was.
        assert_eq!(
            catalog.add_findings(&[burst(40, "2024-07-01T10:00:48Z")])?,
            0
        );
        assert_eq!(
            catalog.add_findings(&[burst(40, "2024-07-01T10:00:48Z")])?,
            0
        );
        let last = catalog.last_finding_id()?;
        let stored = catalog
            .finding(last)?
            .ok_or(LakeError::Config("no finding".into()))?;
        assert_eq!(last, 1, "one row");
        assert_eq!(stored.finding.event_count, 40);
        assert_eq!(stored.finding.time.as_deref(), Some("2024-07-01T10:00:48Z"));
        // The same events read again (`ingest --force`): the burst's stages come back smallest
        // first, and stay the one finding.
        catalog.add_findings(&[burst(10, "2024-07-01T10:00:12Z")])?;
        catalog.add_findings(&[burst(40, "2024-07-01T10:00:48Z")])?;
        assert_eq!(catalog.last_finding_id()?, 1, "still one row");
        Ok(())
    }
}
