//! The public keys digests are verified with.
//!
//! CloudTrail signs with one key pair per region and rotates it; `aws cloudtrail
//! list-public-keys --start-time … --end-time …` prints the keys in force, each a base64 DER
//! PKCS#1 `Value` with a `Fingerprint` and a validity window. Digests name the key they were
//! signed with by that fingerprint. PEM or DER files (PKCS#1 `RSA PUBLIC KEY` or SubjectPublicKeyInfo
//! `PUBLIC KEY`) are accepted too; they carry no fingerprint or validity, so theirs is computed
//! as the hex MD5 of the DER PKCS#1 key, the 128-bit hex form digests carry, and they are
//! valid at any time.

use std::path::Path;

use base64::Engine;
use chrono::{DateTime, Utc};
use md5::{Digest as _, Md5};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde::Deserialize;

use crate::IntegrityError;
use crate::digest::{format_time, parse_time};

/// One RSA public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Hex fingerprint as digests name it (lowercase).
    pub fingerprint: String,
    /// DER PKCS#1 `RSAPublicKey`.
    pub der: Vec<u8>,
    /// Start of validity, when known.
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity, when known.
    pub valid_until: Option<DateTime<Utc>>,
}

impl PublicKey {
    /// A key from its DER PKCS#1 encoding, fingerprinted as [`fingerprint`] does.
    pub fn from_pkcs1_der(der: Vec<u8>) -> PublicKey {
        PublicKey {
            fingerprint: fingerprint(&der),
            der,
            valid_from: None,
            valid_until: None,
        }
    }

    /// Whether `signature` (raw bytes) signs `message` with this key (RSA PKCS#1 v1.5,
    /// SHA-256).
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.der)
            .verify(message, signature)
            .is_ok()
    }

    /// Why the key may not be used at `time`, if it may not.
    pub fn validity_problem(&self, time: DateTime<Utc>) -> Option<String> {
        let before = self.valid_from.is_some_and(|from| time < from);
        let after = self.valid_until.is_some_and(|until| time > until);
        (before || after).then(|| {
            let show = |t: Option<DateTime<Utc>>| t.map(format_time).unwrap_or_else(|| "-".into());
            format!(
                "public key {} was not valid at {} (valid from {} to {})",
                self.fingerprint,
                format_time(time),
                show(self.valid_from),
                show(self.valid_until)
            )
        })
    }
}

/// The fingerprint Trailhound gives a key that comes without one: hex MD5 of its DER PKCS#1
/// encoding.
pub fn fingerprint(pkcs1_der: &[u8]) -> String {
    hex::encode(Md5::digest(pkcs1_der))
}

/// The keys digests may name.
#[derive(Debug, Clone, Default)]
pub struct PublicKeySet {
    keys: Vec<PublicKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListPublicKeys {
    public_key_list: Vec<ListedKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListedKey {
    value: String,
    fingerprint: String,
    validity_start_time: Option<serde_json::Value>,
    validity_end_time: Option<serde_json::Value>,
}

impl PublicKeySet {
    /// An empty set.
    pub fn new() -> PublicKeySet {
        PublicKeySet::default()
    }

    /// Adds a key.
    pub fn add(&mut self, key: PublicKey) {
        self.keys.push(key);
    }

    /// The keys.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Loads the keys in a file: `list-public-keys` JSON, PEM (one or more keys) or DER.
    ///
    /// # Errors
    ///
    /// [`IntegrityError::PublicKeys`] naming the file and what is wrong with it.
    pub fn load_file(&mut self, path: &Path) -> Result<usize, IntegrityError> {
        let fail = |reason: String| IntegrityError::PublicKeys {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|err| fail(err.to_string()))?;
        let added = self.add_bytes(&bytes).map_err(fail)?;
        if added == 0 {
            return Err(fail("it holds no public key".to_owned()));
        }
        Ok(added)
    }

    fn add_bytes(&mut self, bytes: &[u8]) -> Result<usize, String> {
        let text = std::str::from_utf8(bytes).ok().map(str::trim_start);
        match text {
            Some(text) if text.starts_with('{') => self.add_listed(text),
            Some(text) if text.starts_with("-----BEGIN") => {
                let blocks = pem::parse_many(text).map_err(|err| format!("bad PEM: {err}"))?;
                for block in &blocks {
                    let der = match block.tag() {
                        "RSA PUBLIC KEY" => block.contents().to_vec(),
                        "PUBLIC KEY" => pkcs1_from_spki(block.contents())?,
                        other => {
                            return Err(format!(
                                "a PEM {other:?} block is not a public key (want RSA PUBLIC KEY or PUBLIC KEY)"
                            ));
                        }
                    };
                    self.add(PublicKey::from_pkcs1_der(der));
                }
                Ok(blocks.len())
            }
            _ => {
                // DER: SubjectPublicKeyInfo or bare PKCS#1.
                let der = match pkcs1_from_spki(bytes) {
                    Ok(der) => der,
                    Err(_) if looks_like_der_sequence(bytes) => bytes.to_vec(),
                    Err(_) => {
                        return Err("not list-public-keys JSON, PEM or a DER RSA key".to_owned());
                    }
                };
                self.add(PublicKey::from_pkcs1_der(der));
                Ok(1)
            }
        }
    }

    fn add_listed(&mut self, text: &str) -> Result<usize, String> {
        let listed: ListPublicKeys = serde_json::from_str(text)
            .map_err(|err| format!("not the JSON of `aws cloudtrail list-public-keys` ({err})"))?;
        for key in &listed.public_key_list {
            let der = base64::engine::general_purpose::STANDARD
                .decode(key.value.trim())
                .map_err(|err| format!("key {}: Value is not base64 ({err})", key.fingerprint))?;
            let time =
                |value: &Option<serde_json::Value>| -> Result<Option<DateTime<Utc>>, String> {
                    match value {
                        None | Some(serde_json::Value::Null) => Ok(None),
                        Some(serde_json::Value::String(text)) => parse_time(text)
                            .or_else(|| {
                                chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
                                    .ok()
                                    .map(|t| t.and_utc())
                            })
                            .map(Some)
                            .ok_or_else(|| format!("key {}: bad time {text:?}", key.fingerprint)),
                        // The CLI's v1 prints epoch seconds.
                        Some(serde_json::Value::Number(n)) => Ok(n
                            .as_f64()
                            .and_then(|s| DateTime::from_timestamp(s as i64, 0))),
                        Some(other) => Err(format!("key {}: bad time {other}", key.fingerprint)),
                    }
                };
            self.add(PublicKey {
                fingerprint: key.fingerprint.to_ascii_lowercase(),
                der,
                valid_from: time(&key.validity_start_time)?,
                valid_until: time(&key.validity_end_time)?,
            });
        }
        Ok(listed.public_key_list.len())
    }

    /// Keys with this fingerprint (CloudTrail's validity windows may overlap).
    pub fn by_fingerprint<'a>(
        &'a self,
        fingerprint: &'a str,
    ) -> impl Iterator<Item = &'a PublicKey> + 'a {
        self.keys
            .iter()
            .filter(move |k| k.fingerprint.eq_ignore_ascii_case(fingerprint))
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The `list-public-keys` JSON for keys, as CloudTrail's API returns it.
pub fn list_public_keys_json(keys: &[PublicKey]) -> serde_json::Value {
    let list: Vec<serde_json::Value> = keys
        .iter()
        .map(|key| {
            serde_json::json!({
                "Value": base64::engine::general_purpose::STANDARD.encode(&key.der),
                "ValidityStartTime": key.valid_from.map(format_time),
                "ValidityEndTime": key.valid_until.map(format_time),
                "Fingerprint": key.fingerprint,
            })
        })
        .collect();
    serde_json::json!({ "PublicKeyList": list })
}

/// The RSAPublicKey inside a SubjectPublicKeyInfo.
fn pkcs1_from_spki(der: &[u8]) -> Result<Vec<u8>, String> {
    use spki::der::Decode;
    const RSA_ENCRYPTION: spki::ObjectIdentifier =
        spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    let info = spki::SubjectPublicKeyInfoRef::from_der(der)
        .map_err(|err| format!("bad SubjectPublicKeyInfo: {err}"))?;
    if info.algorithm.oid != RSA_ENCRYPTION {
        return Err(format!(
            "the key is not RSA (algorithm {}); CloudTrail signs with RSA",
            info.algorithm.oid
        ));
    }
    info.subject_public_key
        .as_bytes()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "the key's bit string is not whole bytes".to_owned())
}

fn looks_like_der_sequence(der: &[u8]) -> bool {
    der.first() == Some(&0x30) && der.len() > 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_list_public_keys_output() -> Result<(), String> {
        let mut set = PublicKeySet::new();
        let json = r#"{"PublicKeyList":[{"Value":"MAoCAwEAAQIDAQAB","ValidityStartTime":"2024-01-01T00:00:00+00:00","ValidityEndTime":1735689600,"Fingerprint":"ABCDEF"}]}"#;
        assert_eq!(set.add_bytes(json.as_bytes())?, 1);
        let key = set.by_fingerprint("abcdef").next().ok_or("not found")?;
        assert_eq!(
            key.valid_from.map(format_time).as_deref(),
            Some("2024-01-01T00:00:00Z")
        );
        assert_eq!(
            key.valid_until.map(format_time).as_deref(),
            Some("2025-01-01T00:00:00Z")
        );
        let inside = parse_time("2024-06-01T00:00:00Z").ok_or("time")?;
        let outside = parse_time("2025-06-01T00:00:00Z").ok_or("time")?;
        assert_eq!(key.validity_problem(inside), None);
        assert!(
            key.validity_problem(outside)
                .is_some_and(|m| m.contains("was not valid at 2025-06-01T00:00:00Z"))
        );
        assert!(set.add_bytes(b"{\"Keys\":[]}").is_err());
        assert!(
            set.add_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
        Ok(())
    }
}
