//! The query engine: a DataFusion session over the lake, read-only, with CloudTrail's
//! case-sensitive camelCase names and JSON functions.

use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlan;
use futures::StreamExt;
use trailhound_lake::{Access, FOOTER_BYTES, Lake, PARTITION_COLUMNS, file_schema};

use crate::dialect::{Dialect, Names};
use crate::events_table::EventsTable;
use crate::{Language, QueryError};

/// Bounds on what one engine's queries may use, for a server that runs other people's SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryLimits {
    /// Memory all queries of the engine may hold at once; past it a query fails with
    /// [`QueryError::Exhausted`] instead of taking the machine down (nothing spills to disk).
    /// `None`: unbounded.
    pub memory_bytes: Option<usize>,
}

/// Runs SQL over a lake. Cheap to create; holds no lock on the lake, so queries run while an
/// ingest writes (they see what was committed when the query was planned).
///
/// The CLI uses the blocking [`QueryEngine::open`] and [`QueryEngine::sql`]; a server already
/// inside a tokio runtime uses [`QueryEngine::open_async`] and [`QueryEngine::sql_async`].
pub struct QueryEngine {
    context: SessionContext,
    /// The runtime of a blocking engine; `None` for one opened inside a runtime.
    runtime: Option<tokio::runtime::Runtime>,
    /// The tables' names, for queries in other dialects.
    names: Arc<Names>,
    /// What queries asked of the lake's files.
    requests: Arc<crate::lake_store::LakeRequests>,
}

impl QueryEngine {
    /// Opens the lake in `data_dir` for blocking queries, for a command that asks a few
    /// questions and exits. It gathers no file statistics while planning (see
    /// [`Statistics`]).
    ///
    /// # Errors
    ///
    /// When the data directory cannot be opened or the table cannot be registered.
    pub fn open(data_dir: &std::path::Path) -> Result<QueryEngine, QueryError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|err| {
                QueryError::Internal(format!("cannot start the query runtime: {err}"))
            })?;
        let mut engine = runtime.block_on(QueryEngine::build(
            data_dir,
            QueryLimits::default(),
            Statistics::Skipped,
        ))?;
        engine.runtime = Some(runtime);
        Ok(engine)
    }

    /// Opens the lake in `data_dir` from inside a tokio runtime, with `limits`, for a server
    /// whose engine answers many queries: it gathers file statistics once and keeps them
    /// (see [`Statistics`]).
    ///
    /// # Errors
    ///
    /// When the data directory cannot be opened or the table cannot be registered.
    pub async fn open_async(
        data_dir: &std::path::Path,
        limits: QueryLimits,
    ) -> Result<QueryEngine, QueryError> {
        QueryEngine::build(data_dir, limits, Statistics::Kept).await
    }

    async fn build(
        data_dir: &std::path::Path,
        limits: QueryLimits,
        statistics: Statistics,
    ) -> Result<QueryEngine, QueryError> {
        let config = SessionConfig::new()
            .with_information_schema(true)
            .set_bool("datafusion.sql_parser.enable_ident_normalization", false)
            .set_bool("datafusion.execution.parquet.pushdown_filters", true)
            .set_bool("datafusion.execution.parquet.reorder_filters", true)
            .set_bool(
                "datafusion.execution.collect_statistics",
                statistics == Statistics::Kept,
            );
        let mut runtime_env = RuntimeEnvBuilder::new();
        if let Some(bytes) = limits.memory_bytes {
            // A limit refuses what does not fit instead of spilling it to temporary files:
            // other people's SQL must not fill the server's disk either, and DataFusion's
            // nested-loop-join spill failed with an internal error on a three-way cross join
            // here.
            runtime_env = runtime_env
                .with_memory_limit(bytes, 1.0)
                .with_disk_manager_builder(
                    DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
                );
        }
        let mut context = SessionContext::new_with_config_rt(config, runtime_env.build_arc()?);
        datafusion_functions_json::register_all(&mut context)?;
        // The catalog connection is dropped before the first await: it is not Sync. The
        // catalog's own tables are read when a query scans them (catalog_table.rs).
        let requests = Arc::new(crate::lake_store::LakeRequests::default());
        let events = {
            let lake = Lake::open(data_dir, Access::Read)?;
            context.register_object_store(
                ListingTableUrl::parse(LAKE_URL)?.object_store().as_ref(),
                Arc::new(crate::lake_store::LakeStore::new(
                    lake.listing(),
                    Arc::clone(&requests),
                )),
            );
            let mut events = events_table()?;
            if statistics == Statistics::Kept {
                // A table built by hand gets no statistics cache unless given the session's.
                // Entries are checked against each file's size and commit time, and a lake
                // file is never rewritten under its name.
                events = events.with_cache(
                    context
                        .runtime_env()
                        .cache_manager
                        .get_file_statistic_cache(),
                );
            }
            events
        };
        context.register_table("events", Arc::new(EventsTable::new(events)))?;
        context.register_table(
            "findings",
            Arc::new(crate::findings::findings_table(data_dir)),
        )?;
        crate::insights::register(&context, data_dir).await?;
        crate::annotations::register(&context, data_dir)?;
        crate::sessions::register(&context, data_dir)?;
        crate::functions::register(&context);
        let mut schemas = Vec::new();
        for table in ["events", "findings", "insights"]
            .into_iter()
            .chain(crate::annotations::TABLES)
            .chain([crate::sessions::TABLE])
        {
            schemas.push(context.table_provider(table).await?.schema());
        }
        Ok(QueryEngine {
            context,
            runtime: None,
            names: Arc::new(Names::of(&schemas)),
            requests,
        })
    }

    /// What this engine's queries have asked of the lake's files so far.
    pub fn lake_requests(&self) -> crate::lake_store::LakeRequestCounts {
        self.requests.snapshot()
    }

    /// Registers `table`: the events of just these lake `files` (see `Lake::file_path`),
    /// without the partition columns. For work that must read exactly the files an ingest
    /// added.
    ///
    /// # Errors
    ///
    /// When a path cannot be made a table location or the name is taken.
    pub fn register_lake_files(
        &self,
        table: &str,
        files: &[std::path::PathBuf],
    ) -> Result<(), QueryError> {
        let urls = files
            .iter()
            .map(|file| ListingTableUrl::parse(file.display().to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(lake_file_options())
            .with_schema(file_schema());
        self.context
            .register_table(table, Arc::new(ListingTable::try_new(config)?))?;
        Ok(())
    }

    /// Runs one read-only SQL statement and returns all result rows.
    ///
    /// # Errors
    ///
    /// [`QueryError::NotReadOnly`] for anything but a query; [`QueryError::Plan`] for SQL
    /// that does not parse or names unknown tables, columns or functions.
    pub fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>, QueryError> {
        self.blocking_runtime()?.block_on(self.sql_async(sql))
    }

    /// Runs one read-only SQL statement and hands its result to `each` batch by batch as
    /// the engine makes them, so that a large result (an export) is never held whole; `each`
    /// returns [`ControlFlow::Break`] to stop early.
    ///
    /// # Errors
    ///
    /// As [`QueryEngine::sql`], and the first error `each` returns.
    pub fn sql_for_each<E>(
        &self,
        sql: &str,
        each: impl FnMut(&RecordBatch) -> Result<ControlFlow<()>, E>,
    ) -> Result<(), E>
    where
        E: From<QueryError>,
    {
        self.query_for_each(sql, Language::Sql(Dialect::DataFusion), each)
    }

    /// [`QueryEngine::sql_for_each`] for a query as a user wrote it, in `language`: SQL in
    /// CloudTrail Lake's, Athena's or DataFusion's dialect (see [`Dialect`]), run with the
    /// table name as the only change, or a Logs Insights query.
    ///
    /// # Errors
    ///
    /// As [`QueryEngine::sql_for_each`].
    pub fn query_for_each<E>(
        &self,
        query: &str,
        language: Language,
        mut each: impl FnMut(&RecordBatch) -> Result<ControlFlow<()>, E>,
    ) -> Result<(), E>
    where
        E: From<QueryError>,
    {
        self.blocking_runtime()?.block_on(async {
            let mut stream = self
                .frame_in(query, language)
                .await?
                .execute_stream()
                .await
                .map_err(QueryError::from)?;
            let mut delivered = false;
            while let Some(batch) = stream.next().await {
                delivered = true;
                if each(&batch.map_err(QueryError::from)?)?.is_break() {
                    break;
                }
            }
            // No rows still have columns: a table prints its header, CSV its header line.
            if !delivered {
                let _ = each(&RecordBatch::new_empty(stream.schema()))?;
            }
            Ok(())
        })
    }

    /// Folds the result of one read-only SQL statement on every core: each of the plan's
    /// output partitions (one per core for a scan) is read and folded by its own thread into
    /// its own state, made by `start`; the states come back for the caller to merge. Reading
    /// happens on the folding threads themselves, so a scan folded this way keeps all cores
    /// busy with no hand-over between threads.
    ///
    /// # Errors
    ///
    /// As [`QueryEngine::sql`], and the first error `fold` returns.
    pub fn sql_fold<S, E>(
        &self,
        sql: &str,
        start: impl Fn() -> S + Sync,
        fold: impl Fn(&mut S, &RecordBatch) -> Result<(), E> + Sync,
    ) -> Result<Vec<S>, E>
    where
        S: Send,
        E: From<QueryError> + Send,
    {
        let runtime = self.blocking_runtime()?;
        let streams = runtime.block_on(async {
            self.frame(sql)
                .await?
                .execute_stream_partitioned()
                .await
                .map_err(QueryError::from)
        })?;
        let handle = runtime.handle();
        std::thread::scope(|scope| {
            let workers: Vec<_> = streams
                .into_iter()
                .map(|mut stream| {
                    let (start, fold) = (&start, &fold);
                    scope.spawn(move || {
                        let mut state = start();
                        handle.block_on(async {
                            while let Some(batch) = stream.next().await {
                                fold(&mut state, &batch.map_err(QueryError::from)?)?;
                            }
                            Ok::<(), E>(())
                        })?;
                        Ok(state)
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|worker| {
                    worker.join().unwrap_or_else(|_| {
                        Err(QueryError::Internal("a folding thread panicked".to_owned()).into())
                    })
                })
                .collect()
        })
    }

    /// Runs `work` (asynchronous queries of this engine, several at once for instance) to
    /// its end on the engine's runtime, for an engine opened with [`QueryEngine::open`].
    ///
    /// # Errors
    ///
    /// [`QueryError::Internal`] for an engine opened with [`QueryEngine::open_async`].
    pub fn block_on<F: std::future::Future>(&self, work: F) -> Result<F::Output, QueryError> {
        Ok(self.blocking_runtime()?.block_on(work))
    }

    /// [`QueryEngine::sql`] for callers inside a tokio runtime. Dropping the future cancels
    /// the query, which is how a caller enforces a time limit.
    ///
    /// # Errors
    ///
    /// As [`QueryEngine::sql`]; [`QueryError::Exhausted`] past the memory limit.
    pub async fn sql_async(&self, sql: &str) -> Result<Vec<RecordBatch>, QueryError> {
        self.sql_async_limited(sql, None).await
    }

    /// [`QueryEngine::sql_async`], returning at most `rows` rows when given: the limit is
    /// part of the plan, so the engine stops early instead of computing what is dropped.
    ///
    /// # Errors
    ///
    /// As [`QueryEngine::sql_async`].
    pub async fn sql_async_limited(
        &self,
        sql: &str,
        rows: Option<usize>,
    ) -> Result<Vec<RecordBatch>, QueryError> {
        self.query_async(sql, Language::Sql(Dialect::DataFusion), rows)
            .await
    }

    /// [`QueryEngine::sql_async_limited`] for a query as a user wrote it, in `language`.
    ///
    /// # Errors
    ///
    /// As [`QueryEngine::sql_async`].
    pub async fn query_async(
        &self,
        query: &str,
        language: Language,
        rows: Option<usize>,
    ) -> Result<Vec<RecordBatch>, QueryError> {
        let frame = self.frame_in(query, language).await?;
        // EXPLAIN answers with its own few rows, and ANALYZE must stay the root of its plan.
        let explains = matches!(
            frame.logical_plan(),
            LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)
        );
        let frame = match rows {
            Some(rows) if !explains => frame.limit(0, Some(rows))?,
            _ => frame,
        };
        let schema = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame.collect().await?;
        // No rows still have columns, for the header of a table.
        Ok(if batches.is_empty() {
            vec![RecordBatch::new_empty(schema)]
        } else {
            batches
        })
    }
}

impl QueryEngine {
    /// The runtime the blocking methods run queries on; an engine opened with `open_async`
    /// has none and must be queried with [`QueryEngine::sql_async`].
    fn blocking_runtime(&self) -> Result<&tokio::runtime::Runtime, QueryError> {
        self.runtime.as_ref().ok_or_else(|| {
            QueryError::Internal(
                "an engine opened with open_async must be queried with sql_async".to_owned(),
            )
        })
    }

    /// Plans one statement of Trailhound's own, refusing anything that is not a query.
    async fn frame(&self, sql: &str) -> Result<DataFrame, QueryError> {
        self.frame_in(sql, Language::Sql(Dialect::DataFusion)).await
    }

    /// Plans one query written in `language`, refusing anything that is not a query.
    async fn frame_in(&self, query: &str, language: Language) -> Result<DataFrame, QueryError> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let (sql, dialect) = as_sql(query, language)?;
        let mut statements = crate::dialect::prepare(&sql, dialect, &self.names)?;
        let statement = match statements.len() {
            1 => statements.remove(0),
            0 => return Err(QueryError::Plan("the SQL holds no statement".to_owned())),
            n => {
                return Err(QueryError::Plan(format!(
                    "the SQL holds {n} statements; run one at a time"
                )));
            }
        };
        let state = self.context.state();
        let plan = state
            .statement_to_plan(statement)
            .await
            .map_err(read_only_or_other)?;
        options.verify_plan(&plan).map_err(read_only_or_other)?;
        self.context
            .execute_logical_plan(plan)
            .await
            .map_err(read_only_or_other)
    }
}

impl QueryEngine {
    /// What DataFusion runs for `query` written in `language`: the SQL after translation.
    /// This is what `trailhound query --explain` prints.
    ///
    /// # Errors
    ///
    /// [`QueryError::Plan`] for a query that does not parse.
    pub fn translate(&self, query: &str, language: Language) -> Result<String, QueryError> {
        let (sql, dialect) = as_sql(query, language)?;
        crate::dialect::translate(&sql, dialect, &self.names)
    }

    /// Plans `query` without running it: whether it would run.
    ///
    /// # Errors
    ///
    /// As [`QueryEngine::sql`], for what planning finds.
    pub fn check(&self, query: &str, language: Language) -> Result<(), QueryError> {
        self.blocking_runtime()?
            .block_on(self.frame_in(query, language))
            .map(drop)
    }
}

/// `query` as SQL and the dialect it is in: Logs Insights queries are translated into SQL.
fn as_sql(
    query: &str,
    language: Language,
) -> Result<(std::borrow::Cow<'_, str>, Dialect), QueryError> {
    match language {
        Language::Sql(dialect) => Ok((query.into(), dialect)),
        Language::LogsInsights => Ok((
            crate::logs_insights::to_sql(query)
                .map_err(|err| QueryError::Plan(err.to_string()))?
                .into(),
            Dialect::Auto,
        )),
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

/// How the lake's files are read: Parquet, by their extension.
///
/// Opening a file reads its last [`FOOTER_BYTES`] (footer and page index) instead of
/// DataFusion's default, which zeroes and faults in far more memory than a lake file's footer
/// needs for every file a query opens (the figures are in docs/benchmarks.md).
fn lake_file_options() -> ListingOptions {
    let format = ParquetFormat::default().with_metadata_size_hint(Some(FOOTER_BYTES));
    ListingOptions::new(Arc::new(format)).with_file_extension(".parquet")
}

/// Whether an engine gathers DataFusion's file statistics while planning.
///
/// Gathering reads and converts every file's footer before a scan, which reads the footers
/// again (from DataFusion's metadata cache) and prunes row groups by them anyway. For a
/// command that runs one query that is pure cost, and it grows with the lake's files. A
/// server's engine keeps them between queries, and then prunes files by time without opening
/// them, which pays for itself over many requests (docs/benchmarks.md measures both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Statistics {
    /// Not gathered: one-shot commands.
    Skipped,
    /// Gathered once per file and kept for the engine's life: the server.
    Kept,
}

/// Where the `events` table's files are found: the lake's own object store (see
/// [`crate::lake_store`]), which lists the catalog's committed files.
const LAKE_URL: &str = "trailhound-lake://events/";

/// The listing behind the `events` table: the lake's Hive-partitioned Parquet files, with
/// partition values (`account`, `region`, `date`) as columns, so filters on them skip whole
/// folders ([`EventsTable`] adds `date` filters implied by filters on `eventTime`).
fn events_table() -> Result<ListingTable, QueryError> {
    let url = ListingTableUrl::parse(LAKE_URL)?;
    let options = lake_file_options().with_table_partition_cols(
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use arrow::array::{Array, AsArray};
    use trailhound_lake::{CompactOptions, LakeFileRecord, WriteOptions};
    use trailhound_source::{InputSpec, ReadMessage, ReadOptions};

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// Five ingests of ten events each: five small files in one partition.
    fn five_small_files(data: &Path, logs: &Path) -> TestResult {
        for round in 0..5 {
            let records: Vec<String> = (0..10)
                .map(|i| format!(r#"{{"eventVersion":"1.08","eventTime":"2024-07-01T12:00:0{i}Z","eventName":"GetObject","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventID":"r{round}-{i}"}}"#))
                .collect();
            ingest_records(data, &logs.join(format!("round{round}")), &records)?;
        }
        Ok(())
    }

    /// Writes `records` as one CloudTrail file in `dir` and ingests it into the lake in `data`.
    fn ingest_records(data: &Path, dir: &Path, records: &[String]) -> TestResult {
        std::fs::create_dir_all(dir)?;
        std::fs::write(
            dir.join("f.json"),
            format!("{{\"Records\":[{}]}}", records.join(",")),
        )?;
        // The lake writer fed directly: ingest itself belongs to the pipeline, which builds on
        // this crate.
        let mut lake = Lake::open(data, Access::Write)?;
        let mut writer = lake.writer(WriteOptions::default());
        let mut failure = None;
        trailhound_source::read(
            vec![InputSpec::Path(dir.to_owned())],
            &ReadOptions::default(),
            |message| {
                let written = match message {
                    ReadMessage::Batch(batch) => writer.add(trailhound_lake::convert(&batch)),
                    ReadMessage::ObjectDone(report) => writer.object_done(&report),
                    _ => Ok(()),
                };
                failure = written.err();
                if failure.is_some() {
                    std::ops::ControlFlow::Break(())
                } else {
                    std::ops::ControlFlow::Continue(())
                }
            },
        );
        if let Some(err) = failure {
            return Err(err.into());
        }
        writer.finish()?;
        Ok(())
    }

    /// The first value of a query's answer, as text.
    fn first_value(batches: &[RecordBatch]) -> Result<String, Box<dyn std::error::Error>> {
        let batch = batches.first().ok_or("no result")?;
        Ok(arrow::util::display::array_value_to_string(
            batch.column(0),
            0,
        )?)
    }

    fn count(engine: &QueryEngine) -> Result<i64, Box<dyn std::error::Error>> {
        Ok(first_value(&engine.sql("SELECT count(*) AS n FROM events")?)?.parse()?)
    }

    #[test]
    fn a_result_is_handed_over_batch_by_batch_until_the_caller_stops() -> TestResult {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        five_small_files(&data, &dir.path().join("logs"))?;
        let engine = QueryEngine::open(&data)?;
        let sql = "SELECT eventID FROM events";
        let (mut batches, mut ids) = (0, Vec::new());
        engine.sql_for_each(sql, |batch| {
            batches += 1;
            let column = batch.column(0).as_string::<i32>();
            ids.extend((0..column.len()).map(|row| column.value(row).to_owned()));
            Ok::<_, QueryError>(ControlFlow::Continue(()))
        })?;
        assert!(batches > 1, "one batch per file at least, got {batches}");
        ids.sort();
        let mut all: Vec<String> = Vec::new();
        for batch in engine.sql(sql)? {
            let column = batch.column(0).as_string::<i32>();
            all.extend((0..column.len()).map(|row| column.value(row).to_owned()));
        }
        all.sort();
        assert_eq!((ids.len(), &ids), (50, &all));

        let mut seen = 0;
        engine.sql_for_each(sql, |_| {
            seen += 1;
            Ok::<_, QueryError>(ControlFlow::Break(()))
        })?;
        assert_eq!(seen, 1, "stopping after the first batch");
        let refused = engine.sql_for_each("DROP TABLE events", |_| {
            Ok::<_, QueryError>(ControlFlow::Continue(()))
        });
        assert!(
            matches!(refused, Err(QueryError::NotReadOnly(_))),
            "{refused:?}"
        );
        let failed = engine.sql_for_each(sql, |_| Err(QueryError::OutputClosed));
        assert!(
            matches!(failed, Err(QueryError::OutputClosed)),
            "{failed:?}"
        );
        Ok(())
    }

    #[test]
    fn a_query_planned_before_a_compaction_reads_the_files_it_listed() -> TestResult {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        five_small_files(&data, &dir.path().join("logs"))?;
        let engine = QueryEngine::open(&data)?;
        let runtime = runtime_of(&engine)?;
        // Planning lists the five files; the compaction then commits and retires them.
        let plan = runtime.block_on(async {
            engine
                .frame("SELECT eventID FROM events")
                .await?
                .create_physical_plan()
                .await
                .map_err(QueryError::from)
        })?;
        let report = Lake::open(&data, Access::Write)?.compact(CompactOptions::manual())?;
        assert_eq!((report.files_before, report.files_after), (5, 1));
        let rows: usize = runtime
            .block_on(datafusion::physical_plan::collect(
                plan,
                engine.context.task_ctx(),
            ))?
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert_eq!(rows, 50, "every event once, from the retired files");
        // A query planned afterwards reads the merged file alone.
        assert_eq!(count(&engine)?, 50);
        Ok(())
    }

    #[test]
    fn findings_and_insights_are_read_when_a_query_scans_them() -> TestResult {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        five_small_files(&data, &dir.path().join("logs"))?;
        let engine = QueryEngine::open(&data)?;
        let rows_of = |table: &str| -> Result<String, Box<dyn std::error::Error>> {
            first_value(&engine.sql(&format!("SELECT count(*) AS n FROM {table}"))?)
        };
        assert_eq!(rows_of("findings")?, "0");
        assert_eq!(rows_of("insights")?, "0");
        // Recorded after the engine opened: a long-lived engine (the server's) sees them,
        // as it sees events committed since.
        let mut lake = Lake::open(&data, Access::Write)?;
        lake.catalog_mut()?
            .add_findings(&[trailhound_event::Finding {
                rule_id: "r1".into(),
                rule_title: "Bucket deleted".into(),
                level: trailhound_event::Level::High,
                tags: vec!["attack.impact".into()],
                time: Some("2024-07-01T12:00:05Z".into()),
                first_time: Some("2024-07-01T12:00:05Z".into()),
                event_count: 1,
                event_ids: vec!["r0-5".into(), "odd \u{1} \"id\" \u{e9}".into()],
                event_source: None,
                event_name: None,
                principal: None,
                account: None,
                region: None,
                source_ip: None,
                summary: "Bucket deleted".into(),
            }])?;
        let insight = trailhound_lake::StoredInsight {
            event_id: "i1".into(),
            shared_event_id: "s1".into(),
            state: "Start".into(),
            event_time: "2024-07-01T12:00:00Z".into(),
            start_us: 1_719_835_200_000_000,
            account: "111122223333".into(),
            region: "us-east-1".into(),
            event_source: "s3.amazonaws.com".into(),
            event_name: "GetObject".into(),
            insight_type: "ApiCallRateInsight".into(),
            error_code: None,
            baseline_average: 0.1,
            insight_average: 10.0,
            insight_duration: None,
            baseline_duration: 10_080,
            record: "{}".into(),
        };
        lake.catalog_mut()?
            .replace_insights(0, i64::MAX, std::slice::from_ref(&insight))?;
        drop(lake);
        assert_eq!(rows_of("findings")?, "1");
        assert_eq!(
            first_value(&engine.sql("SELECT ruleTitle FROM findings WHERE eventCount = 1")?)?,
            "Bucket deleted"
        );
        assert_eq!(rows_of("insights")?, "1");
        assert_eq!(
            first_value(&engine.sql(
                "SELECT json_get_str(eventIds, 1) = 'odd \u{1} \"id\" \u{e9}' FROM findings"
            )?)?,
            "true",
            "eventIds is a JSON array whatever the ids hold"
        );
        Ok(())
    }

    #[test]
    fn queries_see_the_catalog_s_files_not_whatever_the_folder_holds() -> TestResult {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        five_small_files(&data, &dir.path().join("logs"))?;
        let lake = Lake::open(&data, Access::Read)?;
        let first = lake
            .catalog()
            .lake_files(None)?
            .into_iter()
            .next()
            .ok_or("no lake file")?;
        // What a crash between a compaction's commit and its clean-up leaves, or a copy
        // someone made: a file no commit covers, beside the committed ones.
        let in_place = lake.file_path(&first.path);
        let stray = in_place.with_file_name("part-stray.parquet");
        std::fs::copy(&in_place, &stray)?;
        let engine = QueryEngine::open(&data)?;
        assert_eq!(count(&engine)?, 50, "the stray copy is not counted");
        // The engine cannot change the lake through its store.
        let store = engine
            .context
            .runtime_env()
            .object_store(ListingTableUrl::parse(LAKE_URL)?)?;
        use object_store::ObjectStoreExt;
        let path = object_store::path::Path::from("x.parquet");
        let refused = runtime_of(&engine)?.block_on(store.put(&path, "x".into()));
        assert!(
            matches!(refused, Err(object_store::Error::NotSupported { .. })),
            "{refused:?}"
        );
        Ok(())
    }

    #[test]
    fn filters_on_event_time_skip_the_other_days_files() -> TestResult {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        let records: Vec<String> = (1..=3)
            .flat_map(|day| {
                (0..4).map(move |hour| {
                    format!(r#"{{"eventVersion":"1.08","eventTime":"2024-07-0{day}T{:02}:00:00Z","eventName":"GetObject","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventID":"d{day}-{hour}"}}"#, hour * 6)
                })
            })
            .collect();
        ingest_records(&data, &dir.path().join("logs"), &records)?;
        // Days 1 and 3 lose their files.
        remove_files_except(&data, |file| file.date.ends_with("-02"))?;
        assert_counts(
            &data,
            &[
                (
                    "eventTime >= TIMESTAMP '2024-07-02T06:00:00Z' AND eventTime <= TIMESTAMP '2024-07-02T23:00:00Z'",
                    "3",
                ),
                (
                    "eventTime > '2024-07-02T00:00:00Z' AND eventTime < '2024-07-02T12:00:00Z'",
                    "1",
                ),
                (
                    "eventTime BETWEEN '2024-07-02' AND '2024-07-02T18:00:00Z'",
                    "4",
                ),
                ("eventTime = '2024-07-02T18:00:00Z'", "1"),
            ],
        )
    }

    #[test]
    fn filters_on_account_and_region_skip_the_other_folders() -> TestResult {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        let places = [
            ("111122223333", "us-east-1", 1),
            ("111122223333", "eu-west-1", 2),
            ("444455556666", "us-east-1", 3),
            ("444455556666", "eu-west-1", 4),
            // Not path-safe: its folder is `account=odd_account_`.
            ("odd account!", "us-east-1", 5),
        ];
        let records: Vec<String> = places
            .iter()
            .flat_map(|(account, region, events)| {
                (0..*events).map(move |n| {
                    format!(r#"{{"eventVersion":"1.08","eventTime":"2024-07-01T0{n}:00:00Z","eventName":"GetObject","awsRegion":"{region}","recipientAccountId":"{account}","eventID":"{account}-{region}-{n}"}}"#)
                })
            })
            .collect();
        ingest_records(&data, &dir.path().join("logs"), &records)?;
        remove_files_except(&data, |file| {
            matches!(
                (file.account.as_str(), file.region.as_str()),
                ("111122223333", "us-east-1") | ("444455556666", "eu-west-1") | ("odd_account_", _)
            )
        })?;
        // `search --account 'odd account!' --region us-east-1`: its SQL names the columns only
        // (it once named the folders with the raw value, which found nothing here).
        let search = crate::QuickFilter {
            accounts: vec!["odd account!".to_owned()],
            regions: vec!["us-east-1".to_owned()],
            ..Default::default()
        }
        .where_clause();
        assert_counts(
            &data,
            &[
                (search.as_str(), "5"),
                (
                    "recipientAccountId = '111122223333' AND awsRegion = 'us-east-1'",
                    "1",
                ),
                (
                    "'eu-west-1' = awsRegion AND recipientAccountId IN ('444455556666')",
                    "4",
                ),
                (
                    "(recipientAccountId = '111122223333' AND awsRegion = 'us-east-1') \
                     OR (recipientAccountId = '444455556666' AND awsRegion = 'eu-west-1')",
                    "5",
                ),
                ("recipientAccountId = 'odd account!'", "5"),
                (
                    "recipientAccountId IN ('odd account!', '111122223333') AND awsRegion = 'us-east-1' \
                     AND eventTime < '2024-07-02'",
                    "6",
                ),
            ],
        )
    }

    /// Deletes the lake files that `keep` does not want, while the catalog still lists them:
    /// a query that opens one fails, so one that answers has left them out.
    fn remove_files_except(data: &Path, keep: impl Fn(&LakeFileRecord) -> bool) -> TestResult {
        let lake = Lake::open(data, Access::Read)?;
        for file in lake.catalog().lake_files(None)? {
            if !keep(&file) {
                std::fs::remove_file(lake.file_path(&file.path))?;
            }
        }
        let engine = QueryEngine::open(data)?;
        assert!(
            engine.sql("SELECT count(*) FROM events").is_err(),
            "the other files are really gone"
        );
        Ok(())
    }

    /// Checks `SELECT count(*) FROM events WHERE filter` through the command's engine and the
    /// server's.
    fn assert_counts(data: &Path, expected: &[(&str, &str)]) -> TestResult {
        let engine = QueryEngine::open(data)?;
        let runtime = runtime_of(&engine)?;
        let server = runtime.block_on(QueryEngine::open_async(data, QueryLimits::default()))?;
        for (filter, count) in expected {
            let sql = format!("SELECT count(*) FROM events WHERE {filter}");
            let answered = engine.sql(&sql).map_err(|err| format!("{filter}: {err}"))?;
            assert_eq!(first_value(&answered)?, *count, "{filter}");
            let served = runtime.block_on(server.sql_async(&sql))?;
            assert_eq!(first_value(&served)?, *count, "{filter}, server");
        }
        Ok(())
    }

    #[test]
    fn commands_skip_planning_statistics_and_the_server_keeps_them() -> TestResult {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        five_small_files(&data, &dir.path().join("logs"))?;
        let setting = "SELECT value FROM information_schema.df_settings \
                       WHERE name = 'datafusion.execution.collect_statistics'";
        let command = QueryEngine::open(&data)?;
        assert_eq!(first_value(&command.sql(setting)?)?, "false");
        let runtime = runtime_of(&command)?;
        let server = runtime.block_on(QueryEngine::open_async(&data, QueryLimits::default()))?;
        assert_eq!(
            first_value(&runtime.block_on(server.sql_async(setting))?)?,
            "true"
        );
        assert_eq!(count(&command)?, 50);
        let counted = runtime.block_on(server.sql_async("SELECT count(*) FROM events"))?;
        assert_eq!(first_value(&counted)?, "50", "both read the same lake");
        Ok(())
    }

    /// `PRINCIPAL_SQL` over the lake names every identity as `UserIdentity::principal` does
    /// over the record, so `search` over files and over the lake, `stats` and findings agree.
    #[test]
    fn the_lake_names_principals_as_records_do() -> TestResult {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        let identities = [
            r#"{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s","principalId":"P:s","invokedBy":"athena.amazonaws.com"}"#,
            r#"{"type":"IAMUser","principalId":"1","accountId":"1","userName":"HIDDEN_DUE_TO_SECURITY_REASONS"}"#,
            r#"{"type":"AWSAccount","principalId":"AIDAEXAMPLE","accountId":"2"}"#,
            r#"{"type":"AWSService","invokedBy":"lambda.amazonaws.com"}"#,
            r#"{"type":"Unknown"}"#,
            r#"{"arn":null}"#,
        ];
        let records: Vec<String> = identities
            .iter()
            .enumerate()
            .map(|(i, identity)| format!(r#"{{"eventVersion":"1.08","eventTime":"2024-07-01T12:00:0{i}Z","eventName":"GetObject","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventID":"e{i}","userIdentity":{identity}}}"#))
            .collect();
        ingest_records(&data, &dir.path().join("logs"), &records)?;
        let engine = QueryEngine::open(&data)?;
        let batches = engine.sql(&format!(
            "SELECT eventJson, {} AS principal FROM events ORDER BY eventTime",
            crate::PRINCIPAL_SQL
        ))?;
        let mut seen = 0;
        for batch in &batches {
            let records = batch.column(0).as_string::<i32>();
            let principals = batch.column(1).as_string::<i32>();
            for row in 0..batch.num_rows() {
                let event = trailhound_event::CloudTrailEvent::parse(records.value(row))?;
                let expected = event.user_identity().and_then(|u| u.principal());
                let found = (!principals.is_null(row)).then(|| principals.value(row));
                assert_eq!(found, expected, "{}", records.value(row));
                seen += 1;
            }
        }
        assert_eq!(seen, identities.len());
        Ok(())
    }

    fn runtime_of(
        engine: &QueryEngine,
    ) -> Result<&tokio::runtime::Runtime, Box<dyn std::error::Error>> {
        Ok(engine.runtime.as_ref().ok_or("a blocking engine")?)
    }
}
