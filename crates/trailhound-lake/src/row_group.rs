//! Encoding one Parquet file's row groups on every core.
//!
//! Input is read in the order CloudTrail lays objects out (account, region, day), so a commit
//! often holds one large partition and a few small ones. Written one file per thread, the large
//! file kept one core busy while the other waited; encoding each row group's column chunks as
//! tasks of a work-stealing pool keeps every core busy whatever the partitions' sizes. The file is the same as
//! `ArrowWriter` makes: same row groups, pages, statistics and footer.

use std::fs::File;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory,
    compute_leaves,
};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;

use crate::LakeError;

/// Writes a Parquet file row group by row group, each row group's column chunks encoded in
/// parallel.
pub(crate) struct ParallelFileWriter {
    file: SerializedFileWriter<File>,
    columns: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
}

/// One column chunk to encode: its writer and its values, one piece per batch of the group.
struct ColumnTask {
    writer: ArrowColumnWriter,
    pieces: Vec<ArrowLeafColumn>,
}

impl ParallelFileWriter {
    /// Starts a file with `schema` and `properties` (the Arrow schema is stored in the footer,
    /// as `ArrowWriter` does).
    pub(crate) fn new(
        file: File,
        schema: SchemaRef,
        properties: WriterProperties,
    ) -> Result<Self, LakeError> {
        let (file, columns) = ArrowWriter::try_new(file, schema.clone(), Some(properties))?
            .into_serialized_writer()?;
        Ok(ParallelFileWriter {
            file,
            columns,
            schema,
        })
    }

    /// Writes `batches` as one row group.
    pub(crate) fn write_row_group(&mut self, batches: &[RecordBatch]) -> Result<(), LakeError> {
        if batches.iter().all(|b| b.num_rows() == 0) {
            return Ok(());
        }
        let writers = self
            .columns
            .create_column_writers(self.file.flushed_row_groups().len())?;
        let mut tasks: Vec<ColumnTask> = writers
            .into_iter()
            .map(|writer| ColumnTask {
                writer,
                pieces: Vec::with_capacity(batches.len()),
            })
            .collect();
        // Cost of each column chunk, to hand out the largest first (`eventJson` is about half
        // of a row group's work; the rest even out around it).
        let mut cost = vec![0usize; tasks.len()];
        for batch in batches {
            let mut leaf = 0;
            for (field, column) in self.schema.fields().iter().zip(batch.columns()) {
                let size = column.get_array_memory_size();
                for piece in compute_leaves(field, column)? {
                    let task = tasks.get_mut(leaf).ok_or_else(|| {
                        LakeError::Internal("more leaf columns than column writers".into())
                    })?;
                    task.pieces.push(piece);
                    cost[leaf] += size;
                    leaf += 1;
                }
            }
        }
        let chunks = encode(tasks, &cost)?;
        let mut row_group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        Ok(())
    }

    /// Writes the footer and returns the file.
    pub(crate) fn finish(self) -> Result<File, LakeError> {
        Ok(self.file.into_inner()?)
    }
}

/// Encodes every column chunk on rayon's pool, the largest first; returns the chunks in column
/// order. The pool steals work across files too: while one thread encodes a row group's
/// `eventJson`, the other goes on to the columns of the next file of the commit.
fn encode(tasks: Vec<ColumnTask>, cost: &[usize]) -> Result<Vec<ArrowColumnChunk>, LakeError> {
    let mut tasks: Vec<(usize, ColumnTask)> = tasks.into_iter().enumerate().collect();
    tasks.sort_by_key(|(leaf, _)| std::cmp::Reverse(cost.get(*leaf).copied().unwrap_or(0)));
    let mut chunks: Vec<(usize, ArrowColumnChunk)> = tasks
        .into_par_iter()
        .map(|(leaf, mut task)| {
            for piece in &task.pieces {
                task.writer.write(piece)?;
            }
            Ok((leaf, task.writer.close()?))
        })
        .collect::<Result<_, LakeError>>()?;
    chunks.sort_by_key(|(leaf, _)| *leaf);
    Ok(chunks.into_iter().map(|(_, chunk)| chunk).collect())
}

/// Cuts `batches` (zero-copy) into row groups of at most `max_rows` rows (at least one), in
/// order.
pub(crate) fn row_groups(batches: &[RecordBatch], max_rows: usize) -> Vec<Vec<RecordBatch>> {
    // A limit of 0 would never advance.
    let max_rows = max_rows.max(1);
    let mut groups = Vec::new();
    let mut current: Vec<RecordBatch> = Vec::new();
    let mut rows = 0;
    for batch in batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (max_rows - rows).min(batch.num_rows() - offset);
            current.push(batch.slice(offset, take));
            offset += take;
            rows += take;
            if rows == max_rows {
                groups.push(std::mem::take(&mut current));
                rows = 0;
            }
        }
    }
    if rows > 0 {
        groups.push(current);
    }
    groups
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    fn batch(from: i64, rows: i64) -> Result<RecordBatch, arrow::error::ArrowError> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("text", DataType::Utf8, true),
        ]));
        let numbers: Vec<i64> = (from..from + rows).collect();
        let text: Vec<Option<String>> = numbers
            .iter()
            .map(|n| (n % 3 != 0).then(|| format!("value {n}")))
            .collect();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(numbers)),
                Arc::new(StringArray::from(text)),
            ],
        )
    }

    #[test]
    fn row_groups_are_cut_at_the_limit_across_batches() -> Result<(), Box<dyn std::error::Error>> {
        let batches = [batch(0, 5)?, batch(5, 7)?, batch(12, 1)?];
        let groups = row_groups(&batches, 4);
        let sizes: Vec<Vec<usize>> = groups
            .iter()
            .map(|g| g.iter().map(RecordBatch::num_rows).collect())
            .collect();
        assert_eq!(sizes, [vec![4], vec![1, 3], vec![4], vec![1]]);
        assert!(row_groups(&[], 4).is_empty());
        Ok(())
    }

    #[test]
    fn the_file_is_the_one_arrow_writer_makes() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let batches = [batch(0, 900)?, batch(900, 500)?];
        let properties = || {
            WriterProperties::builder()
                .set_max_row_group_row_count(Some(512))
                .build()
        };
        let schema = batches[0].schema();

        let ours = dir.path().join("ours.parquet");
        let mut writer =
            ParallelFileWriter::new(File::create(&ours)?, schema.clone(), properties())?;
        for group in row_groups(&batches, 512) {
            writer.write_row_group(&group)?;
        }
        writer.finish()?;

        let theirs = dir.path().join("theirs.parquet");
        let mut writer = ArrowWriter::try_new(File::create(&theirs)?, schema, Some(properties()))?;
        for batch in &batches {
            writer.write(batch)?;
        }
        writer.close()?;

        assert_eq!(std::fs::read(&ours)?, std::fs::read(&theirs)?);
        let read: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(File::open(&ours)?)?
            .build()?
            .collect::<Result<_, _>>()?;
        let rows: usize = read.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 1400);
        Ok(())
    }
}
