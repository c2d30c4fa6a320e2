//! Digest files: their JSON content and what their key names say.
//!
//! ```text
//! [prefix/]AWSLogs/[o-org/]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/
//!     <account>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz
//! ```

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::IntegrityError;

/// The JSON of a digest file, every field CloudTrail writes, in its order.
///
/// Fields CloudTrail leaves `null` (the event times of an empty digest, the previous-digest
/// fields of a chain's first digest) are `None`; unknown fields are ignored so that newer
/// digest versions still parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestFile {
    /// The account whose logs the digest covers.
    pub aws_account_id: String,
    /// Start of the hour the digest covers (log files delivered from then on).
    pub digest_start_time: String,
    /// End of that hour; signed, and in the digest's key name.
    pub digest_end_time: String,
    /// Bucket CloudTrail delivered the digest to.
    pub digest_s3_bucket: String,
    /// Key CloudTrail delivered the digest to: where it must still be.
    pub digest_s3_object: String,
    /// Hex fingerprint of the public key whose private key signed this digest.
    pub digest_public_key_fingerprint: String,
    /// `SHA256withRSA`.
    pub digest_signature_algorithm: String,
    /// Newest event time over the listed log files.
    pub newest_event_time: Option<String>,
    /// Oldest event time over the listed log files.
    pub oldest_event_time: Option<String>,
    /// Bucket of the previous digest in the chain.
    pub previous_digest_s3_bucket: Option<String>,
    /// Key of the previous digest in the chain.
    pub previous_digest_s3_object: Option<String>,
    /// Hex SHA-256 of the previous digest's uncompressed content.
    pub previous_digest_hash_value: Option<String>,
    /// `SHA-256`.
    pub previous_digest_hash_algorithm: Option<String>,
    /// Hex signature of the previous digest: every digest but the newest is signed twice.
    pub previous_digest_signature: Option<String>,
    /// The log files delivered during the hour.
    pub log_files: Vec<LogFileEntry>,
}

/// One log file a digest vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFileEntry {
    /// Bucket of the log file.
    pub s3_bucket: String,
    /// Key of the log file.
    pub s3_object: String,
    /// Hex SHA-256 of the log file's uncompressed content.
    pub hash_value: String,
    /// `SHA-256`.
    pub hash_algorithm: String,
    /// Newest event time in the file.
    pub newest_event_time: Option<String>,
    /// Oldest event time in the file.
    pub oldest_event_time: Option<String>,
}

impl DigestFile {
    /// Parses a digest's uncompressed JSON.
    ///
    /// # Errors
    ///
    /// [`IntegrityError::DigestFormat`] when it is not a digest.
    pub fn parse(content: &[u8]) -> Result<DigestFile, IntegrityError> {
        serde_json::from_slice(content).map_err(|err| IntegrityError::DigestFormat(err.to_string()))
    }

    /// `digestEndTime` as a time.
    pub fn end_time(&self) -> Option<DateTime<Utc>> {
        parse_time(&self.digest_end_time)
    }

    /// `digestStartTime` as a time.
    pub fn start_time(&self) -> Option<DateTime<Utc>> {
        parse_time(&self.digest_start_time)
    }
}

/// Parses CloudTrail's `2015-08-17T14:01:31Z` (and any RFC 3339 time).
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc())
}

/// Formats a time as CloudTrail writes it in digests: `2015-08-17T14:01:31Z`.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Which chain a digest belongs to and where in it, from its key alone.
///
/// A trail delivers one chain of hourly digests per account and region; backfill digests
/// (`…_backfill.json.gz`) list log files an hourly digest missed and stand outside the chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DigestName {
    /// Organization id, for organization trails.
    pub org_id: Option<String>,
    /// Account id.
    pub account: String,
    /// Region the digest covers.
    pub region: String,
    /// Trail name.
    pub trail: String,
    /// The trail's home region.
    pub home_region: String,
    /// End of the digest's hour.
    pub end: DateTime<Utc>,
    /// A backfill digest.
    pub backfill: bool,
}

impl DigestName {
    /// Parses a key or path ending in a digest file name; `None` if it is not one.
    pub fn parse(key: &str) -> Option<DigestName> {
        let parts: Vec<&str> = key.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
        let file = parts.last()?;
        let stem = file
            .strip_suffix(".json.gz")
            .or_else(|| file.strip_suffix(".json"))?;
        let (stem, backfill) = match stem.strip_suffix("_backfill") {
            Some(stem) => (stem, true),
            None => (stem, false),
        };
        let (account, rest) = stem.split_once("_CloudTrail-Digest_")?;
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // <region>_<trail>_<home-region>_<stamp>: regions have no underscores, trail names may.
        let (rest, stamp) = rest.rsplit_once('_')?;
        let (region, rest) = rest.split_once('_')?;
        let (trail, home_region) = rest.rsplit_once('_')?;
        let end = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
            .ok()?
            .and_utc();
        let org_id = parts
            .iter()
            .rposition(|p| *p == "AWSLogs")
            .and_then(|at| parts.get(at + 1))
            .filter(|p| p.starts_with("o-"))
            .map(|p| (*p).to_owned());
        Some(DigestName {
            org_id,
            account: account.to_owned(),
            region: region.to_owned(),
            trail: trail.to_owned(),
            home_region: home_region.to_owned(),
            end,
            backfill,
        })
    }

    /// The chain this digest belongs to (everything but its time).
    pub fn chain(&self) -> ChainId {
        ChainId {
            org_id: self.org_id.clone(),
            account: self.account.clone(),
            region: self.region.clone(),
            trail: self.trail.clone(),
            home_region: self.home_region.clone(),
        }
    }

    /// The key, from `AWSLogs/` on, that CloudTrail gives a digest of this chain ending at
    /// `end`.
    pub fn key(chain: &ChainId, end: DateTime<Utc>, backfill: bool) -> String {
        let org = chain
            .org_id
            .as_deref()
            .map(|o| format!("{o}/"))
            .unwrap_or_default();
        format!(
            "AWSLogs/{org}{account}/CloudTrail-Digest/{region}/{day}/{account}_CloudTrail-Digest_{region}_{trail}_{home}_{stamp}{suffix}.json.gz",
            account = chain.account,
            region = chain.region,
            day = end.format("%Y/%m/%d"),
            trail = chain.trail,
            home = chain.home_region,
            stamp = end.format("%Y%m%dT%H%M%SZ"),
            suffix = if backfill { "_backfill" } else { "" },
        )
    }
}

/// One trail's digest chain for one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainId {
    /// Organization id, for organization trails.
    pub org_id: Option<String>,
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Trail name.
    pub trail: String,
    /// The trail's home region.
    pub home_region: String,
}

impl std::fmt::Display for ChainId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "trail {} ({}), account {}{}, region {}",
            self.trail,
            self.home_region,
            self.account,
            self.org_id
                .as_deref()
                .map(|o| format!(" in {o}"))
                .unwrap_or_default(),
            self.region
        )
    }
}

/// The part of a key from `AWSLogs/` on: what stays the same between the bucket and a
/// downloaded copy. `None` for keys outside the layout.
pub fn layout_key(key: &str) -> Option<&str> {
    if key.starts_with("AWSLogs/") {
        return Some(key);
    }
    key.find("/AWSLogs/").map(|at| &key[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_digest_names() {
        let key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz";
        let name = DigestName::parse(key);
        let Some(name) = name else {
            panic!("not parsed")
        };
        assert_eq!(name.account, "111122223333");
        assert_eq!(name.region, "us-east-2");
        assert_eq!(name.trail, "your-trail-name");
        assert_eq!(name.home_region, "us-east-2");
        assert_eq!(format_time(name.end), "2015-08-17T15:01:31Z");
        assert!(!name.backfill);
        assert_eq!(DigestName::key(&name.chain(), name.end, false), key);

        let org = "logs/AWSLogs/o-exampleorgid/111122223333/CloudTrail-Digest/eu-west-1/2024/01/02/111122223333_CloudTrail-Digest_eu-west-1_org_trail_us-east-1_20240102T030405Z_backfill.json.gz";
        let Some(name) = DigestName::parse(org) else {
            panic!("not parsed")
        };
        assert_eq!(name.org_id.as_deref(), Some("o-exampleorgid"));
        assert_eq!(name.trail, "org_trail");
        assert_eq!(name.home_region, "us-east-1");
        assert!(name.backfill);
        assert_eq!(
            Some(DigestName::key(&name.chain(), name.end, true).as_str()),
            layout_key(org)
        );

        assert!(DigestName::parse("AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_abc.json.gz").is_none());
    }

    #[test]
    fn parses_a_documented_digest_with_nulls() -> Result<(), IntegrityError> {
        let text = r#"{"awsAccountId":"111122223333","digestStartTime":"2015-08-20T17:01:31Z","digestEndTime":"2015-08-20T18:01:31Z","digestS3Bucket":"b","digestS3Object":"k","digestPublicKeyFingerprint":"31e8","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":null,"oldestEventTime":null,"previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":[]}"#;
        let digest = DigestFile::parse(text.as_bytes())?;
        assert_eq!(digest.previous_digest_signature, None);
        assert_eq!(
            digest.end_time().map(format_time).as_deref(),
            Some("2015-08-20T18:01:31Z")
        );
        assert!(DigestFile::parse(b"{\"Records\":[]}").is_err());
        Ok(())
    }
}
