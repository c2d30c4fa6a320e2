//! One pass over the lake's events gathers everything Insights and the first-seen detections
//! need: per-minute counts of every call-rate and error-rate series, and the first time of
//! every combination of principal, access key, account, region, network, client and API,
//! with that first event's details.
//!
//! Both used to be `GROUP BY` queries (plus a third to fetch the first events): three passes
//! over the same columns. One streamed scan folded here in Rust reads them once (each core
//! reads and folds its share of the files, and the parts are merged), and the
//! first-seen values (network, client family) are computed by plain code instead of regular
//! expressions in SQL.
//!
//! An update reads only what it cannot know otherwise: for first-seen, the files the
//! catalog's first-seen tables do not hold yet (first_seen.rs compares them with what those
//! tables remember), and for the counts, the baseline before the stretch asked for. When the
//! first covers the second the pass is one; otherwise the counts take a second, lighter pass.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::Ipv6Addr;
use std::path::PathBuf;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};
use trailhound_lake::{Lake, LakeFileRecord};
use trailhound_query::QueryEngine;
use xxhash_rust::xxh3::xxh3_128;

use crate::InsightsError;
use crate::detect::Settings;
use crate::series::{InsightType, MINUTE_US, Minute, Series, SeriesKey};

/// The scan of `table`: every API call and console sign-in with a time. Which of them a series
/// counts is decided per row (see [`History::add`]); principals are followed by role, not
/// session. Without `firsts`, the columns only first-seen needs are read as nulls; `since`
/// limits the scan to events from that minute on (given for the `events` table, which then
/// skips whole days' folders).
fn scan_sql(table: &str, firsts: bool, since: Option<Minute>) -> String {
    let [event_id, principal, access_key, ip, agent] = if firsts {
        [
            "eventID",
            "coalesce(userIdentity.sessionContext.sessionIssuer.arn, userIdentity.arn) AS principal",
            "userIdentity.accessKeyId",
            "sourceIPAddress",
            "userAgent",
        ]
        .map(str::to_owned)
    } else {
        [
            "eventID",
            "principal",
            "accessKeyId",
            "sourceIPAddress",
            "userAgent",
        ]
        .map(|name| format!("CAST(NULL AS VARCHAR) AS {name}"))
    };
    let since = since.map_or_else(String::new, |minute| {
        format!(" AND {}", crate::lake::since(minute))
    });
    format!(
        "SELECT eventTime, {event_id}, eventType, managementEvent, readOnly,
            recipientAccountId, awsRegion, eventSource, eventName, errorCode,
            {principal}, {access_key}, {ip}, {agent}
        FROM {table}
        WHERE eventType IN ('AwsApiCall', 'AwsConsoleSignIn') AND eventTime IS NOT NULL{since}"
    )
}

/// The table an update's files are registered as, when it reads only some of the lake.
const PENDING_TABLE: &str = "pending_events";

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

impl First {
    /// Whether an event at `time_us` with `event_id` came before this one: the earliest wins,
    /// then the smallest `eventID`.
    pub(crate) fn is_after(&self, time_us: i64, event_id: Option<&str>) -> bool {
        (time_us, event_id) < (self.time_us, self.event_id.as_deref())
    }
}

/// What one pass over events gathered.
pub struct History {
    write_only: bool,
    series_from: Minute,
    series: Table<(SeriesKey, Vec<(Minute, u64)>)>,
    /// Whether rows are folded into `firsts`.
    firsts_on: bool,
    firsts: Table<First>,
    /// The lake files whose events `firsts` holds (see
    /// [`trailhound_lake::Catalog::first_seen_pending`]).
    pub(crate) folded: Vec<String>,
    /// Whether `firsts` holds the whole lake, so that it replaces what the catalog remembers.
    pub(crate) whole_lake: bool,
    /// Where each row's key is assembled before it is hashed (one-shot hashing is several
    /// times faster than feeding a streaming hasher piece by piece).
    key: Vec<u8>,
}

/// Entries found by a 128-bit hash of what they count. The hash is already uniform, so the
/// index needs only a cheap hash of it.
struct Table<T> {
    index: HashMap<u128, usize, foldhash::fast::FixedState>,
    entries: Vec<(u128, T)>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            index: HashMap::default(),
            entries: Vec::new(),
        }
    }
}

impl<T> Table<T> {
    /// The entry of `hash`, made by `make` if there is none yet.
    fn entry(&mut self, hash: u128, make: impl FnOnce() -> T) -> &mut T {
        let at = *self.index.entry(hash).or_insert_with(|| {
            self.entries.push((hash, make()));
            self.entries.len() - 1
        });
        &mut self.entries[at].1
    }

    /// Adds another table's entries, `combine`d with this one's where both have the hash.
    fn merge(&mut self, other: Table<T>, combine: impl Fn(&mut T, T)) {
        for (hash, value) in other.entries {
            match self.index.get(&hash) {
                Some(&at) => combine(&mut self.entries[at].1, value),
                None => {
                    self.index.insert(hash, self.entries.len());
                    self.entries.push((hash, value));
                }
            }
        }
    }

    fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|(_, value)| value)
    }
}

impl History {
    /// An empty history that counts series from minute `series_from` on (earlier minutes
    /// cannot matter to the insights asked for) and, if `firsts_on`, first-seen values over
    /// all of it.
    pub(crate) fn new(settings: &Settings, series_from: Minute, firsts_on: bool) -> History {
        History {
            write_only: settings.write_only,
            series_from,
            series: Table::default(),
            firsts_on,
            firsts: Table::default(),
            folded: Vec::new(),
            whole_lake: false,
            key: Vec::new(),
        }
    }

    /// Reads what one update needs, each scan streamed and on every core:
    /// - the per-minute counts from the baseline of `from_us` on (all of them when not given);
    /// - for first-seen, the events the catalog's first-seen tables do not hold yet: those
    ///   of the lake files not folded into them, or with `whole_lake` every event, to replace
    ///   what they hold.
    ///
    /// When the files to fold hold the whole stretch the counts need (the first ingest into a
    /// lake, or one bringing only new days), one scan of them serves both. `files` are all the
    /// lake's files, as the catalog lists them.
    pub fn scan(
        engine: &QueryEngine,
        lake: &Lake,
        files: &[LakeFileRecord],
        settings: &Settings,
        from_us: Option<i64>,
        whole_lake: bool,
    ) -> Result<History, InsightsError> {
        // Counts before the baseline of the first insight asked for cannot matter to it.
        let series_from = from_us.map_or(Minute::MIN, |us| {
            us.div_euclid(MINUTE_US)
                .saturating_sub(settings.baseline_minutes)
        });
        if whole_lake {
            let sql = scan_sql("events", true, None);
            let mut history = History::fold(engine, &sql, settings, series_from, true)?;
            history.folded = files.iter().map(|file| file.path.clone()).collect();
            history.whole_lake = true;
            return Ok(history);
        }
        let pending = lake.catalog().first_seen_pending()?;
        let is_pending: HashSet<&str> = pending.iter().map(String::as_str).collect();
        let counted_from_us = series_from.saturating_mul(MINUTE_US);
        let counted_in_pending = files
            .iter()
            .filter(|file| file.max_time_us.is_some_and(|max| max >= counted_from_us))
            .all(|file| is_pending.contains(file.path.as_str()));
        let mut history = if pending.is_empty() {
            History::new(settings, series_from, false)
        } else {
            let paths: Vec<PathBuf> = pending
                .iter()
                .map(|path| lake.readable(path))
                .collect::<Result<_, _>>()?;
            engine.register_lake_files(PENDING_TABLE, &paths)?;
            let counts_from = if counted_in_pending {
                series_from
            } else {
                Minute::MAX
            };
            let sql = scan_sql(PENDING_TABLE, true, None);
            History::fold(engine, &sql, settings, counts_from, true)?
        };
        if !counted_in_pending {
            let sql = scan_sql("events", false, from_us.map(|_| series_from));
            history.merge(History::fold(engine, &sql, settings, series_from, false)?);
        }
        history.folded = pending;
        Ok(history)
    }

    /// Folds the rows of `sql` into one history, each core folding its share.
    fn fold(
        engine: &QueryEngine,
        sql: &str,
        settings: &Settings,
        series_from: Minute,
        firsts_on: bool,
    ) -> Result<History, InsightsError> {
        let start = || History::new(settings, series_from, firsts_on);
        let mut parts = engine.sql_fold(sql, start, History::add)?.into_iter();
        let mut history = parts.next().unwrap_or_else(start);
        for part in parts {
            history.merge(part);
        }
        Ok(history)
    }

    /// Adds what another part of the same scan gathered.
    fn merge(&mut self, other: History) {
        // Series::new sorts and adds up the minutes both parts counted.
        self.series
            .merge(other.series, |(_, mine), (_, points)| mine.extend(points));
        self.firsts.merge(other.firsts, |kept, first| {
            if kept.is_after(first.time_us, first.event_id.as_deref()) {
                *kept = first;
            }
        });
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
            // The same selection as `counted` in lake.rs, which charts and attributions use
            // in SQL: management API calls, writes only if the settings say so.
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
            if !self.firsts_on {
                continue;
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
        self.key.clear();
        for part in parts {
            self.key.extend_from_slice(part.as_bytes());
            self.key.push(0x1f);
        }
        let calls = xxh3_128(&self.key);
        self.count_in(calls, parts, None, minute);
        if let Some(code) = error {
            // The separator after the last part keeps the error series apart from the calls.
            self.key.push(0x1e);
            self.key.extend_from_slice(code.as_bytes());
            let errors = xxh3_128(&self.key);
            self.count_in(errors, parts, Some(code), minute);
        }
    }

    fn count_in(&mut self, hash: u128, parts: [&str; 4], error: Option<&str>, minute: Minute) {
        let (_, points) = self.series.entry(hash, || {
            let key = SeriesKey {
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
            };
            (key, Vec::new())
        });
        // Rows come mostly in time order, so most calls add to the last minute.
        match points.last_mut() {
            Some((last, count)) if *last == minute => *count += 1,
            _ => points.push((minute, 1)),
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
        self.key.clear();
        for value in values
            .iter()
            .copied()
            .chain([api.map(|a| a.0), api.map(|a| a.1)])
        {
            match value {
                Some(value) => {
                    self.key.push(1);
                    self.key.extend_from_slice(value.as_bytes());
                }
                None => self.key.push(0),
            }
            self.key.push(0x1f);
        }
        let hash = xxh3_128(&self.key);
        let owned = |value: Option<&str>| value.map(str::to_owned);
        let first = self.firsts.entry(hash, || {
            let [principal, key, account, region, network, client] = values.map(owned);
            First {
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
            }
        });
        if first.is_after(time_us, event_id) {
            first.time_us = time_us;
            first.event_id = owned(event_id);
            first.source_ip = owned(ip);
        }
    }

    /// The first event of every combination of first-seen values.
    pub(crate) fn firsts(&self) -> impl Iterator<Item = &First> {
        self.firsts.values()
    }

    /// Every series counted, sorted by key.
    pub fn series(&self) -> Vec<Series> {
        let mut series: Vec<Series> = self
            .series
            .values()
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
    if let Some(last_dot) = ipv4_last_dot(ip) {
        out.push_str(&ip[..last_dot]);
        out.push_str(".0/24");
        return true;
    }
    if let Ok(v6) = ip.parse::<Ipv6Addr>() {
        let [a, b, c, ..] = v6.segments();
        let _ = write!(out, "{a:x}:{b:x}:{c:x}::/48");
        return true;
    }
    false
}

/// Where the last dot of a dotted-quad IPv4 address is (checked by hand: this runs for every
/// event, and parsing to `Ipv4Addr` and formatting back cost several times more).
fn ipv4_last_dot(ip: &str) -> Option<usize> {
    let bytes = ip.as_bytes();
    let (mut dots, mut digits, mut last_dot) = (0, 0, 0);
    for (at, &byte) in bytes.iter().enumerate() {
        match byte {
            b'0'..=b'9' if digits < 3 => digits += 1,
            b'.' if digits > 0 && dots < 3 => {
                dots += 1;
                digits = 0;
                last_dot = at;
            }
            _ => return None,
        }
    }
    (dots == 3 && digits > 0).then_some(last_dot)
}

/// The client family of a user agent, lower-cased into `out`: `aws-cli/2.15.0 Python/3.11`
/// → `aws-cli`, `Boto3/1.34` → `boto3`. False for an empty agent.
pub(crate) fn client_family(agent: &str, out: &mut String) -> bool {
    out.clear();
    let first = agent.split_whitespace().next().unwrap_or("");
    let family = first.split('/').next().unwrap_or("");
    if family.is_ascii() {
        out.push_str(family);
        out.make_ascii_lowercase();
    } else {
        out.extend(family.chars().flat_map(char::to_lowercase));
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
pub(crate) mod tests {
    use std::sync::Arc;

    use arrow::array::{StringArray, TimestampMicrosecondArray};

    use super::*;

    /// One event as the scan returns it.
    #[derive(Clone, Copy)]
    pub(crate) struct Row<'a> {
        pub(crate) minute: i64,
        pub(crate) id: &'a str,
        pub(crate) event_type: &'a str,
        pub(crate) read_only: bool,
        pub(crate) region: &'a str,
        pub(crate) name: &'a str,
        pub(crate) error: Option<&'a str>,
        pub(crate) principal: &'a str,
        pub(crate) key: Option<&'a str>,
        pub(crate) ip: &'a str,
        pub(crate) agent: &'a str,
    }

    pub(crate) const ROW: Row<'static> = Row {
        minute: 1_000,
        id: "e",
        event_type: "AwsApiCall",
        read_only: true,
        region: "us-east-1",
        name: "DescribeInstances",
        error: None,
        principal: "arn:aws:iam::111122223333:role/App",
        key: Some("ASIAEXAMPLE"),
        ip: "203.0.113.7",
        agent: "aws-cli/2.15.0 Python/3.11",
    };

    /// A batch in the scan's column order.
    pub(crate) fn scan_batch(rows: &[Row<'_>]) -> Result<RecordBatch, arrow::error::ArrowError> {
        let text = |f: &dyn Fn(&Row<'_>) -> Option<String>| -> ArrayRef {
            Arc::new(rows.iter().map(f).collect::<StringArray>())
        };
        let times: TimestampMicrosecondArray = rows
            .iter()
            .map(|r| Some(r.minute * MINUTE_US + 1))
            .collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(times),
            text(&|r| Some(r.id.to_owned())),
            text(&|r| Some(r.event_type.to_owned())),
            Arc::new(rows.iter().map(|_| Some(true)).collect::<BooleanArray>()),
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.read_only))
                    .collect::<BooleanArray>(),
            ),
            text(&|_| Some("111122223333".to_owned())),
            text(&|r| Some(r.region.to_owned())),
            text(&|_| Some("ec2.amazonaws.com".to_owned())),
            text(&|r| Some(r.name.to_owned())),
            text(&|r| r.error.map(str::to_owned)),
            text(&|r| Some(r.principal.to_owned())),
            text(&|r| r.key.map(str::to_owned)),
            text(&|r| Some(r.ip.to_owned())),
            text(&|r| Some(r.agent.to_owned())),
        ];
        RecordBatch::try_from_iter(
            columns
                .into_iter()
                .enumerate()
                .map(|(i, column)| (format!("c{i}"), column)),
        )
    }

    pub(crate) fn history_of(
        settings: &Settings,
        rows: &[Row<'_>],
    ) -> Result<History, Box<dyn std::error::Error>> {
        let mut history = History::new(settings, Minute::MIN, true);
        history.add(&scan_batch(rows)?)?;
        Ok(history)
    }

    #[test]
    fn counts_calls_and_errors_per_minute() -> Result<(), Box<dyn std::error::Error>> {
        let denied = Row {
            error: Some("AccessDenied"),
            ..ROW
        };
        let rows = [
            ROW,
            ROW,
            Row { minute: 999, ..ROW },
            denied,
            Row {
                event_type: "AwsConsoleSignIn",
                ..ROW
            },
            Row {
                name: "RunInstances",
                read_only: false,
                ..ROW
            },
        ];
        let history = history_of(&Settings::default(), &rows)?;
        let series = history.series();
        type Points = Vec<(Minute, u64)>;
        let points: Vec<(String, Option<String>, Points)> = series
            .iter()
            .map(|s| {
                (
                    s.key.event_name.clone(),
                    s.key.error_code.clone(),
                    s.points.clone(),
                )
            })
            .collect();
        assert_eq!(
            points,
            vec![
                (
                    "DescribeInstances".to_owned(),
                    None,
                    vec![(999, 1), (1000, 3)]
                ),
                (
                    "DescribeInstances".to_owned(),
                    Some("AccessDenied".to_owned()),
                    vec![(1000, 1)]
                ),
                ("RunInstances".to_owned(), None, vec![(1000, 1)]),
            ]
        );
        let writes = Settings {
            write_only: true,
            ..Settings::default()
        };
        let series = history_of(&writes, &rows)?.series();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].key.event_name, "RunInstances");
        // Minutes before the start asked for are not kept.
        let mut late = History::new(&Settings::default(), 1000, true);
        late.add(&scan_batch(&rows)?)?;
        assert!(late.series().iter().all(|s| s.points[0].0 == 1000));
        Ok(())
    }

    #[test]
    fn parts_merge_into_the_whole() -> Result<(), Box<dyn std::error::Error>> {
        let rows = [
            Row { id: "b", ..ROW },
            Row {
                minute: 1_001,
                error: Some("Throttling"),
                ..ROW
            },
            Row {
                region: "eu-west-1",
                ..ROW
            },
            Row { id: "a", ..ROW },
            Row {
                minute: 1_001,
                id: "c",
                ..ROW
            },
        ];
        let settings = Settings::default();
        let whole = history_of(&settings, &rows)?;
        let mut merged = history_of(&settings, &rows[..2])?;
        merged.merge(history_of(&settings, &rows[2..])?);
        assert_eq!(merged.series(), whole.series());
        let firsts = |history: &History| {
            let mut firsts: Vec<_> = history
                .firsts()
                .map(|f| (f.values.clone(), f.time_us, f.event_id.clone()))
                .collect();
            firsts.sort();
            firsts
        };
        assert_eq!(firsts(&merged), firsts(&whole));
        assert!(firsts(&merged).iter().any(|f| f.2.as_deref() == Some("a")));
        Ok(())
    }

    #[test]
    fn keeps_the_first_event_of_each_combination() -> Result<(), Box<dyn std::error::Error>> {
        let rows = [
            Row {
                minute: 1_002,
                id: "late",
                ..ROW
            },
            Row { id: "b", ..ROW },
            Row { id: "a", ..ROW },
            Row {
                ip: "ec2.amazonaws.com",
                key: Some("AKIAEXAMPLE"),
                agent: " ",
                ..ROW
            },
        ];
        let history = history_of(&Settings::default(), &rows)?;
        assert_eq!(history.firsts().count(), 2);
        let firsts: Vec<&First> = history.firsts().collect();
        let first = firsts[0];
        assert_eq!(first.event_id.as_deref(), Some("a"));
        assert_eq!(first.time_us, 1_000 * MINUTE_US + 1);
        assert_eq!(
            first.values,
            [
                Some("arn:aws:iam::111122223333:role/App".to_owned()),
                None,
                Some("111122223333".to_owned()),
                Some("us-east-1".to_owned()),
                Some("203.0.113.0/24".to_owned()),
                Some("aws-cli".to_owned()),
                Some("ec2:DescribeInstances".to_owned()),
            ]
        );
        let service = firsts[1];
        assert_eq!(service.values[ACCESS_KEY].as_deref(), Some("AKIAEXAMPLE"));
        assert_eq!(service.values[NETWORK], None);
        assert_eq!(service.values[CLIENT], None);
        Ok(())
    }

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
        assert_eq!(network("1.2.3."), None);
        assert_eq!(network(".1.2.3"), None);
        assert_eq!(network("1..2.3"), None);
        assert_eq!(network("0.0.0.0").as_deref(), Some("0.0.0.0/24"));
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
        assert_eq!(client("ÄWS-Tool/1").as_deref(), Some("äws-tool"));
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
