//! Walking digest chains and checking every digest and log file they vouch for.
//!
//! For each chain (trail × account × region), newest digest first, as `validate-logs` does:
//!
//! 1. the digest is where CloudTrail put it (its own `digestS3Object`);
//! 2. the key its fingerprint names exists and was valid at the digest's end time;
//! 3. its signature verifies: the one stored with it (S3 metadata or a sidecar) and the copy
//!    the next digest carries as `previousDigestSignature`: either is enough, every one present
//!    must verify, so a local copy validates without metadata except for its newest digest;
//! 4. its SHA-256 equals the next digest's `previousDigestHashValue`;
//! 5. the digest it names as previous exists, and hourly digests are not missing between it
//!    and the next older one found;
//! 6. every log file it lists exists and hashes to the listed value.
//!
//! Then every log file in a span that digests cover but that no digest lists is reported as
//! not listed: a file added after delivery.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use rayon::prelude::*;
use serde::Serialize;
use trailhound_source::{LogKey, LogKind, Selection};

use crate::IntegrityError;
use crate::digest::{ChainId, DigestFile, DigestName, format_time, layout_key};
use crate::keys::{PublicKey, PublicKeySet};
use crate::signing::{sha256_hex, string_to_sign};
use crate::store::{TrailStore, content_sha256, inflate};

/// What to validate.
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// Digests ending at or after this time (default: the oldest there is).
    pub start: Option<DateTime<Utc>>,
    /// Digests ending up to an hour after this time (default: the newest there is).
    pub end: Option<DateTime<Utc>>,
    /// Only this account.
    pub account: Option<String>,
    /// Only this region.
    pub region: Option<String>,
    /// The keys signatures are checked with.
    pub keys: PublicKeySet,
}

/// What a line of the report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    /// A digest file.
    Digest,
    /// A log file.
    Log,
    /// A whole chain (gaps, uncovered files).
    Chain,
}

/// The verdict on one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Proven intact.
    Valid,
    /// Tampered with, missing, added, or unverifiable for a reason that is itself a problem.
    Invalid,
    /// Intact as far as hashes go, but no signature was available to prove it.
    Unsigned,
    /// Worth knowing, not a failure (a chain restarted, files not yet covered by a digest).
    Notice,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Digest, log or chain.
    pub subject: Subject,
    /// `s3://bucket/key` or a local path (empty for chain notices).
    pub location: String,
    /// The verdict.
    pub status: Status,
    /// Why, for anything but valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Outcome {
    /// The line as `aws cloudtrail validate-logs` prints it.
    pub fn line(&self) -> String {
        let what = match self.subject {
            Subject::Digest => "Digest file",
            Subject::Log => "Log file",
            Subject::Chain => return self.reason.clone().unwrap_or_default(),
        };
        let reason = self.reason.as_deref().unwrap_or_default();
        match self.status {
            Status::Valid => format!("{what}\t{}\tvalid", self.location),
            Status::Invalid => format!("{what}\t{}\tINVALID: {reason}", self.location),
            Status::Unsigned => format!("{what}\t{}\tUNSIGNED: {reason}", self.location),
            Status::Notice => format!("{what}\t{}\t{reason}", self.location),
        }
    }
}

/// Counts for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Digests proven intact.
    pub valid_digests: u64,
    /// Digests tampered with, missing or unverifiable.
    pub invalid_digests: u64,
    /// Digests intact by hash but without a signature to prove it.
    pub unsigned_digests: u64,
    /// Log files proven intact.
    pub valid_logs: u64,
    /// Log files changed, missing or not listed.
    pub invalid_logs: u64,
    /// Bytes read as stored (compressed) from digests and logs.
    pub bytes_read: u64,
    /// Uncompressed bytes hashed.
    pub bytes_hashed: u64,
}

/// The result of a validation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Validation {
    /// The chains found.
    #[serde(serialize_with = "chains_as_text")]
    pub chains: Vec<ChainId>,
    /// One line per file (and per chain notice), chain by chain, newest digest first, each
    /// digest followed by its logs.
    pub outcomes: Vec<Outcome>,
    /// Counts.
    pub counts: Counts,
    /// Earliest `digestStartTime` of the digests validated.
    #[serde(serialize_with = "time_as_text")]
    pub found_start: Option<DateTime<Utc>>,
    /// Latest `digestEndTime` of the digests validated.
    #[serde(serialize_with = "time_as_text")]
    pub found_end: Option<DateTime<Utc>>,
}

fn chains_as_text<S: serde::Serializer>(chains: &[ChainId], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(chains.iter().map(ToString::to_string))
}

fn time_as_text<S: serde::Serializer>(
    time: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => s.serialize_str(&format_time(*time)),
        None => s.serialize_none(),
    }
}

impl Validation {
    /// Whether anything was invalid.
    pub fn has_invalid(&self) -> bool {
        self.counts.invalid_digests > 0 || self.counts.invalid_logs > 0
    }
}

const HOUR: i64 = 3600;
/// How far an hourly digest's end may drift from a whole number of hours after the previous.
const DRIFT_SECONDS: i64 = 15 * 60;

/// A digest as loaded.
struct Loaded {
    name: DigestName,
    key: String,
    /// The key from `AWSLogs/` on.
    layout: String,
    /// Everything before `layout` in `key`: the bucket prefix or the local folders.
    base: String,
    /// Parsed content and the hex SHA-256 of the uncompressed bytes, or why not.
    content: Result<(DigestFile, String), String>,
    /// Stored and uncompressed sizes.
    sizes: (u64, u64),
    /// The signature stored with the object.
    stored_signature: Option<String>,
}

/// Validates the digests and logs in `store`.
///
/// # Errors
///
/// Only when the store cannot be listed; every problem with a file is an [`Outcome`].
pub fn validate(
    store: &dyn TrailStore,
    options: &ValidateOptions,
) -> Result<Validation, IntegrityError> {
    let load_from = options.start.map(|t| t - Duration::hours(1));
    let load_until = options.end.map(|t| t + Duration::hours(2));
    // Digests are delivered shortly after the hour they cover, and logs before the digest
    // that lists them: the key selection reaches wide of both ends.
    let wanted = Selection {
        since: load_from.map(|t| t - Duration::hours(1)),
        until: load_until.map(|t| t + Duration::hours(1)),
        accounts: options.account.iter().cloned().collect(),
        regions: options.region.iter().cloned().collect(),
    };
    let keys = store.list(&wanted)?;
    let admits = |account: &str, region: &str| {
        options.account.as_deref().is_none_or(|a| a == account)
            && options.region.as_deref().is_none_or(|r| r == region)
    };

    let mut digest_keys = Vec::new();
    let mut log_keys: Vec<(String, LogKey)> = Vec::new();
    for key in keys {
        if key.ends_with(crate::store::SIGNATURE_SIDECAR_SUFFIX) {
            continue;
        }
        if let Some(name) = DigestName::parse(&key) {
            let in_window = load_from.is_none_or(|from| name.end >= from)
                && load_until.is_none_or(|until| name.end <= until);
            if in_window && admits(&name.account, &name.region) {
                digest_keys.push((name, key));
            }
            continue;
        }
        let parsed = LogKey::parse(&key);
        if parsed.kind == Some(LogKind::Events) && parsed.delivered.is_some() {
            let admitted = match (&parsed.account, &parsed.region) {
                (Some(account), Some(region)) => admits(account, region),
                _ => false,
            };
            if admitted {
                log_keys.push((key, parsed));
            }
        }
    }

    let loaded: Vec<Loaded> = digest_keys
        .into_par_iter()
        .map(|(name, key)| load_digest(store, name, key))
        .collect::<Result<_, _>>()?;

    let mut chains: BTreeMap<ChainId, Vec<Loaded>> = BTreeMap::new();
    for digest in loaded {
        chains.entry(digest.name.chain()).or_default().push(digest);
    }
    let mut validation = Validation {
        chains: chains.keys().cloned().collect(),
        ..Validation::default()
    };
    // Every log any digest lists (even an invalid one): the rest are candidates for "added".
    let mut listed: HashSet<String> = HashSet::new();
    // Per (org, account, region): the span digests cover.
    let mut coverage = Coverage::new();
    for (chain, digests) in &mut chains {
        digests.sort_by_key(|d| (d.name.end, d.name.backfill));
        for digest in digests.iter() {
            if let Ok((file, _)) = &digest.content {
                listed.extend(
                    file.log_files
                        .iter()
                        .filter_map(|log| layout_key(&log.s3_object).map(str::to_owned)),
                );
                if let (Some(start), Some(end)) = (file.start_time(), file.end_time()) {
                    let span = coverage
                        .entry((
                            chain.org_id.clone(),
                            chain.account.clone(),
                            chain.region.clone(),
                        ))
                        .or_insert((start, end));
                    span.0 = span.0.min(start);
                    span.1 = span.1.max(end);
                }
            }
        }
    }

    let mut missing = Vec::new();
    let mut pending = Vec::new();
    for digest in chains.values().flatten() {
        validation.counts.bytes_read += digest.sizes.0;
        validation.counts.bytes_hashed += digest.sizes.1;
    }
    for (chain, digests) in &chains {
        validate_chain(
            store,
            options,
            chain,
            digests,
            &mut validation,
            &mut missing,
            &mut pending,
        );
    }
    check_logs(store, pending, &mut validation);

    let unlisted = Unlisted {
        listed: &listed,
        coverage: &coverage,
        missing: &missing,
    };
    report_unlisted(store, options, &log_keys, &unlisted, &mut validation);
    Ok(validation)
}

fn load_digest(
    store: &dyn TrailStore,
    name: DigestName,
    key: String,
) -> Result<Loaded, IntegrityError> {
    let layout = layout_key(&key).unwrap_or(&key).to_owned();
    let base = key[..key.len() - layout.len()].to_owned();
    let mut sizes = (0, 0);
    let content = match store.get(&key)? {
        None => Err("not found".to_owned()),
        Some(bytes) => match inflate(&bytes) {
            Err(_) => Err("invalid format".to_owned()),
            Ok(content) => {
                sizes = (bytes.len() as u64, content.len() as u64);
                DigestFile::parse(&content)
                    .map(|file| (file, sha256_hex(&content)))
                    .map_err(|_| "invalid format".to_owned())
            }
        },
    };
    let stored_signature = store.signature(&key)?;
    Ok(Loaded {
        name,
        key,
        layout,
        base,
        content,
        sizes,
        stored_signature,
    })
}

fn in_report_range(options: &ValidateOptions, end: DateTime<Utc>) -> bool {
    options.start.is_none_or(|start| end >= start)
        && options
            .end
            .is_none_or(|until| end <= until + Duration::hours(1))
}

/// The hour a missing digest would have covered: its logs cannot be checked, and are not
/// "added" either.
struct MissingHour {
    chain: ChainId,
    end: DateTime<Utc>,
}

fn validate_chain(
    store: &dyn TrailStore,
    options: &ValidateOptions,
    chain: &ChainId,
    digests: &[Loaded],
    validation: &mut Validation,
    missing: &mut Vec<MissingHour>,
    pending: &mut Vec<PendingLog>,
) {
    let by_layout: HashMap<&str, usize> = digests
        .iter()
        .enumerate()
        .map(|(i, d)| (d.layout.as_str(), i))
        .collect();
    // The digest that names each digest as its previous one.
    let mut successor: HashMap<usize, usize> = HashMap::new();
    for (index, digest) in digests.iter().enumerate() {
        let previous = digest
            .content
            .as_ref()
            .ok()
            .and_then(|(file, _)| file.previous_digest_s3_object.as_deref())
            .and_then(layout_key)
            .and_then(|layout| by_layout.get(layout));
        if let Some(&previous) = previous {
            successor.insert(previous, index);
        }
    }
    let newest_hourly = digests.iter().rposition(|d| !d.name.backfill);

    for index in (0..digests.len()).rev() {
        let digest = &digests[index];
        if !in_report_range(options, digest.name.end) {
            continue;
        }
        let next = successor.get(&index).map(|&i| &digests[i]);
        let is_tip = Some(index) == newest_hourly;
        let (status, reason) = judge_digest(store, options, digest, next, is_tip);
        let location = store.display(&digest.key);
        match status {
            Status::Valid => validation.counts.valid_digests += 1,
            Status::Invalid => validation.counts.invalid_digests += 1,
            Status::Unsigned => validation.counts.unsigned_digests += 1,
            Status::Notice => {}
        }
        validation.outcomes.push(Outcome {
            subject: Subject::Digest,
            location,
            status,
            reason,
        });
        if let (Status::Valid | Status::Unsigned, Ok((file, _))) = (status, &digest.content) {
            if status == Status::Valid {
                let start = file.start_time();
                validation.found_start = min_option(validation.found_start, start);
                validation.found_end = max_option(validation.found_end, file.end_time());
            }
            queue_logs(store, digest, file, validation, pending);
        }
        if !digest.name.backfill {
            let context = ChainContext {
                store,
                options,
                chain,
                digests,
                by_layout: &by_layout,
            };
            report_previous(&context, index, validation, missing);
        }
    }
}

/// The verdict on one digest.
fn judge_digest(
    store: &dyn TrailStore,
    options: &ValidateOptions,
    digest: &Loaded,
    next: Option<&Loaded>,
    is_tip: bool,
) -> (Status, Option<String>) {
    let invalid = |reason: String| (Status::Invalid, Some(reason));
    let (file, hash) = match &digest.content {
        Ok(content) => content,
        Err(reason) => return invalid(reason.clone()),
    };
    let moved = match store.bucket() {
        Some(bucket) => file.digest_s3_bucket != bucket || file.digest_s3_object != digest.key,
        None => layout_key(&file.digest_s3_object) != Some(digest.layout.as_str()),
    };
    if moved {
        return invalid(format!(
            "has been moved from its original location (it names itself {}/{})",
            file.digest_s3_bucket, file.digest_s3_object
        ));
    }
    let next_file = next.and_then(|n| n.content.as_ref().ok()).map(|(f, _)| f);
    if let Some(next_file) = next_file
        && next_file.previous_digest_hash_value.as_deref() != Some(hash.as_str())
    {
        return invalid(format!(
            "hash value doesn't match the previousDigestHashValue in the next digest {}",
            next.map(|n| store.display(&n.key)).unwrap_or_default()
        ));
    }
    let Some(end) = file.end_time() else {
        return invalid("invalid format (digestEndTime is not a time)".to_owned());
    };
    let candidates: Vec<&PublicKey> = options
        .keys
        .by_fingerprint(&file.digest_public_key_fingerprint)
        .collect();
    if candidates.is_empty() {
        return invalid(format!(
            "public key not found in region {} for fingerprint {}",
            digest.name.region, file.digest_public_key_fingerprint
        ));
    }
    let Some(key) = candidates
        .iter()
        .find(|k| k.validity_problem(end).is_none())
    else {
        let problem = candidates
            .first()
            .and_then(|k| k.validity_problem(end))
            .unwrap_or_default();
        return invalid(problem);
    };
    let signatures: Vec<&str> = digest
        .stored_signature
        .as_deref()
        .into_iter()
        .chain(next_file.and_then(|f| f.previous_digest_signature.as_deref()))
        .collect();
    if signatures.is_empty() {
        let reason = if digest.name.backfill {
            "backfill digest without its signature; save its x-amz-meta-signature metadata as a .sig sidecar".to_owned()
        } else if is_tip {
            "unsigned tip: the newest digest is signed only by its x-amz-meta-signature metadata; save it as a .sig sidecar (trailhound pull does) to prove it".to_owned()
        } else {
            "no signature: the next digest is missing and there is no .sig sidecar".to_owned()
        };
        return (Status::Unsigned, Some(reason));
    }
    let message = string_to_sign(file, hash);
    for signature in signatures {
        let verified = hex::decode(signature.trim())
            .map(|bytes| key.verifies(message.as_bytes(), &bytes))
            .unwrap_or(false);
        if !verified {
            return invalid("signature verification failed".to_owned());
        }
    }
    (Status::Valid, None)
}

/// Reports the digest this one names as previous if it is missing, and hourly digests missing
/// between it and the next older digest found.
struct ChainContext<'a> {
    store: &'a dyn TrailStore,
    options: &'a ValidateOptions,
    chain: &'a ChainId,
    digests: &'a [Loaded],
    by_layout: &'a HashMap<&'a str, usize>,
}

fn report_previous(
    context: &ChainContext<'_>,
    index: usize,
    validation: &mut Validation,
    missing_hours: &mut Vec<MissingHour>,
) {
    let ChainContext {
        store,
        options,
        chain,
        digests,
        by_layout,
    } = *context;
    let digest = &digests[index];
    let Ok((file, _)) = &digest.content else {
        return;
    };
    let older = digests[..index].iter().rev().find(|d| !d.name.backfill);
    let Some(previous_key) = file.previous_digest_s3_object.as_deref() else {
        // A chain's first digest: logging or validation was off before it, or this is where
        // the trail began.
        if let (Some(older), Some(start)) = (older, file.start_time()) {
            validation.outcomes.push(Outcome {
                subject: Subject::Chain,
                location: String::new(),
                status: Status::Notice,
                reason: Some(format!(
                    "No log files were delivered by CloudTrail between {} and {}",
                    format_time(older.name.end),
                    format_time(start)
                )),
            });
        }
        return;
    };
    let Some(previous_layout) = layout_key(previous_key) else {
        return;
    };
    if by_layout.contains_key(previous_layout) {
        return;
    }
    let Some(previous) = DigestName::parse(previous_layout) else {
        return;
    };
    let mut missing = vec![previous.end];
    if let Some(older) = older {
        // Hourly digests keep their minute and second: count the hours in between.
        let span = (previous.end - older.name.end).num_seconds();
        let hours = (span + DRIFT_SECONDS) / HOUR;
        for k in 1..hours {
            missing.push(previous.end - Duration::hours(k));
        }
    }
    for end in missing {
        if !in_report_range(options, end) {
            continue;
        }
        let key = format!("{}{}", digest.base, DigestName::key(chain, end, false));
        validation.counts.invalid_digests += 1;
        validation.outcomes.push(Outcome {
            subject: Subject::Digest,
            location: store.display(&key),
            status: Status::Invalid,
            reason: Some("not found".to_owned()),
        });
        missing_hours.push(MissingHour {
            chain: chain.clone(),
            end,
        });
    }
}

/// A listed log file waiting to be hashed: all of a validation's logs are hashed together at
/// the end, so that both cores stay busy however few logs each digest lists.
struct PendingLog {
    /// Where its outcome goes in `Validation::outcomes`.
    slot: usize,
    key: String,
    hash_value: String,
}

/// Reserves a line for each log the digest lists.
fn queue_logs(
    store: &dyn TrailStore,
    digest: &Loaded,
    file: &DigestFile,
    validation: &mut Validation,
    pending: &mut Vec<PendingLog>,
) {
    for log in &file.log_files {
        let layout = layout_key(&log.s3_object).unwrap_or(&log.s3_object);
        let key = match store.bucket() {
            Some(_) => log.s3_object.clone(),
            None => format!("{}{layout}", digest.base),
        };
        pending.push(PendingLog {
            slot: validation.outcomes.len(),
            key: key.clone(),
            hash_value: log.hash_value.clone(),
        });
        validation.outcomes.push(Outcome {
            subject: Subject::Log,
            location: store.display(&key),
            status: Status::Notice,
            reason: None,
        });
    }
}

/// A queued log's slot, verdict, reason, and stored and uncompressed sizes.
type CheckedLog = (usize, Status, Option<String>, (u64, u64));

/// Hashes every queued log in parallel and fills in its line.
fn check_logs(store: &dyn TrailStore, pending: Vec<PendingLog>, validation: &mut Validation) {
    let checked: Vec<CheckedLog> = pending
        .into_par_iter()
        .map(|log| {
            let mut sizes = (0, 0);
            let (status, reason) = match store.get(&log.key) {
                Ok(None) => (Status::Invalid, Some("not found".to_owned())),
                Err(err) => (Status::Invalid, Some(format!("cannot be read: {err}"))),
                Ok(Some(bytes)) => match content_sha256(&bytes) {
                    Err(_) => (Status::Invalid, Some("invalid format".to_owned())),
                    Ok((hash, length)) => {
                        sizes = (bytes.len() as u64, length);
                        if hash.eq_ignore_ascii_case(&log.hash_value) {
                            (Status::Valid, None)
                        } else {
                            (Status::Invalid, Some("hash value doesn't match".to_owned()))
                        }
                    }
                },
            };
            (log.slot, status, reason, sizes)
        })
        .collect();
    for (slot, status, reason, (read, hashed)) in checked {
        validation.counts.bytes_read += read;
        validation.counts.bytes_hashed += hashed;
        match status {
            Status::Valid => validation.counts.valid_logs += 1,
            _ => validation.counts.invalid_logs += 1,
        }
        if let Some(outcome) = validation.outcomes.get_mut(slot) {
            outcome.status = status;
            outcome.reason = reason;
        }
    }
}

type Coverage = HashMap<(Option<String>, String, String), (DateTime<Utc>, DateTime<Utc>)>;

/// What decides whether a log file no digest lists was added.
struct Unlisted<'a> {
    /// Every log any digest lists.
    listed: &'a HashSet<String>,
    /// Per (org, account, region): the span digests cover.
    coverage: &'a Coverage,
    /// Hours whose digest is missing.
    missing: &'a [MissingHour],
}

fn report_unlisted(
    store: &dyn TrailStore,
    options: &ValidateOptions,
    log_keys: &[(String, LogKey)],
    unlisted: &Unlisted<'_>,
    validation: &mut Validation,
) {
    let Unlisted {
        listed,
        coverage,
        missing,
    } = unlisted;
    let mut uncovered: BTreeMap<(String, String), (u64, DateTime<Utc>)> = BTreeMap::new();
    let mut unverifiable: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (key, parsed) in log_keys {
        let (Some(account), Some(region), Some(delivered)) =
            (&parsed.account, &parsed.region, parsed.delivered)
        else {
            continue;
        };
        let in_range = options.start.is_none_or(|s| delivered >= s)
            && options.end.is_none_or(|e| delivered <= e);
        if !in_range {
            continue;
        }
        let layout = layout_key(key).unwrap_or(key);
        if listed.contains(layout) {
            continue;
        }
        let Some(&(from, until)) =
            coverage.get(&(parsed.org_id.clone(), account.clone(), region.clone()))
        else {
            continue;
        };
        // Key times are whole minutes: a file is certainly inside the covered span only if
        // its whole minute is.
        if delivered < from {
            continue;
        }
        if delivered + Duration::minutes(1) > until {
            let entry = uncovered
                .entry((account.clone(), region.clone()))
                .or_insert((0, until));
            entry.0 += 1;
            continue;
        }
        // Key times are whole minutes; a file delivered in the minute a missing digest's hour
        // begins or ends may belong to it.
        let in_missing_hour = missing.iter().any(|hour| {
            hour.chain.org_id == parsed.org_id
                && hour.chain.account == *account
                && hour.chain.region == *region
                && delivered + Duration::minutes(1) > hour.end - Duration::hours(1)
                && delivered <= hour.end
        });
        if in_missing_hour {
            *unverifiable
                .entry((account.clone(), region.clone()))
                .or_default() += 1;
            continue;
        }
        validation.counts.invalid_logs += 1;
        validation.outcomes.push(Outcome {
            subject: Subject::Log,
            location: store.display(key),
            status: Status::Invalid,
            reason: Some("not listed in any digest (added after delivery?)".to_owned()),
        });
    }
    for ((account, region), count) in unverifiable {
        validation.outcomes.push(Outcome {
            subject: Subject::Chain,
            location: String::new(),
            status: Status::Notice,
            reason: Some(format!(
                "{count} log file(s) of account {account} in {region} were delivered in the hours of missing digests and cannot be verified"
            )),
        });
    }
    for ((account, region), (count, until)) in uncovered {
        validation.outcomes.push(Outcome {
            subject: Subject::Chain,
            location: String::new(),
            status: Status::Notice,
            reason: Some(format!(
                "{count} log file(s) of account {account} in {region} were delivered after the newest digest ({}) and are not covered yet",
                format_time(until)
            )),
        });
    }
}

fn min_option(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_option(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
