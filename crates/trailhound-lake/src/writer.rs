//! Writing ingested rows into the lake: deduplication by `eventID`, buffering by partition,
//! sorted zstd Parquet files, and commits that make files and source records visible together.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::compute::{filter_record_batch, interleave_record_batch};
use arrow::datatypes::TimestampMicrosecondType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;
use trailhound_source::{ObjectReport, ObjectStatus};

use trailhound_event::Finding;

use crate::catalog::SourceOutcome;
use crate::catalog::files::LakeFileRecord;
use crate::catalog::sources::SourceRecord;
use crate::convert::{ConvertedBatch, identity_hash};
use crate::location::SourceLocator;
use crate::row_group::{ParallelFileWriter, row_groups};
use crate::schema::{EVENT_ID_COLUMN, EVENT_TIME_COLUMN, JSON_TEXT_COLUMNS, file_schema};
use crate::{Lake, LakeError, PartitionKey};

/// How an ingest writes.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Commit once this much Arrow data is buffered (bounds memory; fewer commits make fewer,
    /// larger files).
    pub commit_bytes: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            commit_bytes: 384 << 20,
        }
    }
}

/// The identities (see [`identity_hash`]) of a partition's events. They are hashes already, so
/// the set needs only a fast hasher, not SipHash.
type Identities = HashSet<u128, foldhash::fast::RandomState>;

/// Told of every lake file a [`LakeWriter`] writes, with the file's rows, while the writer
/// still holds them in memory: an index computed from the same rows (the identity index)
/// then need not read the file back. Called on the writer's worker threads, once per file,
/// before the file is committed; a file whose commit fails is never in the catalog, so an
/// observer keeps what it learns per path and uses only the paths the catalog lists.
pub trait WrittenFiles: Send + Sync {
    /// `path` is the file's path in the lake as the catalog records it; `batches` its rows
    /// (with the lake's file schema), not yet in time order.
    fn file_written(&self, path: &str, batches: &[RecordBatch]);
}

impl Lake {
    /// Has `observer` told of every file written from now on (until [`None`] is set).
    pub fn observe_written_files(&mut self, observer: Option<std::sync::Arc<dyn WrittenFiles>>) {
        self.written_files = observer;
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Source objects ingested (read successfully).
    pub objects: u64,
    /// Source objects that failed.
    pub failed: u64,
    /// Source objects skipped as unchanged since the last ingest.
    pub unchanged: u64,
    /// Events read from the sources.
    pub events_read: u64,
    /// Events new to the lake.
    pub events_new: u64,
    /// Events already in the lake (or twice in the input).
    pub duplicates: u64,
    /// Lake files written.
    pub files: u64,
    /// Bytes of Parquet written.
    pub bytes: u64,
    /// Catalog commits.
    pub commits: u64,
    /// New findings recorded (a finding already in the catalog is not counted again).
    pub findings: u64,
    /// Earliest and latest `eventTime` of the new events (µs since the epoch), so that what
    /// is computed from the lake (insights) can be brought up to date for just that stretch.
    pub new_time_us: Option<(i64, i64)>,
}

/// Writes into a lake opened for writing. Call [`LakeWriter::add`] for the rows of the current
/// object, [`LakeWriter::object_done`] when it ends, and [`LakeWriter::finish`] at the end;
/// nothing is visible before a commit, and a commit covers whole objects only.
pub struct LakeWriter<'l> {
    lake: &'l mut Lake,
    options: WriteOptions,
    buffers: BTreeMap<PartitionKey, Vec<RecordBatch>>,
    buffered_bytes: usize,
    seen: HashMap<PartitionKey, Identities>,
    pending: Vec<SourceRecord>,
    current_new: u64,
    report: IngestReport,
    findings: Vec<Finding>,
    locator: SourceLocator,
}

impl Lake {
    /// Starts writing.
    pub fn writer(&mut self, options: WriteOptions) -> LakeWriter<'_> {
        LakeWriter {
            lake: self,
            options,
            buffers: BTreeMap::new(),
            buffered_bytes: 0,
            seen: HashMap::new(),
            pending: Vec::new(),
            current_new: 0,
            report: IngestReport::default(),
            findings: Vec::new(),
            locator: SourceLocator::default(),
        }
    }
}

impl LakeWriter<'_> {
    /// Adds the rows of the current object, dropping events the lake already holds.
    pub fn add(&mut self, converted: ConvertedBatch) -> Result<(), LakeError> {
        for rows in converted.partitions {
            let seen = self.seen_for(&rows.key)?;
            let keep: Vec<bool> = rows.ids.iter().map(|id| seen.insert(*id)).collect();
            let new = keep.iter().filter(|k| **k).count();
            self.report.duplicates += (keep.len() - new) as u64;
            if new == 0 {
                continue;
            }
            let batch = if new == keep.len() {
                rows.batch
            } else {
                filter_record_batch(&rows.batch, &BooleanArray::from(keep))?
            };
            self.buffered_bytes += batch.get_array_memory_size();
            self.buffers.entry(rows.key).or_default().push(batch);
            self.current_new += new as u64;
        }
        Ok(())
    }

    /// Adds findings about events read so far; they are committed with the objects they came
    /// from, so a crash never leaves an object recorded as read but its findings lost.
    pub fn add_findings(&mut self, findings: impl IntoIterator<Item = Finding>) {
        self.findings.extend(findings);
    }

    /// Records that the current object is finished; commits if enough is buffered.
    pub fn object_done(&mut self, report: &ObjectReport) -> Result<(), LakeError> {
        // `skippable`: skipped next time while unchanged. That is an object read to its end,
        // or one whose own bytes are at fault (reported now; reading them again would only
        // repeat it).
        let (outcome, error, skippable) = match &report.status {
            ObjectStatus::Read(_) => (SourceOutcome::Read, None, report.stored.is_some()),
            ObjectStatus::Digest => (SourceOutcome::Digest, None, report.stored.is_some()),
            ObjectStatus::Failed(err) => (
                SourceOutcome::Failed,
                Some(err.to_string()),
                err.repeats_for_same_bytes(),
            ),
            ObjectStatus::Pruned => return Ok(()),
            ObjectStatus::Unchanged(_) => {
                self.report.unchanged += 1;
                return Ok(());
            }
        };
        if outcome == SourceOutcome::Failed {
            self.report.failed += 1;
        } else {
            self.report.objects += 1;
        }
        self.report.events_read += report.records;
        self.pending.push(SourceRecord {
            location: self.locator.locate(&report.origin.name, report.origin.link),
            size: report
                .stored
                .map(|s| s.0)
                .or(report.origin.facts.map(|f| f.size)),
            modified_ns: report
                .origin
                .facts
                .filter(|_| skippable)
                .map(|f| f.modified_ns),
            content_hash: report.stored.map(|s| format!("{:016x}", s.1)),
            events_read: report.records,
            events_new: std::mem::take(&mut self.current_new),
            rejected: report.rejected,
            outcome,
            error,
            ingested_at: chrono::Utc::now().to_rfc3339(),
        });
        if self.buffered_bytes >= self.options.commit_bytes {
            self.commit()?;
        }
        Ok(())
    }

    /// Commits everything still buffered and returns what the ingest did.
    pub fn finish(mut self) -> Result<IngestReport, LakeError> {
        self.commit()?;
        Ok(self.report)
    }

    /// Writes every buffer to a staged file, commits the files and the finished sources in one
    /// transaction, then moves the files into place.
    ///
    /// Reading waits meanwhile: ingest is CPU-bound, and writing in the background while
    /// reading measured slower on two cores (the threads only compete for them) and doubled
    /// the memory held.
    fn commit(&mut self) -> Result<(), LakeError> {
        if self.buffers.is_empty() && self.pending.is_empty() && self.findings.is_empty() {
            return Ok(());
        }
        let buffers: Vec<(PartitionKey, Vec<RecordBatch>)> =
            std::mem::take(&mut self.buffers).into_iter().collect();
        self.buffered_bytes = 0;
        let observer = self.lake.written_files.clone();
        let written = stage_all(&self.lake.staging_dir(), buffers, observer.as_deref());
        let files: Vec<LakeFileRecord> = written.into_iter().collect::<Result<_, _>>()?;
        self.report.findings +=
            self.lake
                .catalog
                .commit(&files, &[], &self.pending, &self.findings)?;
        self.pending.clear();
        self.findings.clear();
        self.report.commits += 1;
        self.lake.put_in_place(&files)?;
        for file in &files {
            self.report.files += 1;
            self.report.bytes += file.bytes;
            self.report.events_new += file.rows;
            if let (Some(min), Some(max)) = (file.min_time_us, file.max_time_us) {
                self.report.new_time_us = Some(match self.report.new_time_us {
                    Some((low, high)) => (low.min(min), high.max(max)),
                    None => (min, max),
                });
            }
        }
        Ok(())
    }

    /// The eventIDs the lake already holds in a partition, loaded on first use.
    fn seen_for(&mut self, key: &PartitionKey) -> Result<&mut Identities, LakeError> {
        if !self.seen.contains_key(key) {
            let mut ids = Identities::default();
            let files =
                self.lake
                    .catalog
                    .lake_files(Some((&key.account, &key.region, &key.date)))?;
            for file in files {
                read_identities(&self.lake.readable(&file.path)?, &mut ids)?;
            }
            self.seen.insert(key.clone(), ids);
        }
        self.seen
            .get_mut(key)
            .ok_or_else(|| LakeError::Internal("dedup set vanished".to_owned()))
    }
}

/// Writes each partition's rows to a staged file, files and their column chunks spread over
/// the cores by rayon's work stealing (see [`ParallelFileWriter`]), the largest partitions
/// first.
///
/// Written files are flushed to disk by up to [`FLUSHERS`] threads while the others are
/// encoded: an `fsync` waits for the disk, and made the writers wait for it one file after
/// another. The threads are bounded: a commit of an organization trail's small
/// ingest can hold thousands of partitions, and one thread per file started that many.
fn stage_all(
    staging: &Path,
    mut work: Vec<(PartitionKey, Vec<RecordBatch>)>,
    observer: Option<&dyn WrittenFiles>,
) -> Vec<Result<LakeFileRecord, LakeError>> {
    let rows = |batches: &[RecordBatch]| batches.iter().map(RecordBatch::num_rows).sum::<usize>();
    work.sort_by_key(|(_, batches)| std::cmp::Reverse(rows(batches)));
    let (to_flush, flushing) = crossbeam_channel::unbounded::<(usize, Unsynced)>();
    std::thread::scope(|scope| {
        let flushers: Vec<_> = (0..FLUSHERS.min(work.len()))
            .map(|_| {
                let flushing = flushing.clone();
                scope.spawn(move || {
                    flushing
                        .iter()
                        .filter_map(|(at, unsynced)| unsynced.sync().err().map(|err| (at, err)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut written: Vec<Result<LakeFileRecord, LakeError>> = work
            .into_par_iter()
            .enumerate()
            .map(|(at, (key, batches))| {
                let (record, unsynced) = write_partition(staging, &key, &batches)?;
                if let Some(observer) = observer {
                    observer.file_written(&record.path, &batches);
                }
                // Each task frees its own rows, on every core while the others encode: freed
                // all at once after the commit, hundreds of MB of buffers held the reading
                // up while one thread handed them back to the allocator and the system.
                drop(batches);
                // Cannot fail: `flushing` is held until the scope ends. The flushers stop
                // once `to_flush` is dropped below and the channel is empty.
                let _ = to_flush.send((at, unsynced));
                Ok(record)
            })
            .collect();
        drop(to_flush);
        for flusher in flushers {
            let failures = flusher.join().unwrap_or_else(|_| {
                vec![(
                    usize::MAX,
                    LakeError::Internal("a thread flushing files panicked".into()),
                )]
            });
            for (at, err) in failures {
                match written.get_mut(at) {
                    Some(slot) => *slot = Err(err),
                    None => written.push(Err(err)),
                }
            }
        }
        written
    })
}

/// Threads flushing a commit's files to disk (see [`stage_all`]): enough for the file
/// system to commit many files' flushes together, as it did with a thread per file.
const FLUSHERS: usize = 16;

/// How many bytes at the end of a lake file hold its footer and page index, for a file of one
/// row group: what a reader should fetch first to open one in a single read.
///
/// A day's file fits well within it (a test checks a generated day; the bloom filters sit
/// before, and only a test of `eventID` or `eventName` for equality reads them). Readers
/// default to much more, zeroing and faulting in that much memory for every file a query
/// opens. A larger footer, of a compacted file with many row groups, costs such a reader one
/// more read.
pub const FOOTER_BYTES: usize = 64 * 1024;

/// Rows per row group, and per chunk when rows must be reordered.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// How many distinct `eventName`s a row group's bloom filter is first sized for (a day of an
/// account's region rarely sees more than a few hundred of AWS's APIs; more only makes the
/// filter less selective). A bloom filter starts at the size its expected distinct values need
/// and is folded down to what it holds once written; parquet-rs's default expects a million
/// (a 2 MiB bitset to zero, fill and fold for every row group). The saving is too small to
/// time; the filters written are the same.
const EVENT_NAMES_PER_ROW_GROUP: u64 = 4096;

/// Free-form or unique text: statistics and dictionaries on these only cost time and space
/// (nobody prunes on the text of `requestParameters`, and every `eventJson` is unique): the
/// JSON columns and `requestID`.
fn plain_text_columns() -> impl Iterator<Item = &'static str> {
    JSON_TEXT_COLUMNS.into_iter().chain(["requestID"])
}

/// Many-valued text that no query prunes files on (dotted paths reach into structs): rows are
/// in time order, so the minimum and maximum of a page of eventIDs, addresses or ARNs rule
/// nothing out (`eventID` has a bloom filter for look-ups), and comparing every value to keep
/// them was a visible part of ingest's CPU time.
const UNPRUNED_COLUMNS: [&str; 12] = [
    "eventID",
    "userAgent",
    "errorMessage",
    "sharedEventID",
    "sourceIPAddress",
    "userIdentity.principalId",
    "userIdentity.arn",
    "userIdentity.accessKeyId",
    "userIdentity.sessionContext.sessionIssuer.principalId",
    "userIdentity.sessionContext.sessionIssuer.arn",
    "userIdentity.sessionContext.attributes.creationDate",
    "tlsDetails.clientProvidedHostHeader",
];

/// Writes a partition's rows, ordered by `eventTime`, to a staged Parquet file on disk.
pub(crate) fn stage_partition(
    staging: &Path,
    key: &PartitionKey,
    batches: &[RecordBatch],
) -> Result<LakeFileRecord, LakeError> {
    let (record, unsynced) = write_partition(staging, key, batches)?;
    unsynced.sync()?;
    Ok(record)
}

/// A written file not yet known to be on disk.
struct Unsynced {
    file: File,
    path: PathBuf,
}

impl Unsynced {
    /// Waits until the file is on disk; a file must be before its catalog row commits.
    fn sync(self) -> Result<(), LakeError> {
        self.file.sync_all().map_err(LakeError::io(&self.path))
    }
}

/// Writes a partition's rows, ordered by `eventTime`, to a staged Parquet file, leaving the
/// flush to disk to the caller.
///
/// Rows usually arrive in time order already (CloudTrail files are named and written by time),
/// so the batches are written as they are; otherwise the rows are reordered one row group at a
/// time, never copying the whole partition at once.
fn write_partition(
    staging: &Path,
    key: &PartitionKey,
    batches: &[RecordBatch],
) -> Result<(LakeFileRecord, Unsynced), LakeError> {
    let times: Vec<&arrow::array::TimestampMicrosecondArray> = batches
        .iter()
        .map(|b| {
            b.column(EVENT_TIME_COLUMN)
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(|| {
                    LakeError::Internal(format!(
                        "eventTime is {} where a microsecond timestamp was expected",
                        b.column(EVENT_TIME_COLUMN).data_type()
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    // Nulls sort last, as the query side expects.
    let sort_key = |batch: usize, row: usize| -> (bool, i64) {
        let column = times[batch];
        if column.is_null(row) {
            (true, 0)
        } else {
            (false, column.value(row))
        }
    };
    let mut order: Vec<(usize, usize)> = batches
        .iter()
        .enumerate()
        .flat_map(|(b, batch)| (0..batch.num_rows()).map(move |r| (b, r)))
        .collect();
    let sorted = order
        .windows(2)
        .all(|pair| sort_key(pair[0].0, pair[0].1) <= sort_key(pair[1].0, pair[1].1));
    let rows = order.len() as u64;
    let (min_time_us, max_time_us) = {
        let valid = times.iter().flat_map(|t| t.iter().flatten());
        let (mut min, mut max) = (None::<i64>, None::<i64>);
        for t in valid {
            min = Some(min.map_or(t, |m| m.min(t)));
            max = Some(max.map_or(t, |m| m.max(t)));
        }
        (min, max)
    };

    let id = uuid::Uuid::new_v4().simple().to_string();
    // Staged under its final file name, so that a reader that listed the file as soon as
    // its commit made it visible finds it in staging until it is moved into place.
    let staged_as = format!("part-{id}.parquet");
    let path = staging.join(&staged_as);
    let file = File::create(&path).map_err(LakeError::io(&path))?;
    let mut writer = ParallelFileWriter::new(file, file_schema(), writer_properties()?)?;
    if sorted {
        for group in row_groups(batches, ROW_GROUP_ROWS) {
            writer.write_row_group(&group)?;
        }
    } else {
        order.sort_by_key(|(b, r)| sort_key(*b, *r));
        let sources: Vec<&RecordBatch> = batches.iter().collect();
        for chunk in order.chunks(ROW_GROUP_ROWS) {
            writer.write_row_group(&[interleave_record_batch(&sources, chunk)?])?;
        }
    }
    let file = writer.finish()?;
    let bytes = file.metadata().map_err(LakeError::io(&path))?.len();
    let record = LakeFileRecord {
        path: format!("events/{}/part-{id}.parquet", key.relative_dir()),
        account: key.account.clone(),
        region: key.region.clone(),
        date: key.date.clone(),
        rows,
        bytes,
        min_time_us,
        max_time_us,
        staged_as: Some(staged_as),
    };
    Ok((record, Unsynced { file, path }))
}

/// zstd, page statistics (for time-range pruning) and bloom filters on `eventID` (for
/// single-event look-ups) and `eventName`.
///
/// Most investigations ask for particular calls (`eventName = 'ConsoleLogin'`, `IN
/// ('StopLogging', 'DeleteTrail')`), and many calls happen only in some accounts, regions or
/// days (console sign-ins in the home region), but a file sorted by time has every name
/// between its first and last in every page, so statistics cannot skip it; its bloom filter
/// can. parquet-rs folds each filter down to the size its distinct values need (about 100
/// bytes for the 60-odd names of a generated day).
///
/// Data pages are version 2: parquet-rs copies a version 1 page whole to put its levels in
/// front of its values and compresses it into a buffer it then grows and shrinks again (a
/// visible share of ingest's instructions, docs/benchmarks.md), where a version 2 page
/// compresses the values alone, straight behind the levels. The encodings stay those of version 1 (plain, and dictionaries where
/// enabled): version 2's default fallbacks (delta encodings) cost more to write and are the
/// part of "Parquet v2" that older readers lack; DuckDB, DataFusion, Trino/Athena and Spark read
/// version 2 pages.
fn writer_properties() -> Result<WriterProperties, LakeError> {
    let mut builder = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .set_encoding(Encoding::PLAIN)
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_column_bloom_filter_enabled(ColumnPath::from("eventID"), true)
        .set_column_bloom_filter_fpp(ColumnPath::from("eventID"), 0.01)
        .set_column_bloom_filter_max_ndv(ColumnPath::from("eventID"), ROW_GROUP_ROWS as u64)
        .set_column_bloom_filter_enabled(ColumnPath::from("eventName"), true)
        .set_column_bloom_filter_fpp(ColumnPath::from("eventName"), 0.01)
        .set_column_bloom_filter_max_ndv(ColumnPath::from("eventName"), EVENT_NAMES_PER_ROW_GROUP)
        .set_column_dictionary_enabled(ColumnPath::from("eventID"), false)
        .set_created_by(format!("trailhound {}", env!("CARGO_PKG_VERSION")));
    for column in UNPRUNED_COLUMNS {
        let path = ColumnPath::new(column.split('.').map(str::to_owned).collect());
        builder = builder.set_column_statistics_enabled(path, EnabledStatistics::None);
    }
    for column in plain_text_columns() {
        builder = builder
            .set_column_dictionary_enabled(ColumnPath::from(column), false)
            .set_column_statistics_enabled(ColumnPath::from(column), EnabledStatistics::None);
    }
    Ok(builder.build())
}

/// Adds the identities of every row of a lake file to `ids`. Only the `eventID` column is
/// read, unless some rows have none and must be identified by their whole record.
/// A text column of a batch read from the lake file at `path`; a file written by another
/// tool or version with another type there is an error naming the file and column, not a
/// panic.
pub(crate) fn text_column<'b>(
    batch: &'b RecordBatch,
    index: usize,
    name: &str,
    path: &Path,
) -> Result<&'b arrow::array::StringArray, LakeError> {
    batch
        .column(index)
        .as_string_opt::<i32>()
        .ok_or_else(|| LakeError::LakeFile {
            path: path.to_owned(),
            reason: format!(
                "column {name} is {}, not the text Trailhound writes",
                batch.column(index).data_type()
            ),
        })
}

fn read_identities(path: &Path, ids: &mut Identities) -> Result<(), LakeError> {
    let open = || -> Result<ParquetRecordBatchReaderBuilder<File>, LakeError> {
        let file = File::open(path).map_err(LakeError::io(path))?;
        Ok(ParquetRecordBatchReaderBuilder::try_new(file)?)
    };
    let builder = open()?;
    // A file of another layout: its columns are not where ours are.
    let fields = builder.parquet_schema().root_schema().get_fields();
    let json_column = file_schema().index_of("eventJson")?;
    let laid_out = |index: usize, name: &str| fields.get(index).is_some_and(|f| f.name() == name);
    if !laid_out(EVENT_ID_COLUMN, "eventID") || !laid_out(json_column, "eventJson") {
        return Err(LakeError::LakeFile {
            path: path.to_owned(),
            reason: "its columns are not in the order Trailhound writes them (eventID, eventJson)"
                .to_owned(),
        });
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), [EVENT_ID_COLUMN]);
    let mut anonymous = false;
    for batch in builder.with_projection(mask).build()? {
        let batch = batch?;
        let event_ids = text_column(&batch, 0, "eventID", path)?;
        anonymous |= event_ids.null_count() > 0;
        for event_id in event_ids.iter().flatten() {
            ids.insert(identity_hash(Some(event_id), ""));
        }
    }
    if anonymous {
        let builder = open()?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), [EVENT_ID_COLUMN, json_column]);
        for batch in builder.with_projection(mask).build()? {
            let batch = batch?;
            let event_ids = text_column(&batch, 0, "eventID", path)?;
            let raw = text_column(&batch, 1, "eventJson", path)?;
            for row in (0..batch.num_rows()).filter(|row| event_ids.is_null(*row)) {
                ids.insert(identity_hash(None, raw.value(row)));
            }
        }
    }
    Ok(())
}

/// Reads a whole lake file.
pub(crate) fn read_file(path: &Path) -> Result<Vec<RecordBatch>, LakeError> {
    let file = File::open(path).map_err(LakeError::io(path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    Ok(reader.collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod foreign_file_tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;

    use super::*;

    fn write(path: &Path, batch: &RecordBatch) -> Result<(), Box<dyn std::error::Error>> {
        let mut writer = ArrowWriter::try_new(File::create(path)?, batch.schema(), None)?;
        writer.write(batch)?;
        writer.close()?;
        Ok(())
    }

    #[test]
    fn a_file_of_another_tool_is_an_error_naming_it_not_a_panic()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        // Another layout altogether.
        let small = dir.path().join("small.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new(
            "eventID",
            DataType::Int64,
            true,
        )]));
        write(
            &small,
            &RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1]))])?,
        )?;
        // Our column names in our places, eventID of another type.
        let typed = dir.path().join("typed.parquet");
        let mut fields: Vec<Field> = file_schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields[EVENT_ID_COLUMN] = Field::new("eventID", DataType::Int64, true);
        let schema = Arc::new(Schema::new(fields));
        let columns = schema
            .fields()
            .iter()
            .map(|f| arrow::array::new_null_array(f.data_type(), 1))
            .collect();
        write(&typed, &RecordBatch::try_new(schema, columns)?)?;
        for path in [&small, &typed] {
            let mut ids = Identities::default();
            match read_identities(path, &mut ids) {
                Err(LakeError::LakeFile { path: named, .. }) => assert_eq!(&named, path),
                other => panic!("{}: {other:?}", path.display()),
            }
        }
        Ok(())
    }
}
