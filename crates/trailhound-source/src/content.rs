//! Opening an object's bytes as text lines: transparent gzip (including multi-member
//! streams), a cap on how much any one document may inflate to, and errors that say which
//! of disk, gzip or UTF-8 failed.

use std::io::{BufRead, Read};

use flate2::bufread::MultiGzDecoder;

use crate::SourceError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const READ_BUFFER: usize = 256 * 1024;

/// The buffers objects are read through, kept by each worker from one object to the next.
/// A fresh pair per object cost an allocation, page faults and zeroing the inflated side's
/// 256 KiB (the decoder cannot write into uninitialised memory) for every one of CloudTrail's
/// many small files.
pub(crate) struct ReadBuffers {
    stored: Box<[u8]>,
    inflated: Box<[u8]>,
}

impl Default for ReadBuffers {
    fn default() -> Self {
        ReadBuffers {
            stored: vec![0; READ_BUFFER].into_boxed_slice(),
            inflated: vec![0; READ_BUFFER].into_boxed_slice(),
        }
    }
}

/// A buffered reader over a borrowed buffer (see [`ReadBuffers`]).
struct Buffered<'b, R> {
    inner: R,
    buffer: &'b mut [u8],
    position: usize,
    filled: usize,
}

impl<'b, R: Read> Buffered<'b, R> {
    fn new(inner: R, buffer: &'b mut [u8]) -> Self {
        Buffered {
            inner,
            buffer,
            position: 0,
            filled: 0,
        }
    }
}

impl<R: Read> Read for Buffered<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Buffered<'_, R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.position >= self.filled {
            self.filled = self.inner.read(self.buffer)?;
            self.position = 0;
        }
        Ok(&self.buffer[self.position..self.filled])
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.filled);
    }
}

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
    pub(crate) fn open(
        reader: impl Read + Send + 'r,
        buffers: &'r mut ReadBuffers,
    ) -> Result<Self, SourceError> {
        let mut buffered = Buffered::new(reader, &mut buffers.stored);
        let gzip = buffered.fill_buf()?.starts_with(&GZIP_MAGIC);
        let reader: Box<dyn BufRead + Send + 'r> = if gzip {
            Box::new(Buffered::new(
                MultiGzDecoder::new(buffered),
                &mut buffers.inflated,
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
        let mut buffers = ReadBuffers::default();
        let mut content = Content::open(&members[..], &mut buffers)?;
        assert_eq!(lines(&mut content, 100)?, ["one", "two", "three"]);
        let mut buffers = ReadBuffers::default();
        let mut plain = Content::open(&b"one\ntwo"[..], &mut buffers)?;
        assert_eq!(lines(&mut plain, 100)?, ["one", "two"]);
        Ok(())
    }

    #[test]
    fn truncated_gzip_is_reported_as_such() -> Result<(), Box<dyn std::error::Error>> {
        let data = gzip(&b"{\"Records\":[]}\n".repeat(1000))?;
        let mut buffers = ReadBuffers::default();
        let mut content = Content::open(&data[..data.len() / 2], &mut buffers)?;
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
        let mut buffers = ReadBuffers::default();
        let mut content = Content::open(&data[..], &mut buffers)?;
        let err = lines(&mut content, 1 << 20).err();
        assert!(
            matches!(err, Some(SourceError::TooLarge { limit }) if limit == 1 << 20),
            "{err:?}"
        );
        Ok(())
    }
}
