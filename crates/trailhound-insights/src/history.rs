//! One pass over the lake's events gathers everything Insights and the first-seen detections
//! need: per-minute counts of every call-rate and error-rate series, and the first time of
//! every combination of principal, access key, account, region, network, client and API,
//! with that first event's details.
//!
//! Both used to be `GROUP BY` queries (plus a third to fetch the first events): three passes
//! over the same columns. One streamed scan folded here in Rust reads them once, and the
//! first-seen values (network, client family) are computed by plain code instead of regular
//! expressions in SQL.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};
use trailhound_query::QueryEngine;
use xxhash_rust::xxh3::Xxh3;

use crate::InsightsError;
use crate::detect::Settings;
use crate::series::{InsightType, MINUTE_US, Minute, Series, SeriesKey};

/// The scan: every API call and console sign-in with a time. Which of them a series counts is
/// decided per row (see [`History::add`]); principals are followed by role, not session.
const SCAN: &str = "SELECT eventTime, eventID, eventType, managementEvent, readOnly,
        recipientAccountId, awsRegion, eventSource, eventName, errorCode,
        coalesce(userIdentity.sessionContext.sessionIssuer.arn, userIdentity.arn),
        userIdentity.accessKeyId, sourceIPAddress, userAgent
    FROM events
    WHERE eventType IN ('AwsApiCall', 'AwsConsoleSignIn') AND eventTime IS NOT NULL";

/// The values a first-seen detection compares, in this order.
pub(crate) const PRINCIPAL: usize = 0;
pub(crate) const ACCESS_KEY: usize = 1;
pub(crate) const ACCOUNT: usize = 2;
pub(crate) const REGION: usize = 3;
pub(crate) const NETWORK: usize = 4;
pub(crate) const CLIENT: usize = 5;
pub(crate) const API: usize = 6;

/// The first event of one combination of first-seen values.
#[derive(Debug, Clone)]
pub(crate) struct First {
    /// Principal, access key, account, region, network, client, API (see [`PRINCIPAL`]…).
    pub(crate) values: [Option<String>; 7],
    /// When it was first seen (µs since the epoch).
    pub(crate) time_us: i64,
    /// That event's `eventID` (the smallest, when several share the first instant).
    pub(crate) event_id: Option<String>,
    /// That event's source, name and source IP address.
    pub(crate) event_source: Option<String>,
    pub(crate) event_name: Option<String>,
    pub(crate) source_ip: Option<String>,
}

/// What one pass over events gathered.
pub struct History {
    write_only: bool,
    series_from: Minute,
    series_index: HashMap<u128, usize>,
    series: Vec<(SeriesKey, Vec<(Minute, u64)>)>,
    firsts_index: HashMap<u128, usize>,
    pub(crate) firsts: Vec<First>,
}

impl History {
    /// An empty history that counts series from minute `series_from` on (earlier minutes
    /// cannot matter to the insights asked for) and first-seen values over all of it.
    pub fn new(settings: &Settings, series_from: Minute) -> History {
        History {
            write_only: settings.write_only,
            series_from,
            series_index: HashMap::new(),
            series: Vec::new(),
            firsts_index: HashMap::new(),
            firsts: Vec::new(),
        }
    }

    /// Reads the whole lake in one streamed scan.
    pub fn scan(
        engine: &QueryEngine,
        settings: &Settings,
        series_from: Minute,
    ) -> Result<History, InsightsError> {
        let mut history = History::new(settings, series_from);
        engine.sql_each(SCAN, |batch| history.add(batch))?;
        Ok(history)
    }

    /// Folds one batch of the scan's columns in.
    fn add(&mut self, batch: &RecordBatch) -> Result<(), InsightsError> {
        let times = times(batch.column(0))?;
        let texts: Vec<Text> = [1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13]
            .into_iter()
            .map(|column| Text::of(batch.column(column)))
            .collect::<Result<_, _>>()?;
        let [
            event_id,
            event_type,
            account,
            region,
            source,
            name,
            error,
            principal,
            access_key,
            ip,
            agent,
        ] = texts.as_slice()
        else {
            return Err(InsightsError::Internal("scan columns".to_owned()));
        };
        let management = booleans(batch.column(3))?;
        let read_only = booleans(batch.column(4))?;
        let (mut network, mut client) = (String::new(), String::new());
        for row in 0..batch.num_rows() {
            if times.is_null(row) {
                continue;
            }
            let time_us = times.value(row);
            let (account, region) = (account.get(row), region.get(row));
            let (source, name) = (source.get(row), name.get(row));
            let counted = event_type.get(row) == Some("AwsApiCall")
                && (management.is_null(row) || management.value(row))
                && (!self.write_only || (!read_only.is_null(row) && !read_only.value(row)));
            let minute = time_us.div_euclid(MINUTE_US);
            if let (true, true, Some(account), Some(region), Some(source), Some(name)) = (
                counted,
                minute >= self.series_from,
                account,
                region,
                source,
                name,
            ) {
                self.count([account, region, source, name], error.get(row), minute);
            }
            let ip = ip.get(row);
            let has_network = ip.is_some_and(|ip| network_of(ip, &mut network));
            let has_client = agent
                .get(row)
                .is_some_and(|agent| client_family(agent, &mut client));
            let values = [
                principal.get(row),
                access_key.get(row).filter(|key| key.starts_with("AKIA")),
                account,
                region,
                has_network.then_some(network.as_str()),
                has_client.then_some(client.as_str()),
            ];
            self.first(&values, source.zip(name), time_us, event_id.get(row), ip);
        }
        Ok(())
    }

    /// Counts one call (and, with an error code, one error) in `minute`.
    fn count(&mut self, parts: [&str; 4], error: Option<&str>, minute: Minute) {
        let mut hasher = Xxh3::new();
        for part in parts {
            hasher.update(part.as_bytes());
            hasher.update(&[0x1f]);
        }
        let mut add = |hash: u128, error: Option<&str>| {
            let at = *self.series_index.entry(hash).or_insert_with(|| {
                self.series.push((
                    SeriesKey {
                        account: parts[0].to_owned(),
                        region: parts[1].to_owned(),
                        event_source: parts[2].to_owned(),
                        event_name: parts[3].to_owned(),
                        insight_type: if error.is_some() {
                            InsightType::ApiErrorRate
                        } else {
                            InsightType::ApiCallRate
                        },
                        error_code: error.map(str::to_owned),
                    },
                    Vec::new(),
                ));
                self.series.len() - 1
            });
            // Rows come mostly in time order, so most calls add to the last minute.
            let points = &mut self.series[at].1;
            match points.last_mut() {
                Some((last, count)) if *last == minute => *count += 1,
                _ => points.push((minute, 1)),
            }
        };
        add(hasher.clone().digest128(), None);
        if let Some(code) = error {
            // The separator after the last part keeps the error series apart from the calls.
            hasher.update(&[0x1e]);
            hasher.update(code.as_bytes());
            add(hasher.digest128(), Some(code));
        }
    }

    /// Keeps the earliest event of one combination of first-seen values.
    fn first(
        &mut self,
        values: &[Option<&str>; 6],
        api: Option<(&str, &str)>,
        time_us: i64,
        event_id: Option<&str>,
        ip: Option<&str>,
    ) {
        let mut hasher = Xxh3::new();
        for value in values
            .iter()
            .copied()
            .chain([api.map(|a| a.0), api.map(|a| a.1)])
        {
            match value {
                Some(value) => {
                    hasher.update(&[1]);
                    hasher.update(value.as_bytes());
                }
                None => hasher.update(&[0]),
            }
            hasher.update(&[0x1f]);
        }
        let hash = hasher.digest128();
        let owned = |value: Option<&str>| value.map(str::to_owned);
        match self.firsts_index.get(&hash) {
            Some(&at) => {
                let first = &mut self.firsts[at];
                if (time_us, event_id) < (first.time_us, first.event_id.as_deref()) {
                    first.time_us = time_us;
                    first.event_id = owned(event_id);
                    first.source_ip = owned(ip);
                }
            }
            None => {
                self.firsts_index.insert(hash, self.firsts.len());
                let [principal, key, account, region, network, client] = values.map(owned);
                self.firsts.push(First {
                    values: [
                        principal,
                        key,
                        account,
                        region,
                        network,
                        client,
                        api.map(|(source, name)| api_name(source, name)),
                    ],
                    time_us,
                    event_id: owned(event_id),
                    event_source: api.map(|a| a.0.to_owned()),
                    event_name: api.map(|a| a.1.to_owned()),
                    source_ip: owned(ip),
                });
            }
        }
    }

    /// Every series counted, sorted by key.
    pub fn series(&self) -> Vec<Series> {
        let mut series: Vec<Series> = self
            .series
            .iter()
            .map(|(key, points)| Series::new(key.clone(), points.clone()))
            .collect();
        series.sort_by(|a, b| a.key.cmp(&b.key));
        series
    }
}

/// `iam:CreateUser` from `iam.amazonaws.com` and `CreateUser`.
fn api_name(source: &str, name: &str) -> String {
    format!("{}:{name}", source.replace(".amazonaws.com", ""))
}

/// The source network of an address, written into `out`: `203.0.113.0/24` for IPv4,
/// `2001:db8:1::/48` for IPv6. False for anything else: AWS services calling on someone's
/// behalf put their own name (`ec2.amazonaws.com`) where the address would be.
pub(crate) fn network_of(ip: &str, out: &mut String) -> bool {
    out.clear();
    if let Ok(v4) = ip.parse::<Ipv4Addr>() {
        let [a, b, c, _] = v4.octets();
        let _ = write!(out, "{a}.{b}.{c}.0/24");
        return true;
    }
    if let Ok(v6) = ip.parse::<Ipv6Addr>() {
        let [a, b, c, ..] = v6.segments();
        let _ = write!(out, "{a:x}:{b:x}:{c:x}::/48");
        return true;
    }
    false
}

/// The client family of a user agent, lower-cased into `out`: `aws-cli/2.15.0 Python/3.11`
/// → `aws-cli`, `Boto3/1.34` → `boto3`. False for an empty agent.
pub(crate) fn client_family(agent: &str, out: &mut String) -> bool {
    out.clear();
    let first = agent.split_whitespace().next().unwrap_or("");
    let family = first.split('/').next().unwrap_or("");
    for c in family.chars() {
        out.extend(c.to_lowercase());
    }
    !out.is_empty()
}

/// A text column as the scan returns it: DataFusion reads Parquet strings as views.
enum Text {
    Plain(arrow::array::StringArray),
    View(arrow::array::StringViewArray),
}

impl Text {
    fn of(column: &ArrayRef) -> Result<Text, InsightsError> {
        Ok(match column.data_type() {
            DataType::Utf8View => Text::View(column.as_string_view().clone()),
            DataType::Utf8 => Text::Plain(column.as_string::<i32>().clone()),
            _ => Text::Plain(
                arrow::compute::cast(column, &DataType::Utf8)
                    .map_err(|err| InsightsError::Internal(format!("scan column: {err}")))?
                    .as_string::<i32>()
                    .clone(),
            ),
        })
    }

    fn get(&self, row: usize) -> Option<&str> {
        match self {
            Text::Plain(array) => (!array.is_null(row)).then(|| array.value(row)),
            Text::View(array) => (!array.is_null(row)).then(|| array.value(row)),
        }
    }
}

fn booleans(column: &ArrayRef) -> Result<BooleanArray, InsightsError> {
    column
        .as_boolean_opt()
        .cloned()
        .ok_or_else(|| InsightsError::Internal("scan column is not boolean".to_owned()))
}

fn times(column: &ArrayRef) -> Result<TimestampMicrosecondArray, InsightsError> {
    let plain = arrow::compute::cast(column, &DataType::Timestamp(TimeUnit::Microsecond, None))
        .map_err(|err| InsightsError::Internal(format!("scan time column: {err}")))?;
    Ok(plain
        .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
        .clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(ip: &str) -> Option<String> {
        let mut out = String::new();
        network_of(ip, &mut out).then_some(out)
    }

    fn client(agent: &str) -> Option<String> {
        let mut out = String::new();
        client_family(agent, &mut out).then_some(out)
    }

    #[test]
    fn networks() {
        assert_eq!(network("203.0.113.7").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(network("10.1.2.255").as_deref(), Some("10.1.2.0/24"));
        assert_eq!(
            network("2001:db8:abcd:12::1").as_deref(),
            Some("2001:db8:abcd::/48")
        );
        assert_eq!(network("::1").as_deref(), Some("0:0:0::/48"));
        assert_eq!(
            network("2001:0DB8:0001::").as_deref(),
            Some("2001:db8:1::/48")
        );
        assert_eq!(network("ec2.amazonaws.com"), None);
        assert_eq!(network("AWS Internal"), None);
        assert_eq!(network("1.2.3"), None);
        assert_eq!(network("1.2.3.4.5"), None);
        assert_eq!(network("1234.2.3.4"), None);
        assert_eq!(network("a:b"), None);
        assert_eq!(network("2001:db8::1%eth0"), None);
        assert_eq!(network(""), None);
    }

    #[test]
    fn client_families() {
        assert_eq!(
            client("aws-cli/2.15.0 Python/3.11.6 Linux/6.1").as_deref(),
            Some("aws-cli")
        );
        assert_eq!(
            client("Boto3/1.34.2 md/Botocore#1.34").as_deref(),
            Some("boto3")
        );
        assert_eq!(
            client("  console.amazonaws.com ").as_deref(),
            Some("console.amazonaws.com")
        );
        assert_eq!(client("AWS Internal").as_deref(), Some("aws"));
        assert_eq!(client(""), None);
        assert_eq!(client("   "), None);
        assert_eq!(client("/1.0"), None);
    }

    #[test]
    fn api_names() {
        assert_eq!(
            api_name("iam.amazonaws.com", "CreateUser"),
            "iam:CreateUser"
        );
        assert_eq!(
            api_name("sts.amazonaws.com", "GetCallerIdentity"),
            "sts:GetCallerIdentity"
        );
    }
}
