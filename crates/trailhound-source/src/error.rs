use std::path::PathBuf;

use thiserror::Error;

/// Why an input object (a file, stdin, later an S3 object) could not be read, in whole or in
/// part. Variants are sorted by who is at fault: the input, the user's configuration, the
/// machine. None of them stops the other objects from being read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SourceError {
    // --- bad input: reported, counted, skipped; the rest goes on ---
    /// The object has no content at all.
    #[error("the file is empty")]
    Empty,
    /// The gzip stream is corrupt or ends early.
    #[error("corrupt or truncated gzip data after {inflated} inflated bytes: {message}")]
    CorruptGzip {
        /// Bytes successfully inflated before the failure.
        inflated: u64,
        /// What the inflater reported.
        message: String,
    },
    /// Inflating the object would exceed the configured cap (a decompression bomb, or a
    /// file far larger than CloudTrail writes).
    #[error(
        "inflates to more than {limit} bytes; skipped as a possible decompression bomb \
         (raise --max-inflated-size if the file is genuine)"
    )]
    TooLarge {
        /// The configured cap in bytes.
        limit: u64,
    },
    /// The content is not UTF-8 text.
    #[error("invalid UTF-8 at byte offset {offset}")]
    InvalidUtf8 {
        /// Offset of the first invalid byte in the (inflated) content.
        offset: u64,
    },
    /// The content is not JSON at all (a binary file, a CSV, …).
    #[error("not JSON: the content starts with {start:?}")]
    NotJson {
        /// The first few characters, for recognition.
        start: String,
    },
    /// The content is JSON but malformed.
    #[error("invalid JSON: {message}")]
    InvalidJson {
        /// The parser's description, including line and column.
        message: String,
    },
    /// Valid JSON, but none of the shapes CloudTrail or its tools produce.
    #[error(
        "JSON is not a CloudTrail log file, record, digest, lookup-events output or EventBridge \
         envelope (top-level keys: {keys})"
    )]
    UnrecognisedShape {
        /// The top-level keys found, for diagnosis.
        keys: String,
    },
    /// CloudTrail's SNS notification that it delivered log files (alone or in the SNS
    /// envelope): it names objects, it holds no events.
    #[error(
        "this is CloudTrail's notification of a delivery to s3://{bucket} ({keys}), not events: \
         `trailhound watch --sqs QUEUE_URL` reads these from the queue subscribed to the trail's \
         topic and ingests the objects they name; or read an object directly: \
         trailhound cat s3://{bucket}/KEY"
    )]
    DeliveryNotification {
        /// The bucket the notification names.
        bucket: String,
        /// The object keys it names, shortened.
        keys: String,
    },

    // --- configuration: the user asked for something that cannot be done ---
    /// A path given on the command line does not exist.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// A glob pattern is malformed.
    #[error("invalid glob pattern {pattern:?}: {message}")]
    InvalidGlob {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// An `s3://` input cannot be used as configured (bad URL, unusable credentials or
    /// endpoint).
    #[error("{0}")]
    S3Config(String),
    /// The inputs cannot be read as given (stdin named twice).
    #[error("{0}")]
    Inputs(String),
    /// A glob pattern or folder yielded no files.
    #[error("{what}: no CloudTrail log files found")]
    NothingFound {
        /// The folder or pattern searched.
        what: String,
    },

    // --- infrastructure: the machine failed us ---
    /// Reading from the disk or stdin failed.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
    /// A local file taking part in a transfer to or from an object store failed.
    #[error("{}: {source}", path.display())]
    File {
        /// The local file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// An object store refused or failed a request (network, credentials, permissions).
    #[error("{location}: {reason}")]
    Remote {
        /// `s3://bucket/key`.
        location: String,
        /// What the store said, with a hint where one helps.
        reason: String,
    },
    /// A worker thread died; a bug in Trailhound.
    #[error("internal error, please report it as a bug: {0}")]
    Internal(String),
}

impl SourceError {
    /// Whether the fault lies in the object's content (as opposed to the machine or the
    /// command line).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            SourceError::Empty
                | SourceError::CorruptGzip { .. }
                | SourceError::TooLarge { .. }
                | SourceError::InvalidUtf8 { .. }
                | SourceError::NotJson { .. }
                | SourceError::InvalidJson { .. }
                | SourceError::UnrecognisedShape { .. }
                | SourceError::DeliveryNotification { .. }
        )
    }

    /// Whether the fault lies in the object's bytes alone, so that reading the same bytes
    /// again fails the same way. An oversized object is bad input too, but whether it is too
    /// large depends on the limit the run was given, and the machine's faults may pass.
    pub fn repeats_for_same_bytes(&self) -> bool {
        self.is_bad_input() && !matches!(self, SourceError::TooLarge { .. })
    }
}

/// One record that could not be used, inside an object that was otherwise read.
#[derive(Debug, Clone, Error)]
#[error("{position}: {reason}")]
pub struct RecordError {
    /// Where in the object: `record 3`, `line 17`, `line 17, record 2`.
    pub position: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The first line of a parser message; sonic-rs appends a multi-line excerpt that is noise in
/// a one-line report.
pub(crate) fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().trim().to_owned()
}
