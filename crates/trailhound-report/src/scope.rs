//! What a report covers: a period and, optionally, some accounts; written into each figure's
//! SQL as conditions an auditor can read and re-run.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use trailhound_query::sql_string;

/// The period `[since, until)` and the accounts (all when empty) a report covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// Start of the period, included.
    pub since: DateTime<Utc>,
    /// End of the period, excluded.
    pub until: DateTime<Utc>,
    /// The accounts reported on; all the lake has when empty.
    pub accounts: Vec<String>,
}

impl Scope {
    /// `time` as an SQL timestamp literal.
    pub(crate) fn timestamp(time: DateTime<Utc>) -> String {
        format!(
            "TIMESTAMP '{}'",
            time.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }

    /// The SQL condition on a table whose time is `time` and account `account`.
    pub(crate) fn condition(&self, time: &str, account: &str) -> String {
        let mut sql = format!(
            "{time} >= {} AND {time} < {}",
            Scope::timestamp(self.since),
            Scope::timestamp(self.until)
        );
        sql.push_str(&self.account_condition(account));
        sql
    }

    /// ` AND account IN (…)` when the report is on some accounts, else nothing.
    pub(crate) fn account_condition(&self, account: &str) -> String {
        if self.accounts.is_empty() {
            return String::new();
        }
        let list: Vec<String> = self.accounts.iter().map(|a| sql_string(a)).collect();
        format!(" AND {account} IN ({})", list.join(", "))
    }

    /// The condition on `events`.
    pub(crate) fn events(&self) -> String {
        self.condition("eventTime", "recipientAccountId")
    }

    /// Whole days, for the title: `2024-07-01 – 2024-07-31`.
    pub fn describe(&self) -> String {
        let last = self.until - chrono::Duration::seconds(1);
        format!(
            "{} – {}",
            self.since.format("%Y-%m-%d %H:%M UTC"),
            last.format("%Y-%m-%d %H:%M UTC")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_condition_reads_as_sql() -> Result<(), chrono::ParseError> {
        let scope = Scope {
            since: DateTime::parse_from_rfc3339("2024-07-01T00:00:00Z")?.to_utc(),
            until: DateTime::parse_from_rfc3339("2024-07-31T00:00:00Z")?.to_utc(),
            accounts: vec!["111122223333".into(), "o'brien".into()],
        };
        assert_eq!(
            scope.events(),
            "eventTime >= TIMESTAMP '2024-07-01T00:00:00Z' AND eventTime < TIMESTAMP \
             '2024-07-31T00:00:00Z' AND recipientAccountId IN ('111122223333', 'o''brien')"
        );
        Ok(())
    }
}
