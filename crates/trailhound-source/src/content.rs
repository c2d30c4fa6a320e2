//! Opening an object's bytes as text lines: transparent gzip (including multi-member
//! streams), a cap on how much any one document may inflate to, and errors that say which
//! of disk, gzip or UTF-8 failed.
//!
//! Small gzip objects (CloudTrail's own files: kilobytes to a few megabytes) are inflated
//! whole, in one call to libdeflate, into the buffer that then becomes the document's text;
//! everything else, and anything libdeflate does not take, is streamed through zlib-rs a line
//! at a time, which also decides what is wrong with a broken object.

use std::io::{BufRead, Read};

use flate2::bufread::MultiGzDecoder;

use crate::SourceError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Every gzip member starts with the magic and the deflate method.
const GZIP_MEMBER_START: [u8; 3] = [0x1f, 0x8b, 0x08];
const READ_BUFFER: usize = 256 * 1024;
/// The largest gzip object inflated whole; larger ones are streamed.
const WHOLE_GZIP_BYTES: usize = 16 << 20;
/// The most a gzip object inflated whole may inflate to: it is held at once, where a streamed
/// one-record-per-line object is held a batch at a time.
const WHOLE_INFLATED_BYTES: u64 = 64 << 20;

/// The buffers objects are read through, kept by each worker from one object to the next.
/// A fresh pair per object cost an allocation, page faults and zeroing the inflated side's
/// 256 KiB (the decoder cannot write into uninitialised memory) for every one of CloudTrail's
/// many small files.
pub(crate) struct ReadBuffers {
    stored: Box<[u8]>,
    inflated: Box<[u8]>,
    /// A small gzip object's stored bytes, read whole.
    compressed: Vec<u8>,
    decompressor: libdeflater::Decompressor,
}

impl Default for ReadBuffers {
    fn default() -> Self {
        ReadBuffers {
            stored: vec![0; READ_BUFFER].into_boxed_slice(),
            inflated: vec![0; READ_BUFFER].into_boxed_slice(),
            compressed: Vec::new(),
            decompressor: libdeflater::Decompressor::new(),
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
    source: Source<'r>,
    gzip: bool,
    /// Bytes of content (after inflation) consumed so far.
    position: u64,
}

enum Source<'r> {
    Stream(Box<dyn BufRead + Send + 'r>),
    /// A small gzip object inflated whole, and how much of it has been read.
    Inflated {
        text: Vec<u8>,
        read: usize,
    },
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
    /// `limit` is the most the content may inflate to (see [`Content::read_line`]).
    pub(crate) fn open(
        reader: impl Read + Send + 'r,
        buffers: &'r mut ReadBuffers,
        limit: u64,
    ) -> Result<Self, SourceError> {
        let ReadBuffers {
            stored,
            inflated,
            compressed,
            decompressor,
        } = buffers;
        let mut buffered = Buffered::new(reader, stored);
        let gzip = buffered.fill_buf()?.starts_with(&GZIP_MAGIC);
        if !gzip {
            return Ok(Content {
                source: Source::Stream(Box::new(buffered)),
                gzip,
                position: 0,
            });
        }
        compressed.clear();
        let whole = read_up_to(&mut buffered, compressed, WHOLE_GZIP_BYTES)?;
        if whole
            && let Some(text) =
                inflate_whole(compressed, limit.min(WHOLE_INFLATED_BYTES), decompressor)
        {
            return Ok(Content {
                source: Source::Inflated { text, read: 0 },
                gzip,
                position: 0,
            });
        }
        // Streamed from the start: the bytes already read, then the rest.
        let stored = (&compressed[..]).chain(buffered);
        Ok(Content {
            source: Source::Stream(Box::new(Buffered::new(
                MultiGzDecoder::new(stored),
                inflated,
            ))),
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
        let reader = match &mut self.source {
            Source::Stream(reader) => reader,
            Source::Inflated { text, read } => {
                let rest = text.get(*read..).unwrap_or_default();
                if rest.is_empty() {
                    return Ok(Line::End);
                }
                let (taken, content_len) = match memchr::memchr(b'\n', rest) {
                    Some(at) => (at + 1, at),
                    None => (rest.len(), rest.len()),
                };
                if content_len as u64 > limit {
                    return Err(SourceError::TooLarge { limit });
                }
                if buf.is_empty() && *read == 0 && taken == rest.len() {
                    // The whole content is one line (CloudTrail's own files): it becomes the
                    // line itself, not a copy.
                    let mut whole = std::mem::take(text);
                    whole.truncate(content_len);
                    *buf = whole;
                    *read = 0;
                } else {
                    buf.extend_from_slice(&rest[..content_len]);
                    *read += taken;
                }
                self.position += taken as u64;
                return Ok(Line::Read);
            }
        };
        let start_len = buf.len();
        loop {
            let available = match reader.fill_buf() {
                Ok(available) => available,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(Self::classify(self.gzip, self.position, err)),
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
            reader.consume(taken);
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

    fn classify(gzip: bool, position: u64, err: std::io::Error) -> SourceError {
        use std::io::ErrorKind::{InvalidData, InvalidInput, UnexpectedEof};
        if gzip && matches!(err.kind(), InvalidData | InvalidInput | UnexpectedEof) {
            SourceError::CorruptGzip {
                inflated: position,
                message: err.to_string(),
            }
        } else {
            SourceError::Io(err)
        }
    }
}

/// Reads `reader` into `out` up to `cap` bytes; whether it ended within them.
fn read_up_to(
    reader: &mut impl BufRead,
    out: &mut Vec<u8>,
    cap: usize,
) -> Result<bool, SourceError> {
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(SourceError::Io(err)),
        };
        if available.is_empty() {
            return Ok(true);
        }
        if out.len() >= cap {
            return Ok(false);
        }
        let n = available.len().min(cap - out.len());
        out.extend_from_slice(&available[..n]);
        reader.consume(n);
    }
}

/// Inflates a gzip object of exactly one member, whose text is at most `limit` bytes, in
/// one call. `None` leaves the object to the streaming decoder: several members (libdeflate
/// reads only the first), bytes after the member, a text over `limit`, or data libdeflate
/// refuses, which the streaming decoder then reports as it always has.
#[expect(
    clippy::slow_vector_initialization,
    reason = "`vec![0; n]` asks the allocator for zeroed memory, which costs a page fault per page"
)]
fn inflate_whole(
    gzip: &[u8],
    limit: u64,
    decompressor: &mut libdeflater::Decompressor,
) -> Option<Vec<u8>> {
    // A second member could start only where these bytes occur (they may also occur by chance
    // inside compressed data, which then merely takes the slower way).
    if memchr::memmem::find(gzip.get(1..)?, &GZIP_MEMBER_START).is_some() {
        return None;
    }
    // The trailer: CRC-32 and size (modulo 2^32) of the text.
    let trailer = gzip.get(gzip.len().checked_sub(8)?..)?;
    let crc = u32::from_le_bytes(trailer.get(..4)?.try_into().ok()?);
    let size = u32::from_le_bytes(trailer.get(4..)?.try_into().ok()?);
    if u64::from(size) > limit {
        return None;
    }
    // Zeroed by hand, not by `vec![0; n]`: that asks the allocator for zeroed memory, which
    // it serves from fresh pages (a page fault each) where reused ones are cheaper to clear
    // (system time rose by a third over 2M events).
    let size = usize::try_from(size).ok()?;
    let mut text = Vec::with_capacity(size);
    text.resize(size, 0);
    let inflated = decompressor.gzip_decompress(gzip, &mut text).ok()?;
    // libdeflate checked its member's own trailer; matching the object's last eight bytes
    // too proves that the member ends where the object does.
    (inflated == text.len() && libdeflater::crc32(&text) == crc).then_some(text)
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
        let mut content = Content::open(&members[..], &mut buffers, 100)?;
        assert!(
            matches!(content.source, Source::Stream(_)),
            "libdeflate would read the first member only"
        );
        assert_eq!(lines(&mut content, 100)?, ["one", "two", "three"]);
        let mut buffers = ReadBuffers::default();
        let mut plain = Content::open(&b"one\ntwo"[..], &mut buffers, 100)?;
        assert_eq!(lines(&mut plain, 100)?, ["one", "two"]);
        Ok(())
    }

    #[test]
    fn truncated_gzip_is_reported_as_such() -> Result<(), Box<dyn std::error::Error>> {
        let data = gzip(&b"{\"Records\":[]}\n".repeat(1000))?;
        let mut buffers = ReadBuffers::default();
        let mut content = Content::open(&data[..data.len() / 2], &mut buffers, 1 << 20)?;
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
        let mut content = Content::open(&data[..], &mut buffers, 1 << 20)?;
        assert!(matches!(content.source, Source::Stream(_)));
        let err = lines(&mut content, 1 << 20).err();
        assert!(
            matches!(err, Some(SourceError::TooLarge { limit }) if limit == 1 << 20),
            "{err:?}"
        );
        Ok(())
    }

    fn is_whole(content: &Content<'_>) -> bool {
        matches!(content.source, Source::Inflated { .. })
    }

    #[test]
    fn small_gzip_is_inflated_whole_and_read_as_streamed() -> Result<(), Box<dyn std::error::Error>>
    {
        let one_line = br#"{"Records":[{"eventID":"a"},{"eventID":"b"}]}"#;
        for text in [
            &one_line[..],
            b"{\"Records\":[]}\n",
            b"one\n\ntwo\nthree",
            b"\n\nlast\n",
            b"",
        ] {
            let data = gzip(text)?;
            let mut buffers = ReadBuffers::default();
            let mut whole = Content::open(&data[..], &mut buffers, 1 << 20)?;
            assert!(is_whole(&whole), "{text:?}");
            // The same text read a line at a time through the streaming path.
            let mut stream_buffers = ReadBuffers::default();
            let mut streamed = Content::open(text, &mut stream_buffers, 1 << 20)?;
            assert!(!is_whole(&streamed));
            assert_eq!(lines(&mut whole, 1 << 20)?, lines(&mut streamed, 1 << 20)?);
            assert_eq!(whole.position(), streamed.position());
        }
        Ok(())
    }

    #[test]
    fn a_one_line_object_becomes_the_line_without_a_copy() -> Result<(), Box<dyn std::error::Error>>
    {
        let data = gzip(b"{\"Records\":[]}\n")?;
        let mut buffers = ReadBuffers::default();
        let mut content = Content::open(&data[..], &mut buffers, 1 << 20)?;
        let Source::Inflated { text, .. } = &content.source else {
            return Err("not inflated whole".into());
        };
        let address = text.as_ptr();
        let mut line = Vec::new();
        assert_eq!(content.read_line(&mut line, 1 << 20)?, Line::Read);
        assert_eq!(line, b"{\"Records\":[]}");
        assert_eq!(line.as_ptr(), address);
        assert_eq!(content.position(), 15);
        line.clear();
        assert_eq!(content.read_line(&mut line, 1 << 20)?, Line::End);
        Ok(())
    }

    #[test]
    fn what_libdeflate_would_misread_is_streamed() -> Result<(), Box<dyn std::error::Error>> {
        let text = b"{\"Records\":[]}\n".repeat(100);
        let good = gzip(&text)?;
        let mut trailing = good.clone();
        trailing.extend_from_slice(b"garbage!");
        let mut short_size = good.clone();
        let at = short_size.len() - 4;
        short_size[at] ^= 1;
        let mut bad_crc = good.clone();
        let at = bad_crc.len() - 8;
        bad_crc[at] ^= 1;
        for (name, data) in [
            ("trailing bytes", trailing),
            ("wrong size", short_size),
            ("wrong CRC", bad_crc),
        ] {
            let mut buffers = ReadBuffers::default();
            let mut content = Content::open(&data[..], &mut buffers, 1 << 20)?;
            assert!(!is_whole(&content), "{name}");
            let err = lines(&mut content, 1 << 20).err();
            assert!(
                matches!(err, Some(SourceError::CorruptGzip { .. })),
                "{name}: {err:?}"
            );
        }
        // Over the caller's limit: streamed, so that the cap is enforced where it always was.
        let mut buffers = ReadBuffers::default();
        let content = Content::open(&good[..], &mut buffers, 100)?;
        assert!(!is_whole(&content));
        Ok(())
    }

    #[test]
    fn reading_whole_stops_at_the_cap() -> Result<(), Box<dyn std::error::Error>> {
        let mut out = Vec::new();
        assert!(
            read_up_to(&mut &b"abcdef"[..], &mut out, 6)?,
            "ends exactly at the cap"
        );
        assert_eq!(out, b"abcdef");
        out.clear();
        let mut reader = &b"abcdefg"[..];
        assert!(!read_up_to(&mut reader, &mut out, 6)?);
        assert_eq!((&out[..], reader), (&b"abcdef"[..], &b"g"[..]));
        Ok(())
    }
}
