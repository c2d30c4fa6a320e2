//! Who is really behind a session (`trailhound trace`).
//!
//! CloudTrail tells who obtained a credential only across several events: the `AssumeRole`
//! whose response hands out the temporary key that later events carry in
//! `userIdentity.accessKeyId`, role chains, console role switches, federations, instance
//! profiles. This crate joins them once, at ingest, into an index in the catalog, and walks it.
//!
//! ```text
//! lake files not yet indexed ──index (every core, a few columns; request/response only of the
//!   events that hand out credentials)──► CredentialGrant (key handed out → who asked)
//!                                        CredentialUsage (key × account × service × address, per file)
//!                                        chain signals ──► findings
//!   all committed with the files marked, in one catalog transaction
//! trace KEY | ARN ──► back through the grants to the origin, forward through every session
//!   minted from it ──► Trace ──► tree | JSON | Graphviz
//! ```
//!
//! The index is exact: counts are kept per lake file and leave with a file that compaction
//! or retention retires; a grant is keyed by its `eventID`.
#![deny(missing_docs)]

mod error;
pub mod grant;
mod index;
pub mod network;
mod render;
mod sessions;
pub mod signals;
pub mod trace;

pub use error::IdentityError;
pub use index::{IndexUpdate, ROWS_PER_UPDATE, WrittenCounts, update_index, update_index_counted};
pub use render::{dot, tree};
pub use sessions::{SessionRow, sessions};
pub use signals::Settings;
pub use trace::{Trace, TraceSettings, is_traceable, trace, trace_event, trace_record};
