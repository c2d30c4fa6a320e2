//! Reading events back out of the lake without SQL: the files a selection needs (pruned by
//! partition and by each file's time range from the catalog), and their original records.
//! `hunt` over the lake uses this to run rules over history with bounded memory.

use arrow::array::{Array, AsArray};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use trailhound_source::Selection;

use crate::schema::file_schema;
use crate::{Lake, LakeError, LakeListing};

impl Lake {
    /// The lake files that may hold events of `selection`, as paths relative to the lake root
    /// for [`for_each_record`], those with the oldest events first.
    ///
    /// The order is by each file's earliest `eventTime`, not the catalog's: a reader that
    /// buffers what it finds and sorts it (a hunt's correlations) then sees events close to
    /// time order whatever order commits wrote the files in.
    pub fn event_files(&self, selection: &Selection) -> Result<Vec<String>, LakeError> {
        let since_us = selection.since.map(|t| t.timestamp_micros());
        let until_us = selection.until.map(|t| t.timestamp_micros());
        let mut files: Vec<_> = self
            .catalog()
            .lake_files(None)?
            .into_iter()
            .filter(|f| selection.accounts.is_empty() || selection.accounts.contains(&f.account))
            .filter(|f| selection.regions.is_empty() || selection.regions.contains(&f.region))
            .filter(|f| !matches!((since_us, f.max_time_us), (Some(s), Some(max)) if max < s))
            .filter(|f| !matches!((until_us, f.min_time_us), (Some(u), Some(min)) if min >= u))
            .collect();
        files.sort_by(|a, b| {
            a.min_time_us
                .cmp(&b.min_time_us)
                .then_with(|| a.path.cmp(&b.path))
        });
        Ok(files.into_iter().map(|f| f.path).collect())
    }
}

/// Calls `f` with every original record (`eventJson`) of the listed lake file `path`, one row
/// group in memory at a time.
///
/// # Errors
///
/// [`LakeError::Io`] when the file cannot be opened; [`LakeError::LakeFile`], naming the
/// file, when it is not a lake file as Trailhound writes them (another tool's, or damaged).
pub fn for_each_record(
    listing: &LakeListing,
    path: &str,
    f: impl FnMut(&str),
) -> Result<(), LakeError> {
    let file = listing.open(path)?;
    read_records(file, f).map_err(|reason| LakeError::LakeFile {
        path: listing.in_place(path),
        reason,
    })
}

fn read_records(file: std::fs::File, mut f: impl FnMut(&str)) -> Result<(), String> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())?;
    let column = file_schema()
        .index_of("eventJson")
        .map_err(|e| e.to_string())?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [column]);
    let batches = builder
        .with_projection(mask)
        .with_batch_size(8192)
        .build()
        .map_err(|e| e.to_string())?;
    for batch in batches {
        let batch = batch.map_err(|e| e.to_string())?;
        let column = batch.column(0);
        let records = column.as_string_opt::<i32>().ok_or_else(|| {
            format!(
                "its eventJson column holds {}, not the text Trailhound writes",
                column.data_type()
            )
        })?;
        for row in 0..records.len() {
            if !records.is_null(row) {
                f(records.value(row));
            }
        }
    }
    Ok(())
}
