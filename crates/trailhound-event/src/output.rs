//! Writing records out as they were written: one per line (NDJSON, the way `cat` and `jq`
//! want them), pretty-printed for people, or as one JSON array. Content is never changed
//! (see [`crate::layout`]); a record already on one line is copied byte for byte.

use std::io::{self, Write};

use crate::layout;

/// How records are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordLayout {
    /// One record per line (NDJSON).
    Lines,
    /// Each record indented over several lines.
    Pretty,
    /// One JSON array of one-line records.
    Array,
}

/// What became of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// It was written.
    Yes,
    /// The reader went away (`| head`): nothing more needs writing, and that is no error.
    Closed,
}

/// Buffered record output.
pub struct RecordWriter<W: Write> {
    out: io::BufWriter<W>,
    layout: RecordLayout,
    scratch: Vec<u8>,
    /// Nothing written yet (the array's `[` is still to come).
    empty: bool,
}

impl<W: Write> RecordWriter<W> {
    /// Records to `out`, laid out as `layout`.
    pub fn new(out: W, layout: RecordLayout) -> Self {
        RecordWriter {
            out: io::BufWriter::with_capacity(1 << 20, out),
            layout,
            scratch: Vec::new(),
            empty: true,
        }
    }

    /// Writes one record.
    ///
    /// # Errors
    ///
    /// When writing fails for another reason than a closed pipe.
    pub fn write(&mut self, record: &str) -> io::Result<Written> {
        let first = std::mem::replace(&mut self.empty, false);
        self.scratch.clear();
        let result = match self.layout {
            RecordLayout::Lines if memchr::memchr2(b'\n', b'\r', record.as_bytes()).is_none() => {
                self.out
                    .write_all(record.as_bytes())
                    .and_then(|()| self.out.write_all(b"\n"))
            }
            RecordLayout::Lines => {
                layout::write_compact(record, &mut self.scratch);
                self.scratch.push(b'\n');
                self.out.write_all(&self.scratch)
            }
            RecordLayout::Pretty => {
                layout::write_pretty(record, &mut self.scratch);
                self.scratch.push(b'\n');
                self.out.write_all(&self.scratch)
            }
            RecordLayout::Array => {
                self.scratch.push(if first { b'[' } else { b',' });
                layout::write_compact(record, &mut self.scratch);
                self.out.write_all(&self.scratch)
            }
        };
        closed_pipe_is_not_an_error(result)
    }

    /// Ends the output (closing an array) and flushes it.
    ///
    /// # Errors
    ///
    /// When writing fails for another reason than a closed pipe.
    pub fn finish(mut self) -> io::Result<Written> {
        let end: &[u8] = match (self.layout, self.empty) {
            (RecordLayout::Array, true) => b"[]\n",
            (RecordLayout::Array, false) => b"]\n",
            _ => b"",
        };
        let result = self.out.write_all(end).and_then(|()| self.out.flush());
        closed_pipe_is_not_an_error(result)
    }
}

fn closed_pipe_is_not_an_error(result: io::Result<()>) -> io::Result<Written> {
    match result {
        Ok(()) => Ok(Written::Yes),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(Written::Closed),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(layout: RecordLayout, records: &[&str]) -> io::Result<String> {
        let mut buffer = Vec::new();
        let mut writer = RecordWriter::new(&mut buffer, layout);
        for record in records {
            writer.write(record)?;
        }
        writer.finish()?;
        Ok(String::from_utf8_lossy(&buffer).into_owned())
    }

    #[test]
    fn one_line_records_pass_through_and_others_are_compacted() -> io::Result<()> {
        let records = [r#"{"a" : 1}"#, "{\n  \"b\": \"x y\"\n}"];
        assert_eq!(
            written(RecordLayout::Lines, &records)?,
            "{\"a\" : 1}\n{\"b\":\"x y\"}\n"
        );
        assert_eq!(
            written(RecordLayout::Array, &records)?,
            "[{\"a\":1},{\"b\":\"x y\"}]\n"
        );
        assert_eq!(written(RecordLayout::Array, &[])?, "[]\n");
        Ok(())
    }
}
