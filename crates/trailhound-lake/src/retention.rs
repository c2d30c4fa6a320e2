//! Keeping the lake to a length of time: whole day partitions older than a cut-off leave the
//! catalog (and, after the readers' grace, the disk), moved first into an archive lake of
//! the same layout when one is given.
//!
//! One partition at a time, in the order that loses nothing: its files are copied into the
//! archive's staging, committed there and moved into place; only then does one commit retire
//! them from this lake. A kill before the archive's commit leaves the archive as it was (its
//! next writer discards the staged copies); a kill between the two commits leaves the
//! partition in both lakes, and the next run, finding it already archived, only retires it
//! here. No partition is ever half moved, and no event is ever in neither lake.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;

use crate::catalog::files::LakeFileRecord;
use crate::writer::{read_file, stage_partition};
use crate::{Lake, LakeError, PartitionKey};

/// What falls outside the retention: whole partitions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPlan {
    /// The oldest date kept (`YYYY-MM-DD`); older partitions go.
    pub keep_from: String,
    /// The partitions that go, with their files.
    pub partitions: Vec<RetiredPartition>,
}

/// One partition leaving the lake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredPartition {
    /// `account`.
    pub account: String,
    /// `region`.
    pub region: String,
    /// `date`.
    pub date: String,
    /// Its files.
    pub files: Vec<LakeFileRecord>,
}

impl RetiredPartition {
    /// Events in it.
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

impl RetentionPlan {
    /// Events that go.
    pub fn rows(&self) -> u64 {
        self.partitions.iter().map(RetiredPartition::rows).sum()
    }

    /// Bytes that go.
    pub fn bytes(&self) -> u64 {
        self.partitions.iter().map(RetiredPartition::bytes).sum()
    }
}

/// The event categories CloudTrail writes in `eventCategory`; events from before the field
/// existed are management events.
pub const EVENT_CATEGORIES: [&str; 4] = ["Management", "Data", "Insight", "NetworkActivity"];

/// What applying a plan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Partitions retired from this lake.
    pub partitions: u64,
    /// Files copied into the archive (fewer than retired when a run before copied some).
    pub archived_files: u64,
    /// Events retired.
    pub rows: u64,
    /// Files rewritten without one category's events.
    pub rewritten_files: u64,
}

impl Lake {
    /// Whether `dir` is this lake's data directory (however it is written).
    pub fn is_at(&self, dir: &std::path::Path) -> bool {
        match (
            std::fs::canonicalize(dir),
            std::fs::canonicalize(self.root()),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => dir == self.root(),
        }
    }

    /// The partitions dated before `keep_from` (`YYYY-MM-DD`), of `accounts` only when some
    /// are named.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read, or `keep_from` is not a date.
    pub fn retention_plan(
        &self,
        keep_from: &str,
        accounts: &[String],
    ) -> Result<RetentionPlan, LakeError> {
        if chrono::NaiveDate::parse_from_str(keep_from, "%Y-%m-%d").is_err() {
            return Err(LakeError::Config(format!(
                "{keep_from:?} is not a date (YYYY-MM-DD)"
            )));
        }
        let mut partitions: BTreeMap<(String, String, String), Vec<LakeFileRecord>> =
            BTreeMap::new();
        for file in self.catalog.lake_files(None)? {
            let wanted = accounts.is_empty() || accounts.contains(&file.account);
            if wanted && file.date.as_str() < keep_from {
                partitions
                    .entry((file.date.clone(), file.account.clone(), file.region.clone()))
                    .or_default()
                    .push(file);
            }
        }
        Ok(RetentionPlan {
            keep_from: keep_from.to_owned(),
            partitions: partitions
                .into_iter()
                .map(|((date, account, region), files)| RetiredPartition {
                    account,
                    region,
                    date,
                    files,
                })
                .collect(),
        })
    }

    /// Retires the plan's partitions, oldest first, archiving each into `archive` first when
    /// given; `done` is told of each partition once it has left this lake.
    ///
    /// # Errors
    ///
    /// When a file cannot be copied or a catalog written; what was done before stays done,
    /// and running the same retention again finishes the rest.
    pub fn apply_retention(
        &mut self,
        plan: &RetentionPlan,
        mut archive: Option<&mut Lake>,
        mut done: impl FnMut(&RetiredPartition),
    ) -> Result<RetentionReport, LakeError> {
        self.start_retention(archive.as_deref())?;
        let mut report = RetentionReport::default();
        for partition in &plan.partitions {
            // The catalog may have changed since the plan (a compaction): retire what it
            // lists now.
            let files = self.catalog.lake_files(Some((
                &partition.account,
                &partition.region,
                &partition.date,
            )))?;
            if files.is_empty() {
                continue;
            }
            if let Some(archive) = archive.as_deref_mut() {
                report.archived_files += self.copy_into(archive, &files)?;
            }
            let retired: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
            self.catalog.commit(&[], &retired, &[], &[])?;
            for path in &retired {
                self.retire(path);
            }
            report.partitions += 1;
            report.rows += files.iter().map(|f| f.rows).sum::<u64>();
            done(partition);
        }
        Ok(report)
    }

    /// Takes one event category's events (`Data`, …) out of the plan's partitions, archiving
    /// them first into `archive` when given; the other events stay. Each file is rewritten in
    /// one commit; its removed events are archived under a name derived from it, so a run
    /// killed between the archive's commit and this lake's finds them there and does not
    /// archive them twice.
    ///
    /// # Errors
    ///
    /// As [`Lake::apply_retention`]; and for a category CloudTrail does not write.
    pub fn apply_category_retention(
        &mut self,
        plan: &RetentionPlan,
        category: &str,
        mut archive: Option<&mut Lake>,
        mut done: impl FnMut(&RetiredPartition),
    ) -> Result<RetentionReport, LakeError> {
        let Some(category) = EVENT_CATEGORIES
            .iter()
            .find(|c| c.eq_ignore_ascii_case(category))
        else {
            return Err(LakeError::Config(format!(
                "{category:?} is not an event category: use one of {}",
                EVENT_CATEGORIES.join(", ")
            )));
        };
        self.start_retention(archive.as_deref())?;
        let mut report = RetentionReport::default();
        for partition in &plan.partitions {
            let key = PartitionKey {
                account: partition.account.clone(),
                region: partition.region.clone(),
                date: partition.date.clone(),
            };
            let files = self
                .catalog
                .lake_files(Some((&key.account, &key.region, &key.date)))?;
            let mut touched = false;
            for file in &files {
                let batches = read_file(&self.readable(&file.path)?)?;
                let (taken, kept) = split_by_category(&batches, category)?;
                let taken_rows: usize = taken.iter().map(RecordBatch::num_rows).sum();
                if taken_rows == 0 {
                    continue;
                }
                if let Some(archive) = archive.as_deref_mut() {
                    archive_rows(archive, &key, file, category, &taken)?;
                }
                let kept_rows: usize = kept.iter().map(RecordBatch::num_rows).sum();
                let replacement = if kept_rows == 0 {
                    Vec::new()
                } else {
                    vec![stage_partition(&self.staging_dir(), &key, &kept)?]
                };
                self.catalog
                    .commit(&replacement, std::slice::from_ref(&file.path), &[], &[])?;
                self.put_in_place(&replacement)?;
                self.retire(&file.path);
                report.rewritten_files += 1;
                report.rows += taken_rows as u64;
                touched = true;
            }
            if touched {
                report.partitions += 1;
                done(partition);
            }
        }
        Ok(report)
    }

    /// What both kinds of retention do first: refuse this lake as its own archive, and
    /// delete retired files past their grace.
    fn start_retention(&self, archive: Option<&Lake>) -> Result<(), LakeError> {
        if archive.is_some_and(|a| self.is_at(a.root())) {
            return Err(LakeError::Config(
                "the archive is this lake: give another folder to --archive-to".to_owned(),
            ));
        }
        self.purge_retired()
    }

    /// Copies `files` (one partition) into `archive` and commits them there in one commit;
    /// files it already holds are left as they are. Returns how many were copied.
    fn copy_into(&self, archive: &mut Lake, files: &[LakeFileRecord]) -> Result<u64, LakeError> {
        let Some(first) = files.first() else {
            return Ok(0);
        };
        let held: Vec<String> = archive
            .catalog
            .lake_files(Some((&first.account, &first.region, &first.date)))?
            .into_iter()
            .map(|f| f.path)
            .collect();
        let mut staged = Vec::new();
        for file in files.iter().filter(|f| !held.contains(&f.path)) {
            // Staged under its own file name, where readers look for a committed file not
            // yet in place (`LakeListing::locations`).
            let name = std::path::Path::new(&file.path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| LakeError::Internal(format!("{} names no file", file.path)))?;
            let source = self.readable(&file.path)?;
            let target = archive.staging_dir().join(&name);
            std::fs::copy(&source, &target).map_err(LakeError::io(&source))?;
            // The copy must be on disk before the archive's commit says it is there.
            std::fs::File::open(&target)
                .and_then(|f| f.sync_all())
                .map_err(LakeError::io(&target))?;
            staged.push(LakeFileRecord {
                staged_as: Some(name),
                ..file.clone()
            });
        }
        if staged.is_empty() {
            return Ok(0);
        }
        archive.catalog.commit(&staged, &[], &[], &[])?;
        archive.put_in_place(&staged)?;
        Ok(staged.len() as u64)
    }
}

/// Splits batches into the rows of `category` and the rest. An event without
/// `eventCategory` (written before the field existed) is a management event.
fn split_by_category(
    batches: &[RecordBatch],
    category: &str,
) -> Result<(Vec<RecordBatch>, Vec<RecordBatch>), LakeError> {
    let mut taken = Vec::new();
    let mut kept = Vec::new();
    for batch in batches {
        let column = batch
            .column_by_name("eventCategory")
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or_else(|| {
                LakeError::Internal("a lake file has no eventCategory text column".to_owned())
            })?;
        let matches: BooleanArray = (0..column.len())
            .map(|row| {
                let value = if column.is_null(row) {
                    "Management"
                } else {
                    column.value(row)
                };
                Some(value == category)
            })
            .collect();
        let others: BooleanArray = matches.iter().map(|m| m.map(|m| !m)).collect();
        taken.push(filter_record_batch(batch, &matches)?);
        kept.push(filter_record_batch(batch, &others)?);
    }
    Ok((taken, kept))
}

/// Archives `rows` taken out of `source` under a name derived from it, once: a file of that
/// name already in the archive means an earlier run archived them.
fn archive_rows(
    archive: &mut Lake,
    key: &PartitionKey,
    source: &LakeFileRecord,
    category: &str,
    rows: &[RecordBatch],
) -> Result<(), LakeError> {
    let stem = std::path::Path::new(&source.path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = format!("{stem}-{}.parquet", category.to_ascii_lowercase());
    let held = archive
        .catalog
        .lake_files(Some((&key.account, &key.region, &key.date)))?;
    if held.iter().any(|f| f.path.ends_with(&format!("/{name}"))) {
        return Ok(());
    }
    let mut staged = stage_partition(&archive.staging_dir(), key, rows)?;
    let (Some(staged_name), Some(folder)) = (
        staged.staged_as.clone(),
        staged
            .path
            .rsplit_once('/')
            .map(|(folder, _)| folder.to_owned()),
    ) else {
        return Err(LakeError::Internal("a staged file has no name".to_owned()));
    };
    let from = archive.staging_dir().join(&staged_name);
    let to = archive.staging_dir().join(&name);
    std::fs::rename(&from, &to).map_err(LakeError::io(&from))?;
    staged.staged_as = Some(name.clone());
    staged.path = format!("{folder}/{name}");
    archive
        .catalog
        .commit(std::slice::from_ref(&staged), &[], &[], &[])?;
    archive.put_in_place(std::slice::from_ref(&staged))?;
    Ok(())
}
