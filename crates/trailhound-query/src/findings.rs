//! The `findings` table: the catalog's findings as rows SQL can join with `events`.

use std::path::Path;
use std::sync::Arc;

use std::collections::HashMap;

use arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use trailhound_event::parse_event_time;
use trailhound_lake::{StoredFinding, TriageEntry};

use crate::QueryError;
use crate::catalog_table::CatalogTable;

/// Columns in CloudTrail's camelCase style, like `events`; `eventIds` is a JSON array.
fn schema() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let time = |name: &str| {
        Field::new(
            name,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        )
    };
    Arc::new(Schema::new(vec![
        time("time"),
        time("firstTime"),
        text("level"),
        text("ruleId"),
        text("ruleTitle"),
        text("tags"),
        text("principal"),
        text("eventSource"),
        text("eventName"),
        text("sourceIPAddress"),
        text("awsRegion"),
        text("recipientAccountId"),
        Field::new("eventCount", DataType::UInt64, false),
        text("eventIds"),
        text("summary"),
        text("status"),
        text("foundAt"),
        Field::new("id", DataType::Int64, false),
        text("note"),
        text("triagedBy"),
        text("triagedAt"),
    ]))
}

/// The findings recorded in the lake's catalog, as a table read when a query scans it.
pub(crate) fn findings_table(data_dir: &Path) -> CatalogTable {
    CatalogTable::new(schema(), data_dir, |lake| {
        let catalog = lake.catalog();
        to_batch(&catalog.findings()?, &catalog.latest_triage()?)
    })
}

fn to_batch(
    findings: &[StoredFinding],
    triage: &HashMap<i64, TriageEntry>,
) -> Result<RecordBatch, QueryError> {
    let triaged = |f: fn(&TriageEntry) -> Option<String>| -> ArrayRef {
        Arc::new(
            findings
                .iter()
                .map(|r| triage.get(&r.id).and_then(f))
                .collect::<StringArray>(),
        )
    };
    let text = |f: fn(&StoredFinding) -> Option<String>| -> ArrayRef {
        Arc::new(findings.iter().map(f).collect::<StringArray>())
    };
    let time = |f: fn(&StoredFinding) -> Option<&str>| -> ArrayRef {
        Arc::new(
            findings
                .iter()
                .map(|r| {
                    f(r).and_then(parse_event_time)
                        .map(|t| t.timestamp_micros())
                })
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        )
    };
    let columns: Vec<ArrayRef> = vec![
        time(|r| r.finding.time.as_deref()),
        time(|r| r.finding.first_time.as_deref()),
        text(|r| Some(r.finding.level.to_string())),
        text(|r| Some(r.finding.rule_id.clone())),
        text(|r| Some(r.finding.rule_title.clone())),
        text(|r| Some(r.finding.tags.join(","))),
        text(|r| r.finding.principal.clone()),
        text(|r| r.finding.event_source.clone()),
        text(|r| r.finding.event_name.clone()),
        text(|r| r.finding.source_ip.clone()),
        text(|r| r.finding.region.clone()),
        text(|r| r.finding.account.clone()),
        Arc::new(
            findings
                .iter()
                .map(|r| r.finding.event_count)
                .collect::<UInt64Array>(),
        ),
        // JSON, not Rust's debug quoting: an eventID is whatever the input said, and a
        // control character or non-ASCII text must still give an array SQL can read.
        text(|r| serde_json::to_string(&r.finding.event_ids).ok()),
        text(|r| Some(r.finding.summary.clone())),
        text(|r| Some(r.status.as_str().to_owned())),
        text(|r| Some(r.found_at.clone())),
        Arc::new(findings.iter().map(|r| r.id).collect::<Int64Array>()),
        triaged(|t| t.note.clone()),
        triaged(|t| Some(t.by.clone())),
        triaged(|t| Some(t.at.clone())),
    ];
    RecordBatch::try_new(schema(), columns)
        .map_err(|err| QueryError::Internal(format!("findings table: {err}")))
}
