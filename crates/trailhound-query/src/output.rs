//! Printing query results.

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
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
/// As [`ResultWriter::write`].
pub fn write_batches(
    batches: &[RecordBatch],
    format: Format,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let mut writer = ResultWriter::new(format, out);
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish()
}

/// Writes a query's result as it comes, batch by batch, so that exporting a large result
/// holds one batch at a time. A table is the exception: its columns are as wide as their
/// widest value, so it keeps every batch until [`ResultWriter::finish`].
pub struct ResultWriter<'a> {
    sink: Sink<'a>,
    hung_up: Rc<Cell<bool>>,
}

enum Sink<'a> {
    Table(Vec<RecordBatch>, HangUpAware<'a>),
    Json(arrow::json::ArrayWriter<HangUpAware<'a>>),
    Jsonl(arrow::json::LineDelimitedWriter<HangUpAware<'a>>),
    Csv(Box<arrow::csv::Writer<HangUpAware<'a>>>),
}

impl<'a> ResultWriter<'a> {
    /// A writer of `format` to `out`.
    pub fn new(format: Format, out: &'a mut dyn Write) -> Self {
        let hung_up = Rc::new(Cell::new(false));
        let out = HangUpAware {
            inner: out,
            hung_up: Rc::clone(&hung_up),
        };
        let sink = match format {
            Format::Table => Sink::Table(Vec::new(), out),
            Format::Json => Sink::Json(arrow::json::ArrayWriter::new(out)),
            Format::Jsonl => Sink::Jsonl(arrow::json::LineDelimitedWriter::new(out)),
            Format::Csv => Sink::Csv(Box::new(
                arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(out),
            )),
        };
        ResultWriter { sink, hung_up }
    }

    /// Writes one batch (a table keeps it for [`ResultWriter::finish`]).
    ///
    /// # Errors
    ///
    /// [`QueryError::OutputClosed`] when the reader hung up (a closed pipe),
    /// [`QueryError::Output`] when formatting or writing fails otherwise.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), QueryError> {
        let result = match &mut self.sink {
            Sink::Table(batches, _) => {
                batches.push(batch.clone());
                Ok(())
            }
            Sink::Json(writer) => writer.write(batch),
            Sink::Jsonl(writer) => writer.write(batch),
            Sink::Csv(writer) => nested_as_json(batch).and_then(|batch| writer.write(&batch)),
        };
        classify(result.map_err(Into::into), &self.hung_up)
    }

    /// Ends the output (a JSON array's closing bracket, a table) and flushes it.
    ///
    /// # Errors
    ///
    /// As [`ResultWriter::write`].
    pub fn finish(self) -> Result<(), QueryError> {
        let ResultWriter { sink, hung_up } = self;
        classify(Self::end(sink), &hung_up)
    }

    fn end(sink: Sink<'_>) -> Result<(), Box<dyn std::error::Error>> {
        let mut out = match sink {
            Sink::Table(batches, mut out) => {
                let table = arrow::util::pretty::pretty_format_batches(&batches)?;
                writeln!(out, "{table}")?;
                out
            }
            Sink::Json(mut writer) => {
                writer.finish()?;
                let mut out = writer.into_inner();
                writeln!(out)?;
                out
            }
            Sink::Jsonl(mut writer) => {
                writer.finish()?;
                writer.into_inner()
            }
            Sink::Csv(writer) => writer.into_inner(),
        };
        out.flush()?;
        Ok(())
    }
}

/// A closed pipe apart from other failures to write.
fn classify(
    result: Result<(), Box<dyn std::error::Error>>,
    hung_up: &Cell<bool>,
) -> Result<(), QueryError> {
    match result {
        Err(_) if hung_up.get() => Err(QueryError::OutputClosed),
        Err(err) => Err(QueryError::Output(err.to_string())),
        Ok(()) => Ok(()),
    }
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
    hung_up: Rc<Cell<bool>>,
}

impl HangUpAware<'_> {
    fn note<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(err) = &result
            && err.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.hung_up.set(true);
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

    /// A batch of one `eventName` column.
    fn event_names(names: &[&str]) -> Result<RecordBatch, arrow::error::ArrowError> {
        let schema = Schema::new(vec![Field::new("eventName", DataType::Utf8, true)]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(StringArray::from(names.to_vec())) as ArrayRef],
        )
    }

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
        let batch = event_names(&["DeleteBucket"; 10_000])?;
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

    /// Everything written so far, readable while a writer still holds it.
    #[derive(Clone, Default)]
    struct Shared(Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn rows_are_written_as_their_batch_comes_except_in_a_table()
    -> Result<(), Box<dyn std::error::Error>> {
        let batch = |name: &str| event_names(&[name]);
        let expected = [
            (
                Format::Jsonl,
                "{\"eventName\":\"A\"}\n{\"eventName\":\"B\"}\n",
            ),
            (
                Format::Json,
                "[{\"eventName\":\"A\"},{\"eventName\":\"B\"}]\n",
            ),
            (Format::Csv, "eventName\nA\nB\n"),
        ];
        for (format, whole) in expected {
            let shared = Shared::default();
            let mut out = shared.clone();
            let mut writer = ResultWriter::new(format, &mut out);
            writer.write(&batch("A")?)?;
            let first = String::from_utf8(shared.0.borrow().clone())?;
            assert!(
                first.contains('A'),
                "{format:?} holds its first batch back: {first:?}"
            );
            writer.write(&batch("B")?)?;
            writer.finish()?;
            assert_eq!(
                String::from_utf8(shared.0.borrow().clone())?,
                whole,
                "{format:?}"
            );
        }
        let shared = Shared::default();
        let mut out = shared.clone();
        let mut writer = ResultWriter::new(Format::Table, &mut out);
        writer.write(&batch("A")?)?;
        assert!(
            shared.0.borrow().is_empty(),
            "a table needs every row for its widths"
        );
        writer.write(&batch("Bee")?)?;
        writer.finish()?;
        let table = String::from_utf8(shared.0.borrow().clone())?;
        assert!(
            table.contains("| A         |") && table.contains("| Bee       |"),
            "{table}"
        );
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
