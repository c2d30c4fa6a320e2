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

use crate::catalog::files::LakeFileRecord;
use crate::writer::move_into_place;
use crate::{Lake, LakeError};

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

/// What applying a plan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Partitions retired from this lake.
    pub partitions: u64,
    /// Files copied into the archive (fewer than retired when a run before copied some).
    pub archived_files: u64,
    /// Events retired.
    pub rows: u64,
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
        if archive.as_ref().is_some_and(|a| self.is_at(a.root())) {
            return Err(LakeError::Config(
                "the archive is this lake: give another folder to --archive-to".to_owned(),
            ));
        }
        self.purge_retired()?;
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
            let source = self.lake_dir().join(&file.path);
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
        move_into_place(archive, &staged)?;
        Ok(staged.len() as u64)
    }
}
