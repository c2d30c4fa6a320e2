//! The lake as the server sees it: one query engine per *snapshot* of the catalog, replaced
//! when anything commits (an ingest, a finding, a triage), and the answers computed on a
//! snapshot kept for repeated requests.
//!
//! SQLite's `PRAGMA data_version` changes on a connection whenever another connection (in
//! any process) commits. Checking it costs microseconds, so every request sees the newest
//! commit without reopening the engine each time, and a dashboard's overview, asked by many
//! browsers at once, is computed once (concurrent requests for it wait for that one
//! computation) until the lake changes or the answer is a minute old.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use serde_json::Value;
use tokio::sync::{OnceCell, Semaphore};
use trailhound_lake::{Access, Catalog, Lake};
use trailhound_query::{Dialect, Language, QueryEngine, QueryLimits};

use crate::error::ApiError;

/// How long an answer is reused at most: relative ranges ("the last 24 hours") move on.
const ANSWER_LIFETIME: Duration = Duration::from_secs(60);

type Answer = Arc<OnceCell<Arc<Value>>>;

/// One committed state of the lake.
pub struct Snapshot {
    version: i64,
    /// The engine over it.
    pub engine: QueryEngine,
    answers: Mutex<(Instant, HashMap<String, Answer>)>,
}

/// The server's view of the lake.
pub struct LakeView {
    data_dir: PathBuf,
    limits: QueryLimits,
    query_timeout: Duration,
    cache_entries: usize,
    /// Reads `data_version`; never writes, so it sees every commit, triage included.
    watcher: Mutex<Option<rusqlite::Connection>>,
    /// Catalog reads and annotations (triage).
    lake: Mutex<Option<Lake>>,
    current: tokio::sync::Mutex<Option<Arc<Snapshot>>>,
    /// SQL running at once: as many as there are cores, the rest wait their turn, so fifty
    /// dashboards make a queue, not fifty plans competing for memory.
    running: Semaphore,
}

impl LakeView {
    /// A view of the lake in `data_dir`; nothing is opened until the first request, so the
    /// server can start before the first ingest.
    pub fn new(
        data_dir: PathBuf,
        limits: QueryLimits,
        query_timeout: Duration,
        cache_entries: usize,
    ) -> LakeView {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        LakeView {
            data_dir,
            limits,
            query_timeout,
            cache_entries,
            watcher: Mutex::new(None),
            lake: Mutex::new(None),
            current: tokio::sync::Mutex::new(None),
            running: Semaphore::new(cores),
        }
    }

    fn catalog_path(&self) -> PathBuf {
        self.data_dir.join("catalog.sqlite")
    }

    fn no_lake(&self) -> ApiError {
        ApiError::unavailable(format!(
            "there is no lake in {} yet: run `trailhound ingest` or `trailhound watch` with this data directory",
            self.data_dir.display()
        ))
    }

    /// Whether a lake exists yet.
    pub fn exists(&self) -> bool {
        self.catalog_path().is_file()
    }

    fn version(&self) -> Result<i64, ApiError> {
        if !self.exists() {
            return Err(self.no_lake());
        }
        let mut watcher = self
            .watcher
            .lock()
            .map_err(|_| ApiError::internal("the catalog watcher was poisoned"))?;
        if watcher.is_none() {
            let connection = rusqlite::Connection::open_with_flags(
                self.catalog_path(),
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .map_err(ApiError::internal)?;
            *watcher = Some(connection);
        }
        let connection = watcher
            .as_ref()
            .ok_or_else(|| ApiError::internal("no catalog watcher"))?;
        connection
            .pragma_query_value(None, "data_version", |row| row.get(0))
            .map_err(ApiError::internal)
    }

    /// The report `request` asks for over `snapshot`, in one turn of the query queue and
    /// within four query time limits (a report is some thirty queries).
    ///
    /// # Errors
    ///
    /// 400 for a wrong request, 422 when it runs too long.
    pub async fn report(
        &self,
        snapshot: &Snapshot,
        request: &trailhound_report::ReportRequest,
    ) -> Result<trailhound_report::Report, ApiError> {
        let _turn = self
            .running
            .acquire()
            .await
            .map_err(|_| ApiError::internal("the query queue was closed"))?;
        let limit = self.query_timeout * 4;
        match tokio::time::timeout(limit, trailhound_report::build(&snapshot.engine, request)).await
        {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(trailhound_report::ReportError::Request(message))) => {
                Err(ApiError::bad_request("invalid", message))
            }
            Ok(Err(err)) => Err(ApiError::internal(err)),
            Err(_) => Err(ApiError::too_heavy(
                "query_timeout",
                format!(
                    "the report took longer than this server allows ({} s); ask for a shorter period, \
                     fewer sections, or run `trailhound report` on the server",
                    limit.as_secs()
                ),
            )),
        }
    }

    /// The current snapshot, opening a new engine if the catalog changed since the last.
    ///
    /// # Errors
    ///
    /// 503 before the first ingest; 500 when the lake cannot be opened.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, ApiError> {
        let version = self.version()?;
        let mut current = self.current.lock().await;
        if let Some(snapshot) = current.as_ref()
            && snapshot.version == version
        {
            return Ok(snapshot.clone());
        }
        let engine = QueryEngine::open_async(&self.data_dir, self.limits).await?;
        let snapshot = Arc::new(Snapshot {
            version,
            engine,
            answers: Mutex::new((Instant::now(), HashMap::new())),
        });
        *current = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// Runs `f` with the catalog (opened once, read-only for the lake, writable for
    /// annotations such as triage).
    ///
    /// # Errors
    ///
    /// 503 before the first ingest, or what `f` returns.
    pub fn with_catalog<T>(
        &self,
        f: impl FnOnce(&Catalog) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        if !self.exists() {
            return Err(self.no_lake());
        }
        let mut lake = self
            .lake
            .lock()
            .map_err(|_| ApiError::internal("the catalog handle was poisoned"))?;
        if lake.is_none() {
            *lake = Some(Lake::open(&self.data_dir, Access::Read)?);
        }
        let lake = lake
            .as_ref()
            .ok_or_else(|| ApiError::internal("no catalog handle"))?;
        f(lake.catalog())
    }

    /// Runs read-only `sql` on `snapshot` within the server's time limit, at most `rows` rows.
    ///
    /// # Errors
    ///
    /// 400 for SQL that is not a read-only query or does not plan; 422 past the time or
    /// memory limit.
    pub async fn sql(
        &self,
        snapshot: &Snapshot,
        sql: &str,
        rows: Option<usize>,
    ) -> Result<Vec<RecordBatch>, ApiError> {
        self.query(snapshot, sql, Language::Sql(Dialect::DataFusion), rows)
            .await
    }

    /// [`LakeView::sql`] for a query as a user wrote it, in `language` (CloudTrail Lake's,
    /// Athena's or DataFusion's SQL, or Logs Insights).
    ///
    /// # Errors
    ///
    /// As [`LakeView::sql`].
    pub async fn query(
        &self,
        snapshot: &Snapshot,
        query: &str,
        language: Language,
        rows: Option<usize>,
    ) -> Result<Vec<RecordBatch>, ApiError> {
        let _turn = self
            .running
            .acquire()
            .await
            .map_err(|_| ApiError::internal("the query queue was closed"))?;
        match tokio::time::timeout(
            self.query_timeout,
            snapshot.engine.query_async(query, language, rows),
        )
        .await
        {
            Ok(result) => Ok(result?),
            Err(_) => Err(ApiError::too_heavy(
                "query_timeout",
                format!(
                    "the query ran longer than this server allows ({} s); narrow it with WHERE on \
                     eventTime, account or region, or ask the operator for a longer --query-timeout",
                    self.query_timeout.as_secs()
                ),
            )),
        }
    }

    /// The answer for `key` on `snapshot`: computed by `compute` once, then reused until the
    /// lake changes or a minute passes. Requests for the same key wait for one computation.
    ///
    /// # Errors
    ///
    /// What `compute` returns; a failure is not remembered.
    pub async fn cached<F, Fut>(
        &self,
        snapshot: &Snapshot,
        key: String,
        compute: F,
    ) -> Result<Arc<Value>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Value, ApiError>>,
    {
        if self.cache_entries == 0 {
            return compute().await.map(Arc::new);
        }
        let cell = {
            let mut answers = snapshot
                .answers
                .lock()
                .map_err(|_| ApiError::internal("the answer cache was poisoned"))?;
            let (born, map) = &mut *answers;
            if born.elapsed() > ANSWER_LIFETIME
                || (map.len() >= self.cache_entries && !map.contains_key(&key))
            {
                map.clear();
                *born = Instant::now();
            }
            map.entry(key).or_default().clone()
        };
        cell.get_or_try_init(|| async { compute().await.map(Arc::new) })
            .await
            .cloned()
    }
}
