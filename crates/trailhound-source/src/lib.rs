//! Finding and decoding CloudTrail inputs: the *sources → decode* stage of Trailhound's
//! pipeline.
//!
//! ```text
//! InputSpec (path, folder, glob, "-", s3://) ──discover──► SourceObject (+ LogKey, pruned by Selection)
//!        ──Content (gzip, size caps)──► document shapes ──► EventBatch ──► consumer (cat, ingest, …)
//! ```
//!
//! - [`InputSpec`] names what the user gave; [`read`] expands it (folders recursively, in name
//!   order), prunes objects whose [`LogKey`] falls outside the [`Selection`] before opening
//!   them, and reads the rest on all cores.
//! - Shapes are recognised by content, never by file name: CloudTrail log files
//!   (`{"Records":[…]}`, gzipped or not, multi-member gzip included), single records, JSON
//!   arrays, NDJSON, `aws cloudtrail lookup-events` output, EventBridge envelopes; digest files
//!   are recognised and yield nothing.
//! - Bad input never stops a read. A file that cannot be read is reported as
//!   [`ObjectStatus::Failed`] with a [`SourceError`] that says why; a single unusable record is
//!   a [`ReadMessage::RecordRejected`] and its neighbours are kept. [`ReadLimits`] caps how far
//!   any document may inflate and how large a record may be.
//! - Records reach the consumer in input order as [`EventBatch`]es holding the original text,
//!   byte-exact. [`EventBatch::events`] gives their typed views: a CloudTrail log file's records
//!   are walked once, while they are found ([`trailhound_event::LogRecords`]), and the places
//!   of their members travel with the batch, so the typed view costs no second parse.
//!
//! # Example
//!
//! ```
//! use std::ops::ControlFlow;
//! use trailhound_source::{InputSpec, ReadMessage, ReadOptions, read};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("events.json");
//! std::fs::write(&path, r#"{"Records":[{"eventName":"StopLogging"},{"eventName":"DeleteTrail"}]}"#)?;
//!
//! let mut names = Vec::new();
//! read(vec![InputSpec::Path(path)], &ReadOptions::default(), |message| {
//!     if let ReadMessage::Batch(batch) = message {
//!         for event in batch.events() {
//!             names.extend(event.ok().and_then(|e| e.event_name().map(str::to_owned)));
//!         }
//!     }
//!     ControlFlow::Continue(())
//! });
//! assert_eq!(names, ["StopLogging", "DeleteTrail"]);
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs)]

pub mod aws;
mod awslogs;
mod batch;
mod content;
mod document;
mod error;
mod input;
mod limits;
mod reader;
mod s3;
mod salvage;
mod selection;
pub mod sqs;
mod summary;

pub use awslogs::{LogKey, LogKind};
pub use batch::EventBatch;
pub use document::DocumentShape;
pub use error::{RecordError, SourceError};
pub use input::{Discovered, InputSpec, ObjectFacts, Origin, SourceObject, discover};
pub use limits::ReadLimits;
pub use reader::{
    ObjectReport, ObjectStatus, Previously, ReadMessage, ReadOptions, SkipUnchanged, read, read_map,
};
pub use s3::{
    DEFAULT_DOWNLOADS, FetchedObject, Listed, ListedObject, RELIST_MARGIN, S3Bucket, S3Settings,
    S3Url,
};
pub use selection::Selection;
pub use summary::ReadSummary;
