//! `sessions`: one row per access key (or key-less principal) the identity index knows, with
//! the origin of its chain, its role hops from it, and what it did, so that "who was behind
//! this session?" is `SELECT origin FROM sessions WHERE accessKeyId = 'ASIA…'` instead of a
//! self-join of `AssumeRole` events.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, ListBuilder, RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray,
    UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::execution::context::SessionContext;
use trailhound_identity::SessionRow;
use trailhound_lake::Lake;

use crate::QueryError;
use crate::catalog_table::CatalogTable;

/// The table's name.
pub(crate) const TABLE: &str = "sessions";

/// Registers `sessions` over the catalog of the lake in `data_dir`.
pub(crate) fn register(context: &SessionContext, data_dir: &Path) -> Result<(), QueryError> {
    context.register_table(TABLE, Arc::new(CatalogTable::new(schema(), data_dir, load)))?;
    Ok(())
}

fn schema() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let time = |name: &str| {
        Field::new(
            name,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        )
    };
    let count = |name: &str| Field::new(name, DataType::UInt64, false);
    let list = |name: &str| {
        Field::new(
            name,
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        )
    };
    Arc::new(Schema::new(vec![
        text("session"),
        text("accessKeyId"),
        text("type"),
        text("role"),
        text("sourceIdentity"),
        text("originType"),
        text("origin"),
        count("depth"),
        text("grantedBy"),
        time("grantedAt"),
        time("firstSeen"),
        time("lastSeen"),
        count("calls"),
        count("errors"),
        count("services"),
        list("sourceIPs"),
        list("accounts"),
    ]))
}

fn strings(rows: &[SessionRow], f: impl Fn(&SessionRow) -> Option<&str>) -> ArrayRef {
    Arc::new(rows.iter().map(f).collect::<StringArray>())
}

fn times(rows: &[SessionRow], f: impl Fn(&SessionRow) -> Option<i64>) -> ArrayRef {
    Arc::new(
        rows.iter()
            .map(f)
            .collect::<TimestampMicrosecondArray>()
            .with_timezone("UTC"),
    )
}

fn counts(rows: &[SessionRow], f: impl Fn(&SessionRow) -> u64) -> ArrayRef {
    Arc::new(rows.iter().map(f).collect::<UInt64Array>())
}

fn lists(rows: &[SessionRow], f: impl Fn(&SessionRow) -> &[String]) -> ArrayRef {
    let mut builder = ListBuilder::new(StringBuilder::new());
    for row in rows {
        for item in f(row) {
            builder.values().append_value(item);
        }
        builder.append(true);
    }
    Arc::new(builder.finish())
}

fn load(lake: &Lake) -> Result<RecordBatch, QueryError> {
    let rows = trailhound_identity::sessions(lake.catalog())
        .map_err(|err| QueryError::Internal(format!("sessions table: {err}")))?;
    RecordBatch::try_new(
        schema(),
        vec![
            strings(&rows, |r| Some(&r.session)),
            strings(&rows, |r| r.access_key_id.as_deref()),
            strings(&rows, |r| r.kind.as_deref()),
            strings(&rows, |r| r.role.as_deref()),
            strings(&rows, |r| r.source_identity.as_deref()),
            strings(&rows, |r| Some(&r.origin_kind)),
            strings(&rows, |r| Some(&r.origin)),
            counts(&rows, |r| r.depth),
            strings(&rows, |r| r.granted_by.as_deref()),
            times(&rows, |r| r.granted_us),
            times(&rows, |r| Some(r.first_us)),
            times(&rows, |r| Some(r.last_us)),
            counts(&rows, |r| r.calls),
            counts(&rows, |r| r.errors),
            counts(&rows, |r| r.services),
            lists(&rows, |r| &r.source_ips),
            lists(&rows, |r| &r.accounts),
        ],
    )
    .map_err(|err| QueryError::Internal(format!("sessions table: {err}")))
}
