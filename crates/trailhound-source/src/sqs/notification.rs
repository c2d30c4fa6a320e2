//! What a queue message says was delivered. CloudTrail and S3 announce new objects in several
//! shapes, possibly wrapped in an SNS envelope:
//!
//! - S3 event notifications: `{"Records":[{"eventSource":"aws:s3","s3":{"bucket":{"name"},
//!   "object":{"key","size"}}}]}`, keys URL-encoded (`+` for a space);
//! - CloudTrail's own SNS notification: `{"s3Bucket":"…","s3ObjectKey":["…", …]}`;
//! - EventBridge "Object Created": `{"detail-type":"Object Created","detail":{"bucket":
//!   {"name"},"object":{"key","size"}}}`;
//! - `s3:TestEvent`, sent when notifications are set up: nothing.

use serde_json::Value;

/// An object a message announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    /// The bucket.
    pub bucket: String,
    /// The key, decoded.
    pub key: String,
    /// Its size, when the announcement says.
    pub size: Option<u64>,
}

/// Reads a message body: the objects it announces, or `None` when it is none of the shapes
/// above (a test event is `Some` of nothing).
pub fn announced(body: &str) -> Option<Vec<Announced>> {
    let value: Value = serde_json::from_str(body).ok()?;
    // SNS to SQS without raw delivery: the payload is a JSON string in "Message".
    if value.get("Type").and_then(Value::as_str) == Some("Notification")
        && let Some(message) = value.get("Message").and_then(Value::as_str)
    {
        return announced(message);
    }
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Some(Vec::new());
    }
    if let Some(records) = value.get("Records").and_then(Value::as_array) {
        return records.iter().map(s3_record).collect();
    }
    if let (Some(bucket), Some(keys)) = (
        value.get("s3Bucket").and_then(Value::as_str),
        value.get("s3ObjectKey").and_then(Value::as_array),
    ) {
        return keys
            .iter()
            .map(|key| {
                key.as_str().map(|key| Announced {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                    size: None,
                })
            })
            .collect();
    }
    if value.get("detail-type").and_then(Value::as_str) == Some("Object Created") {
        let detail = value.get("detail")?;
        return Some(vec![Announced {
            bucket: detail.pointer("/bucket/name")?.as_str()?.to_owned(),
            key: detail.pointer("/object/key")?.as_str()?.to_owned(),
            size: detail.pointer("/object/size").and_then(Value::as_u64),
        }]);
    }
    None
}

fn s3_record(record: &Value) -> Option<Announced> {
    let bucket = record.pointer("/s3/bucket/name")?.as_str()?;
    let key = record.pointer("/s3/object/key")?.as_str()?;
    // S3 encodes keys in notifications as in a form: `+` for a space, `%XX` for the rest.
    let key = key.replace('+', " ");
    let key = percent_encoding::percent_decode_str(&key)
        .decode_utf8()
        .ok()?
        .into_owned();
    Some(Announced {
        bucket: bucket.to_owned(),
        key,
        size: record.pointer("/s3/object/size").and_then(Value::as_u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bucket: &str, key: &str, size: Option<u64>) -> Option<Vec<Announced>> {
        Some(vec![Announced {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            size,
        }])
    }

    #[test]
    fn reads_every_announcement_shape() {
        let s3 = r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"trail"},"object":{"key":"AWSLogs%2F111122223333%2FCloudTrail%2Fa+b.json.gz","size":5}}}]}"#;
        assert_eq!(
            announced(s3),
            one(
                "trail",
                "AWSLogs/111122223333/CloudTrail/a b.json.gz",
                Some(5)
            )
        );
        let cloudtrail = r#"{"s3Bucket":"trail","s3ObjectKey":["k1","k2"]}"#;
        assert_eq!(announced(cloudtrail).map(|a| a.len()), Some(2));
        let sns = serde_json::json!({"Type": "Notification", "Message": cloudtrail}).to_string();
        assert_eq!(announced(&sns), announced(cloudtrail));
        let bridge = r#"{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"trail"},"object":{"key":"k","size":1}}}"#;
        assert_eq!(announced(bridge), one("trail", "k", Some(1)));
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"trail"}"#;
        assert_eq!(announced(test), Some(Vec::new()));
        assert_eq!(announced("not json"), None);
        assert_eq!(announced(r#"{"hello":"world"}"#), None);
    }
}
