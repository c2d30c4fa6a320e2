//! The `AWSLogs/` layout CloudTrail writes to S3, parsed from a key or a local path.
//!
//! ```text
//! [prefix/]AWSLogs/[o-orgid/]<account>/CloudTrail|CloudTrail-Digest|CloudTrail-Insight/<region>/YYYY/MM/DD/<file>
//! <account>_CloudTrail_<region>_YYYYMMDDTHHmmZ_<unique>.json.gz
//! <account>_CloudTrail-Digest_<region>_<trail>_<home-region>_YYYYMMDDTHHmmssZ.json.gz
//! <account>_CloudTrail-Insight_<region>_YYYYMMDDTHHmmZ_<unique>.json.gz
//! ```
//!
//! Parsing is partial on purpose: a folder such as `AWSLogs/111122223333/CloudTrail/us-east-1/2024`
//! yields what it names, so that whole subtrees can be pruned before they are listed.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// What a CloudTrail object holds, from its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogKind {
    /// `CloudTrail`: log files of events.
    Events,
    /// `CloudTrail-Digest`: hourly digest files for integrity validation; not events.
    Digest,
    /// `CloudTrail-Insight`: Insights events.
    Insight,
}

impl LogKind {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "CloudTrail" => Some(LogKind::Events),
            "CloudTrail-Digest" => Some(LogKind::Digest),
            "CloudTrail-Insight" => Some(LogKind::Insight),
            _ => None,
        }
    }
}

/// What an object's key or path says about it. Every part is optional: keys outside the
/// `AWSLogs/` layout, or folders part-way down it, name only some.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogKey {
    /// AWS Organizations id of an organization trail (`o-…`).
    pub org_id: Option<String>,
    /// The 12-digit account the logs belong to.
    pub account: Option<String>,
    /// Events, digest or Insights.
    pub kind: Option<LogKind>,
    /// The region folder.
    pub region: Option<String>,
    /// Year, month and day folders, as far as present.
    pub year: Option<i32>,
    /// Month folder (1–12).
    pub month: Option<u32>,
    /// Day folder (1–31).
    pub day: Option<u32>,
    /// Delivery time from the file name (minute precision; seconds for digests).
    pub delivered: Option<DateTime<Utc>>,
    /// Under `AWSLogs/<account>/` but in another service's folder (`Config`,
    /// `elasticloadbalancing`, `vpcflowlogs`, …): not CloudTrail at all.
    pub foreign: bool,
}

impl LogKey {
    /// Parses a key or path (either separator).
    pub fn parse(path: &str) -> LogKey {
        let parts: Vec<&str> = path.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
        let mut key = LogKey::default();
        if let Some(start) = parts.iter().rposition(|p| *p == "AWSLogs") {
            key.parse_layout(&parts[start + 1..]);
        }
        if let Some(file) = parts.last() {
            key.parse_file_name(file);
        }
        key
    }

    /// Walks the folders after `AWSLogs/`, stopping at the first that does not fit.
    fn parse_layout(&mut self, parts: &[&str]) {
        let mut rest = parts;
        if let Some(org) = rest.first().filter(|p| is_org_id(p)) {
            self.org_id = Some((*org).to_owned());
            rest = &rest[1..];
        }
        let Some(account) = rest.first().filter(|p| is_account_id(p)) else {
            return;
        };
        self.account = Some((*account).to_owned());
        let Some(service) = rest.get(1) else { return };
        let Some(kind) = LogKind::parse(service) else {
            self.foreign = true;
            return;
        };
        self.kind = Some(kind);
        let Some(region) = rest.get(2).filter(|p| is_region(p)) else {
            return;
        };
        self.region = Some((*region).to_owned());
        let number = |i: usize, len: usize| {
            rest.get(i)
                .filter(|p| p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u32>().ok())
        };
        let Some(year) = number(3, 4) else { return };
        self.year = i32::try_from(year).ok();
        let Some(month) = number(4, 2).filter(|m| (1..=12).contains(m)) else {
            return;
        };
        self.month = Some(month);
        self.day = number(5, 2).filter(|d| (1..=31).contains(d));
    }

    /// Reads `<account>_<kind>_<region>_…_<timestamp>…` file names.
    fn parse_file_name(&mut self, file: &str) {
        let stem = file.split('.').next().unwrap_or(file);
        let fields: Vec<&str> = stem.split('_').collect();
        if fields.len() < 4 || !is_account_id(fields[0]) {
            return;
        }
        let Some(kind) = LogKind::parse(fields[1]) else {
            return;
        };
        if !is_region(fields[2]) {
            return;
        }
        let stamp = match kind {
            // Digest names end with the timestamp (a `_backfill` suffix may follow it).
            LogKind::Digest => fields
                .iter()
                .rev()
                .find(|f| f.len() >= 14 && f.as_bytes().get(8) == Some(&b'T')),
            LogKind::Events | LogKind::Insight => fields.get(3),
        };
        let Some(delivered) = stamp.and_then(|s| parse_stamp(s)) else {
            return;
        };
        self.account.get_or_insert_with(|| fields[0].to_owned());
        self.kind.get_or_insert(kind);
        self.region.get_or_insert_with(|| fields[2].to_owned());
        self.delivered = Some(delivered);
    }

    /// The span of delivery times this key covers, from its most precise part: the file's
    /// timestamp, else its day, month or year folder.
    pub fn delivery_window(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if let Some(at) = self.delivered {
            return Some((at, at + Duration::minutes(1)));
        }
        let year = self.year?;
        let start = NaiveDate::from_ymd_opt(year, self.month.unwrap_or(1), self.day.unwrap_or(1))?;
        let end = match (self.month, self.day) {
            (Some(_), Some(_)) => start.succ_opt()?,
            (Some(12), None) => NaiveDate::from_ymd_opt(year + 1, 1, 1)?,
            (Some(month), None) => NaiveDate::from_ymd_opt(year, month + 1, 1)?,
            _ => NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)?,
        };
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| Utc.from_utc_datetime(&t));
        Some((midnight(start)?, midnight(end)?))
    }
}

fn parse_stamp(stamp: &str) -> Option<DateTime<Utc>> {
    let stamp = stamp.strip_suffix('Z')?;
    let format = if stamp.len() == 13 {
        "%Y%m%dT%H%M"
    } else {
        "%Y%m%dT%H%M%S"
    };
    NaiveDateTime::parse_from_str(stamp, format)
        .ok()
        .map(|t| t.and_utc())
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

fn is_org_id(text: &str) -> bool {
    text.strip_prefix("o-").is_some_and(|id| {
        (10..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// Region names: `us-east-1`, `us-gov-west-1`, `ap-southeast-5`, and anonymised ones such as
/// `apiso-centralnorth-2r`: lowercase words joined by dashes, at least one dash.
fn is_region(text: &str) -> bool {
    text.contains('-')
        && !text.starts_with('-')
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc())
    }

    #[test]
    fn parses_a_full_log_key() {
        let key = LogKey::parse(
            "bucket-prefix/AWSLogs/111122223333/CloudTrail/us-east-1/2024/07/31/111122223333_CloudTrail_us-east-1_20240731T1305Z_AbCdEf0123456789.json.gz",
        );
        assert_eq!(key.org_id, None);
        assert_eq!(key.account.as_deref(), Some("111122223333"));
        assert_eq!(key.kind, Some(LogKind::Events));
        assert_eq!(key.region.as_deref(), Some("us-east-1"));
        assert_eq!(
            (key.year, key.month, key.day),
            (Some(2024), Some(7), Some(31))
        );
        assert_eq!(key.delivered, utc("2024-07-31T13:05:00Z"));
    }

    #[test]
    fn parses_organization_trails_digests_and_insights() {
        let org = LogKey::parse(
            "AWSLogs/o-exampleorgid/111122223333/CloudTrail-Digest/eu-west-1/2024/01/02/111122223333_CloudTrail-Digest_eu-west-1_org-trail_us-east-1_20240102T030405Z.json.gz",
        );
        assert_eq!(org.org_id.as_deref(), Some("o-exampleorgid"));
        assert_eq!(org.kind, Some(LogKind::Digest));
        assert_eq!(org.region.as_deref(), Some("eu-west-1"));
        assert_eq!(org.delivered, utc("2024-01-02T03:04:05Z"));
        let insight = LogKey::parse(
            "AWSLogs/111122223333/CloudTrail-Insight/us-west-2/2024/01/02/111122223333_CloudTrail-Insight_us-west-2_20240102T0300Z_a1b2c3.json.gz",
        );
        assert_eq!(insight.kind, Some(LogKind::Insight));
    }

    #[test]
    fn folders_part_way_down_name_what_they_can() {
        let key = LogKey::parse("/data/AWSLogs/111122223333/CloudTrail/us-east-1/2024/02");
        assert_eq!(key.account.as_deref(), Some("111122223333"));
        assert_eq!((key.year, key.month, key.day), (Some(2024), Some(2), None));
        assert_eq!(
            key.delivery_window(),
            Some((
                utc("2024-02-01T00:00:00Z").unwrap_or_default(),
                utc("2024-03-01T00:00:00Z").unwrap_or_default()
            ))
        );
        let december = LogKey::parse("AWSLogs/111122223333/CloudTrail/us-east-1/2024/12");
        assert_eq!(
            december.delivery_window().map(|w| w.1),
            utc("2025-01-01T00:00:00Z")
        );
    }

    #[test]
    fn bare_file_names_still_give_account_region_and_time() {
        let key = LogKey::parse(
            "111111111111_CloudTrail_eu-central-1_20171211T1505Z_A6kvhMoVeCsc7v8U.json",
        );
        assert_eq!(key.account.as_deref(), Some("111111111111"));
        assert_eq!(key.region.as_deref(), Some("eu-central-1"));
        assert_eq!(key.delivered, utc("2017-12-11T15:05:00Z"));
    }

    #[test]
    fn other_services_under_awslogs_are_foreign() {
        assert!(
            LogKey::parse(
                "AWSLogs/111122223333/Config/us-east-1/2024/1/2/ConfigSnapshot/x.json.gz"
            )
            .foreign
        );
        assert!(LogKey::parse("AWSLogs/111122223333/elasticloadbalancing").foreign);
        assert!(!LogKey::parse("AWSLogs/111122223333/CloudTrail/us-east-1").foreign);
        assert!(!LogKey::parse("AWSLogs/111122223333").foreign);
    }

    #[test]
    fn unrelated_paths_name_nothing() {
        assert_eq!(LogKey::parse("logs/events.json"), LogKey::default());
        assert_eq!(
            LogKey::parse("AWSLogs/notanaccount/CloudTrail"),
            LogKey::default()
        );
    }
}
