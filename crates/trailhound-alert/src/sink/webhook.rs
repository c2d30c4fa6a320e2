//! The generic webhook: the alert as JSON, signed so the receiver can trust it.
//!
//! Headers: `X-Trailhound-Delivery` (the outbox number: the same on every retry of one alert,
//! so a receiver can drop a repeat) and, with a secret, `X-Trailhound-Signature:
//! sha256=<hex HMAC-SHA256 of the exact body>`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::Alert;

pub(crate) fn body(alert: &Alert, delivery: i64) -> Value {
    json!({
        "delivery": delivery,
        "title": alert.title,
        "level": alert.level,
        "principal": alert.principal,
        "account": alert.account,
        "time": alert.time(),
        "findings": alert.findings,
    })
}

pub(crate) fn headers(
    body: &[u8],
    secret: Option<&str>,
    extra: &BTreeMap<String, String>,
    delivery: i64,
) -> Vec<(String, String)> {
    let mut headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("X-Trailhound-Delivery".to_owned(), delivery.to_string()),
    ];
    if let Some(secret) = secret {
        headers.push((
            "X-Trailhound-Signature".to_owned(),
            format!("sha256={}", signature(secret, body)),
        ));
    }
    headers.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    headers
}

/// Hex HMAC-SHA256 of `body` under `secret`.
pub(crate) fn signature(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    hex::encode(ring::hmac::sign(&key, body).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
