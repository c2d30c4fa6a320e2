//! Writing events to stdout: NDJSON exactly as AWS wrote each record, or pretty JSON.

use std::io::{self, Write};

use trailhound_event::layout;

/// Buffered event output. A closed pipe (`trailhound cat … | head`) is reported as
/// [`WriteOutcome::Closed`] so the reader can stop quietly instead of failing.
pub(crate) struct EventWriter<W: Write> {
    out: io::BufWriter<W>,
    pretty: bool,
    scratch: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WriteOutcome {
    Written,
    Closed,
}

impl<W: Write> EventWriter<W> {
    pub(crate) fn new(out: W, pretty: bool) -> Self {
        EventWriter {
            out: io::BufWriter::with_capacity(1 << 20, out),
            pretty,
            scratch: Vec::new(),
        }
    }

    /// Writes one record. Records already on one line (CloudTrail's own files) are copied
    /// byte for byte; pretty-printed ones are compacted onto one line.
    pub(crate) fn write(&mut self, record: &str) -> io::Result<WriteOutcome> {
        let result = if self.pretty {
            self.scratch.clear();
            layout::write_pretty(record, &mut self.scratch);
            self.scratch.push(b'\n');
            self.out.write_all(&self.scratch)
        } else if memchr::memchr2(b'\n', b'\r', record.as_bytes()).is_none() {
            self.out
                .write_all(record.as_bytes())
                .and_then(|()| self.out.write_all(b"\n"))
        } else {
            self.scratch.clear();
            layout::write_compact(record, &mut self.scratch);
            self.scratch.push(b'\n');
            self.out.write_all(&self.scratch)
        };
        closed_pipe_is_not_an_error(result)
    }

    pub(crate) fn flush(&mut self) -> io::Result<WriteOutcome> {
        closed_pipe_is_not_an_error(self.out.flush())
    }
}

fn closed_pipe_is_not_an_error(result: io::Result<()>) -> io::Result<WriteOutcome> {
    match result {
        Ok(()) => Ok(WriteOutcome::Written),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(WriteOutcome::Closed),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_records_pass_through_and_others_are_compacted() -> io::Result<()> {
        let mut buffer = Vec::new();
        {
            let mut writer = EventWriter::new(&mut buffer, false);
            writer.write(r#"{"a" : 1}"#)?;
            writer.write("{\n  \"b\": \"x y\"\n}")?;
            writer.flush()?;
        }
        assert_eq!(
            String::from_utf8_lossy(&buffer),
            "{\"a\" : 1}\n{\"b\":\"x y\"}\n"
        );
        Ok(())
    }
}
