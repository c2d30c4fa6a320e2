//! Trailhound's ingest pipeline as a library: what the CLI, the server and schedules call to
//! move CloudTrail from where it lands to the lake, the findings and the alerts.
//!
//! ```text
//!  sources ──► decode ──► {lake writer, live rules} ──► commit (objects, rows, findings)
//!  (files, S3,           [ingest]                        │
//!   SQS, folders)                                        ├──► compaction
//!                                                        ├──► Insights, first-seen   [insights]
//!                                                        └──► checkpoints, queue messages
//!  findings ──► route (outbox) ──► deliver (sinks)                                   [watch]
//! ```
//!
//! - [`ingest()`] reads a batch of inputs into a [`Lake`](trailhound_lake::Lake), running the
//!   rules on the reader's workers and committing findings with the objects they came from.
//!   [`ingest_with`] takes any inspection and [`Conclude`]r, for tools that measure it.
//! - [`update_insights`] brings Insights and first-seen findings up to date for a stretch of
//!   the lake; [`update_pending_insights`] for the files no update has read yet, which is
//!   what follows an ingest and what repairs one interrupted before its update.
//! - [`update_identity_index`] brings the identity index (credentials handed out, each key's
//!   calls) and its chain signals up to date after an ingest; [`trace_in_lake`] traces a key,
//!   an ARN or an event's caller to its origin and everything minted from it.
//! - [`watch::Monitor`] follows buckets, queues and folders. One [`watch::Monitor::poll`]
//!   collects what is new from every [`watch::Followed`] source, ingests it, then moves
//!   checkpoints and deletes queue messages only after the commit, and routes and delivers
//!   alerts: each object and finding exactly once, whatever [`watch::Step`] a kill stops
//!   it at. The stores behind the sources are traits, so the ordering is tested here with
//!   fakes.
//! - [`pull()`] mirrors a date range of a trail's bucket to a folder.
//! - [`hunt_files`] and [`hunt_lake`] run the rules over any history, or tally each
//!   principal's activity; [`search_files`] applies `search`'s quick filters to files.
//!
//! Reporting is the caller's: stages hand over the reader's messages and
//! [`watch::Problem`]s through callbacks and observers, and print nothing.
//!
//! # Example
//!
//! ```
//! use trailhound_lake::{Access, Lake};
//! use trailhound_pipeline::{IngestSettings, ingest};
//! use trailhound_source::{InputSpec, ReadOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let logs = dir.path().join("events.json");
//! std::fs::write(&logs, r#"{"Records":[{"eventVersion":"1.08","eventID":"1",
//!   "eventTime":"2024-07-31T13:06:24Z","eventSource":"cloudtrail.amazonaws.com",
//!   "eventName":"StopLogging","awsRegion":"us-east-1","recipientAccountId":"111122223333"}]}"#)?;
//! let rules = trailhound_detect::RuleSet::new(trailhound_detect::builtin_rules()?)?;
//!
//! let mut lake = Lake::open(&dir.path().join("data"), Access::Write)?;
//! let settings = IngestSettings { rules: Some(&rules), ..IngestSettings::default() };
//! let report = ingest(&mut lake, vec![InputSpec::Path(logs)], &ReadOptions::default(), &settings, |_| {})?;
//! assert_eq!(report.events_new, 1);
//! assert!(report.findings >= 1, "stopping a trail is a finding");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod config;
pub mod demo;
mod error;
mod file;
mod hunt;
mod identity;
mod ingest;
mod insights;
pub mod ocsf;
pub mod posture;
mod pull;
pub mod reports;
pub mod retention;
mod search;
pub mod watch;

pub use error::PipelineError;
pub use file::write_atomically;
pub use hunt::{Activity, HuntBatch, HuntOutcome, HuntSettings, hunt_files, hunt_lake};
pub use identity::{count_written_files, trace_in_lake, update_identity_index};
pub use ingest::{Conclude, IngestMessage, IngestSettings, ingest, ingest_with};
pub use insights::{InsightsUpdate, update_insights, update_pending_insights};
pub use pull::{PullReport, PullTally, Pulled, pull};
pub use search::search_files;
