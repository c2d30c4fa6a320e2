//! Tables whose rows live in the catalog (`findings`, the computed insights), read when a
//! query scans them instead of when the engine opens. Most queries never touch them, and a
//! lake's findings grow without bound: read up front, they slowed every `trailhound query`
//! over `events`, and every server snapshot after an ingest, by their number
//! (docs/benchmarks.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use trailhound_lake::{Access, Lake};

use crate::QueryError;

/// Reads a table's rows from the lake's catalog, in the table's schema.
pub(crate) type Load = fn(&Lake) -> Result<RecordBatch, QueryError>;

/// A table of the catalog, read afresh by every query that scans it: a query sees what was
/// committed when it was planned, as with `events`.
#[derive(Debug)]
pub(crate) struct CatalogTable {
    schema: SchemaRef,
    data_dir: PathBuf,
    load: Load,
}

impl CatalogTable {
    /// The table of `schema` whose rows `load` reads from the lake in `data_dir`.
    pub(crate) fn new(schema: SchemaRef, data_dir: &Path, load: Load) -> CatalogTable {
        CatalogTable {
            schema,
            data_dir: data_dir.to_owned(),
            load,
        }
    }
}

#[async_trait]
impl TableProvider for CatalogTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let (data_dir, load) = (self.data_dir.clone(), self.load);
        // SQLite blocks, and a server's runtime threads must not wait on it. The catalog
        // connection stays on that thread: it is not Sync.
        let batch = tokio::task::spawn_blocking(move || {
            let lake = Lake::open(&data_dir, Access::Read)?;
            load(&lake)
        })
        .await
        .map_err(|err| DataFusionError::External(Box::new(err)))?
        .map_err(|err| DataFusionError::External(Box::new(err)))?;
        MemTable::try_new(Arc::clone(&self.schema), vec![vec![batch]])?
            .scan(state, projection, filters, limit)
            .await
    }
}
