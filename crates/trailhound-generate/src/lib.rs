//! Realistic, deterministic synthetic CloudTrail, written exactly as CloudTrail writes to S3.
//!
//! Real CloudTrail cannot be shared, and toy samples exercise nothing. This crate writes an
//! estate's worth of logs (accounts, regions, days) in CloudTrail's own layout and file naming,
//! `AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<stamp>_<id>.json.gz`,
//! one gzipped `{"Records":[…]}` file per account, region and five minutes, so that every
//! reader, pruning rule and benchmark in Trailhound runs on data shaped like the real thing.
//!
//! The activity is a weighted mix of about sixty APIs across STS, KMS, EC2, S3 (management and
//! data events), Lambda, IAM, CloudWatch, SSM, Secrets Manager and more; made by IAM users,
//! SSO and application role sessions (with `sessionContext`), and AWS services (`invokedBy`);
//! with console sign-ins, realistic failure codes, business-hours load and quieter weekends.
//! [`Scenario`]s plant labelled attack sequences on top, with their ground truth.
//!
//! With [`Signing`], hourly digest files are written beside the logs, chained and signed
//! exactly as CloudTrail signs them, with a signature sidecar for each and the public key in
//! `dir/.trailhound/public-keys.json` (the shape `aws cloudtrail list-public-keys` prints).
//!
//! Generation is deterministic for a seed: every file is generated from its own random stream
//! derived from the seed and its position, so the files are written in parallel on all cores
//! and still come out the same on every run.
#![deny(missing_docs)]

mod background;
mod catalog;
mod digests;
mod estate;
mod record;
mod scenario;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use thiserror::Error;

pub use scenario::{GroundTruth, Scenario};
pub use writer::{GenerateReport, generate};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    /// Output folder; logs go under `dir/AWSLogs/`, ground truth to
    /// `dir/.trailhound/ground-truth.jsonl` (a hidden folder, so readers of `dir` skip it).
    pub dir: PathBuf,
    /// Background events (planted scenario events come on top).
    pub events: u64,
    /// Number of accounts.
    pub accounts: usize,
    /// Regions; the first is the home region where global services log.
    pub regions: Vec<String>,
    /// Days covered, starting at `start`.
    pub days: u32,
    /// First day covered (UTC).
    pub start: NaiveDate,
    /// Random seed.
    pub seed: u64,
    /// Attack sequences to plant.
    pub scenarios: Vec<Scenario>,
    /// Organization id for an organization-trail layout.
    pub org_id: Option<String>,
    /// gzip level, 0–9.
    pub compression_level: u32,
    /// Write signed hourly digest chains, as a trail with log file validation does.
    pub signing: Option<Signing>,
}

/// How to sign digests.
#[derive(Debug, Clone)]
pub struct Signing {
    /// The private key.
    pub signer: Arc<trailhound_integrity::DigestSigner>,
    /// The bucket digests and logs name.
    pub bucket: String,
    /// The trail name in digest keys.
    pub trail: String,
}

/// Why generation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The configuration cannot be generated (no accounts, a malformed region, …).
    #[error("invalid generator settings: {0}")]
    Config(String),
    /// Signing a digest failed.
    #[error("cannot sign digests: {0}")]
    Signing(String),
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}
