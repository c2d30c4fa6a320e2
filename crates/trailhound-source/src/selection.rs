use chrono::{DateTime, Duration, Utc};
use trailhound_event::CloudTrailEvent;

use crate::LogKey;

/// Which events a read keeps: a time range and account and region lists.
///
/// It is applied twice. First to keys, before anything is opened, so that months of logs
/// outside the range are never downloaded or inflated ([`Selection::admits_key`]); then exactly
/// to each event ([`Selection::admits_event`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Keep events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Keep events before this time.
    pub until: Option<DateTime<Utc>>,
    /// Keep only these accounts (`recipientAccountId`); empty keeps all.
    pub accounts: Vec<String>,
    /// Keep only these regions (`awsRegion`); empty keeps all.
    pub regions: Vec<String>,
}

impl Selection {
    /// Whether `value` is one of `list`; an empty list admits anything.
    pub fn lists(list: &[String], value: Option<&str>) -> bool {
        list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x == v))
    }

    /// How late CloudTrail may deliver an event after it happened, for key pruning. AWS states
    /// an average of about five minutes; an hour leaves a wide margin. An event delivered even
    /// later than this in a file past `until` is the one thing pruning can miss.
    pub const DELIVERY_MARGIN: Duration = Duration::hours(1);

    /// Whether this selection filters events at all.
    pub fn is_everything(&self) -> bool {
        *self == Selection::default()
    }

    /// Whether an object or folder with this key may hold selected events.
    pub fn admits_key(&self, key: &LogKey) -> bool {
        let listed = |wanted: &[String], value: &Option<String>| match value {
            Some(value) if !wanted.is_empty() => wanted.contains(value),
            _ => true,
        };
        if !listed(&self.accounts, &key.account) || !listed(&self.regions, &key.region) {
            return false;
        }
        if let Some((start, end)) = key.delivery_window() {
            // Events precede their delivery, so a window ending by `since` holds only older events.
            if self.since.is_some_and(|since| end <= since) {
                return false;
            }
            // Events reach back at most DELIVERY_MARGIN before delivery.
            if self
                .until
                .is_some_and(|until| start - Self::DELIVERY_MARGIN >= until)
            {
                return false;
            }
        }
        true
    }

    /// Whether an event is selected. An event without a readable `eventTime` is not selected
    /// when a time bound is set, since it cannot be shown to be inside it.
    pub fn admits_event(&self, event: &CloudTrailEvent<'_>) -> bool {
        if self.since.is_some() || self.until.is_some() {
            let Some(time) = event.event_time() else {
                return false;
            };
            if self.since.is_some_and(|since| time < since)
                || self.until.is_some_and(|until| time >= until)
            {
                return false;
            }
        }
        Selection::lists(&self.accounts, event.account_id())
            && Selection::lists(&self.regions, event.aws_region())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc())
    }

    #[test]
    fn prunes_days_and_files_outside_the_range_with_a_margin() {
        let selection = Selection {
            since: utc("2024-07-31T00:00:00Z"),
            until: utc("2024-08-01T00:00:00Z"),
            ..Selection::default()
        };
        let day =
            |d: &str| LogKey::parse(&format!("AWSLogs/111122223333/CloudTrail/us-east-1/{d}"));
        assert!(!selection.admits_key(&day("2024/07/30")));
        assert!(selection.admits_key(&day("2024/07/31")));
        // The first hour of the next day may still carry late events of the 31st.
        assert!(selection.admits_key(&day("2024/08/01")));
        assert!(!selection.admits_key(&day("2024/08/02")));
        assert!(selection.admits_key(&day("2024")));
        assert!(!selection.admits_key(&day("2023")));
        let file = |stamp: &str| {
            LogKey::parse(&format!(
                "111122223333_CloudTrail_us-east-1_{stamp}_x.json.gz"
            ))
        };
        assert!(selection.admits_key(&file("20240801T0055Z")));
        assert!(!selection.admits_key(&file("20240801T0105Z")));
        assert!(!selection.admits_key(&file("20240730T2359Z")));
    }

    #[test]
    fn prunes_accounts_and_regions_only_when_the_key_names_them() {
        let selection = Selection {
            accounts: vec!["111122223333".into()],
            regions: vec!["eu-west-1".into()],
            ..Selection::default()
        };
        assert!(!selection.admits_key(&LogKey::parse("AWSLogs/444455556666/CloudTrail")));
        assert!(!selection.admits_key(&LogKey::parse("AWSLogs/111122223333/CloudTrail/us-east-1")));
        assert!(selection.admits_key(&LogKey::parse("AWSLogs/111122223333/CloudTrail/eu-west-1")));
        assert!(selection.admits_key(&LogKey::parse("exports/events.json")));
    }

    #[test]
    fn filters_events_exactly() -> Result<(), trailhound_event::EventError> {
        let selection = Selection {
            since: utc("2024-07-31T13:00:00Z"),
            until: utc("2024-07-31T14:00:00Z"),
            accounts: vec!["111122223333".into()],
            regions: vec![],
        };
        let event = |time: &str, account: &str| {
            format!(
                r#"{{"eventTime":"{time}","recipientAccountId":"{account}","awsRegion":"us-east-1"}}"#
            )
        };
        let inside = event("2024-07-31T13:59:59Z", "111122223333");
        assert!(selection.admits_event(&CloudTrailEvent::parse(&inside)?));
        let at_until = event("2024-07-31T14:00:00Z", "111122223333");
        assert!(!selection.admits_event(&CloudTrailEvent::parse(&at_until)?));
        let other_account = event("2024-07-31T13:30:00Z", "444455556666");
        assert!(!selection.admits_event(&CloudTrailEvent::parse(&other_account)?));
        assert!(!selection.admits_event(&CloudTrailEvent::parse(r#"{"eventTime":"eventTime"}"#)?));
        Ok(())
    }
}
