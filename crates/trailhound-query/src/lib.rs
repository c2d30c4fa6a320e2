//! SQL over the lake: the query side of Trailhound. Everything a user can see (search,
//! statistics, findings, insights, the dashboard) is answerable by SQL over the lake, so the
//! CLI, the HTTP API and the dashboard share this one engine and never disagree.
//!
//! - [`QueryEngine`] is a DataFusion session with the `events` table registered over the
//!   lake's Parquet files, with CloudTrail's names: `SELECT eventName, userIdentity.arn FROM
//!   events WHERE errorCode = 'AccessDenied'`. JSON functions reach into the free-form parts:
//!   `requestParameters->>'bucketName'`, `json_get_str(requestParameters, 'policyArn')`.
//! - Queries are run as users wrote them ([`QueryEngine::query_for_each`] with a
//!   [`Language`]): CloudTrail Lake's and Athena's SQL are rewritten on their syntax tree into
//!   DataFusion's (the `dialect` module: names in any case, Athena's partitions, JSON paths,
//!   Trino's functions, `UNNEST`), and Logs Insights queries are translated into SQL
//!   ([`logs_insights_to_sql`]). docs/queries.md has the details and what runs of AWS's
//!   published queries.
//! - [`BUILT_IN_QUERIES`] are the investigations `trailhound query --run NAME` knows.
//! - Queries are read-only: DDL, DML, `COPY` and `SET` are refused with
//!   [`QueryError::NotReadOnly`], and no table reads outside the lake.
//! - [`QuickFilter`] turns `search`-style flags into SQL, or matches events read directly from
//!   files; [`PRINCIPAL_SQL`] names who acted the way every view names them.
//! - [`stats_queries`] are the overview `trailhound stats` prints and the dashboard draws.
//! - [`parse_time_bound`] reads `--since 24h` and `?since=2024-07-31` alike.
//! - [`ResultWriter`] prints results as a table, JSON, JSON lines or CSV as they come
//!   ([`QueryEngine::sql_for_each`]), [`write_batches`] all at once; [`ddl`] writes the
//!   table definition for Athena, Trino, Spark and DuckDB over the same files.
#![deny(missing_docs)]

mod annotations;
mod catalog_table;
mod ddl;
mod dialect;
mod engine;
mod error;
mod event_field;
mod events_table;
mod findings;
mod functions;
mod insights;
mod lake_store;
mod library;
mod logs_insights;
mod messages;
mod output;
mod principal;
mod quick_filter;
mod sessions;
mod statements;
mod stats;
mod time_bound;

pub use ddl::{Engine, KnownPartitions, ddl};
pub use dialect::Dialect;
pub use engine::{QueryEngine, QueryLimits};
pub use error::QueryError;
pub use event_field::field_sql;
pub use lake_store::{LakeRequestCounts, LakeRequests};
pub use library::{BUILT_IN_QUERIES, BuiltInQuery, Language, built_in_query};
pub use logs_insights::{InsightsError, to_sql as logs_insights_to_sql};
pub use output::{Format, ResultWriter, write_batches};
pub use principal::PRINCIPAL_SQL;
pub use quick_filter::{
    ErrorFilter, LISTING_COLUMNS, Pattern, QuickFilter, listing_row, search_columns,
};
pub use statements::{event_by_id, first_text, sql_string};
pub use stats::{StatsQuery, stats_queries};
pub use time_bound::{TimeBound, parse_age, parse_time_bound};
