//! The `events` table: the lake's listing table, plus what the listing cannot work out by
//! itself: which `account=`, `region=` and `date=` partitions a query's filters rule out.
//!
//! Every lake file lies in the partition of its events (`PartitionKey::of_parts`): the folder
//! of their `recipientAccountId`, `awsRegion` and UTC day of `eventTime`. So
//! `eventTime >= '2024-07-31T12:00:00Z'` implies `date >= '2024-07-31'`, and
//! `awsRegion = 'eu-west-1'` implies `region = 'eu-west-1'`. DataFusion only prunes partitions
//! by filters on the partition columns themselves; without this, a SQL query over the last day
//! of a year-long lake, or over one account of an organization's, opened every file's footer
//! to rule it out by its statistics. The filters added here are used for listing only (they
//! name partition columns alone), and the query's own filters still decide which rows match,
//! so the worst a missed bound can do is read more files, never change a result.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use chrono::DateTime;
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::common::{Constraints, ScalarValue};
use datafusion::datasource::listing::ListingTable;
use datafusion::logical_expr::expr::{Between, InList};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{
    BinaryExpr, Expr, Operator, TableProviderFilterPushDown, TableType, ident, lit,
};
use datafusion::physical_plan::ExecutionPlan;
use trailhound_lake::PartitionKey;

/// The column whose bounds prune partitions.
const TIME_COLUMN: &str = "eventTime";

/// The partition column holding each file's UTC day (`YYYY-MM-DD`).
const DATE_COLUMN: &str = "date";

/// The `date` of the partition whose events have no `eventTime`. No time filter can match
/// them, but such partitions are rare and small, so they are kept rather than relying on it.
const UNKNOWN_DATE: &str = "unknown";

/// The lake's `events` table (see the module documentation).
#[derive(Debug)]
pub(crate) struct EventsTable {
    listing: ListingTable,
}

impl EventsTable {
    /// Wraps the listing table over the lake's Hive-partitioned files.
    pub(crate) fn new(listing: ListingTable) -> EventsTable {
        EventsTable { listing }
    }
}

#[async_trait]
impl TableProvider for EventsTable {
    fn schema(&self) -> SchemaRef {
        self.listing.schema()
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.listing.constraints()
    }

    fn table_type(&self) -> TableType {
        self.listing.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let args = ScanArgs::default()
            .with_projection(projection.map(|p| p.as_slice()))
            .with_filters(Some(filters))
            .with_limit(limit);
        Ok(self.scan_with_args(state, args).await?.into_inner())
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> datafusion::error::Result<ScanResult> {
        let mut filters = args.filters().map(<[Expr]>::to_vec).unwrap_or_default();
        let implied: Vec<Expr> = date_filters(&filters)
            .into_iter()
            .chain(place_filters(&filters))
            .collect();
        filters.extend(implied);
        self.listing
            .scan_with_args(state, args.with_filters(Some(&filters)))
            .await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        self.listing.supports_filters_pushdown(filters)
    }
}

/// What one conjunct of a filter says about `eventTime`, in µs since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeBound {
    AtLeast(i64),
    AtMost(i64),
    Within(i64, i64),
}

/// The `date` filters that `filters` (all of which must hold) imply: at most one lower and one
/// upper bound, from the tightest bounds on `eventTime` found among their conjuncts.
fn date_filters(filters: &[Expr]) -> Vec<Expr> {
    let (mut low, mut high) = (None::<i64>, None::<i64>);
    let mut raise = |us: i64| low = Some(low.map_or(us, |l| l.max(us)));
    let mut lower = |us: i64| high = Some(high.map_or(us, |h| h.min(us)));
    for conjunct in filters.iter().flat_map(split_conjunction) {
        match time_bound(conjunct) {
            Some(TimeBound::AtLeast(us)) => raise(us),
            Some(TimeBound::AtMost(us)) => lower(us),
            Some(TimeBound::Within(from, to)) => {
                raise(from);
                lower(to);
            }
            None => {}
        }
    }
    let mut derived = Vec::new();
    if let Some(day) = low.and_then(day_of) {
        // The unknown partition sorts after every date, so it stays.
        derived.push(ident(DATE_COLUMN).gt_eq(lit(day)));
    }
    if let Some(day) = high.and_then(day_of) {
        derived.push(
            ident(DATE_COLUMN)
                .lt_eq(lit(day))
                .or(ident(DATE_COLUMN).eq(lit(UNKNOWN_DATE))),
        );
    }
    derived
}

/// The columns whose values name an event's `account=` and `region=` folders, with those
/// partition columns. (`account` falls back to `userIdentity.accountId` when an event has no
/// `recipientAccountId`, so only the latter implies it.)
const PLACE_COLUMNS: [(&str, &str); 2] =
    [("recipientAccountId", "account"), ("awsRegion", "region")];

/// The `account` and `region` filters that `filters` (all of which must hold) imply: one for
/// each conjunct that pins `recipientAccountId` or `awsRegion` to listed values.
fn place_filters(filters: &[Expr]) -> Vec<Expr> {
    filters
        .iter()
        .flat_map(split_conjunction)
        .filter_map(place_filter)
        .collect()
}

/// The partition filter that holds for every row `expr` lets through, if there is one:
/// - `column = 'value'` (either side) and `column IN ('value', …)` name the folders of those
///   values;
/// - `a OR b` implies one of what `a` and `b` imply, so both must imply something;
/// - `a AND b` implies what either implies.
fn place_filter(expr: &Expr) -> Option<Expr> {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::Eq => {
                let (folder, value) = match (place_column(left), place_column(right)) {
                    (Some(folder), None) => (folder, text_literal(right)?),
                    (None, Some(folder)) => (folder, text_literal(left)?),
                    _ => return None,
                };
                Some(ident(folder).eq(lit(PartitionKey::folder_value(Some(value)))))
            }
            Operator::Or => Some(place_filter(left)?.or(place_filter(right)?)),
            Operator::And => match (place_filter(left), place_filter(right)) {
                (Some(left), Some(right)) => Some(left.and(right)),
                (one, other) => one.or(other),
            },
            _ => None,
        },
        Expr::InList(InList {
            expr,
            list,
            negated: false,
        }) => {
            let folder = place_column(expr)?;
            let values = list
                .iter()
                .map(|item| text_literal(item).map(|v| lit(PartitionKey::folder_value(Some(v)))))
                .collect::<Option<Vec<_>>>()?;
            Some(ident(folder).in_list(values, false))
        }
        _ => None,
    }
}

/// The partition column that `expr`, a bare column, names the folders of.
fn place_column(expr: &Expr) -> Option<&'static str> {
    let Expr::Column(column) = expr else {
        return None;
    };
    PLACE_COLUMNS
        .iter()
        .find(|(name, _)| column.name == *name)
        .map(|(_, folder)| *folder)
}

/// A non-null text literal's value (of any string type, dictionary-encoded or not).
fn text_literal(expr: &Expr) -> Option<&str> {
    let Expr::Literal(value, _) = expr else {
        return None;
    };
    value.try_as_str().flatten()
}

/// The bound `expr` puts on `eventTime`, when it compares the bare column with a timestamp.
/// Strict comparisons give the same bound as the others: partitions are whole days.
fn time_bound(expr: &Expr) -> Option<TimeBound> {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (op, value) = if is_time_column(left) {
                (*op, timestamp_us(right)?)
            } else if is_time_column(right) {
                (op.swap()?, timestamp_us(left)?)
            } else {
                return None;
            };
            match op {
                Operator::Gt | Operator::GtEq => Some(TimeBound::AtLeast(value)),
                Operator::Lt | Operator::LtEq => Some(TimeBound::AtMost(value)),
                Operator::Eq => Some(TimeBound::Within(value, value)),
                _ => None,
            }
        }
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) if is_time_column(expr) => {
            Some(TimeBound::Within(timestamp_us(low)?, timestamp_us(high)?))
        }
        _ => None,
    }
}

fn is_time_column(expr: &Expr) -> bool {
    matches!(expr, Expr::Column(column) if column.name == TIME_COLUMN)
}

/// A timestamp literal in µs since the epoch (whatever its time zone: the value is UTC).
/// Sub-microsecond parts are dropped, which cannot move a value to another day.
fn timestamp_us(expr: &Expr) -> Option<i64> {
    let Expr::Literal(value, _) = expr else {
        return None;
    };
    match value {
        ScalarValue::TimestampSecond(Some(s), _) => s.checked_mul(1_000_000),
        ScalarValue::TimestampMillisecond(Some(ms), _) => ms.checked_mul(1_000),
        ScalarValue::TimestampMicrosecond(Some(us), _) => Some(*us),
        ScalarValue::TimestampNanosecond(Some(ns), _) => Some(ns.div_euclid(1_000)),
        _ => None,
    }
}

/// The UTC day of `us` as partitions name it, for years written with four digits (so that
/// names compare as dates do); `None` otherwise, which leaves the bound unused.
fn day_of(us: i64) -> Option<String> {
    let time = DateTime::from_timestamp_micros(us)?;
    let day = time.date_naive();
    (0..=9999)
        .contains(&chrono::Datelike::year(&day))
        .then(|| day.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(text: &str) -> Expr {
        let us = DateTime::parse_from_rfc3339(text)
            .map(|t| t.timestamp_micros())
            .unwrap_or_default();
        Expr::Literal(
            ScalarValue::TimestampMicrosecond(Some(us), Some("UTC".into())),
            None,
        )
    }

    /// The filters `derive` adds to `filters`, as text.
    fn derived(derive: fn(&[Expr]) -> Vec<Expr>, filters: &[Expr]) -> Vec<String> {
        derive(filters).iter().map(ToString::to_string).collect()
    }

    fn shown(filters: &[Expr]) -> Vec<String> {
        derived(date_filters, filters)
    }

    #[test]
    fn time_bounds_become_date_bounds() {
        let filters = [ident(TIME_COLUMN)
            .gt_eq(time("2024-07-31T12:00:00Z"))
            .and(ident(TIME_COLUMN).lt(time("2024-08-02T00:00:00Z")))];
        assert_eq!(
            shown(&filters),
            [
                "date >= Utf8(\"2024-07-31\")",
                "date <= Utf8(\"2024-08-02\") OR date = Utf8(\"unknown\")"
            ]
        );
    }

    #[test]
    fn the_tightest_bounds_win_and_either_side_may_hold_the_column() {
        let filters = [
            time("2024-07-01T00:00:00Z").lt(ident(TIME_COLUMN)),
            ident(TIME_COLUMN).gt(time("2024-07-05T08:00:00Z")),
            ident(TIME_COLUMN).between(time("2024-06-01T00:00:00Z"), time("2024-07-09T00:00:00Z")),
        ];
        assert_eq!(
            shown(&filters),
            [
                "date >= Utf8(\"2024-07-05\")",
                "date <= Utf8(\"2024-07-09\") OR date = Utf8(\"unknown\")"
            ]
        );
        let one_instant = [ident(TIME_COLUMN).eq(time("2024-07-05T08:00:00Z"))];
        assert_eq!(
            shown(&one_instant),
            [
                "date >= Utf8(\"2024-07-05\")",
                "date <= Utf8(\"2024-07-05\") OR date = Utf8(\"unknown\")"
            ]
        );
    }

    #[test]
    fn filters_that_do_not_bound_every_row_add_nothing() {
        let filters = [
            // Either side of an OR may let a row through.
            ident(TIME_COLUMN)
                .gt(time("2024-07-05T00:00:00Z"))
                .or(ident("eventName").eq(lit("DeleteTrail"))),
            ident(TIME_COLUMN)
                .not_between(time("2024-06-01T00:00:00Z"), time("2024-07-09T00:00:00Z")),
            ident(TIME_COLUMN).not_eq(time("2024-07-05T00:00:00Z")),
            ident("eventName").gt(lit("2024-07-05")),
            // An expression of the column is not the column.
            Expr::Negative(Box::new(ident(TIME_COLUMN))).gt(time("2024-07-05T00:00:00Z")),
            ident(TIME_COLUMN).is_not_null(),
        ];
        assert!(date_filters(&filters).is_empty());
    }

    fn places(filters: &[Expr]) -> Vec<String> {
        derived(place_filters, filters)
    }

    #[test]
    fn accounts_and_regions_name_their_folders() {
        let filters = [
            ident("recipientAccountId").eq(lit("111122223333")),
            lit("eu-west-1").eq(ident("awsRegion")),
            ident("awsRegion").in_list(vec![lit("us-east-1"), lit("odd region/")], false),
        ];
        assert_eq!(
            places(&filters),
            [
                "account = Utf8(\"111122223333\")",
                "region = Utf8(\"eu-west-1\")",
                "region IN ([Utf8(\"us-east-1\"), Utf8(\"odd_region_\")])"
            ]
        );
        // A missing or empty value lies in the `unknown` folder.
        assert_eq!(
            places(&[ident("awsRegion").eq(lit(""))]),
            ["region = Utf8(\"unknown\")"]
        );
    }

    #[test]
    fn either_side_of_an_or_must_name_folders() {
        let both = ident("recipientAccountId")
            .eq(lit("111122223333"))
            .and(ident("awsRegion").eq(lit("us-east-1")))
            .or(ident("awsRegion").eq(lit("eu-west-1")));
        assert_eq!(
            places(&[both]),
            [
                "account = Utf8(\"111122223333\") AND region = Utf8(\"us-east-1\") OR region = Utf8(\"eu-west-1\")"
            ]
        );
        let one_side_and = ident("eventName")
            .eq(lit("GetObject"))
            .and(ident("awsRegion").eq(lit("us-east-1")))
            .or(ident("awsRegion").eq(lit("eu-west-1")));
        assert_eq!(
            places(&[one_side_and]),
            ["region = Utf8(\"us-east-1\") OR region = Utf8(\"eu-west-1\")"]
        );
        let unbounded = [
            ident("awsRegion")
                .eq(lit("us-east-1"))
                .or(ident("eventName").eq(lit("GetObject"))),
            ident("awsRegion").not_eq(lit("us-east-1")),
            ident("awsRegion").in_list(vec![lit("us-east-1")], true),
            ident("awsRegion").in_list(vec![lit("us-east-1"), ident("eventName")], false),
            ident("awsRegion").eq(ident("eventName")),
            ident("awsRegion").eq(Expr::Literal(ScalarValue::Utf8(None), None)),
            ident("awsRegion").like(lit("us-%")),
            // `account` falls back to the identity's account, so this column implies nothing.
            ident("userIdentity.accountId").eq(lit("111122223333")),
        ];
        assert!(place_filters(&unbounded).is_empty());
    }

    #[test]
    fn days_are_utc_and_four_digit_years_only() {
        assert_eq!(day_of(0).as_deref(), Some("1970-01-01"));
        assert_eq!(day_of(-1).as_deref(), Some("1969-12-31"));
        let year_10000 = 253_402_300_800_000_000;
        assert_eq!(day_of(year_10000), None);
        let nanos = Expr::Literal(
            ScalarValue::TimestampNanosecond(Some(1_722_470_399_999_999_999), None),
            None,
        );
        assert_eq!(
            timestamp_us(&nanos).and_then(day_of).as_deref(),
            Some("2024-07-31")
        );
    }
}
