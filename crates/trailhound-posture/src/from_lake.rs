//! The same facts reconstructed from CloudTrail's own events, for users who have the logs but
//! no API access (an auditor's copy): `CreateTrail`, `UpdateTrail`, `StartLogging`,
//! `PutEventSelectors`, `PutBucketPolicy`, `PutBucketVersioning`… replayed in time order.
//!
//! A fact is known when an event set it, or when the resource was created inside the logs'
//! window and nothing changed the default since; otherwise it is unknown ("not visible in the
//! logs"). Facts the logs never carry (the time of the last delivery, whether a subscription
//! was confirmed) are unknown, so their checks say so.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::facts::{
    AccountFacts, Alarm, Bucket, Fact, Key, LifecycleRule, LogGroup, MetricFilterFact, Origin,
    PublicAccessBlock, Selectors, Status, Topic, TrailFacts, Versioning,
};
use crate::gather::{log_group_name, selectors};

/// The event names the reconstruction reads.
pub const EVENT_NAMES: [&str; 31] = [
    "CreateTrail",
    "UpdateTrail",
    "DeleteTrail",
    "StartLogging",
    "StopLogging",
    "PutEventSelectors",
    "PutInsightSelectors",
    "AddTags",
    "RemoveTags",
    "CreateBucket",
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketVersioning",
    "PutBucketPublicAccessBlock",
    "DeleteBucketPublicAccessBlock",
    "PutBucketEncryption",
    "DeleteBucketEncryption",
    "PutBucketLogging",
    "PutBucketLifecycle",
    "DeleteBucketLifecycle",
    "PutBucketAcl",
    "EnableKeyRotation",
    "DisableKeyRotation",
    "CreateLogGroup",
    "DeleteLogGroup",
    "PutRetentionPolicy",
    "DeleteRetentionPolicy",
    "PutMetricFilter",
    "DeleteMetricFilter",
    "PutMetricAlarm",
    "Subscribe",
];

/// The SQL that selects those events, successful ones only, oldest first, from the lake's
/// `events` table (DataFusion dialect).
pub fn events_sql() -> String {
    let names: Vec<String> = EVENT_NAMES.iter().map(|n| format!("'{n}'")).collect();
    format!(
        "SELECT eventJson FROM events WHERE \"eventName\" IN ({}) AND \"errorCode\" IS NULL ORDER BY \"eventTime\", \"eventID\"",
        names.join(", ")
    )
}

const NOT_IN_LOGS: &str = "not visible in the logs (set before them, or never)";

/// A fact from an optional reconstructed value.
fn seen<T: Clone>(value: &Option<T>) -> Fact<T> {
    match value {
        Some(value) => Fact::Known(value.clone()),
        None => Fact::Unknown(NOT_IN_LOGS.to_owned()),
    }
}

#[derive(Default)]
struct TrailState {
    arn: String,
    region: String,
    account: String,
    /// DescribeTrails-shaped settings, from Create/UpdateTrail's answers.
    settings: Map<String, Value>,
    created: bool,
    logging: Option<bool>,
    stopped_at: Option<String>,
    selectors: Option<Selectors>,
    insights: Option<Vec<String>>,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Default)]
struct BucketState {
    created: bool,
    region: Option<String>,
    versioning: Option<Versioning>,
    policy: Option<Option<Value>>,
    public_grants: Option<Vec<String>>,
    public_access_block: Option<Option<PublicAccessBlock>>,
    encryption: Option<Option<String>>,
    access_logging: Option<Option<String>>,
    lifecycle: Option<Vec<LifecycleRule>>,
}

#[derive(Default)]
struct GroupState {
    exists: Option<bool>,
    retention: Option<Option<u32>>,
    filters: BTreeMap<String, MetricFilterFact>,
    /// The filters are complete only when the group was created in the window.
    complete: bool,
}

/// Everything replayed so far.
#[derive(Default)]
pub struct Replay {
    account: Option<String>,
    trails: BTreeMap<String, TrailState>,
    buckets: BTreeMap<String, BucketState>,
    key_rotation: BTreeMap<String, bool>,
    groups: BTreeMap<String, GroupState>,
    alarms: BTreeMap<String, (String, String, Vec<String>)>,
    subscriptions: BTreeMap<String, usize>,
    regions: Vec<String>,
}

/// `name` → `Name`, recursively: CloudTrail logs request and response members in
/// lower camel case, the APIs answer in upper.
fn upper_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = chars
                        .next()
                        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                        .unwrap_or_default();
                    (key, upper_keys(v))
                })
                .collect(),
        ),
        Value::Array(list) => Value::Array(list.iter().map(upper_keys).collect()),
        other => other.clone(),
    }
}

/// One or many: S3 logs a single `Rule` or `Grant` as an object, several as a list.
fn each(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn truth(value: &Value, pointer: &str) -> bool {
    match value.pointer(pointer) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

impl Replay {
    /// Applies one event (its JSON text); events must come oldest first. Events that are
    /// not JSON or not about the trail are ignored.
    pub fn apply(&mut self, record: &str) {
        let Ok(event) = serde_json::from_str::<Value>(record) else {
            return;
        };
        if event.get("errorCode").is_some_and(|e| !e.is_null()) {
            return;
        }
        let name = text(&event, "/eventName").unwrap_or_default();
        let region = text(&event, "/awsRegion").unwrap_or_default();
        let account = text(&event, "/recipientAccountId")
            .or_else(|| text(&event, "/userIdentity/accountId"))
            .unwrap_or_default();
        if self.account.is_none() && !account.is_empty() {
            self.account = Some(account.clone());
        }
        if !region.is_empty() && !self.regions.contains(&region) {
            self.regions.push(region.clone());
        }
        let request = event
            .get("requestParameters")
            .cloned()
            .unwrap_or(Value::Null);
        let response = event
            .get("responseElements")
            .cloned()
            .unwrap_or(Value::Null);
        let at = text(&event, "/eventTime");
        match name.as_str() {
            "CreateTrail" | "UpdateTrail" => {
                self.trail_settings(
                    &request,
                    &response,
                    &region,
                    &account,
                    name == "CreateTrail",
                );
            }
            "DeleteTrail" => {
                if let Some(key) =
                    self.trail_key(text(&request, "/name").as_deref(), &region, &account)
                {
                    self.trails.remove(&key);
                }
            }
            "StartLogging" | "StopLogging" => {
                let key = self.trail_entry(text(&request, "/name").as_deref(), &region, &account);
                if let Some(trail) = key.and_then(|k| self.trails.get_mut(&k)) {
                    trail.logging = Some(name == "StartLogging");
                    trail.stopped_at = if name == "StopLogging" { at } else { None };
                }
            }
            "PutEventSelectors" => {
                let key =
                    self.trail_entry(text(&request, "/trailName").as_deref(), &region, &account);
                if let Some(trail) = key.and_then(|k| self.trails.get_mut(&k)) {
                    trail.selectors = Some(selectors(&upper_keys(&request), true));
                }
            }
            "PutInsightSelectors" => {
                let key =
                    self.trail_entry(text(&request, "/trailName").as_deref(), &region, &account);
                if let Some(trail) = key.and_then(|k| self.trails.get_mut(&k)) {
                    trail.insights = Some(
                        each(request.get("insightSelectors"))
                            .iter()
                            .filter_map(|s| text(s, "/insightType"))
                            .collect(),
                    );
                }
            }
            "AddTags" | "RemoveTags" => {
                let key =
                    self.trail_entry(text(&request, "/resourceId").as_deref(), &region, &account);
                if let Some(trail) = key.and_then(|k| self.trails.get_mut(&k))
                    && let Some(tags) = &mut trail.tags
                {
                    for tag in each(request.get("tagsList")) {
                        let key = text(tag, "/key").unwrap_or_default();
                        if name == "AddTags" {
                            tags.insert(key, text(tag, "/value").unwrap_or_default());
                        } else {
                            tags.remove(&key);
                        }
                    }
                }
            }
            _ if event.get("eventSource").and_then(Value::as_str) == Some("s3.amazonaws.com") => {
                self.bucket_event(&name, &request, &region);
            }
            "EnableKeyRotation" | "DisableKeyRotation" => {
                if let Some(key) = text(&request, "/keyId") {
                    self.key_rotation.insert(key, name == "EnableKeyRotation");
                }
            }
            _ => self.monitoring_event(&name, &request),
        }
    }

    /// The map key of a trail named by name or ARN, if known.
    fn trail_key(&self, name: Option<&str>, region: &str, account: &str) -> Option<String> {
        let name = name?;
        if name.starts_with("arn:") {
            return self.trails.contains_key(name).then(|| name.to_owned());
        }
        let arn = format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}");
        if self.trails.contains_key(&arn) {
            return Some(arn);
        }
        self.trails
            .iter()
            .find(|(arn, _)| arn.rsplit('/').next() == Some(name))
            .map(|(arn, _)| arn.clone())
    }

    /// Like [`Replay::trail_key`], adding a trail first seen here (created before the logs).
    fn trail_entry(&mut self, name: Option<&str>, region: &str, account: &str) -> Option<String> {
        if let Some(key) = self.trail_key(name, region, account) {
            return Some(key);
        }
        let name = name?;
        let arn = if name.starts_with("arn:") {
            name.to_owned()
        } else {
            format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}")
        };
        self.trails.insert(
            arn.clone(),
            TrailState {
                arn: arn.clone(),
                region: region.to_owned(),
                account: account.to_owned(),
                ..TrailState::default()
            },
        );
        Some(arn)
    }

    fn trail_settings(
        &mut self,
        request: &Value,
        response: &Value,
        region: &str,
        account: &str,
        created: bool,
    ) {
        // The answer holds the trail's whole configuration after the call; the request
        // only what was asked.
        let answer = if response.is_object() {
            upper_keys(response)
        } else {
            upper_keys(request)
        };
        let arn = text(&answer, "/TrailARN");
        let name = text(&answer, "/Name").or_else(|| text(request, "/name"));
        let key = match arn.as_deref().or(name.as_deref()) {
            Some(id) => self.trail_entry(Some(id), region, account),
            None => None,
        };
        let Some(trail) = key.and_then(|k| self.trails.get_mut(&k)) else {
            return;
        };
        if created {
            *trail = TrailState {
                arn: trail.arn.clone(),
                region: region.to_owned(),
                account: account.to_owned(),
                created: true,
                logging: Some(false),
                // A new trail records every management event and has no Insights.
                selectors: Some(selectors(&Value::Null, false)),
                insights: Some(Vec::new()),
                tags: Some(
                    each(request.get("tagsList"))
                        .iter()
                        .map(|t| {
                            (
                                text(t, "/key").unwrap_or_default(),
                                text(t, "/value").unwrap_or_default(),
                            )
                        })
                        .collect(),
                ),
                ..TrailState::default()
            };
        }
        if let Value::Object(map) = answer {
            for (key, value) in map {
                trail.settings.insert(key, value);
            }
        }
        // The request says "enable…"; the answer "…Enabled".
        if let Some(on) = request
            .get("enableLogFileValidation")
            .and_then(Value::as_bool)
        {
            trail
                .settings
                .insert("LogFileValidationEnabled".to_owned(), Value::Bool(on));
        }
    }

    fn bucket_event(&mut self, name: &str, request: &Value, region: &str) {
        let Some(bucket) = text(request, "/bucketName") else {
            return;
        };
        let state = self.buckets.entry(bucket).or_default();
        match name {
            "CreateBucket" => {
                *state = BucketState {
                    created: true,
                    region: Some(region.to_owned()),
                    versioning: Some(Versioning::default()),
                    policy: Some(None),
                    public_grants: Some(Vec::new()),
                    public_access_block: Some(None),
                    encryption: Some(None),
                    access_logging: Some(None),
                    lifecycle: Some(Vec::new()),
                };
            }
            "PutBucketPolicy" => {
                let policy = match request.get("bucketPolicy") {
                    Some(Value::String(text)) => serde_json::from_str(text).ok(),
                    Some(policy @ Value::Object(_)) => Some(policy.clone()),
                    _ => None,
                };
                state.policy = policy.map(Some);
            }
            "DeleteBucketPolicy" => state.policy = Some(None),
            "PutBucketVersioning" => {
                state.versioning = Some(Versioning {
                    enabled: text(request, "/VersioningConfiguration/Status").as_deref()
                        == Some("Enabled"),
                    mfa_delete: text(request, "/VersioningConfiguration/MfaDelete").as_deref()
                        == Some("Enabled"),
                });
            }
            "PutBucketPublicAccessBlock" => {
                let c = "/PublicAccessBlockConfiguration";
                state.public_access_block = Some(Some(PublicAccessBlock {
                    block_public_acls: truth(request, &format!("{c}/BlockPublicAcls")),
                    ignore_public_acls: truth(request, &format!("{c}/IgnorePublicAcls")),
                    block_public_policy: truth(request, &format!("{c}/BlockPublicPolicy")),
                    restrict_public_buckets: truth(request, &format!("{c}/RestrictPublicBuckets")),
                }));
            }
            "DeleteBucketPublicAccessBlock" => state.public_access_block = Some(None),
            "PutBucketEncryption" => {
                let rules = each(request.pointer("/ServerSideEncryptionConfiguration/Rule"));
                let algorithm = rules
                    .iter()
                    .find_map(|r| text(r, "/ApplyServerSideEncryptionByDefault/SSEAlgorithm"));
                // Some events leave the configuration out: the fact is then unknown.
                state.encryption = algorithm.map(Some);
            }
            "DeleteBucketEncryption" => state.encryption = Some(None),
            "PutBucketLogging" => {
                state.access_logging = Some(text(
                    request,
                    "/BucketLoggingStatus/LoggingEnabled/TargetBucket",
                ));
            }
            "PutBucketLifecycle" => {
                let rules = each(request.pointer("/LifecycleConfiguration/Rule"));
                state.lifecycle = Some(
                    rules
                        .iter()
                        .map(|r| LifecycleRule {
                            id: text(r, "/ID").unwrap_or_default(),
                            enabled: text(r, "/Status").as_deref() == Some("Enabled"),
                            transition_days: each(r.get("Transition"))
                                .first()
                                .and_then(|t| text(t, "/Days")?.parse().ok()),
                            storage_class: each(r.get("Transition"))
                                .first()
                                .and_then(|t| text(t, "/StorageClass")),
                            expiration_days: text(r, "/Expiration/Days")
                                .and_then(|d| d.parse().ok()),
                        })
                        .collect(),
                );
            }
            "DeleteBucketLifecycle" => state.lifecycle = Some(Vec::new()),
            "PutBucketAcl" => {
                let grants = each(request.pointer("/AccessControlPolicy/AccessControlList/Grant"));
                state.public_grants = Some(
                    grants
                        .iter()
                        .filter_map(|g| {
                            let group = text(g, "/Grantee/URI")?.rsplit('/').next()?.to_owned();
                            (group == "AllUsers" || group == "AuthenticatedUsers").then(|| {
                                format!("{group}:{}", text(g, "/Permission").unwrap_or_default())
                            })
                        })
                        .collect(),
                );
            }
            _ => {}
        }
    }

    fn monitoring_event(&mut self, name: &str, request: &Value) {
        match name {
            "CreateLogGroup"
            | "DeleteLogGroup"
            | "PutRetentionPolicy"
            | "DeleteRetentionPolicy"
            | "PutMetricFilter"
            | "DeleteMetricFilter" => {
                let Some(group) = text(request, "/logGroupName") else {
                    return;
                };
                let state = self.groups.entry(group).or_default();
                match name {
                    "CreateLogGroup" => {
                        *state = GroupState {
                            exists: Some(true),
                            retention: Some(None),
                            filters: BTreeMap::new(),
                            complete: true,
                        };
                    }
                    "DeleteLogGroup" => {
                        *state = GroupState {
                            exists: Some(false),
                            complete: true,
                            ..GroupState::default()
                        };
                    }
                    "PutRetentionPolicy" => {
                        state.retention =
                            Some(text(request, "/retentionInDays").and_then(|d| d.parse().ok()));
                    }
                    "DeleteRetentionPolicy" => state.retention = Some(None),
                    "PutMetricFilter" => {
                        let filter = text(request, "/filterName").unwrap_or_default();
                        let metrics = each(request.get("metricTransformations"))
                            .iter()
                            .map(|m| {
                                (
                                    text(m, "/metricNamespace").unwrap_or_default(),
                                    text(m, "/metricName").unwrap_or_default(),
                                )
                            })
                            .collect();
                        state.filters.insert(
                            filter.clone(),
                            MetricFilterFact {
                                name: filter,
                                pattern: text(request, "/filterPattern").unwrap_or_default(),
                                metrics,
                            },
                        );
                    }
                    _ => {
                        if let Some(filter) = text(request, "/filterName") {
                            state.filters.remove(&filter);
                        }
                    }
                }
            }
            "PutMetricAlarm" => {
                if let Some(alarm) = text(request, "/alarmName") {
                    let actions = each(request.get("alarmActions"))
                        .iter()
                        .filter_map(|a| a.as_str().map(str::to_owned))
                        .collect();
                    self.alarms.insert(
                        alarm,
                        (
                            text(request, "/namespace").unwrap_or_default(),
                            text(request, "/metricName").unwrap_or_default(),
                            actions,
                        ),
                    );
                }
            }
            "Subscribe" => {
                if let Some(topic) = text(request, "/topicArn") {
                    *self.subscriptions.entry(topic).or_default() += 1;
                }
            }
            _ => {}
        }
    }

    /// The facts the events showed.
    pub fn facts(&self) -> AccountFacts {
        let topic = |arn: &str| -> Fact<Topic> {
            match self.subscriptions.get(arn) {
                // Whether anyone confirmed is not in the logs.
                Some(_) => Fact::Unknown(
                    "the logs show a subscription, not whether it was confirmed".to_owned(),
                ),
                None => Fact::Unknown(NOT_IN_LOGS.to_owned()),
            }
        };
        let trails = self
            .trails
            .values()
            .map(|t| self.trail_facts(t, &topic))
            .collect();
        let alarms = Fact::Known(
            self.alarms
                .iter()
                .map(|(name, (namespace, metric, actions))| Alarm {
                    name: name.clone(),
                    namespace: namespace.clone(),
                    metric: metric.clone(),
                    topics: actions
                        .iter()
                        .filter(|a| a.starts_with("arn:aws:sns:"))
                        .map(|a| topic(a))
                        .collect(),
                })
                .collect(),
        );
        AccountFacts {
            origin: Origin::Lake,
            account: seen(&self.account),
            regions: self.regions.clone(),
            trails,
            alarms,
        }
    }

    fn trail_facts(&self, t: &TrailState, topic: &dyn Fn(&str) -> Fact<Topic>) -> TrailFacts {
        let settings = Value::Object(t.settings.clone());
        let flag = |key: &str| match settings.get(key) {
            Some(Value::Bool(b)) => Fact::Known(*b),
            // A trail created in the window has the defaults for what it did not set.
            _ if t.created => Fact::Known(false),
            _ => Fact::Unknown(NOT_IN_LOGS.to_owned()),
        };
        let optional = |key: &str| match text(&settings, &format!("/{key}")) {
            Some(value) => Fact::Known(Some(value)),
            None if t.created => Fact::Known(None),
            None => Fact::Unknown(NOT_IN_LOGS.to_owned()),
        };
        let bucket_name = text(&settings, "/S3BucketName").unwrap_or_default();
        let bucket = match self.buckets.get(&bucket_name) {
            Some(b) => Bucket {
                name: bucket_name.clone(),
                region: seen(&b.region),
                versioning: seen(&b.versioning),
                policy: seen(&b.policy),
                public_grants: seen(&b.public_grants),
                public_access_block: seen(&b.public_access_block),
                encryption: seen(&b.encryption),
                access_logging: seen(&b.access_logging),
                lifecycle: seen(&b.lifecycle),
                object_lock: if b.created {
                    Fact::Known(false)
                } else {
                    Fact::Unknown(NOT_IN_LOGS.to_owned())
                },
            },
            None => Bucket::unknown(&bucket_name, NOT_IN_LOGS),
        };
        let kms_key = optional("KmsKeyId");
        let key = kms_key.known().cloned().flatten().map(|id| Key {
            rotation: self
                .key_rotation
                .iter()
                .find(|(k, _)| id.ends_with(k.as_str()) || k.ends_with(id.as_str()))
                .map_or(Fact::Unknown(NOT_IN_LOGS.to_owned()), |(_, on)| {
                    Fact::Known(*on)
                }),
            policy: Fact::Unknown(NOT_IN_LOGS.to_owned()),
            id,
        });
        let log_group_arn = optional("CloudWatchLogsLogGroupArn");
        let log_group = log_group_arn.known().cloned().flatten().map(|arn| {
            let name = log_group_name(&arn).to_owned();
            match self.groups.get(&name) {
                Some(g) => LogGroup {
                    exists: seen(&g.exists),
                    retention_days: seen(&g.retention),
                    metric_filters: if g.complete || !g.filters.is_empty() {
                        Fact::Known(g.filters.values().cloned().collect())
                    } else {
                        Fact::Unknown(NOT_IN_LOGS.to_owned())
                    },
                    name,
                },
                None => LogGroup {
                    name,
                    exists: Fact::Unknown(NOT_IN_LOGS.to_owned()),
                    retention_days: Fact::Unknown(NOT_IN_LOGS.to_owned()),
                    metric_filters: Fact::Unknown(NOT_IN_LOGS.to_owned()),
                },
            }
        });
        let sns_topic = optional("SnsTopicARN");
        let topic_fact = sns_topic.known().cloned().flatten().map(|arn| topic(&arn));
        let status = match t.logging {
            Some(logging) => Fact::Known(Status {
                logging,
                stopped_at: t.stopped_at.clone(),
                ..Status::default()
            }),
            None => Fact::Unknown(NOT_IN_LOGS.to_owned()),
        };
        TrailFacts {
            name: t.arn.rsplit('/').next().unwrap_or_default().to_owned(),
            arn: t.arn.clone(),
            home_region: text(&settings, "/HomeRegion").unwrap_or_else(|| t.region.clone()),
            owner: t.account.clone(),
            multi_region: flag("IsMultiRegionTrail"),
            organization: flag("IsOrganizationTrail"),
            global_services: match settings.get("IncludeGlobalServiceEvents") {
                Some(Value::Bool(b)) => Fact::Known(*b),
                _ if t.created => Fact::Known(true),
                _ => Fact::Unknown(NOT_IN_LOGS.to_owned()),
            },
            log_file_validation: flag("LogFileValidationEnabled"),
            kms_key,
            prefix: text(&settings, "/S3KeyPrefix"),
            bucket_name,
            sns_topic,
            log_group_arn,
            status,
            selectors: seen(&t.selectors),
            insights: seen(&t.insights),
            tags: match &t.tags {
                Some(tags) => {
                    Fact::Known(tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                }
                None => Fact::Unknown(NOT_IN_LOGS.to_owned()),
            },
            bucket,
            key,
            log_group,
            topic: topic_fact,
        }
    }
}

/// The facts `records` (event JSON, oldest first) show.
pub fn reconstruct<'r>(records: impl IntoIterator<Item = &'r str>) -> AccountFacts {
    let mut replay = Replay::default();
    for record in records {
        replay.apply(record);
    }
    replay.facts()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, source: &str, request: Value, response: Value) -> String {
        serde_json::json!({
            "eventVersion": "1.09", "eventTime": "2024-07-01T00:00:00Z", "eventSource": source,
            "eventName": name, "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
            "requestParameters": request, "responseElements": response
        })
        .to_string()
    }

    #[test]
    fn a_trail_created_in_the_logs_is_known_in_full() {
        let arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
        let events = [
            event(
                "CreateBucket",
                "s3.amazonaws.com",
                serde_json::json!({"bucketName": "logs"}),
                Value::Null,
            ),
            event(
                "PutBucketVersioning",
                "s3.amazonaws.com",
                serde_json::json!({"bucketName": "logs", "VersioningConfiguration": {"Status": "Enabled"}}),
                Value::Null,
            ),
            event(
                "CreateTrail",
                "cloudtrail.amazonaws.com",
                serde_json::json!({"name": "main", "s3BucketName": "logs", "isMultiRegionTrail": true, "enableLogFileValidation": true}),
                serde_json::json!({"name": "main", "s3BucketName": "logs", "isMultiRegionTrail": true, "logFileValidationEnabled": true, "trailARN": arn}),
            ),
            event(
                "StartLogging",
                "cloudtrail.amazonaws.com",
                serde_json::json!({"name": arn}),
                Value::Null,
            ),
            event(
                "StopLogging",
                "cloudtrail.amazonaws.com",
                serde_json::json!({"name": "main"}),
                Value::Null,
            ),
        ];
        let facts = reconstruct(events.iter().map(String::as_str));
        assert_eq!(facts.origin, Origin::Lake);
        let trail = &facts.trails[0];
        assert_eq!(trail.arn, arn);
        assert_eq!(trail.multi_region, Fact::Known(true));
        assert_eq!(trail.log_file_validation, Fact::Known(true));
        assert_eq!(trail.kms_key, Fact::Known(None));
        assert_eq!(trail.status.known().map(|s| s.logging), Some(false));
        assert!(
            trail
                .selectors
                .known()
                .is_some_and(|s| s.management_read && s.management_write)
        );
        assert_eq!(
            trail.bucket.versioning.known().map(|v| v.enabled),
            Some(true)
        );
        assert_eq!(trail.bucket.policy, Fact::Known(None));
    }

    #[test]
    fn what_the_logs_never_show_is_unknown() {
        let events = [event(
            "StopLogging",
            "cloudtrail.amazonaws.com",
            serde_json::json!({"name": "old"}),
            Value::Null,
        )];
        let facts = reconstruct(events.iter().map(String::as_str));
        let trail = &facts.trails[0];
        assert_eq!(trail.status.known().map(|s| s.logging), Some(false));
        assert!(matches!(trail.multi_region, Fact::Unknown(_)));
        assert!(matches!(trail.bucket.versioning, Fact::Unknown(_)));
    }
}
