//! The trail itself: is it set up the way CIS and AWS's best practice say, and if not, what
//! exactly fixes it.
//!
//! - [`gather`] reads an account's trails and their delivery chain (bucket, KMS key,
//!   CloudWatch Logs group and alarms, SNS topic) from the AWS APIs into [`facts`], each of
//!   which may be unknown with the reason;
//! - [`from_lake`] reconstructs the same facts from CloudTrail's own events, for whoever has
//!   the logs but no API access;
//! - [`checks`] turns facts into verdicts with CIS references and fixes;
//! - [`setup`] plans (and with `apply`, makes) the calls that create a trail as best
//!   practice says, never weakening what is there;
//! - [`lifecycle`] writes the S3 lifecycle rule that archives and expires old logs.
//!
//! The three AWS wire protocols live in [`api`]; requests are signed with the same
//! credential chain the rest of Trailhound uses (`trailhound_source::aws`).

pub mod api;
pub mod authorization;
pub mod checks;
pub mod error;
pub mod facts;
pub mod from_lake;
pub mod gather;
pub mod lifecycle;
pub mod policy;
pub mod setup;

pub use api::Aws;
pub use checks::{Check, Convention, Outcome, Verdict, evaluate};
pub use error::PostureError;
pub use facts::{AccountFacts, Fact, Origin};
pub use gather::gather;
