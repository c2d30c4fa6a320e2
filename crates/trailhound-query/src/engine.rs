//! The query engine: a DataFusion session over the lake, read-only, with CloudTrail's
//! case-sensitive camelCase names and JSON functions.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use trailhound_lake::{Access, Lake, PARTITION_COLUMNS, file_schema};

use crate::QueryError;

/// Runs SQL over a lake. Cheap to create; holds no lock on the lake, so queries run while an
/// ingest writes (they see what was committed when the query was planned).
pub struct QueryEngine {
    context: SessionContext,
    runtime: tokio::runtime::Runtime,
}

impl QueryEngine {
    /// Opens the lake in `data_dir` for queries.
    ///
    /// # Errors
    ///
    /// When the data directory cannot be opened or the table cannot be registered.
    pub fn open(data_dir: &std::path::Path) -> Result<QueryEngine, QueryError> {
        let lake = Lake::open(data_dir, Access::Read)?;
        let config = SessionConfig::new()
            .with_information_schema(true)
            .set_bool("datafusion.sql_parser.enable_ident_normalization", false)
            .set_bool("datafusion.execution.parquet.pushdown_filters", true)
            .set_bool("datafusion.execution.parquet.reorder_filters", true)
            .set_bool("datafusion.execution.collect_statistics", true);
        let mut context = SessionContext::new_with_config(config);
        datafusion_functions_json::register_all(&mut context)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|err| {
                QueryError::Internal(format!("cannot start the query runtime: {err}"))
            })?;
        let table = events_table(&lake)?;
        context.register_table("events", Arc::new(table))?;
        context.register_table(
            "findings",
            Arc::new(crate::findings::findings_table(&lake)?),
        )?;
        crate::insights::register(&context, &runtime, &lake)?;
        Ok(QueryEngine { context, runtime })
    }

    /// Runs one read-only SQL statement and returns all result rows.
    ///
    /// # Errors
    ///
    /// [`QueryError::NotReadOnly`] for anything but a query; [`QueryError::Plan`] for SQL
    /// that does not parse or names unknown tables, columns or functions.
    pub fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>, QueryError> {
        self.runtime.block_on(async {
            let options = SQLOptions::new()
                .with_allow_ddl(false)
                .with_allow_dml(false)
                .with_allow_statements(false);
            let frame = self
                .context
                .sql_with_options(sql, options)
                .await
                .map_err(read_only_or_other)?;
            Ok(frame.collect().await?)
        })
    }
}

/// DataFusion reports refused statement kinds as plan errors; say plainly what happened.
fn read_only_or_other(err: datafusion::error::DataFusionError) -> QueryError {
    let message = err.find_root().to_string();
    let refused = [
        "DDL not supported",
        "DML not supported",
        "Statement not supported",
    ];
    if refused.iter().any(|r| message.contains(r)) {
        QueryError::NotReadOnly(
            message
                .trim_start_matches("Error during planning: ")
                .to_owned(),
        )
    } else {
        QueryError::from(err)
    }
}

/// The `events` table: the lake's Hive-partitioned Parquet files, with partition values
/// (`account`, `region`, `date`) as columns, so filters on them skip whole folders.
fn events_table(lake: &Lake) -> Result<ListingTable, QueryError> {
    let dir = lake.events_dir();
    let url = ListingTableUrl::parse(format!("{}/", dir.display()))?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(
            PARTITION_COLUMNS
                .iter()
                .map(|name| (name.to_string(), DataType::Utf8))
                .collect(),
        );
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(file_schema());
    Ok(ListingTable::try_new(config)?)
}
