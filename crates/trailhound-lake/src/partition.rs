//! Which `account=/region=/date=` folder an event belongs in.

use std::fmt;

use chrono::NaiveDate;
use trailhound_event::CloudTrailEvent;

/// A Hive partition of the lake. Values are path-safe: anything but letters, digits, `-`,
/// `_` and `.` becomes `_`, and a missing value is `unknown`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey {
    /// `recipientAccountId`, else `userIdentity.accountId`.
    pub account: String,
    /// `awsRegion`.
    pub region: String,
    /// UTC date of `eventTime`, `YYYY-MM-DD`.
    pub date: String,
}

impl PartitionKey {
    /// The partition of an event.
    pub fn of(event: &CloudTrailEvent<'_>) -> PartitionKey {
        PartitionKey::of_parts(
            event.account_id(),
            event.aws_region(),
            event.event_time().map(|t| t.date_naive()),
        )
    }

    /// The partition of an event with this account, region and UTC day of `eventTime`.
    pub fn of_parts(account: Option<&str>, region: Option<&str>, day: Option<NaiveDate>) -> Self {
        PartitionKey {
            account: PartitionKey::folder_value(account),
            region: PartitionKey::folder_value(region),
            date: day.map_or_else(|| UNKNOWN.to_owned(), |d| d.format("%Y-%m-%d").to_string()),
        }
    }

    /// How an account or region is written in a folder's name: made path-safe, or `unknown`
    /// when missing or empty. An event whose `awsRegion` is `value` lies under
    /// `region=<folder_value(value)>`, and likewise for `recipientAccountId` and `account=`,
    /// which lets a query's filter on those columns skip the other folders.
    pub fn folder_value(value: Option<&str>) -> String {
        match value {
            Some(text) if !text.is_empty() => text
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect(),
            _ => UNKNOWN.to_owned(),
        }
    }

    /// The folder, relative to the table root: `account=…/region=…/date=…`.
    pub fn relative_dir(&self) -> String {
        format!(
            "account={}/region={}/date={}",
            self.account, self.region, self.date
        )
    }
}

impl fmt::Display for PartitionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.relative_dir())
    }
}

const UNKNOWN: &str = "unknown";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_path_safe_and_total() -> Result<(), trailhound_event::EventError> {
        let event = CloudTrailEvent::parse(
            r#"{"recipientAccountId":"111122223333","awsRegion":"eu-west-1","eventTime":"2024-07-31T23:59:59Z"}"#,
        )?;
        assert_eq!(
            PartitionKey::of(&event).relative_dir(),
            "account=111122223333/region=eu-west-1/date=2024-07-31"
        );
        let odd = CloudTrailEvent::parse(
            r#"{"userIdentity":{"accountId":"../x y"},"eventTime":"eventTime"}"#,
        )?;
        assert_eq!(
            PartitionKey::of(&odd).relative_dir(),
            "account=.._x_y/region=unknown/date=unknown"
        );
        Ok(())
    }
}
