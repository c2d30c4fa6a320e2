//! The CloudTrail record model.
//!
//! Every other Trailhound crate consumes what this one defines. In the pipeline
//!
//! ```text
//! sources ──► decode ──► enrich ──┬──► lake writer
//!                                 ├──► live rules ──► findings ──► alert outbox ──► sinks
//!                                 └──► insights
//! ```
//!
//! a decoded record is a [`CloudTrailEvent`]: the original JSON text, kept byte-exact, plus a
//! typed view of the fields every CloudTrail record shares (`eventTime`, `eventSource`,
//! `eventName`, `userIdentity`, …). The typed view is lenient on purpose: CloudTrail records
//! from eventVersion 1.0 to 1.11 differ, third-party tools produce records with missing or
//! oddly typed fields, and none of that may cost a record. A field that is absent or of an
//! unexpected type reads as `None`; anything not modelled here is still reachable through
//! [`FieldPath`] lookups, because the original text is never dropped.
//!
//! Reading the typed view is one walk over the text with sonic-rs's parser, which validates
//! the JSON and notes where each common member's value lies, `userIdentity`'s and
//! `tlsDetails`'s included.
//! [`LogRecords`] makes the same walk over a log file's `Records` array: the reader finds the
//! records and their members at once, and [`CloudTrailEvent::from_spans`] builds the view
//! from the [`MemberSpans`] it kept, without reading the record again.
//!
//! # Example
//!
//! ```
//! use trailhound_event::{CloudTrailEvent, EventType, FieldPath};
//!
//! let raw = r#"{"eventVersion":"1.08","eventTime":"2024-07-31T13:06:24Z",
//!   "eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging",
//!   "awsRegion":"us-east-1","eventType":"AwsApiCall",
//!   "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/admin/alice",
//!     "sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/admin"}}},
//!   "requestParameters":{"name":"main-trail"},
//!   "resources":[{"ARN":"arn:aws:cloudtrail:us-east-1:111122223333:trail/main-trail"}]}"#;
//! let event = CloudTrailEvent::parse(raw)?;
//! assert_eq!(event.event_name(), Some("StopLogging"));
//! assert_eq!(event.event_type(), Some(EventType::AwsApiCall));
//! assert_eq!(event.iam_action().as_deref(), Some("cloudtrail:StopLogging"));
//! let issuer = FieldPath::parse("userIdentity.sessionContext.sessionIssuer.arn")?;
//! assert_eq!(event.get_str(&issuer).as_deref(), Some("arn:aws:iam::111122223333:role/admin"));
//! let trail = FieldPath::parse("resources.0.ARN")?;
//! assert!(event.get_str(&trail).is_some_and(|arn| arn.ends_with("trail/main-trail")));
//! assert_eq!(event.raw(), raw); // byte-exact
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod action;
mod error;
mod finding;
mod identity;
mod kind;
pub mod layout;
mod member;
pub mod nesting;
mod output;
mod path;
pub mod quantity;
mod raw;
mod record;
mod scan;
mod time;

pub use action::iam_action;
pub use error::EventError;
pub use finding::{EventFacts, Finding, Level};
pub use identity::{SessionIssuer, UserIdentity};
pub use kind::{EventCategory, EventType};
pub use output::{RecordLayout, RecordWriter, Written};
pub use path::{FieldPath, Leaves};
pub use raw::RawEvent;
pub use record::{CloudTrailEvent, JsonPart, TlsDetails};
pub use scan::{LogElement, LogRecords, MemberSpans};
pub use time::parse_event_time;
