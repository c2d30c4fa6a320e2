//! Printing query results.

use std::io::Write;

use arrow::array::RecordBatch;

use crate::QueryError;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns with borders, for people.
    Table,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header line.
    Csv,
}

/// Writes `batches` to `out` in `format`.
///
/// # Errors
///
/// [`QueryError::Output`] when formatting or writing fails.
pub fn write_batches(
    batches: &[RecordBatch],
    format: Format,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let fail = |err: &dyn std::fmt::Display| QueryError::Output(err.to_string());
    match format {
        Format::Table => {
            let table =
                arrow::util::pretty::pretty_format_batches(batches).map_err(|e| fail(&e))?;
            writeln!(out, "{table}").map_err(|e| fail(&e))?;
        }
        Format::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut *out);
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            writer.write_batches(&refs).map_err(|e| fail(&e))?;
            writer.finish().map_err(|e| fail(&e))?;
            writeln!(out).map_err(|e| fail(&e))?;
        }
        Format::Jsonl => {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut *out);
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            writer.write_batches(&refs).map_err(|e| fail(&e))?;
            writer.finish().map_err(|e| fail(&e))?;
        }
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            for batch in batches {
                writer.write(batch).map_err(|e| fail(&e))?;
            }
        }
    }
    out.flush().map_err(|e| fail(&e))
}
