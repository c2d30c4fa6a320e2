//! Opening an object's bytes as text lines: transparent gzip (including multi-member
//! streams), a cap on how much any one document may inflate to, and errors that say which
//! of disk, gzip or UTF-8 failed.

use std::io::{BufRead, BufReader, Read};

use flate2::bufread::MultiGzDecoder;

use crate::SourceError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const READ_BUFFER: usize = 256 * 1024;

/// An object's content, inflated if it was gzip, read a line at a time.
pub(crate) struct Content<'r> {
    reader: Box<dyn BufRead + Send + 'r>,
    gzip: bool,
    /// Bytes of content (after inflation) consumed so far.
    position: u64,
}

/// What one call to [`Content::read_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A line (without its newline) is in the buffer.
    Read,
    /// The content ended; the buffer is empty.
    End,
}

impl<'r> Content<'r> {
    /// Wraps a reader, sniffing the gzip magic bytes so that detection is by content.
    pub(crate) fn open(reader: impl Read + Send + 'r) -> Result<Self, SourceError> {
        let mut buffered = BufReader::with_capacity(READ_BUFFER, reader);
        let gzip = buffered.fill_buf()?.starts_with(&GZIP_MAGIC);
        let reader: Box<dyn BufRead + Send + 'r> = if gzip {
            Box::new(BufReader::with_capacity(
                READ_BUFFER,
                MultiGzDecoder::new(buffered),
            ))
        } else {
            Box::new(buffered)
        };
        Ok(Content {
            reader,
            gzip,
            position: 0,
        })
    }

    /// Bytes of content consumed so far.
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    /// Appends the next line to `buf` (which the caller clears), refusing to let one line grow
    /// past `limit` bytes: the guard against decompression bombs and runaway records.
    pub(crate) fn read_line(&mut self, buf: &mut Vec<u8>, limit: u64) -> Result<Line, SourceError> {
        let start_len = buf.len();
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(self.classify(err)),
            };
            if available.is_empty() {
                return Ok(if buf.len() == start_len {
                    Line::End
                } else {
                    Line::Read
                });
            }
            let (taken, found_newline) = match memchr::memchr(b'\n', available) {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            let content_len = if found_newline { taken - 1 } else { taken };
            if (buf.len() - start_len + content_len) as u64 > limit {
                return Err(SourceError::TooLarge { limit });
            }
            buf.extend_from_slice(&available[..content_len]);
            self.reader.consume(taken);
            self.position += taken as u64;
            if found_newline {
                return Ok(Line::Read);
            }
        }
    }

    /// Reads everything that is left, appending to `buf`, under the same cap as one line.
    pub(crate) fn read_rest(&mut self, buf: &mut Vec<u8>, limit: u64) -> Result<(), SourceError> {
        loop {
            let before = buf.len();
            match self.read_line(buf, limit.saturating_sub(before as u64))? {
                Line::End => return Ok(()),
                Line::Read => {
                    // Keep the newline: the document's line numbers must match the file's.
                    buf.push(b'\n');
                }
            }
        }
    }

    fn classify(&self, err: std::io::Error) -> SourceError {
        use std::io::ErrorKind::{InvalidData, InvalidInput, UnexpectedEof};
        if self.gzip && matches!(err.kind(), InvalidData | InvalidInput | UnexpectedEof) {
            SourceError::CorruptGzip {
                inflated: self.position,
                message: err.to_string(),
            }
        } else {
            SourceError::Io(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compression, write::GzEncoder};

    use super::*;

    fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(data)?;
        encoder.finish()
    }

    fn lines(content: &mut Content<'_>, limit: u64) -> Result<Vec<String>, SourceError> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match content.read_line(&mut buf, limit)? {
                Line::End => return Ok(out),
                Line::Read => out.push(String::from_utf8_lossy(&buf).into_owned()),
            }
        }
    }

    #[test]
    fn reads_plain_and_multi_member_gzip_alike() -> Result<(), Box<dyn std::error::Error>> {
        let mut members = gzip(b"one\ntwo")?;
        members.extend(gzip(b"\nthree\n")?);
        let mut content = Content::open(&members[..])?;
        assert_eq!(lines(&mut content, 100)?, ["one", "two", "three"]);
        let mut plain = Content::open(&b"one\ntwo"[..])?;
        assert_eq!(lines(&mut plain, 100)?, ["one", "two"]);
        Ok(())
    }

    #[test]
    fn truncated_gzip_is_reported_as_such() -> Result<(), Box<dyn std::error::Error>> {
        let data = gzip(&b"{\"Records\":[]}\n".repeat(1000))?;
        let mut content = Content::open(&data[..data.len() / 2])?;
        let err = lines(&mut content, 1 << 20).err();
        assert!(
            matches!(err, Some(SourceError::CorruptGzip { .. })),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn bombs_stop_at_the_cap() -> Result<(), Box<dyn std::error::Error>> {
        let data = gzip(&vec![b'0'; 10 << 20])?;
        assert!(data.len() < 100 << 10);
        let mut content = Content::open(&data[..])?;
        let err = lines(&mut content, 1 << 20).err();
        assert!(
            matches!(err, Some(SourceError::TooLarge { limit }) if limit == 1 << 20),
            "{err:?}"
        );
        Ok(())
    }
}
