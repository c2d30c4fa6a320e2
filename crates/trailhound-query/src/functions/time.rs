//! Trino's `date_diff(unit, from, to)` and `date_add(unit, n, time)`: whole units between
//! two times (calendar months and years counted as Trino counts them), and a time moved by
//! whole units.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, Int64Builder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMicrosecondType};
use chrono::{DateTime, Datelike, Months, Utc};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// A unit of `date_diff` and `date_add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    fn parse(text: &str) -> Option<Unit> {
        Some(
            match text.trim().to_ascii_lowercase().trim_end_matches('s') {
                "millisecond" => Unit::Millisecond,
                "second" => Unit::Second,
                "minute" => Unit::Minute,
                "hour" => Unit::Hour,
                "day" => Unit::Day,
                "week" => Unit::Week,
                "month" => Unit::Month,
                "quarter" => Unit::Quarter,
                "year" => Unit::Year,
                _ => return None,
            },
        )
    }

    /// Microseconds in one unit, for the units of fixed length.
    fn micros(self) -> Option<i64> {
        Some(match self {
            Unit::Millisecond => 1_000,
            Unit::Second => 1_000_000,
            Unit::Minute => 60_000_000,
            Unit::Hour => 3_600_000_000,
            Unit::Day => 86_400_000_000,
            Unit::Week => 7 * 86_400_000_000,
            Unit::Month | Unit::Quarter | Unit::Year => return None,
        })
    }

    fn months(self) -> u32 {
        match self {
            Unit::Quarter => 3,
            Unit::Year => 12,
            _ => 1,
        }
    }
}

const UNITS: &str = "millisecond, second, minute, hour, day, week, month, quarter or year";

fn unit_of(args: &[ArrayRef]) -> Result<Unit> {
    let Some(units) = args.first() else {
        return exec_err!("the unit comes first");
    };
    let units = arrow::compute::cast(units, &DataType::Utf8)?;
    let units = units.as_string::<i32>();
    let Some(text) = (0..units.len())
        .find(|i| !units.is_null(*i))
        .map(|i| units.value(i))
    else {
        return exec_err!("the unit is NULL: give one of {UNITS}");
    };
    match Unit::parse(text) {
        Some(unit) => Ok(unit),
        None => exec_err!("{text:?} is not a unit of time: use {UNITS}"),
    }
}

/// Times of any timestamp or date type, or text, as UTC microseconds.
fn micros(array: &ArrayRef) -> Result<Int64Array> {
    let target = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let times = arrow::compute::cast(array, &target)?;
    let times = times.as_primitive::<TimestampMicrosecondType>();
    Ok(times.iter().collect())
}

fn time(micros: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
}

/// Whole months from `a` to `b`, as Trino counts them: a month is complete once `b` reaches
/// `a`'s day and time of day in it.
fn whole_months(a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
    let months = (i64::from(b.year()) - i64::from(a.year())) * 12 + i64::from(b.month())
        - i64::from(a.month());
    let rest = |t: DateTime<Utc>| (t.day(), t.time());
    if months > 0 && rest(b) < rest(a) {
        months - 1
    } else if months < 0 && rest(b) > rest(a) {
        months + 1
    } else {
        months
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DateDiff {
    signature: Signature,
}

impl ScalarUDFImpl for DateDiff {
    udf_boilerplate!("date_diff");

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [_, _, _] => Ok(DataType::Int64),
            _ => plan_err!("date_diff(unit, from, to) takes a unit ({UNITS}) and two times"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let unit = unit_of(&arrays)?;
        let (from, to) = (micros(&arrays[1])?, micros(&arrays[2])?);
        let mut out = Int64Builder::with_capacity(from.len());
        for row in 0..from.len() {
            if from.is_null(row) || to.is_null(row) {
                out.append_null();
                continue;
            }
            let (a, b) = (from.value(row), to.value(row));
            let value = match unit.micros() {
                Some(length) => Some((b - a) / length),
                None => time(a)
                    .zip(time(b))
                    .map(|(a, b)| whole_months(a, b) / i64::from(unit.months())),
            };
            out.append_option(value);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DateAdd {
    signature: Signature,
}

impl ScalarUDFImpl for DateAdd {
    udf_boilerplate!("date_add");

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [_, amount, _] if amount.is_integer() || amount.is_null() => Ok(DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("UTC".into()),
            )),
            _ => plan_err!(
                "date_add(unit, amount, time) takes a unit ({UNITS}), a whole number and a time"
            ),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let unit = unit_of(&arrays)?;
        let amounts = arrow::compute::cast(&arrays[1], &DataType::Int64)?;
        let amounts = amounts.as_primitive::<Int64Type>();
        let times = micros(&arrays[2])?;
        let mut out = TimestampMicrosecondBuilder::with_capacity(times.len()).with_timezone("UTC");
        for row in 0..times.len() {
            if times.is_null(row) || amounts.is_null(row) {
                out.append_null();
                continue;
            }
            let (t, n) = (times.value(row), amounts.value(row));
            let moved = match unit.micros() {
                Some(length) => n.checked_mul(length).and_then(|d| t.checked_add(d)),
                None => time(t).and_then(|at| {
                    let months = n.checked_mul(i64::from(unit.months()))?;
                    let shifted = if months >= 0 {
                        at.checked_add_months(Months::new(u32::try_from(months).ok()?))
                    } else {
                        at.checked_sub_months(Months::new(u32::try_from(-months).ok()?))
                    }?;
                    Some(shifted.timestamp_micros())
                }),
            };
            out.append_option(moved);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// The time functions, to register with a session.
pub(crate) fn udfs() -> Vec<ScalarUDF> {
    let three = || Signature::any(3, Volatility::Immutable);
    vec![
        ScalarUDF::from(DateDiff { signature: three() }),
        ScalarUDF::from(DateAdd { signature: three() }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc())
    }

    #[test]
    fn months_count_whole_calendar_months_either_way() {
        let months = |a, b| at(a).zip(at(b)).map(|(a, b)| whole_months(a, b));
        assert_eq!(
            months("2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z"),
            Some(0)
        );
        assert_eq!(
            months("2024-01-15T00:00:00Z", "2024-02-15T00:00:00Z"),
            Some(1)
        );
        assert_eq!(
            months("2024-01-15T12:00:00Z", "2024-02-15T11:00:00Z"),
            Some(0)
        );
        assert_eq!(
            months("2024-03-15T00:00:00Z", "2024-01-20T00:00:00Z"),
            Some(-1)
        );
        assert_eq!(Unit::parse("Days"), Some(Unit::Day));
        assert_eq!(Unit::parse("fortnight"), None);
    }
}
