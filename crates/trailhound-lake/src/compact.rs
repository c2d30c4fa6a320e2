//! Merging many small files of a partition into well-sized ones. Continuous ingest writes a
//! file per partition per commit; queries and other engines prefer fewer, larger files.

use std::collections::BTreeMap;

use crate::catalog::files::LakeFileRecord;
use crate::writer::{read_file, stage_partition};
use crate::{Lake, LakeError, PartitionKey};

/// When and how far to compact.
#[derive(Debug, Clone, Copy)]
pub struct CompactOptions {
    /// Files with fewer rows than this count as small.
    pub small_file_rows: u64,
    /// Merge small files until a merged file has about this many rows (bounds memory).
    pub target_rows: u64,
    /// Compact a partition only when it has at least this many small files.
    pub min_small_files: usize,
}

impl CompactOptions {
    /// What `trailhound compact` does: merge any two or more small files.
    pub fn manual() -> Self {
        CompactOptions {
            small_file_rows: 200_000,
            target_rows: 400_000,
            min_small_files: 2,
        }
    }

    /// What ingest does afterwards on its own: only once small files pile up.
    pub fn automatic() -> Self {
        CompactOptions {
            min_small_files: 8,
            ..CompactOptions::manual()
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Partitions touched.
    pub partitions: u64,
    /// Files merged away.
    pub files_before: u64,
    /// Files written in their place.
    pub files_after: u64,
    /// Rows rewritten.
    pub rows: u64,
}

impl Lake {
    /// Merges small files partition by partition. Each merge is its own commit: readers see
    /// either the old files or the new one, never both and never neither (a reader that listed
    /// the old ones still finds them among the retired files). Retired files past their grace
    /// are deleted first.
    pub fn compact(&mut self, options: CompactOptions) -> Result<CompactReport, LakeError> {
        self.purge_retired()?;
        // Files the OCSF export has written are merged only with each other, and those it
        // has not with each other: a merged file is exported exactly when its parts were. On
        // a lake being exported, files not yet marked wait for the export (one may have been
        // written just before a crash, under a name taken from it).
        let exported = self.catalog.exported_files()?;
        let exporting = self.catalog.export_started()?;
        let mut by_partition: BTreeMap<(PartitionKey, bool), Vec<LakeFileRecord>> = BTreeMap::new();
        for file in self.catalog.lake_files(None)? {
            if file.rows < options.small_file_rows {
                let key = PartitionKey {
                    account: file.account.clone(),
                    region: file.region.clone(),
                    date: file.date.clone(),
                };
                let done = exported.contains(&file.path);
                if exporting && !done {
                    continue;
                }
                by_partition.entry((key, done)).or_default().push(file);
            }
        }
        let mut report = CompactReport::default();
        for ((key, _), files) in by_partition {
            if files.len() < options.min_small_files.max(2) {
                continue;
            }
            report.partitions += 1;
            for group in groups(files, options.target_rows) {
                self.merge(&key, &group, &mut report)?;
            }
        }
        Ok(report)
    }

    fn merge(
        &mut self,
        key: &PartitionKey,
        group: &[LakeFileRecord],
        report: &mut CompactReport,
    ) -> Result<(), LakeError> {
        let mut batches = Vec::new();
        for file in group {
            batches.extend(read_file(&self.readable(&file.path)?)?);
        }
        let merged = stage_partition(&self.staging_dir(), key, &batches)?;
        drop(batches);
        let retired: Vec<String> = group.iter().map(|f| f.path.clone()).collect();
        self.catalog
            .commit(std::slice::from_ref(&merged), &retired, &[], &[])?;
        self.put_in_place(std::slice::from_ref(&merged))?;
        for path in &retired {
            self.retire(path);
        }
        report.files_before += group.len() as u64;
        report.files_after += 1;
        report.rows += merged.rows;
        Ok(())
    }
}

/// Splits a partition's small files into groups of about `target_rows`, each of two or more.
fn groups(mut files: Vec<LakeFileRecord>, target_rows: u64) -> Vec<Vec<LakeFileRecord>> {
    files.sort_by_key(|f| f.min_time_us);
    let mut groups: Vec<Vec<LakeFileRecord>> = Vec::new();
    let mut current: Vec<LakeFileRecord> = Vec::new();
    let mut rows = 0;
    for file in files {
        rows += file.rows;
        current.push(file);
        if rows >= target_rows {
            groups.push(std::mem::take(&mut current));
            rows = 0;
        }
    }
    if current.len() >= 2 || (current.len() == 1 && groups.is_empty()) {
        groups.push(current);
    } else if let (Some(last), Some(file)) = (groups.last_mut(), current.pop()) {
        last.push(file);
    }
    groups.retain(|g| g.len() >= 2);
    groups
}
