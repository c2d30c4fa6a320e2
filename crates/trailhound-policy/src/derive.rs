//! From one CloudTrail event to the permissions it used: the IAM actions its call needs (the
//! generated table, after the API-version suffix CloudTrail adds to some names), and for each
//! the resource it acted on, from the event's `resources[]` or its request parameters through
//! the ARN formats of the Service Authorization Reference; `*` where neither names it.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::table::{Grant, Needs, TABLES, known_action};

/// What a call is, as CloudTrail recorded it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// `s3.amazonaws.com`.
    pub event_source: &'a str,
    /// `GetObject`, `UpdateFunctionCode20150331v2`.
    pub event_name: &'a str,
    /// `requestParameters`.
    pub request: Option<&'a Value>,
    /// `resources[]`.
    pub resources: Option<&'a Value>,
    /// `recipientAccountId`.
    pub account: &'a str,
    /// `awsRegion`.
    pub region: &'a str,
}

/// One permission a call used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    /// The IAM action, as the Service Authorization Reference writes it.
    pub action: String,
    /// The resource's ARN, or `*`.
    pub resource: String,
    /// How the resource was worked out when it is a guess (an instance profile's role).
    pub inferred: Option<String>,
}

/// What a call needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needed {
    /// These permissions.
    Permissions(Vec<Permission>),
    /// No permission (sts:GetCallerIdentity).
    Nothing,
    /// The call is in no table: its action cannot be named.
    Unknown,
}

/// `UpdateFunctionCode20150331v2` → `UpdateFunctionCode`: the API version CloudTrail appends
/// to Lambda's (and CloudFront's) event names.
fn operation(event_name: &str) -> &str {
    static VERSION: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^(.+?)(?:\d{4}_?\d{2}_?\d{2}(?:v\d+)?)$").ok());
    VERSION
        .as_ref()
        .and_then(|r| r.captures(event_name))
        .and_then(|c| c.get(1))
        .map_or(event_name, |m| m.as_str())
}

/// The permissions `call` used.
pub fn permissions(call: &Call<'_>) -> Needed {
    let name = operation(call.event_name);
    let key = (call.event_source.to_owned(), name.to_owned());
    match TABLES.operations.get(&key) {
        Some(Needs::Nothing) => Needed::Nothing,
        Some(Needs::Actions(grants)) => {
            let mut found: Vec<Permission> = Vec::new();
            for grant in grants.iter().filter(|g| applies(g, call)) {
                if grant.action == "iam:PassRole" {
                    found.extend(pass_role(grant, call));
                } else {
                    found.extend(resolve(grant, call));
                }
            }
            found.sort();
            found.dedup();
            // A variant that names the resource makes the `*` of another variant of the
            // same action redundant.
            let named: std::collections::HashSet<String> = found
                .iter()
                .filter(|p| p.resource != "*")
                .map(|p| p.action.clone())
                .collect();
            found.retain(|p| p.resource != "*" || !named.contains(&p.action));
            Needed::Permissions(found)
        }
        None => {
            // Not in the map: the service's prefix and the operation, if that action exists.
            let prefix = call.event_source.split('.').next().unwrap_or_default();
            match known_action(&format!("{prefix}:{name}")) {
                Some(action) => Needed::Permissions(
                    resolve(
                        &Grant {
                            action: action.to_owned(),
                            templates: Vec::new(),
                        },
                        call,
                    )
                    .into_iter()
                    .collect(),
                ),
                None => Needed::Unknown,
            }
        }
    }
}

/// Whether a grant's condition (`if=VersionId NotExists`) holds for the call's request; a
/// grant without one always applies, and so does one whose test cannot be read.
fn applies(grant: &Grant, call: &Call<'_>) -> bool {
    let Some((_, test)) = grant.templates.iter().find(|(var, _)| var == "if") else {
        return true;
    };
    let mut words = test.splitn(3, ' ');
    let (Some(lhs), Some(op)) = (words.next(), words.next()) else {
        return true;
    };
    let rhs = words.next().unwrap_or_default();
    let value = call.request.and_then(|r| lookup(r, lhs));
    let text = value.and_then(|v| v.as_str().map(str::to_owned));
    match op {
        "Exists" => value.is_some(),
        "NotExists" => value.is_none(),
        "NotEquals" => text.as_deref() != Some(rhs),
        "Equals" => text.as_deref() == Some(rhs),
        "IContains" => text.is_some_and(|t| t.to_lowercase().contains(&rhs.to_lowercase())),
        _ => true,
    }
}

/// Tagging actions that a create call needs only when it tags what it creates.
fn tags_only_when_asked(action: &str, event_name: &str) -> bool {
    let name = action.split(':').nth(1).unwrap_or_default();
    matches!(name, "AddTagsToResource" | "CreateTags" | "TagResource")
        && !event_name.starts_with("Tag")
        && !event_name.starts_with("AddTags")
        && !event_name.starts_with("CreateTags")
}

/// Whether the request carries tags (`Tags`, `TagSpecifications`, `tagSet`…, non-empty).
fn request_has_tags(call: &Call<'_>) -> bool {
    call.request
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .any(|(key, value)| {
            key.to_lowercase().starts_with("tag")
                && !value.is_null()
                && value.as_array().is_none_or(|a| !a.is_empty())
                && value.as_object().is_none_or(|o| !o.is_empty())
        })
}

/// Every IAM role ARN in the request, wherever it sits.
fn roles_in(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(s)
            if s.starts_with("arn:") && s.contains(":iam::") && s.contains(":role/") =>
        {
            found.push(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| roles_in(v, found)),
        Value::Object(map) => map.values().for_each(|v| roles_in(v, found)),
        _ => {}
    }
}

/// iam:PassRole, which a call needs only when it hands a role to a service: the role its
/// template names, else the roles the request names, else the role of the instance profile it
/// names; otherwise it passed none (the map grants PassRole to some calls unconditionally).
fn pass_role(grant: &Grant, call: &Call<'_>) -> Vec<Permission> {
    let permission = |resource: String, inferred: Option<String>| Permission {
        action: grant.action.clone(),
        resource,
        inferred,
    };
    let templated = grant
        .templates
        .iter()
        .find(|(var, _)| var == "ARN")
        .and_then(|(_, template)| expand(template, call))
        .filter(|arn| arn.starts_with("arn:") && arn.contains(":role/"));
    if let Some(arn) = templated {
        return vec![permission(arn, None)];
    }
    let mut roles = Vec::new();
    if let Some(request) = call.request {
        roles_in(request, &mut roles);
    }
    if !roles.is_empty() {
        return roles.into_iter().map(|r| permission(r, None)).collect();
    }
    instance_profile_role(call)
        .map(|(arn, how)| vec![permission(arn, Some(how))])
        .unwrap_or_default()
}

/// The permission `grant` gives the call, with its resource; `None` when the grant does not
/// apply (a tagging action of a call that set no tags).
fn resolve(grant: &Grant, call: &Call<'_>) -> Option<Permission> {
    let permission = |resource: String, inferred: Option<String>| {
        Some(Permission {
            action: grant.action.clone(),
            resource,
            inferred,
        })
    };
    if tags_only_when_asked(&grant.action, call.event_name) && !request_has_tags(call) {
        return None;
    }
    if let Some((_, template)) = grant.templates.iter().find(|(var, _)| var == "ARN") {
        return match expand(template, call).filter(|v| !v.is_empty()) {
            Some(arn) if arn.starts_with("arn:") => permission(arn, None),
            _ => permission("*".to_owned(), None),
        };
    }
    let types = TABLES
        .actions
        .get(&grant.action)
        .cloned()
        .unwrap_or_default();
    // The ARNs the event itself names, when one is of a resource type of the action.
    for arn in event_arns(call) {
        if types.iter().any(|(_, format)| arn_matches(format, &arn)) {
            return permission(arn, None);
        }
    }
    for (_, format) in &types {
        if let Some(arn) = fill(format, &grant.templates, call) {
            if arn.contains("${") {
                continue;
            }
            return permission(arn, None);
        }
    }
    permission("*".to_owned(), None)
}

/// ARNs in `resources[]`.
fn event_arns(call: &Call<'_>) -> Vec<String> {
    call.resources
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            r.get("ARN")
                .or_else(|| r.get("arn"))
                .and_then(Value::as_str)
        })
        .map(str::to_owned)
        .collect()
}

/// Whether `arn` has the shape of `format` (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`);
/// each format's pattern is compiled once.
fn arn_matches(format: &str, arn: &str) -> bool {
    compiled(&format!("arn format {format}"), || arn_pattern(format))
        .is_some_and(|r| r.is_match(arn))
}

/// The regular expression `build` makes, made once per `key`: the same formats and templates
/// come back with every call.
fn compiled(key: &str, build: impl FnOnce() -> Option<Regex>) -> Option<Regex> {
    type Cache = std::sync::Mutex<std::collections::HashMap<String, Option<Regex>>>;
    static COMPILED: LazyLock<Cache> = LazyLock::new(Default::default);
    let mut cache = COMPILED.lock().ok()?;
    cache.entry(key.to_owned()).or_insert_with(build).clone()
}

/// The pattern of ARNs of `format`.
fn arn_pattern(format: &str) -> Option<Regex> {
    let mut pattern = String::from("^");
    let mut rest = format;
    while let Some(start) = rest.find("${") {
        pattern.push_str(&regex::escape(&rest[..start]));
        let end = rest[start..].find('}')?;
        let var = &rest[start + 2..start + end];
        // Only the last variable of a path may hold slashes (an object key).
        pattern.push_str(if start + end + 1 == rest.len() || var == "ObjectName" {
            ".+"
        } else {
            "[^:/]*"
        });
        rest = &rest[start + end + 1..];
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    Regex::new(&pattern).ok()
}

/// `text` with each `${Var}` replaced: the event's `Partition`, `Region` and `Account`, and
/// any other by `other`; `None` as soon as one has no value.
fn substitute(
    text: &str,
    call: &Call<'_>,
    other: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')?;
        out.push_str(&match &rest[start + 2..start + end] {
            "Partition" => partition(call.region).to_owned(),
            "Region" => call.region.to_owned(),
            "Account" => call.account.to_owned(),
            name => other(name)?,
        });
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// `format` (an ARN format of the Service Authorization Reference) with every variable filled
/// from `templates` (over the request); `None` if one stays unknown.
fn fill(format: &str, templates: &[(String, String)], call: &Call<'_>) -> Option<String> {
    substitute(format, call, |var| {
        let template = templates.iter().find(|(v, _)| v == var).map(|(_, t)| t)?;
        expand(template, call).filter(|value| !value.is_empty() && value != "*")
    })
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A template of iam-dataset's map over the request: `${Path.To[].Param}`,
/// `%%regex%VALUE%/RE/g%%` (the first group), `%%iftruthy%VALUE%THEN%ELSE%%`,
/// `%%iftemplatematch%VALUE%%`. `None` when a parameter is missing.
fn expand(template: &str, call: &Call<'_>) -> Option<String> {
    if let Some(body) = template
        .strip_prefix("%%")
        .and_then(|t| t.strip_suffix("%%"))
    {
        let (kind, rest) = body.split_once('%')?;
        return match kind {
            "regex" => {
                let (value, pattern) = rest.split_once("%/")?;
                let pattern = pattern.strip_suffix("/g").unwrap_or(pattern);
                let value = expand(value, call)?;
                let pattern = pattern.replace("\\\\", "\\");
                let regex = compiled(&format!("template {pattern}"), || Regex::new(&pattern).ok())?;
                regex
                    .captures(&value)
                    .and_then(|c| c.get(1))
                    .map(|m| m.as_str().to_owned())
            }
            "iftruthy" => {
                let mut parts = rest.splitn(3, '%');
                let (value, then, otherwise) = (parts.next()?, parts.next()?, parts.next()?);
                match expand(value, call) {
                    Some(v) if !v.is_empty() => expand(then, call),
                    _ => expand(otherwise.trim_end_matches('%'), call),
                }
            }
            "iftemplatematch" => expand(rest, call),
            _ => None,
        };
    }
    substitute(template, call, |path| parameter(call.request?, path))
}

/// A request parameter by the SDK's path as text (see [`lookup`]).
fn parameter(request: &Value, path: &str) -> Option<String> {
    match lookup(request, path)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A request parameter by the SDK's path (`IamInstanceProfile.Arn`, `Bucket`,
/// `Statements[].Statement`): CloudTrail writes the same names in lower camel case, and S3's
/// with `Name` (`bucketName`); of a list, the first item.
fn lookup<'v>(request: &'v Value, path: &str) -> Option<&'v Value> {
    // S3 logs its headers by their names: the SDK's CopySource is `x-amz-copy-source`.
    let header = match path {
        "CopySource" => Some("x-amz-copy-source"),
        "Tagging" => Some("x-amz-tagging"),
        "ACL" => Some("x-amz-acl"),
        _ => None,
    };
    if let Some(header) = header {
        return request.get(header);
    }
    let mut value = request;
    for step in path.split('.') {
        let step = step.trim_end_matches("[]");
        let object = value.as_object()?;
        let wanted = step.to_lowercase();
        value = object
            .iter()
            .find(|(k, _)| k.to_lowercase() == wanted)
            .or_else(|| {
                object
                    .iter()
                    .find(|(k, _)| k.to_lowercase() == format!("{wanted}name"))
            })
            .map(|(_, v)| v)?;
        if let Some(first) = value.as_array().and_then(|a| a.first()) {
            value = first;
        }
    }
    (!value.is_null()).then_some(value)
}

/// The role an instance profile hands to EC2 (RunInstances, AssociateIamInstanceProfile):
/// CloudTrail names the profile, not its role. A profile made by the console or CloudFormation
/// has its role's name, which is assumed here and said.
fn instance_profile_role(call: &Call<'_>) -> Option<(String, String)> {
    let profile = call.request?.get("iamInstanceProfile")?;
    let name = profile
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            profile
                .get("arn")
                .and_then(Value::as_str)
                .and_then(|arn| arn.rsplit('/').next())
                .map(str::to_owned)
        })?;
    let account = profile
        .get("arn")
        .and_then(Value::as_str)
        .and_then(|arn| arn.split(':').nth(4))
        .filter(|a| !a.is_empty())
        .unwrap_or(call.account);
    Some((
        format!("arn:{}:iam::{account}:role/{name}", partition(call.region)),
        format!(
            "the role of instance profile {name}, assumed to share its name (CloudTrail names the profile only)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn needed(source: &str, name: &str, request: Value, resources: Value) -> Vec<(String, String)> {
        let call = Call {
            event_source: source,
            event_name: name,
            request: Some(&request),
            resources: Some(&resources),
            account: "111122223333",
            region: "us-east-1",
        };
        match permissions(&call) {
            Needed::Permissions(p) => p.into_iter().map(|p| (p.action, p.resource)).collect(),
            other => vec![(format!("{other:?}"), String::new())],
        }
    }

    fn pair(action: &str, resource: &str) -> (String, String) {
        (action.to_owned(), resource.to_owned())
    }

    #[test]
    fn api_version_suffixes_are_not_part_of_the_action() {
        assert_eq!(
            operation("UpdateFunctionCode20150331v2"),
            "UpdateFunctionCode"
        );
        assert_eq!(operation("CreateFunction20150331"), "CreateFunction");
        assert_eq!(operation("GetObject"), "GetObject");
        assert_eq!(
            operation("ListDistributions2020_05_31"),
            "ListDistributions"
        );
    }

    #[test]
    fn s3_operations_map_to_their_actions_and_objects() {
        let object = json!([{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::logs/a/b.txt"},
                             {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::logs"}]);
        let request = json!({"bucketName": "logs", "key": "a/b.txt"});
        assert_eq!(
            needed(
                "s3.amazonaws.com",
                "HeadObject",
                request.clone(),
                object.clone()
            ),
            [pair("s3:GetObject", "arn:aws:s3:::logs/a/b.txt")]
        );
        assert_eq!(
            needed(
                "s3.amazonaws.com",
                "ListObjectsV2",
                json!({"bucketName": "logs"}),
                json!([])
            ),
            [pair("s3:ListBucket", "arn:aws:s3:::logs")]
        );
        assert_eq!(
            needed(
                "s3.amazonaws.com",
                "UploadPart",
                request.clone(),
                object.clone()
            ),
            [pair("s3:PutObject", "arn:aws:s3:::logs/a/b.txt")]
        );
        let put_replication = needed(
            "s3.amazonaws.com",
            "PutBucketReplication",
            json!({"bucketName": "logs", "ReplicationConfiguration": {"Role": "arn:aws:iam::111122223333:role/replicator"}}),
            json!([]),
        );
        assert!(
            put_replication.contains(&pair("s3:PutReplicationConfiguration", "arn:aws:s3:::logs")),
            "{put_replication:?}"
        );
    }

    #[test]
    fn calls_that_need_nothing_and_calls_nobody_knows() {
        let call = Call {
            event_source: "sts.amazonaws.com",
            event_name: "GetCallerIdentity",
            request: None,
            resources: None,
            account: "111122223333",
            region: "us-east-1",
        };
        assert_eq!(permissions(&call), Needed::Nothing);
        let unknown = Call {
            event_name: "NoSuchCall",
            ..call
        };
        assert_eq!(permissions(&unknown), Needed::Unknown);
    }

    #[test]
    fn arn_formats_match_arns_of_their_shape() {
        let object = "arn:${Partition}:s3:::${BucketName}/${ObjectName}";
        assert!(arn_matches(object, "arn:aws:s3:::b/k/with/slashes"));
        assert!(!arn_matches(object, "arn:aws:s3:::b"));
        let function = "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}";
        assert!(arn_matches(
            function,
            "arn:aws:lambda:us-east-1:111122223333:function:f"
        ));
    }
}
