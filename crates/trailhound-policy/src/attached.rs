//! The policies a principal has now, from `aws iam get-account-authorization-details`, and
//! which of the actions they grant the principal used, left unused, or used where CloudTrail
//! cannot see (data events the trail does not log).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::document::{Effect, PolicyDocument};
use crate::table::TABLES;

/// Why the file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AttachedError {
    /// Not the output of `get-account-authorization-details`.
    #[error("{0}")]
    Shape(String),
}

/// A policy the principal has, by name, with its document.
#[derive(Debug, Clone)]
pub struct HeldPolicy {
    /// `inline:NAME`, `managed:ARN` or `group GROUP: …`.
    pub name: String,
    /// The document.
    pub document: PolicyDocument,
}

/// A policy document as the file holds it: an object, or URL-encoded JSON text (the API's raw
/// form).
fn document(value: &Value) -> Option<PolicyDocument> {
    match value {
        Value::String(text) => {
            let decoded: String = form_decode(text);
            serde_json::from_str(&decoded).ok()
        }
        other => serde_json::from_value(other.clone()).ok(),
    }
}

/// `%7B%22Version…` → `{"Version…`.
fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&text[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The policies `principal_arn` (a role's or a user's ARN) holds in `details`: inline,
/// attached managed (their default version), and for a user its groups'.
///
/// # Errors
///
/// When the file is not that command's output, or names no such principal.
pub fn held_policies(
    details: &Value,
    principal_arn: &str,
) -> Result<Vec<HeldPolicy>, AttachedError> {
    let lists = [
        "UserDetailList",
        "RoleDetailList",
        "GroupDetailList",
        "Policies",
    ];
    if !lists.iter().any(|l| details.get(l).is_some()) {
        return Err(AttachedError::Shape(
            "this is not the output of `aws iam get-account-authorization-details` (no UserDetailList, RoleDetailList or Policies)".to_owned(),
        ));
    }
    let managed: BTreeMap<&str, &Value> = details["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p.get("Arn")?.as_str()?, p)))
        .collect();
    let managed_document = |arn: &str| -> Option<PolicyDocument> {
        let policy = managed.get(arn)?;
        let default = policy["PolicyVersionList"].as_array()?.iter().find(|v| {
            v["IsDefaultVersion"] == Value::Bool(true)
                || v["VersionId"] == policy["DefaultVersionId"]
        })?;
        document(&default["Document"])
    };
    let mut held = Vec::new();
    let mut take = |owner: &Value, inline_list: &str, prefix: &str| {
        for inline in owner[inline_list].as_array().into_iter().flatten() {
            if let Some(doc) = document(&inline["PolicyDocument"]) {
                held.push(HeldPolicy {
                    name: format!(
                        "{prefix}inline:{}",
                        inline["PolicyName"].as_str().unwrap_or("?")
                    ),
                    document: doc,
                });
            }
        }
        for attached in owner["AttachedManagedPolicies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let arn = attached["PolicyArn"].as_str().unwrap_or_default();
            if let Some(doc) = managed_document(arn) {
                held.push(HeldPolicy {
                    name: format!("{prefix}managed:{arn}"),
                    document: doc,
                });
            }
        }
    };
    let find = |list: &str| {
        details[list]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["Arn"].as_str() == Some(principal_arn))
    };
    if let Some(role) = find("RoleDetailList") {
        take(role, "RolePolicyList", "");
    } else if let Some(user) = find("UserDetailList") {
        take(user, "UserPolicyList", "");
        for group in user["GroupList"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if let Some(g) = details["GroupDetailList"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|g| g["GroupName"].as_str() == Some(group))
            {
                take(g, "GroupPolicyList", &format!("group {group}: "));
            }
        }
    } else {
        return Err(AttachedError::Shape(format!(
            "{principal_arn} is not a role or user of this file; give the principal's full ARN"
        )));
    }
    Ok(held)
}

/// `pattern` (`s3:Get*`, `*`, `ec2:DescribeInstances`) as a case-insensitive matcher.
fn matcher(pattern: &str) -> Option<regex::Regex> {
    let mut regex = String::from("(?i)^");
    for c in pattern.chars() {
        match c {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            c => regex.push_str(&regex::escape(&c.to_string())),
        }
    }
    regex.push('$');
    regex::Regex::new(&regex).ok()
}

/// Whether `pattern` covers `action`.
#[cfg(test)]
fn covers(pattern: &str, action: &str) -> bool {
    matcher(pattern).is_some_and(|m| m.is_match(action))
}

/// What the held policies allow, expanded over every action that exists; with the policy
/// granting each. Deny statements and conditions are not evaluated (they only narrow).
pub fn granted_actions(held: &[HeldPolicy]) -> BTreeMap<String, BTreeSet<String>> {
    let mut granted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for policy in held {
        for statement in &policy.document.statement {
            if statement.effect != Effect::Allow {
                continue;
            }
            let (patterns, negated) = match (&statement.action, &statement.not_action) {
                (Some(a), _) => (a.values(), false),
                (None, Some(n)) => (n.values(), true),
                (None, None) => continue,
            };
            let matchers: Vec<regex::Regex> = patterns.iter().filter_map(|p| matcher(p)).collect();
            for action in TABLES.actions.keys() {
                if matchers.iter().any(|m| m.is_match(action)) != negated {
                    granted
                        .entry(action.clone())
                        .or_default()
                        .insert(policy.name.clone());
                }
            }
        }
    }
    granted
}

/// What became of a granted action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Used in the period.
    Used,
    /// Not used, though CloudTrail would have shown it.
    Unused,
    /// A data event action, and the lake has no data events of its service in the period:
    /// whether it was used cannot be seen.
    NotVisible,
}

/// Actions CloudTrail logs as data events (only when the trail selects them): S3 object-level
/// calls, Lambda invocations, DynamoDB item calls, and the like
/// (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html>).
pub fn is_data_event_action(action: &str) -> bool {
    let Some((service, name)) = action.split_once(':') else {
        return false;
    };
    match service {
        "s3" => {
            TABLES
                .actions
                .get(action)
                .is_some_and(|types| types.iter().any(|(t, _)| t == "object"))
                || name == "ListBucket"
                || name == "ListBucketVersions"
                || name == "ListBucketMultipartUploads"
        }
        "lambda" => name == "InvokeFunction" || name == "InvokeFunctionUrl",
        "dynamodb" => {
            matches!(
                name,
                "GetItem"
                    | "PutItem"
                    | "UpdateItem"
                    | "DeleteItem"
                    | "BatchGetItem"
                    | "BatchWriteItem"
                    | "Query"
                    | "Scan"
                    | "ConditionCheckItem"
                    | "GetRecords"
                    | "GetShardIterator"
            ) || name.starts_with("PartiQL")
        }
        "s3-object-lambda" | "sns" | "sqs" | "kinesis" => {
            matches!(
                name,
                "Publish"
                    | "SendMessage"
                    | "ReceiveMessage"
                    | "DeleteMessage"
                    | "PutRecord"
                    | "PutRecords"
                    | "GetRecords"
            ) || service == "s3-object-lambda"
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_cover_actions_as_iam_does() {
        assert!(covers("s3:Get*", "s3:GetObject"));
        assert!(covers("S3:getobject", "s3:GetObject"));
        assert!(covers("*", "ec2:RunInstances"));
        assert!(!covers("s3:Get*", "s3:PutObject"));
        assert!(covers("ec2:Describe?nstances", "ec2:DescribeInstances"));
    }

    #[test]
    fn a_roles_inline_and_managed_policies_are_read_in_either_form() -> Result<(), AttachedError> {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22sqs%3ASendMessage%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        let details = json!({
            "RoleDetailList": [{"RoleName": "deploy", "Arn": "arn:aws:iam::1:role/deploy",
                "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": encoded}],
                "AttachedManagedPolicies": [{"PolicyName": "ro", "PolicyArn": "arn:aws:iam::1:policy/ro"}]}],
            "Policies": [{"PolicyName": "ro", "Arn": "arn:aws:iam::1:policy/ro", "DefaultVersionId": "v2",
                "PolicyVersionList": [
                    {"VersionId": "v1", "IsDefaultVersion": false, "Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}},
                    {"VersionId": "v2", "IsDefaultVersion": true, "Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]}}]}]
        });
        let held = held_policies(&details, "arn:aws:iam::1:role/deploy")?;
        assert_eq!(held.len(), 2);
        let granted = granted_actions(&held);
        assert!(granted.contains_key("sqs:SendMessage"));
        assert!(granted.contains_key("s3:GetObject"));
        assert!(
            !granted.contains_key("s3:PutObject"),
            "v1 is not the default"
        );
        assert!(held_policies(&details, "arn:aws:iam::1:role/other").is_err());
        assert!(held_policies(&json!({"Roles": []}), "x").is_err());
        assert!(
            is_data_event_action("s3:GetObject") && !is_data_event_action("s3:PutBucketPolicy")
        );
        Ok(())
    }
}
