//! CloudTrail log file integrity: digest files, the signed digest chain, and the log files it
//! vouches for, validated on a downloaded copy or in the bucket.
//!
//! ```text
//! TrailStore (LocalTree, S3) ──list──► digests by chain ──load (parallel)──► DigestFile + SHA-256
//!     ──judge (location, key, signature, chain hash, missing links)──► Outcome per digest
//!     ──hash listed logs (parallel)──► Outcome per log ──unlisted logs──► Validation
//! ```
//!
//! - [`DigestFile`] and [`DigestName`]: the digest JSON, every field, and what a digest's key
//!   says (account, region, trail, end time, backfill).
//! - [`PublicKeySet`]: keys from `aws cloudtrail list-public-keys` JSON, PEM or DER.
//! - [`validate`]: the checks `aws cloudtrail validate-logs` makes, and more: it works on a
//!   local copy (a digest's own signature is optional there, because the next digest carries
//!   it too), reports hourly digests missing from the chain even when two in a row are gone,
//!   and log files no digest lists.
//! - [`DigestSigner`] and [`string_to_sign`]: signing exactly as CloudTrail does, so test data
//!   validates end to end.
#![deny(missing_docs)]

mod digest;
mod keys;
mod report;
mod s3;
mod signing;
mod store;
mod validate;

use std::path::PathBuf;

use thiserror::Error;

pub use digest::{ChainId, DigestFile, DigestName, LogFileEntry, format_time, layout_key};
pub use keys::{PublicKey, PublicKeySet, fingerprint, list_public_keys_json};
pub use report::ValidationSummary;
pub use s3::S3Tree;
pub use signing::{DigestSigner, sha256_hex, string_to_sign};
pub use store::{LocalTree, SIGNATURE_SIDECAR_SUFFIX, TrailStore, sidecar_content, sidecar_path};
pub use validate::{Counts, Outcome, Status, Subject, ValidateOptions, Validation, validate};

/// What can stop a validation or a signing (problems with individual files are outcomes, not
/// errors).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// The user's input cannot be used (not a folder, a bad sidecar, …).
    #[error("{0}")]
    Input(String),
    /// A digest is not digest JSON.
    #[error("not a CloudTrail digest file: {0}")]
    DigestFormat(String),
    /// A public key file cannot be used.
    #[error("cannot use public keys from {path}: {reason}")]
    PublicKeys {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A private key file cannot be used.
    #[error("cannot use the private key in {path}: {reason}")]
    PrivateKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The crypto library refused to sign.
    #[error("signing failed")]
    Signing,
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Reading from an object store failed.
    #[error("cannot read {location}: {reason}")]
    Store {
        /// The object or prefix.
        location: String,
        /// What went wrong.
        reason: String,
    },
}
