//! Hourly digest chains over the generated logs, signed as CloudTrail signs them.
//!
//! Each account and region gets one chain: a digest every hour at a fixed minute and second
//! (as real trails have), listing the log files delivered in its hour, naming the previous
//! digest with its hash and signature, and signed over CloudTrail's string to sign. Its own
//! signature, which S3 keeps as `x-amz-meta-signature` metadata, goes to a sidecar file as
//! `trailhound pull` saves it.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rayon::prelude::*;
use trailhound_integrity::{
    ChainId, DigestFile, DigestName, LogFileEntry, PublicKey, format_time, list_public_keys_json,
    sha256_hex, sidecar_content, sidecar_path, string_to_sign,
};

use crate::writer::{DeliveredLog, splitmix, write_gzip};
use crate::{GenerateError, GeneratorConfig, Signing};

/// The generated span.
pub(crate) struct Span {
    pub(crate) start: DateTime<Utc>,
    pub(crate) span: Duration,
}

/// Writes a chain per (account, region), and the public key; returns the digests written.
pub(crate) fn write_chains(
    config: &GeneratorConfig,
    signing: &Signing,
    span: &Span,
    chains: &[(String, String)],
    delivered: Vec<DeliveredLog>,
) -> Result<u64, GenerateError> {
    let mut by_chain: HashMap<(String, String), Vec<DeliveredLog>> = HashMap::new();
    for log in delivered {
        by_chain
            .entry((log.account.clone(), log.region.clone()))
            .or_default()
            .push(log);
    }
    let home_region = config.regions.first().cloned().unwrap_or_default();
    let written: Vec<u64> = chains
        .par_iter()
        .map(|(account, region)| {
            let chain = ChainId {
                org_id: config.org_id.clone(),
                account: account.clone(),
                region: region.clone(),
                trail: signing.trail.clone(),
                home_region: home_region.clone(),
            };
            let mut logs = by_chain
                .get(&(account.clone(), region.clone()))
                .map(|logs| logs.iter().collect::<Vec<_>>())
                .unwrap_or_default();
            logs.sort_by(|a, b| (a.delivered, &a.key).cmp(&(b.delivered, &b.key)));
            write_chain(config, signing, span, &chain, &logs)
        })
        .collect::<Result<_, _>>()?;
    write_public_key(config, signing.signer.public_key(), span)?;
    Ok(written.iter().sum())
}

fn write_chain(
    config: &GeneratorConfig,
    signing: &Signing,
    span: &Span,
    chain: &ChainId,
    logs: &[&DeliveredLog],
) -> Result<u64, GenerateError> {
    // A fixed minute and second per chain, from the seed.
    let seed = chain
        .account
        .bytes()
        .chain(chain.region.bytes())
        .fold(config.seed, |h, b| splitmix(h ^ u64::from(b)));
    let offset = Duration::seconds((seed % 3600) as i64);
    // The first digest starts before the first delivery; the last ends after the last one
    // (deliveries come up to nine minutes after their five-minute window).
    let first_start = span.start + offset - Duration::hours(1);
    let hours = span.span.num_hours() + 2;
    let mut previous: Option<(String, String, String)> = None; // key, hash, signature
    let mut next_log = 0;
    for hour in 0..hours {
        let start = first_start + Duration::hours(hour);
        let end = start + Duration::hours(1);
        let mut listed = Vec::new();
        while let Some(log) = logs.get(next_log).filter(|log| log.delivered < end) {
            if log.delivered >= start {
                listed.push(*log);
            }
            next_log += 1;
        }
        let key = DigestName::key(chain, end, false);
        let digest = DigestFile {
            aws_account_id: chain.account.clone(),
            digest_start_time: format_time(start),
            digest_end_time: format_time(end),
            digest_s3_bucket: signing.bucket.clone(),
            digest_s3_object: key.clone(),
            digest_public_key_fingerprint: signing.signer.public_key().fingerprint.clone(),
            digest_signature_algorithm: "SHA256withRSA".to_owned(),
            newest_event_time: listed.iter().map(|l| l.newest).max().map(format_time),
            oldest_event_time: listed.iter().map(|l| l.oldest).min().map(format_time),
            previous_digest_s3_bucket: previous.as_ref().map(|_| signing.bucket.clone()),
            previous_digest_s3_object: previous.as_ref().map(|p| p.0.clone()),
            previous_digest_hash_value: previous.as_ref().map(|p| p.1.clone()),
            previous_digest_hash_algorithm: previous.as_ref().map(|_| "SHA-256".to_owned()),
            previous_digest_signature: previous.as_ref().map(|p| p.2.clone()),
            log_files: listed
                .iter()
                .map(|log| LogFileEntry {
                    s3_bucket: signing.bucket.clone(),
                    s3_object: log.key.clone(),
                    hash_value: log.sha256.clone(),
                    hash_algorithm: "SHA-256".to_owned(),
                    newest_event_time: Some(format_time(log.newest)),
                    oldest_event_time: Some(format_time(log.oldest)),
                })
                .collect(),
        };
        let content =
            serde_json::to_vec(&digest).map_err(|err| GenerateError::Signing(err.to_string()))?;
        let hash = sha256_hex(&content);
        let signature = signing
            .signer
            .sign_hex(string_to_sign(&digest, &hash).as_bytes())
            .map_err(|err| GenerateError::Signing(err.to_string()))?;
        let path = config.dir.join(&key);
        write_gzip(&path, &content, config.compression_level)?;
        let sidecar = sidecar_path(&path);
        std::fs::write(&sidecar, sidecar_content(&signature)).map_err(|source| {
            GenerateError::Io {
                path: sidecar,
                source,
            }
        })?;
        previous = Some((key, hash, signature));
    }
    Ok(u64::try_from(hours).unwrap_or(0))
}

fn write_public_key(
    config: &GeneratorConfig,
    key: &PublicKey,
    span: &Span,
) -> Result<(), GenerateError> {
    let mut key = key.clone();
    key.valid_from = Some(span.start - Duration::days(1));
    key.valid_until = Some(span.start + span.span + Duration::days(30));
    let folder = config.dir.join(".trailhound");
    let io = |path: std::path::PathBuf| move |source| GenerateError::Io { path, source };
    std::fs::create_dir_all(&folder).map_err(io(folder.clone()))?;
    let path = folder.join("public-keys.json");
    let text = serde_json::to_string_pretty(&list_public_keys_json(&[key]))
        .map_err(|err| GenerateError::Signing(err.to_string()))?;
    std::fs::write(&path, text).map_err(io(path.clone()))
}
