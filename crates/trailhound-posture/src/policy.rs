//! The policies a trail's bucket and key need, as AWS documents them, and the reading of
//! existing policies the checks do (who may write, who may read or delete).

use serde_json::{Value, json};

/// The bucket policy that lets `trail_arn` (and only CloudTrail) deliver to `bucket` under
/// `prefix` for `account`, and refuses requests that are not over TLS.
pub fn cloudtrail_bucket_policy(
    bucket: &str,
    prefix: Option<&str>,
    account: &str,
    trail_arn: &str,
) -> Value {
    let path = match prefix.filter(|p| !p.is_empty()) {
        Some(prefix) => format!("{}/AWSLogs/{account}/*", prefix.trim_end_matches('/')),
        None => format!("AWSLogs/{account}/*"),
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": format!("arn:aws:s3:::{bucket}"),
                "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": format!("arn:aws:s3:::{bucket}/{path}"),
                "Condition": {"StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceArn": trail_arn
                }}
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            }
        ]
    })
}

/// A key policy for a trail's SSE-KMS key: the account administers it, CloudTrail encrypts
/// with it for `trail_arn`, the account's principals decrypt the logs.
pub fn cloudtrail_key_policy(account: &str, trail_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EnableAccountAdministration",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
                "Action": "kms:*",
                "Resource": "*"
            },
            {
                "Sid": "AllowCloudTrailToEncryptLogs",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceArn": trail_arn},
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": format!("arn:aws:cloudtrail:*:{account}:trail/*")}
                }
            },
            {
                "Sid": "AllowCloudTrailToDescribeKey",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:DescribeKey",
                "Resource": "*"
            },
            {
                "Sid": "AllowAccountToDecryptLogs",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account},
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": format!("arn:aws:cloudtrail:*:{account}:trail/*")}
                }
            }
        ]
    })
}

/// A policy's statements, whether it holds one or a list.
pub(crate) fn statements(policy: &Value) -> Vec<&Value> {
    match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// A field that may be one string or a list of them.
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether an Allow statement lets anyone at all in: principal `*` and no condition.
pub(crate) fn open_to_everyone(statement: &Value) -> bool {
    let allow = statement.get("Effect").and_then(Value::as_str) == Some("Allow");
    let unconditioned = statement
        .get("Condition")
        .is_none_or(|c| c.as_object().is_none_or(serde_json::Map::is_empty));
    allow && unconditioned && principal_is_everyone(statement.get("Principal"))
}

fn principal_is_everyone(principal: Option<&Value>) -> bool {
    match principal {
        Some(Value::String(star)) => star == "*",
        Some(Value::Object(map)) => map
            .get("AWS")
            .is_some_and(|aws| strings(Some(aws)).contains(&"*")),
        _ => false,
    }
}

/// Whether `action` (`s3:PutObject`) is among a statement's actions, wildcards included.
pub(crate) fn grants(statement: &Value, action: &str) -> bool {
    strings(statement.get("Action")).iter().any(|pattern| {
        glob::Pattern::new(&pattern.to_ascii_lowercase())
            .is_ok_and(|p| p.matches(&action.to_ascii_lowercase()))
    })
}

/// Who an Allow statement names as its principals, as text.
pub(crate) fn principals(statement: &Value) -> Vec<String> {
    match statement.get("Principal") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Object(map)) => map
            .iter()
            .flat_map(|(kind, who)| {
                strings(Some(who))
                    .into_iter()
                    .map(move |who| format!("{kind}:{who}"))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// What is wrong with a trail bucket's policy: writers other than CloudTrail, readers or
/// deleters not named. Empty when nothing is.
pub(crate) fn bucket_policy_problems(policy: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for statement in statements(policy) {
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let who = principals(statement);
        if grants(statement, "s3:PutObject")
            && who.iter().any(|p| p != "Service:cloudtrail.amazonaws.com")
        {
            problems.push(format!(
                "{} may write log objects (only CloudTrail should)",
                who.join(", ")
            ));
        }
        let reads_or_deletes = ["s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
            .iter()
            .any(|action| grants(statement, action));
        if reads_or_deletes && principal_is_everyone(statement.get("Principal")) {
            problems.push("anyone may read or delete log objects (name the principals)".to_owned());
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_policy_has_no_problems() {
        let policy = cloudtrail_bucket_policy(
            "logs",
            None,
            "111122223333",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/main",
        );
        assert!(bucket_policy_problems(&policy).is_empty());
        assert!(!statements(&policy).iter().any(|s| open_to_everyone(s)));
    }

    #[test]
    fn public_readers_and_other_writers_are_problems() {
        let policy = json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs/*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:user/x"}, "Action": "s3:*", "Resource": "*"}
        ]});
        let problems = bucket_policy_problems(&policy);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(open_to_everyone(statements(&policy)[0]));
        assert!(!open_to_everyone(statements(&policy)[1]));
    }
}
