//! Tables of what was recorded beside the lake's events: `posture` (the newest posture run's
//! verdicts), `integrity` (each validated place's newest integrity check) and
//! `integrity_problems` (what those checks found wrong), so that reports and users ask them
//! in SQL like everything else.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, RecordBatch, StringArray, TimestampMicrosecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::DateTime;
use datafusion::execution::context::SessionContext;
use trailhound_event::parse_event_time;
use trailhound_lake::{IntegrityCheck, Lake};

use crate::QueryError;
use crate::catalog_table::CatalogTable;

/// Registers the tables over the catalog of the lake in `data_dir`.
pub(crate) fn register(context: &SessionContext, data_dir: &Path) -> Result<(), QueryError> {
    context.register_table(
        "posture",
        Arc::new(CatalogTable::new(posture_schema(), data_dir, posture)),
    )?;
    context.register_table(
        "integrity",
        Arc::new(CatalogTable::new(integrity_schema(), data_dir, integrity)),
    )?;
    context.register_table(
        "integrity_problems",
        Arc::new(CatalogTable::new(problems_schema(), data_dir, problems)),
    )?;
    Ok(())
}

/// The names of the tables [`register`] adds.
pub(crate) const TABLES: [&str; 3] = ["posture", "integrity", "integrity_problems"];

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn time(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )
}

fn count(name: &str) -> Field {
    Field::new(name, DataType::UInt64, true)
}

fn strings<T>(rows: &[T], f: impl Fn(&T) -> Option<String>) -> ArrayRef {
    Arc::new(rows.iter().map(f).collect::<StringArray>())
}

fn times<T>(rows: &[T], f: impl Fn(&T) -> Option<String>) -> ArrayRef {
    Arc::new(
        rows.iter()
            .map(|r| {
                f(r).as_deref()
                    .and_then(parse_event_time)
                    .map(|t| t.timestamp_micros())
            })
            .collect::<TimestampMicrosecondArray>()
            .with_timezone("UTC"),
    )
}

fn batch(
    schema: SchemaRef,
    columns: Vec<ArrayRef>,
    table: &str,
) -> Result<RecordBatch, QueryError> {
    RecordBatch::try_new(schema, columns)
        .map_err(|err| QueryError::Internal(format!("{table} table: {err}")))
}

fn posture_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        time("checkedAt"),
        text("origin"),
        text("account"),
        text("checkId"),
        text("resource"),
        text("verdict"),
        text("severity"),
        text("title"),
        text("cis"),
        text("found"),
        text("fix"),
    ]))
}

fn posture(lake: &Lake) -> Result<RecordBatch, QueryError> {
    let run = lake.catalog().latest_posture()?;
    let (checks, run) = match &run {
        Some(run) => (run.checks.as_slice(), Some(run)),
        None => (&[][..], None),
    };
    let of_run = |f: fn(&trailhound_lake::catalog::posture::PostureRun) -> Option<String>| {
        strings(checks, |_| run.and_then(f))
    };
    batch(
        posture_schema(),
        vec![
            times(checks, |_| run.map(|r| r.checked_at.clone())),
            of_run(|r| Some(r.origin.clone())),
            of_run(|r| r.account.clone()),
            strings(checks, |c| Some(c.check_id.clone())),
            strings(checks, |c| Some(c.resource.clone())),
            strings(checks, |c| Some(c.verdict.clone())),
            strings(checks, |c| Some(c.severity.clone())),
            strings(checks, |c| Some(c.title.clone())),
            strings(checks, |c| Some(c.cis.clone())),
            strings(checks, |c| Some(c.found.clone())),
            strings(checks, |c| c.fix.clone()),
        ],
        "posture",
    )
}

/// Each place's newest check: older checks of a place were superseded by it.
fn newest_checks(lake: &Lake) -> Result<Vec<IntegrityCheck>, QueryError> {
    let mut seen = std::collections::HashSet::new();
    Ok(lake
        .catalog()
        .integrity_checks(usize::MAX)?
        .into_iter()
        .filter(|c| seen.insert(c.location.clone()))
        .collect())
}

fn integrity_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        time("checkedAt"),
        text("location"),
        Field::new("valid", DataType::Boolean, false),
        count("validDigests"),
        count("invalidDigests"),
        count("unsignedDigests"),
        count("validLogs"),
        count("invalidLogs"),
        time("foundStart"),
        time("foundEnd"),
    ]))
}

fn integrity(lake: &Lake) -> Result<RecordBatch, QueryError> {
    let checks = newest_checks(lake)?;
    let summaries: Vec<serde_json::Value> = checks
        .iter()
        .map(|c| serde_json::from_str(&c.report).unwrap_or_default())
        .collect();
    let counted = |name: &'static str| -> ArrayRef {
        Arc::new(
            summaries
                .iter()
                .map(|s| s["counts"][name].as_u64())
                .collect::<UInt64Array>(),
        )
    };
    batch(
        integrity_schema(),
        vec![
            times(&checks, |c| Some(c.checked_at.clone())),
            strings(&checks, |c| Some(c.location.clone())),
            Arc::new(
                checks
                    .iter()
                    .map(|c| Some(c.valid))
                    .collect::<BooleanArray>(),
            ),
            counted("valid_digests"),
            counted("invalid_digests"),
            counted("unsigned_digests"),
            counted("valid_logs"),
            counted("invalid_logs"),
            times(&summaries, |s| s["found_start"].as_str().map(str::to_owned)),
            times(&summaries, |s| s["found_end"].as_str().map(str::to_owned)),
        ],
        "integrity",
    )
}

fn problems_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        time("checkedAt"),
        text("location"),
        text("subject"),
        text("object"),
        text("status"),
        text("reason"),
        time("digestEndTime"),
    ]))
}

/// One problem a check found, with the check it belongs to.
struct Problem {
    checked_at: String,
    location: String,
    outcome: serde_json::Value,
}

fn problems(lake: &Lake) -> Result<RecordBatch, QueryError> {
    let mut rows = Vec::new();
    for check in newest_checks(lake)? {
        let summary: serde_json::Value = serde_json::from_str(&check.report).unwrap_or_default();
        for outcome in summary["problems"].as_array().into_iter().flatten() {
            rows.push(Problem {
                checked_at: check.checked_at.clone(),
                location: check.location.clone(),
                outcome: outcome.clone(),
            });
        }
    }
    let field =
        |name: &'static str| strings(&rows, move |p| p.outcome[name].as_str().map(str::to_owned));
    let digest_end: Vec<Option<String>> = rows
        .iter()
        .map(|p| p.outcome["location"].as_str().and_then(digest_end_time))
        .collect();
    batch(
        problems_schema(),
        vec![
            times(&rows, |p| Some(p.checked_at.clone())),
            strings(&rows, |p| Some(p.location.clone())),
            field("subject"),
            field("location"),
            field("status"),
            field("reason"),
            times(&digest_end, Clone::clone),
        ],
        "integrity_problems",
    )
}

/// The end of the hour a digest file covers, from its name
/// (`…_CloudTrail-Digest_REGION_TRAIL_HOME_20240701T010000Z.json.gz`).
fn digest_end_time(key: &str) -> Option<String> {
    if !key.contains("CloudTrail-Digest") {
        return None;
    }
    let name = key.rsplit('/').next()?;
    let stamp = name
        .split('_')
        .find(|part| part.len() >= 16 && part.as_bytes().get(8) == Some(&b'T'))?;
    let stamp = stamp.get(..16)?;
    let time = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok()?;
    Some(DateTime::<chrono::Utc>::from_naive_utc_and_offset(time, chrono::Utc).to_rfc3339())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_name_tells_its_hour() {
        assert_eq!(
            digest_end_time(
                "s3://b/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/07/01/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20240701T020000Z.json.gz"
            )
            .as_deref(),
            Some("2024-07-01T02:00:00+00:00")
        );
        assert_eq!(digest_end_time("/logs/a.json.gz"), None);
    }
}
