//! The `insights` table: every Insights event, those Trailhound computed (the catalog's
//! `computed_insights`) and CloudTrail's own ingested from `CloudTrail-Insight` files, with
//! the same columns so one query sees both.

use std::path::Path;
use std::sync::Arc;

use arrow::array::TimestampMicrosecondArray;
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::execution::context::SessionContext;
use trailhound_event::parse_event_time;
use trailhound_lake::StoredInsight;

use crate::QueryError;
use crate::catalog_table::CatalogTable;

/// The table of computed insights, as SQL sees it.
pub(crate) const COMPUTED: &str = "computed_insights";

fn schema() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        Field::new(
            "eventTime",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        text("state"),
        text("sharedEventID"),
        text("eventID"),
        text("recipientAccountId"),
        text("awsRegion"),
        text("eventSource"),
        text("eventName"),
        text("insightType"),
        text("errorCode"),
        Field::new("baselineAverage", DataType::Float64, true),
        Field::new("insightAverage", DataType::Float64, true),
        Field::new("insightDuration", DataType::Int64, true),
        Field::new("baselineDuration", DataType::Int64, true),
        text("origin"),
        text("eventJson"),
    ]))
}

/// Registers `computed_insights` (read from the catalog of the lake in `data_dir` when a
/// query scans it) and the `insights` view over it and `events`.
pub(crate) async fn register(context: &SessionContext, data_dir: &Path) -> Result<(), QueryError> {
    let table = CatalogTable::new(schema(), data_dir, |lake| {
        to_batch(&lake.catalog().insights()?)
    });
    context.register_table(COMPUTED, Arc::new(table))?;
    let details = |path: &str| {
        let parts: Vec<String> = path.split('.').map(|p| format!("'{p}'")).collect();
        parts.join(", ")
    };
    let view = format!(
        "CREATE VIEW insights AS
         SELECT * FROM {COMPUTED}
         UNION ALL
         SELECT eventTime,
                json_get_str(insightDetails, 'state'),
                sharedEventID, eventID, recipientAccountId, awsRegion,
                json_get_str(insightDetails, 'eventSource'),
                json_get_str(insightDetails, 'eventName'),
                json_get_str(insightDetails, 'insightType'),
                json_get_str(insightDetails, 'errorCode'),
                CAST(json_get_float(insightDetails, {baseline}) AS DOUBLE),
                CAST(json_get_float(insightDetails, {insight}) AS DOUBLE),
                CAST(json_get_int(insightDetails, {duration}) AS BIGINT),
                CAST(json_get_int(insightDetails, {baseline_duration}) AS BIGINT),
                'cloudtrail',
                eventJson
         FROM events WHERE eventType = 'AwsCloudTrailInsight'",
        baseline = details("insightContext.statistics.baseline.average"),
        insight = details("insightContext.statistics.insight.average"),
        duration = details("insightContext.statistics.insightDuration"),
        baseline_duration = details("insightContext.statistics.baselineDuration"),
    );
    context.sql(&view).await?;
    Ok(())
}

fn to_batch(insights: &[StoredInsight]) -> Result<RecordBatch, QueryError> {
    let text = |f: fn(&StoredInsight) -> Option<&str>| -> ArrayRef {
        Arc::new(insights.iter().map(f).collect::<StringArray>())
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            insights
                .iter()
                .map(|i| parse_event_time(&i.event_time).map(|t| t.timestamp_micros()))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        text(|i| Some(&i.state)),
        text(|i| Some(&i.shared_event_id)),
        text(|i| Some(&i.event_id)),
        text(|i| Some(&i.account)),
        text(|i| Some(&i.region)),
        text(|i| Some(&i.event_source)),
        text(|i| Some(&i.event_name)),
        text(|i| Some(&i.insight_type)),
        text(|i| i.error_code.as_deref()),
        Arc::new(
            insights
                .iter()
                .map(|i| Some(i.baseline_average))
                .collect::<Float64Array>(),
        ),
        Arc::new(
            insights
                .iter()
                .map(|i| Some(i.insight_average))
                .collect::<Float64Array>(),
        ),
        Arc::new(
            insights
                .iter()
                .map(|i| i.insight_duration)
                .collect::<Int64Array>(),
        ),
        Arc::new(
            insights
                .iter()
                .map(|i| Some(i.baseline_duration))
                .collect::<Int64Array>(),
        ),
        text(|_| Some("trailhound")),
        text(|i| Some(&i.record)),
    ];
    RecordBatch::try_new(schema(), columns)
        .map_err(|err| QueryError::Internal(format!("insights table: {err}")))
}
