//! The lake: an open, Hive-partitioned Parquet table of CloudTrail events with a SQLite
//! catalog beside it. This is the *lake writer* branch of Trailhound's pipeline, and what the
//! query side reads.
//!
//! ```text
//! <data-dir>/catalog.sqlite                      sources, lake files, findings, … (see [`catalog`])
//! <data-dir>/lake/events/account=…/region=…/date=YYYY-MM-DD/part-….parquet
//! <data-dir>/lake/.staging/                      files written but not yet committed
//! <data-dir>/lake/.retired/events/…              files a compaction replaced, kept an hour
//! ```
//!
//! - Columns are CloudTrail's own names, nested as CloudTrail nests them ([`file_schema`]);
//!   the free-form parts are JSON text and the original record is kept byte-exact in
//!   `eventJson`. Files are zstd-compressed, sorted by `eventTime`, with page statistics and
//!   `eventID` and `eventName` bloom filters, so DuckDB, Athena, Trino and Spark read the same
//!   files.
//! - Writing: [`convert`] turns decoded records into Arrow columns (on the reader's worker
//!   threads, in the pipeline's ingest); [`LakeWriter`] drops events whose `eventID` the lake
//!   already holds, buffers by partition and commits whole source objects at a time.
//! - **Crash safety.** A file is written to `.staging`, its catalog row committed, and only then
//!   moved into place; [`Lake::open`] for writing finishes or discards whatever a crash
//!   interrupted. Re-running an interrupted ingest therefore stores every event exactly once.
//! - [`Lake::compact`] merges small files, one atomic commit per merge.
//! - [`Lake::apply_retention`] retires day partitions past a cut-off, archiving them first
//!   into another lake of the same layout.
//! - **Readers list the catalog, not the folder** ([`Lake::listing`]): they see exactly the
//!   committed files, and a file retired after they listed it stays readable for an hour.
//! - [`Lake::event_files`] and [`for_each_record`] read original records back for `hunt`.
//! - [`Catalog`] is the SQLite side, one module per concern (sources, files, findings,
//!   triage, insights, first-seen memory, checkpoints, the alert outbox, integrity checks),
//!   with typed records and a numbered list of schema migrations.
#![deny(missing_docs)]

mod backup;
pub mod catalog;
mod compact;
mod convert;
mod error;
mod listing;
mod location;
mod partition;
pub mod place;
mod retention;
mod row_group;
mod scan;
mod schema;
mod store;
mod unchanged;
mod writer;

pub use backup::BackupReport;
pub use catalog::Catalog;
pub use catalog::checkpoints::Checkpoint;
pub use catalog::files::LakeFileRecord;
pub use catalog::findings::{FindingQuery, FindingStatus, StoredFinding};
pub use catalog::first_seen::{FirstPair, FirstSeenChanges};
pub use catalog::identity::{
    CredentialGrant, CredentialUsage, GrantLookup, IdentityChanges, SessionUsage,
};
pub use catalog::insights::StoredInsight;
pub use catalog::integrity::IntegrityCheck;
pub use catalog::outbox::{AlertState, NewAlert, OutboxCounts, OutboxEntry};
pub use catalog::sources::{SourceOutcome, SourceRecord};
pub use catalog::triage::TriageEntry;
pub use compact::{CompactOptions, CompactReport};
pub use convert::{ConvertedBatch, ParsedBatch, PartitionRows, convert, convert_parsed};
pub use error::LakeError;
pub use listing::{LakeListing, ListedFile, RETIRED_GRACE, Spot};
pub use location::{SourceLocator, source_location};
pub use partition::PartitionKey;
pub use place::{RemoteLake, RemoteSpec};
pub use retention::{RetentionPlan, RetentionReport, RetiredPartition};
pub use scan::for_each_record;
pub use schema::{JSON_TEXT_COLUMNS, PARTITION_COLUMNS, file_schema};
pub use store::{Access, Lake, data_dir};
pub use writer::{FOOTER_BYTES, IngestReport, LakeWriter, WriteOptions, WrittenFiles};
