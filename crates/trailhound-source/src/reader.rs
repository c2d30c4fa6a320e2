//! Reading objects in parallel while delivering their records in input order.
//!
//! ```text
//!  discover ──► work queue ──► worker 1..N (open, inflate, decode, filter) ──► per-object queue
//!      └──────────────► order queue (one receiver per object, in input order) ──► consumer
//! ```
//!
//! Each object gets its own small bounded queue, and the consumer drains those queues in
//! input order. Workers run ahead on later objects only until their own queue is full, so
//! memory stays bounded, output is deterministic, and a slow consumer (a pipe into `jq`)
//! applies back-pressure all the way to the disk.

use std::ops::ControlFlow;
use std::sync::Arc;

use crossbeam_channel::{Sender, bounded};

use crate::content::{Content, Line, ReadBuffers};
use crate::document::{self, Document, DocumentShape, RecordSpan};
use crate::input::{Discovered, Location, SourceObject, discover};
use crate::s3::{PREFETCH_MAX_BYTES, S3Settings};
use crate::{EventBatch, InputSpec, Origin, ReadLimits, RecordError, Selection, SourceError};

/// Batches of line-oriented input are handed on once they hold this much text.
const LINE_BATCH_BYTES: usize = 4 << 20;
/// Messages buffered per object ahead of the consumer.
const PER_OBJECT_QUEUE: usize = 2;

/// Decides, before an object is opened, that it was read before and has not changed since;
/// `None` means it is to be read.
pub type SkipUnchanged = Arc<dyn Fn(&Origin) -> Option<Previously> + Send + Sync>;

/// How an unchanged object fared when it was last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Previously {
    /// Read completely (its events are already where they were going).
    Read,
    /// Failed for a fault in its bytes (see [`SourceError::repeats_for_same_bytes`]), and was
    /// reported then: reading the same bytes again would only report it again.
    Failed,
}

/// Stack of each reader thread.
const WORKER_STACK: usize = 32 << 20;

/// How to read.
#[derive(Clone, Default)]
pub struct ReadOptions {
    /// Size guards.
    pub limits: ReadLimits,
    /// Which events to keep; also prunes objects by key.
    pub selection: Selection,
    /// Worker threads; 0 means one per available core.
    pub threads: usize,
    /// Objects for which this returns an answer are reported as [`ObjectStatus::Unchanged`]
    /// and not opened (incremental ingest).
    pub skip_unchanged: Option<SkipUnchanged>,
    /// How to reach `s3://` inputs, and how many downloads to run at once.
    pub s3: S3Settings,
    /// Recover the complete records of a document that is cut off (a paste, a truncated
    /// download) instead of refusing it whole; what lies between is reported as skipped.
    pub salvage: bool,
}

impl std::fmt::Debug for ReadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOptions")
            .field("limits", &self.limits)
            .field("selection", &self.selection)
            .field("threads", &self.threads)
            .field("skip_unchanged", &self.skip_unchanged.is_some())
            .field("s3", &self.s3)
            .field("salvage", &self.salvage)
            .finish()
    }
}

/// What the reader reports to its consumer, in input order. `B` is what the workers made of
/// each [`EventBatch`] (see [`read_map`]).
#[derive(Debug)]
pub enum ReadMessage<B = EventBatch> {
    /// Selected records from the current object.
    Batch(B),
    /// One record of the current object could not be used; the rest of the object goes on.
    RecordRejected {
        /// The object.
        origin: Arc<Origin>,
        /// Where and why.
        error: RecordError,
    },
    /// An object is finished (or was skipped); always the last message about it.
    ObjectDone(ObjectReport),
    /// An input could not be expanded into objects (missing path, empty folder, bad glob).
    InputFailed(SourceError),
}

/// How reading one object went.
#[derive(Debug)]
pub struct ObjectReport {
    /// The object.
    pub origin: Arc<Origin>,
    /// The outcome.
    pub status: ObjectStatus,
    /// Records found (before the selection was applied).
    pub records: u64,
    /// Records kept by the selection.
    pub selected: u64,
    /// Records rejected as unusable.
    pub rejected: u64,
    /// Bytes of content read (after inflation).
    pub bytes: u64,
    /// Bytes of the object as stored, and their xxh3-64 hash, when it was read to the end.
    pub stored: Option<(u64, u64)>,
}

/// The outcome for one object.
#[derive(Debug)]
pub enum ObjectStatus {
    /// Read; the shape of its (first) document.
    Read(Option<DocumentShape>),
    /// A digest file (by key or content): no events by design.
    Digest,
    /// Outside the selection by key; never opened.
    Pruned,
    /// Read before and unchanged since (see [`ReadOptions::skip_unchanged`]); never opened.
    Unchanged(Previously),
    /// Could not be read; none of its records were delivered.
    Failed(SourceError),
}

/// Reads `inputs`, calling `consume` with every message in input order. `consume` may return
/// [`ControlFlow::Break`] to stop early (a closed pipe, a limit reached); workers then stop at
/// their next record batch.
pub fn read(
    inputs: Vec<InputSpec>,
    options: &ReadOptions,
    consume: impl FnMut(ReadMessage) -> ControlFlow<()>,
) {
    read_map(inputs, options, &|batch| batch, consume);
}

/// Like [`read`], but each batch is first turned into a `B` by `map` on the worker threads, so
/// that per-record work (parsing, conversion to columns) runs on every core rather than in the
/// consumer.
pub fn read_map<B: Send>(
    inputs: Vec<InputSpec>,
    options: &ReadOptions,
    map: &(dyn Fn(EventBatch) -> B + Sync),
    mut consume: impl FnMut(ReadMessage<B>) -> ControlFlow<()>,
) {
    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map_or(2, usize::from)
    } else {
        options.threads
    };
    let downloads = if inputs.iter().any(InputSpec::is_remote) {
        options.s3.downloads()
    } else {
        0
    };
    std::thread::scope(|scope| {
        let (work_tx, work_rx) = bounded::<Work<B>>(threads * 2);
        let (fetch_tx, fetch_rx) = bounded::<Work<B>>(downloads);
        // Enough objects in order for every download and worker to be busy.
        let (order_tx, order_rx) = bounded(threads * 16 + downloads * 2);
        let selection = options.selection.clone();
        let s3 = options.s3.clone();
        let skip_unchanged = options.skip_unchanged.clone();
        let discovery_work_tx = work_tx.clone();
        scope.spawn(move || {
            let work_tx = discovery_work_tx;
            for found in discover(inputs, selection, s3) {
                let (tx, rx) = bounded(PER_OBJECT_QUEUE);
                if order_tx.send(rx).is_err() {
                    return;
                }
                let previously = match &found {
                    Discovered::Object(object) => skip_unchanged
                        .as_ref()
                        .and_then(|skip| skip(&object.origin)),
                    _ => None,
                };
                let sent = match (found, previously) {
                    (Discovered::Object(object), Some(previously)) => tx
                        .send(skipped(object.origin, ObjectStatus::Unchanged(previously)))
                        .is_ok(),
                    (Discovered::Object(object), None) if prefetches(&object) => {
                        fetch_tx.send((object, tx)).is_ok()
                    }
                    (Discovered::Object(object), None) => work_tx.send((object, tx)).is_ok(),
                    (Discovered::Pruned(origin), _) => {
                        tx.send(skipped(origin, ObjectStatus::Pruned)).is_ok()
                    }
                    (Discovered::Digest(origin), _) => {
                        tx.send(skipped(origin, ObjectStatus::Digest)).is_ok()
                    }
                    (Discovered::Failed(error), _) => {
                        tx.send(ReadMessage::InputFailed(error)).is_ok()
                    }
                };
                if !sent {
                    return;
                }
            }
        });
        for _ in 0..downloads {
            let fetch_rx = fetch_rx.clone();
            let work_tx = work_tx.clone();
            scope.spawn(move || {
                for (object, tx) in fetch_rx {
                    match download(object) {
                        Ok(object) => {
                            if work_tx.send((object, tx)).is_err() {
                                return;
                            }
                        }
                        // A closed queue means the consumer stopped; nothing is left to tell.
                        Err(report) => drop(tx.send(ReadMessage::ObjectDone(*report))),
                    }
                }
            });
        }
        drop((fetch_rx, work_tx));
        for _ in 0..threads {
            let work_rx = work_rx.clone();
            let worker = move || {
                let mut buffers = ReadBuffers::default();
                for (object, tx) in work_rx {
                    let report = read_object(&object, options, map, &tx, &mut buffers);
                    // A closed queue means the consumer stopped; nothing is left to tell.
                    let _ = tx.send(ReadMessage::ObjectDone(report));
                }
            };
            // The JSON parser recurses per level of nesting: room for the deepest input
            // `nesting::MAX_NESTING` lets through, in a debug build too.
            let spawned = std::thread::Builder::new()
                .name("reader".to_owned())
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, worker);
            if let Err(err) = spawned {
                tracing::error!(%err, "cannot start a reader thread; reading with fewer");
            }
        }
        drop(work_rx);
        'objects: for rx in order_rx {
            for message in rx {
                if consume(message).is_break() {
                    break 'objects;
                }
            }
        }
    });
}

/// An object to read, and the queue its messages go to.
type Work<B> = (SourceObject, Sender<ReadMessage<B>>);

/// Whether an object is downloaded ahead of the workers: remote objects small enough to hold.
fn prefetches(object: &SourceObject) -> bool {
    matches!(object.location, Location::S3 { size, .. } if size <= PREFETCH_MAX_BYTES)
}

/// Downloads a remote object into memory, or says why it could not be.
fn download(object: SourceObject) -> Result<SourceObject, Box<ObjectReport>> {
    let Location::S3 { bucket, key, .. } = &object.location else {
        return Ok(object);
    };
    let failed = |error| {
        let mut report = empty_report(Arc::clone(&object.origin));
        report.status = ObjectStatus::Failed(error);
        Box::new(report)
    };
    match bucket.fetch(key) {
        Ok(Some(fetched)) => {
            // An object known only from a notification learns its facts from the download,
            // so that the catalog can recognise it later.
            let origin = if object.origin.facts.is_none_or(|f| f.modified_ns == 0) {
                Arc::new(Origin {
                    facts: Some(crate::ObjectFacts {
                        size: fetched.listed.size,
                        modified_ns: fetched.listed.modified_ns,
                    }),
                    ..(*object.origin).clone()
                })
            } else {
                Arc::clone(&object.origin)
            };
            Ok(SourceObject {
                origin,
                location: Location::Memory(fetched.bytes),
            })
        }
        // Listed a moment ago and gone now: deleted by a lifecycle rule or by hand.
        Ok(None) => Err(failed(SourceError::Remote {
            location: object.origin.name.clone(),
            reason: "the object was deleted after it was listed".to_owned(),
        })),
        Err(error) => Err(failed(error)),
    }
}

fn empty_report(origin: Arc<Origin>) -> ObjectReport {
    ObjectReport {
        origin,
        status: ObjectStatus::Read(None),
        records: 0,
        selected: 0,
        rejected: 0,
        bytes: 0,
        stored: None,
    }
}

fn skipped<B>(origin: Arc<Origin>, status: ObjectStatus) -> ReadMessage<B> {
    let mut report = empty_report(origin);
    report.status = status;
    ReadMessage::ObjectDone(report)
}

/// Reads one object, sending its batches and rejected records to `tx`, and returns its report.
fn read_object<B>(
    object: &SourceObject,
    options: &ReadOptions,
    map: &(dyn Fn(EventBatch) -> B + Sync),
    tx: &Sender<ReadMessage<B>>,
    buffers: &mut ReadBuffers,
) -> ObjectReport {
    let mut reading = ObjectReading {
        origin: &object.origin,
        options,
        map,
        tx,
        report: empty_report(Arc::clone(&object.origin)),
        stopped: false,
    };
    let hashed = HashState::default();
    let result = match &object.location {
        Location::File(path) => std::fs::File::open(path)
            .map_err(SourceError::from)
            .and_then(|file| reading.run(Hashing::new(file, &hashed), buffers)),
        Location::Stdin => reading.run(Hashing::new(std::io::stdin(), &hashed), buffers),
        Location::Memory(bytes) => reading.run(
            Hashing::new(std::io::Cursor::new(bytes.clone()), &hashed),
            buffers,
        ),
        Location::S3 { bucket, key, .. } => bucket
            .stream(key)
            .and_then(|stream| reading.run(Hashing::new(stream, &hashed), buffers)),
    };
    match result {
        Err(error) => reading.report.status = ObjectStatus::Failed(error),
        Ok(()) => reading.report.stored = hashed.finish(),
    }
    reading.report
}

/// The running hash of an object's stored bytes, shared with the reader that feeds it.
#[derive(Default)]
struct HashState {
    inner: std::sync::Mutex<(xxhash_rust::xxh3::Xxh3, u64, bool)>,
}

impl HashState {
    /// Size and hash, if the object was read to its end.
    fn finish(&self) -> Option<(u64, u64)> {
        let inner = self.inner.lock().ok()?;
        inner.2.then(|| (inner.1, inner.0.digest()))
    }
}

/// Hashes bytes as they are read, so identifying an object costs no second pass.
struct Hashing<'h, R> {
    inner: R,
    state: &'h HashState,
}

impl<'h, R> Hashing<'h, R> {
    fn new(inner: R, state: &'h HashState) -> Self {
        Hashing { inner, state }
    }
}

impl<R: std::io::Read> std::io::Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut state) = self.state.inner.lock() {
            state.0.update(&buf[..n]);
            state.1 += n as u64;
            state.2 |= n == 0 && !buf.is_empty();
        }
        Ok(n)
    }
}

struct ObjectReading<'o, B> {
    origin: &'o Arc<Origin>,
    options: &'o ReadOptions,
    map: &'o (dyn Fn(EventBatch) -> B + Sync),
    tx: &'o Sender<ReadMessage<B>>,
    report: ObjectReport,
    /// The consumer went away; stop working.
    stopped: bool,
}

impl<B> ObjectReading<'_, B> {
    /// Detects line-oriented versus whole-document input from the first non-blank line: if it
    /// is a complete document on its own (NDJSON, or CloudTrail's own one-line files), every
    /// line is read as a document; otherwise the whole content is one document (pretty-printed
    /// JSON). Line mode streams, so inputs of any size stay within bounded memory.
    fn run(
        &mut self,
        reader: impl std::io::Read + Send,
        buffers: &mut ReadBuffers,
    ) -> Result<(), SourceError> {
        let limit = self.options.limits.max_inflated_bytes;
        let mut content = Content::open(reader, buffers, limit)?;
        let mut line = Vec::new();
        let mut line_number = 0u64;
        let first_line_start = loop {
            let start = content.position();
            line.clear();
            if content.read_line(&mut line, limit)? == Line::End {
                self.report.bytes = content.position();
                return Err(SourceError::Empty);
            }
            line_number += 1;
            if !is_blank(&line) {
                break start;
            }
        };
        // The first line becomes the batch's text as it is, not a copy: for CloudTrail's
        // one-line files it is the whole object.
        let first = match String::from_utf8(std::mem::take(&mut line)) {
            Ok(text) => match document::decode(&text) {
                Ok(document) => Ok((text, document)),
                Err(_) => Err(text.into_bytes()),
            },
            Err(err) => Err(err.into_bytes()),
        };
        match first {
            Ok((text, document)) => {
                let mut batch = self.new_batch();
                batch.text = text;
                self.collect_line(&mut batch, 0, document, line_number);
                loop {
                    if self.stopped {
                        return Ok(());
                    }
                    let start = content.position();
                    line.clear();
                    if content.read_line(&mut line, limit)? == Line::End {
                        break;
                    }
                    line_number += 1;
                    if is_blank(&line) {
                        continue;
                    }
                    match std::str::from_utf8(&line) {
                        Ok(text) => match document::decode(text) {
                            Ok(document) => self.add_line(&mut batch, text, document, line_number),
                            Err(err) => self.reject(format!("line {line_number}"), err.to_string()),
                        },
                        Err(err) => self.reject(
                            format!("line {line_number}"),
                            SourceError::InvalidUtf8 {
                                offset: start + err.valid_up_to() as u64,
                            }
                            .to_string(),
                        ),
                    }
                    if batch.text.len() >= LINE_BATCH_BYTES {
                        let full = std::mem::replace(&mut batch, self.new_batch());
                        self.send_batch(full);
                    }
                }
                self.report.bytes = content.position();
                self.send_batch(batch);
                Ok(())
            }
            Err(first_line) => {
                line = first_line;
                line.push(b'\n');
                content.read_rest(&mut line, limit)?;
                self.report.bytes = content.position();
                let text = String::from_utf8(line).map_err(|err| SourceError::InvalidUtf8 {
                    offset: first_line_start + err.utf8_error().valid_up_to() as u64,
                })?;
                let document = match document::decode(&text) {
                    Ok(document) => document,
                    Err(err) if self.options.salvage && err.is_bad_input() => {
                        let salvaged = crate::salvage::salvage(&text);
                        if salvaged.records.is_empty() {
                            return Err(err);
                        }
                        salvaged
                    }
                    Err(err) => return Err(err),
                };
                let batch = self.document_batch(text, document);
                self.send_batch(batch);
                Ok(())
            }
        }
    }

    fn new_batch(&self) -> EventBatch {
        EventBatch {
            origin: Arc::clone(self.origin),
            text: String::new(),
            spans: Vec::new(),
            members: Vec::new(),
        }
    }

    /// Appends one line's records to a line-mode batch.
    fn add_line(
        &mut self,
        batch: &mut EventBatch,
        text: &str,
        document: Document,
        line_number: u64,
    ) {
        let base = batch.text.len();
        batch.text.push_str(text);
        self.collect_line(batch, base, document, line_number);
    }

    /// Moves the records of a line-mode document whose text starts at `base` into the batch.
    fn collect_line(
        &mut self,
        batch: &mut EventBatch,
        base: usize,
        document: Document,
        line_number: u64,
    ) {
        let position = |p: &str| format!("line {line_number}, {p}");
        self.collect(batch, base, document, Some(&position));
    }

    /// Makes a batch of a whole-document object, taking its text without copying.
    fn document_batch(&mut self, text: String, document: Document) -> EventBatch {
        let mut batch = self.new_batch();
        batch.text = text;
        self.collect(&mut batch, 0, document, None);
        batch
    }

    /// Moves a document's record spans (offset by `base`) and rejections into the batch.
    fn collect(
        &mut self,
        batch: &mut EventBatch,
        base: usize,
        document: Document,
        position: Option<&dyn Fn(&str) -> String>,
    ) {
        if let ObjectStatus::Read(shape @ None) = &mut self.report.status {
            *shape = document.shape;
        }
        if document.shape == Some(DocumentShape::Digest) && self.report.records == 0 {
            self.report.status = ObjectStatus::Digest;
        }
        for (where_, reason) in document.rejected {
            let where_ = position.map_or_else(|| where_.clone(), |p| p(&where_));
            self.reject(where_, reason);
        }
        let unescaped_base = batch.text.len();
        batch.text.push_str(&document.unescaped);
        let max_record = self.options.limits.max_record_bytes;
        let mut members = document.members.into_iter();
        for (index, span) in document.records.into_iter().enumerate() {
            let located = members.next().flatten();
            let range = match span {
                RecordSpan::InDocument(r) => base + r.start..base + r.end,
                RecordSpan::Unescaped(r) => unescaped_base + r.start..unescaped_base + r.end,
            };
            self.report.records += 1;
            if range.len() > max_record {
                let where_ = format!("record {}", index + 1);
                let where_ = position.map_or_else(|| where_.clone(), |p| p(&where_));
                self.reject(
                    where_,
                    format!(
                        "record is {} bytes, over the {max_record}-byte limit (raise --max-record-size to read it)",
                        range.len()
                    ),
                );
                continue;
            }
            batch.push(range, located);
        }
    }

    fn reject(&mut self, position: String, reason: String) {
        self.report.rejected += 1;
        let message = ReadMessage::RecordRejected {
            origin: Arc::clone(self.origin),
            error: RecordError { position, reason },
        };
        if self.tx.send(message).is_err() {
            self.stopped = true;
        }
    }

    /// Applies the selection and hands the batch to the consumer.
    fn send_batch(&mut self, mut batch: EventBatch) {
        let selection = &self.options.selection;
        if !selection.is_everything() {
            batch.retain(|event| {
                event
                    .as_ref()
                    .is_ok_and(|event| selection.admits_event(event))
            });
        }
        self.report.selected += batch.spans.len() as u64;
        if !batch.is_empty() && self.tx.send(ReadMessage::Batch((self.map)(batch))).is_err() {
            self.stopped = true;
        }
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailhound_event::CloudTrailEvent;

    /// A record's text, its `eventName` as its batch's parsed view gives it, and as a parse
    /// of the text alone gives it.
    type View = (String, Option<String>, Option<String>);

    /// The views of every record read from `files`.
    fn read_views(
        files: &[(&str, &str)],
        selection: Selection,
    ) -> Result<Vec<View>, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text)?;
        }
        let options = ReadOptions {
            selection,
            ..ReadOptions::default()
        };
        let mut views = Vec::new();
        read(
            vec![InputSpec::Path(dir.path().to_owned())],
            &options,
            |message| {
                if let ReadMessage::Batch(batch) = message {
                    for (record, event) in batch.records().zip(batch.events()) {
                        let name = |e: CloudTrailEvent<'_>| e.event_name().map(str::to_owned);
                        views.push((
                            record.to_owned(),
                            event.ok().and_then(name),
                            CloudTrailEvent::parse(record).ok().and_then(name),
                        ));
                    }
                }
                ControlFlow::Continue(())
            },
        );
        views.sort();
        Ok(views)
    }

    #[test]
    fn located_records_read_as_their_own_parse_does() -> Result<(), Box<dyn std::error::Error>> {
        let log_file = r#"{"Records":[{"eventName":"A","awsRegion":"eu-west-1"},{"eventName":"B\u0021","awsRegion":"us-east-1"},{"eventName":"C","eventName":"D"}]}"#;
        let lines = format!(
            "{}\n{{\"eventName\":\"E\",\"awsRegion\":\"eu-west-1\"}}\n{}\n",
            r#"{"eventName":"F","awsRegion":"us-east-1"}"#, log_file
        );
        let files = [("log.json", log_file), ("lines.json", lines.as_str())];
        let views = read_views(&files, Selection::default())?;
        assert_eq!(views.len(), 8);
        for (record, located, parsed) in &views {
            assert_eq!(located, parsed, "{record}");
        }
        let names: Vec<_> = views.iter().filter_map(|v| v.1.as_deref()).collect();
        assert_eq!(names, ["A", "A", "B!", "B!", "E", "F"]);

        // Filtering keeps each record with its own members.
        let eu = Selection {
            regions: vec!["eu-west-1".to_owned()],
            ..Selection::default()
        };
        let views = read_views(&files, eu)?;
        let names: Vec<_> = views.iter().map(|v| v.1.as_deref()).collect();
        assert_eq!(names, [Some("A"), Some("A"), Some("E")]);
        assert!(views.iter().all(|(_, located, parsed)| located == parsed));
        Ok(())
    }
}
