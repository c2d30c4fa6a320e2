//! Printing query results.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};

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
    /// Comma-separated values with a header line; nested columns as JSON text.
    Csv,
}

/// Writes `batches` to `out` in `format`.
///
/// # Errors
///
/// [`QueryError::OutputClosed`] when the reader hung up (a closed pipe),
/// [`QueryError::Output`] when formatting or writing fails otherwise.
pub fn write_batches(
    batches: &[RecordBatch],
    format: Format,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let mut out = HangUpAware {
        inner: out,
        hung_up: false,
    };
    let result = write_formatted(batches, format, &mut out);
    match result {
        Err(_) if out.hung_up => Err(QueryError::OutputClosed),
        Err(err) => Err(QueryError::Output(err.to_string())),
        Ok(()) => Ok(()),
    }
}

fn write_formatted(
    batches: &[RecordBatch],
    format: Format,
    out: &mut HangUpAware<'_>,
) -> Result<(), Box<dyn std::error::Error>> {
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    match format {
        Format::Table => {
            let table = arrow::util::pretty::pretty_format_batches(batches)?;
            writeln!(out, "{table}")?;
        }
        Format::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut *out);
            writer.write_batches(&refs)?;
            writer.finish()?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut *out);
            writer.write_batches(&refs)?;
            writer.finish()?;
        }
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            for batch in batches {
                writer.write(&nested_as_json(batch)?)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// `batch` with every nested column (`userIdentity`, `resources`, …) written as JSON text,
/// the form CSV can hold and a spreadsheet or `jq` can read back; Arrow's CSV writer refuses
/// nested types.
fn nested_as_json(batch: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| f.data_type().is_nested())
    {
        return Ok(batch.clone());
    }
    let options = arrow::json::writer::EncoderOptions::default();
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if !field.data_type().is_nested() {
            fields.push(Arc::clone(field));
            columns.push(Arc::clone(column));
            continue;
        }
        let mut encoder = arrow::json::writer::make_encoder(field, column.as_ref(), &options)?;
        let mut text = arrow::array::StringBuilder::new();
        let mut value = Vec::new();
        for row in 0..column.len() {
            if encoder.is_null(row) {
                text.append_null();
                continue;
            }
            value.clear();
            encoder.encode(row, &mut value);
            text.append_value(String::from_utf8_lossy(&value));
        }
        fields.push(Arc::new(Field::new(field.name(), DataType::Utf8, true)));
        columns.push(Arc::new(text.finish()) as ArrayRef);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// Remembers whether the reader hung up: Arrow's writers wrap the I/O error in their own
/// (the CSV writer keeps only its text), so its kind cannot be read back from what they return.
struct HangUpAware<'a> {
    inner: &'a mut dyn Write,
    hung_up: bool,
}

impl HangUpAware<'_> {
    fn note<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(err) = &result {
            self.hung_up |= err.kind() == std::io::ErrorKind::BrokenPipe;
        }
        result
    }
}

impl Write for HangUpAware<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(buf);
        self.note(result)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.note(result)
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, StringArray, StructArray};

    use super::*;

    /// Accepts nothing: every write fails with `kind`.
    struct Failing(std::io::ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(self.0.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(self.0.into())
        }
    }

    #[test]
    fn a_closed_pipe_is_told_apart_from_other_write_failures()
    -> Result<(), Box<dyn std::error::Error>> {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "eventName",
            DataType::Utf8,
            true,
        )]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(StringArray::from(vec!["DeleteBucket"; 10_000]))],
        )?;
        for format in [Format::Table, Format::Json, Format::Jsonl, Format::Csv] {
            let mut closed = Failing(std::io::ErrorKind::BrokenPipe);
            let hung_up = write_batches(std::slice::from_ref(&batch), format, &mut closed);
            assert!(
                matches!(hung_up, Err(QueryError::OutputClosed)),
                "{format:?}: {hung_up:?}"
            );
            let mut full = Failing(std::io::ErrorKind::StorageFull);
            let failed = write_batches(std::slice::from_ref(&batch), format, &mut full);
            assert!(
                matches!(failed, Err(QueryError::Output(_))),
                "{format:?}: {failed:?}"
            );
        }
        let mut written = Vec::new();
        write_batches(&[batch], Format::Csv, &mut written)?;
        assert!(written.starts_with(b"eventName\nDeleteBucket\n"));
        Ok(())
    }

    #[test]
    fn csv_writes_nested_columns_as_json_text() -> Result<(), Box<dyn std::error::Error>> {
        let arn = Arc::new(Field::new("arn", DataType::Utf8, true));
        let kind = Arc::new(Field::new("type", DataType::Utf8, true));
        let identity = StructArray::from(vec![
            (
                kind,
                Arc::new(StringArray::from(vec![Some("IAMUser"), Some("Root")])) as ArrayRef,
            ),
            (
                arn,
                Arc::new(StringArray::from(vec![
                    Some("arn:aws:iam::111122223333:user/alice"),
                    None,
                ])) as ArrayRef,
            ),
        ]);
        let schema = Arc::new(Schema::new(vec![
            Field::new("eventName", DataType::Utf8, true),
            Field::new("userIdentity", identity.data_type().clone(), true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["DeleteBucket", "ConsoleLogin"])),
                Arc::new(identity),
            ],
        )?;
        let mut written = Vec::new();
        write_batches(&[batch], Format::Csv, &mut written)?;
        assert_eq!(
            String::from_utf8(written)?,
            concat!(
                "eventName,userIdentity\n",
                "DeleteBucket,\"{\"\"type\"\":\"\"IAMUser\"\",\"\"arn\"\":\"\"arn:aws:iam::111122223333:user/alice\"\"}\"\n",
                "ConsoleLogin,\"{\"\"type\"\":\"\"Root\"\"}\"\n",
            )
        );
        Ok(())
    }
}
