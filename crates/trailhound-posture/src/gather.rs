//! Reading the facts live: every trail the credentials can see in the regions asked for,
//! and its bucket, key, log group, topic and the account's alarms.
//!
//! A refused or unanswerable call makes its fact unknown and the rest goes on: a read-only
//! auditor role that may not read the bucket policy still gets every other verdict.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{self, Aws, CLOUDTRAIL, CLOUDWATCH, KMS, LOGS, SNS, STS, element, elements, text};
use crate::error::PostureError;
use crate::facts::{
    AccountFacts, Alarm, Bucket, Fact, Key, LifecycleRule, LogGroup, MetricFilterFact, Origin,
    PublicAccessBlock, Selectors, Status, Topic, TrailFacts, Versioning,
};

/// Reads the facts of every trail visible in `regions` (the connection's region when empty).
///
/// # Errors
///
/// When no region answers `DescribeTrails` at all: the credentials or endpoint are wrong,
/// and every verdict would be unknown.
pub fn gather(aws: &Aws, regions: &[String]) -> Result<AccountFacts, PostureError> {
    let regions = if regions.is_empty() {
        vec![aws.default_region().to_owned()]
    } else {
        regions.to_vec()
    };
    let account = fact(caller_account(aws));
    let mut seen = BTreeMap::new();
    let mut answered = 0;
    let mut last_error = None;
    for region in &regions {
        match aws.json(
            CLOUDTRAIL,
            region,
            "DescribeTrails",
            &json!({"includeShadowTrails": true}),
        ) {
            Ok(answer) => {
                answered += 1;
                for trail in array(&answer, "trailList") {
                    if let Some(arn) = string(trail, "TrailARN") {
                        seen.entry(arn).or_insert_with(|| trail.clone());
                    }
                }
            }
            Err(err) => {
                tracing::warn!(region = %region, error = %err, "DescribeTrails failed");
                last_error = Some(err);
            }
        }
    }
    if answered == 0
        && let Some(err) = last_error
    {
        return Err(err);
    }
    let mut topics = TopicCache::default();
    let trails = seen
        .values()
        .map(|trail| trail_facts(aws, trail, account.known().map(String::as_str), &mut topics))
        .collect();
    let alarms = alarms(aws, &regions, &mut topics);
    Ok(AccountFacts {
        origin: Origin::Live,
        account,
        regions,
        trails,
        alarms,
    })
}

/// A fact from a call's result, or unknown with the call's error.
fn fact<T>(result: Result<T, PostureError>) -> Fact<T> {
    match result {
        Ok(value) => Fact::Known(value),
        Err(err) => Fact::Unknown(err.to_string()),
    }
}

/// A fact that is `None` when the call says the thing is not configured.
fn optional<T>(result: Result<T, PostureError>) -> Fact<Option<T>> {
    match result {
        Ok(value) => Fact::Known(Some(value)),
        Err(PostureError::Refused(refusal)) if refusal.is_absent() => Fact::Known(None),
        Err(err) => Fact::Unknown(err.to_string()),
    }
}

fn string(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn array<'v>(value: &'v Value, key: &str) -> &'v [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn flag(value: &Value, key: &str) -> Fact<bool> {
    match value.get(key).and_then(Value::as_bool) {
        Some(flag) => Fact::Known(flag),
        None => Fact::Unknown(format!("the answer has no {key}")),
    }
}

#[derive(Deserialize)]
struct CallerIdentity {
    #[serde(rename = "Account")]
    account: String,
}

pub(crate) fn caller_account(aws: &Aws) -> Result<String, PostureError> {
    let identity: CallerIdentity =
        aws.query(STS, aws.default_region(), "GetCallerIdentity", &[])?;
    Ok(identity.account)
}

/// The region and account an ARN names.
fn arn_part(arn: &str, index: usize) -> Option<&str> {
    arn.split(':').nth(index).filter(|part| !part.is_empty())
}

fn trail_facts(
    aws: &Aws,
    trail: &Value,
    caller: Option<&str>,
    topics: &mut TopicCache,
) -> TrailFacts {
    let arn = string(trail, "TrailARN").unwrap_or_default();
    let name = string(trail, "Name").unwrap_or_else(|| arn.clone());
    let home_region = string(trail, "HomeRegion")
        .or_else(|| arn_part(&arn, 3).map(str::to_owned))
        .unwrap_or_else(|| aws.default_region().to_owned());
    let owner = arn_part(&arn, 4).unwrap_or_default().to_owned();
    let bucket_name = string(trail, "S3BucketName").unwrap_or_default();
    let kms_key = string(trail, "KmsKeyId");
    let sns_topic = string(trail, "SnsTopicARN");
    let log_group_arn = string(trail, "CloudWatchLogsLogGroupArn");
    let region = home_region.as_str();
    let status = fact(
        aws.json(CLOUDTRAIL, region, "GetTrailStatus", &json!({"Name": arn}))
            .map(|answer| status(&answer)),
    );
    let has_custom = trail
        .get("HasCustomEventSelectors")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let selectors = fact(
        aws.json(
            CLOUDTRAIL,
            region,
            "GetEventSelectors",
            &json!({"TrailName": arn}),
        )
        .map(|answer| selectors(&answer, has_custom)),
    );
    let insights = match aws.json(
        CLOUDTRAIL,
        region,
        "GetInsightSelectors",
        &json!({"TrailName": arn}),
    ) {
        Ok(answer) => Fact::Known(
            array(&answer, "InsightSelectors")
                .iter()
                .filter_map(|s| string(s, "InsightType"))
                .collect(),
        ),
        Err(PostureError::Refused(refusal))
            if refusal.is_absent() || refusal.code == "InsightNotEnabledException" =>
        {
            Fact::Known(Vec::new())
        }
        Err(err) => Fact::Unknown(err.to_string()),
    };
    let tags = fact(
        aws.json(
            CLOUDTRAIL,
            region,
            "ListTags",
            &json!({"ResourceIdList": [arn]}),
        )
        .map(|answer| {
            array(&answer, "ResourceTagList")
                .iter()
                .flat_map(|resource| array(resource, "TagsList"))
                .filter_map(|tag| {
                    Some((
                        string(tag, "Key")?,
                        string(tag, "Value").unwrap_or_default(),
                    ))
                })
                .collect()
        }),
    );
    // An organization trail seen from a member account: its bucket, key and log group
    // belong to the management (or logging) account, which alone can read them.
    let foreign = caller.is_some_and(|caller| !owner.is_empty() && owner != caller);
    let bucket = if bucket_name.is_empty() {
        Bucket::unknown("", "the trail names no bucket")
    } else if foreign {
        Bucket::unknown(
            &bucket_name,
            &format!(
                "an organization trail of account {owner}: run posture with that account's credentials to check its bucket"
            ),
        )
    } else {
        bucket(aws, &bucket_name)
    };
    let key = kms_key.as_deref().map(|id| key(aws, id, region));
    let log_group = log_group_arn
        .as_deref()
        .map(|arn| log_group(aws, arn, region));
    let topic = sns_topic.as_deref().map(|arn| topics.get(aws, arn));
    TrailFacts {
        name,
        home_region: home_region.clone(),
        owner,
        multi_region: flag(trail, "IsMultiRegionTrail"),
        organization: flag(trail, "IsOrganizationTrail"),
        global_services: flag(trail, "IncludeGlobalServiceEvents"),
        log_file_validation: flag(trail, "LogFileValidationEnabled"),
        kms_key: Fact::Known(kms_key),
        prefix: string(trail, "S3KeyPrefix"),
        bucket_name,
        sns_topic: Fact::Known(sns_topic),
        log_group_arn: Fact::Known(log_group_arn),
        status,
        selectors,
        insights,
        tags,
        bucket,
        key,
        log_group,
        topic,
        arn,
    }
}

/// A time CloudTrail gives as epoch seconds (JSON 1.1) or text, as RFC 3339.
fn time(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::Number(number) => {
            let seconds = number.as_f64()?;
            #[allow(clippy::cast_possible_truncation)]
            let at = chrono::DateTime::from_timestamp(seconds as i64, 0)?;
            Some(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        }
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        _ => None,
    }
}

fn status(answer: &Value) -> Status {
    Status {
        logging: answer
            .get("IsLogging")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        latest_delivery: time(answer, "LatestDeliveryTime"),
        latest_delivery_error: string(answer, "LatestDeliveryError"),
        latest_cloudwatch_delivery: time(answer, "LatestCloudWatchLogsDeliveryTime"),
        latest_cloudwatch_error: string(answer, "LatestCloudWatchLogsDeliveryError"),
        stopped_at: time(answer, "StopLoggingTime"),
    }
}

/// What the selectors record. A trail without custom selectors records every management
/// event and no data events (AWS's default; some servers answer it with empty lists).
pub(crate) fn selectors(answer: &Value, has_custom: bool) -> Selectors {
    let basic = array(answer, "EventSelectors");
    let advanced = array(answer, "AdvancedEventSelectors");
    let mut found = Selectors::default();
    if basic.is_empty() && advanced.is_empty() {
        if !has_custom {
            found.management_read = true;
            found.management_write = true;
        }
        return found;
    }
    for selector in basic {
        let rw = string(selector, "ReadWriteType").unwrap_or_else(|| "All".to_owned());
        let (read, write) = (rw != "WriteOnly", rw != "ReadOnly");
        if selector
            .get("IncludeManagementEvents")
            .and_then(Value::as_bool)
            .unwrap_or(true)
        {
            found.management_read |= read;
            found.management_write |= write;
            for source in array(selector, "ExcludeManagementEventSources") {
                if let Some(source) = source.as_str() {
                    found.excluded_sources.push(source.to_owned());
                }
            }
        }
        for resource in array(selector, "DataResources") {
            let every_bucket = array(resource, "Values").iter().any(|v| {
                v.as_str()
                    .is_some_and(|v| v == "arn:aws:s3" || v == "arn:aws:s3:::")
            });
            if string(resource, "Type").as_deref() == Some("AWS::S3::Object") && every_bucket {
                found.s3_object_read |= read;
                found.s3_object_write |= write;
            }
        }
    }
    for selector in advanced {
        found.advanced = true;
        let fields = array(selector, "FieldSelectors");
        let field = |name: &str| {
            fields
                .iter()
                .find(|f| string(f, "Field").as_deref() == Some(name))
        };
        let equals = |name: &str| -> Vec<String> {
            field(name)
                .map(|f| {
                    array(f, "Equals")
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let read_only = equals("readOnly");
        let (read, write) = match read_only.first().map(String::as_str) {
            Some("true") => (true, false),
            Some("false") => (false, true),
            _ => (true, true),
        };
        let category = equals("eventCategory");
        if category.iter().any(|c| c == "Management") {
            found.management_read |= read;
            found.management_write |= write;
            if let Some(f) = field("eventSource") {
                for source in array(f, "NotEquals") {
                    if let Some(source) = source.as_str() {
                        found.excluded_sources.push(source.to_owned());
                    }
                }
            }
        }
        // Every bucket: no ARN condition beside the type.
        let scoped = field("resources.ARN").is_some();
        if category.iter().any(|c| c == "Data")
            && equals("resources.type")
                .iter()
                .any(|t| t == "AWS::S3::Object")
            && !scoped
        {
            found.s3_object_read |= read;
            found.s3_object_write |= write;
        }
    }
    found
}

pub(crate) fn bucket(aws: &Aws, name: &str) -> Bucket {
    // The bucket's own region signs its calls; us-east-1 answers where a bucket is.
    let region = fact(
        aws.s3(
            http::Method::GET,
            "us-east-1",
            name,
            "location",
            &[],
            Vec::new(),
        )
        .map(|xml| match text(&xml, "LocationConstraint").as_deref() {
            None | Some("") => "us-east-1".to_owned(),
            Some("EU") => "eu-west-1".to_owned(),
            Some(region) => region.to_owned(),
        }),
    );
    let signing = region
        .known()
        .cloned()
        .unwrap_or_else(|| aws.default_region().to_owned());
    let get = |query: &str| aws.s3(http::Method::GET, &signing, name, query, &[], Vec::new());
    let versioning = fact(get("versioning").map(|xml| Versioning {
        enabled: text(&xml, "Status").as_deref() == Some("Enabled"),
        mfa_delete: text(&xml, "MfaDelete").as_deref() == Some("Enabled"),
    }));
    let policy = match optional(get("policy")) {
        Fact::Known(Some(text)) => match serde_json::from_str(&text) {
            Ok(policy) => Fact::Known(Some(policy)),
            Err(err) => Fact::Unknown(format!("the bucket policy is not JSON: {err}")),
        },
        Fact::Known(None) => Fact::Known(None),
        Fact::Unknown(reason) => Fact::Unknown(reason),
    };
    let public_grants = fact(get("acl").map(|xml| {
        elements(&xml, "Grant")
            .filter_map(|grant| {
                let uri = text(grant, "URI")?;
                let group = uri.rsplit('/').next()?.to_owned();
                let public = group == "AllUsers" || group == "AuthenticatedUsers";
                public.then(|| format!("{group}:{}", text(grant, "Permission").unwrap_or_default()))
            })
            .collect()
    }));
    let is_true = |xml: &str, name: &str| text(xml, name).as_deref() == Some("true");
    let public_access_block = optional(get("publicAccessBlock").map(|xml| PublicAccessBlock {
        block_public_acls: is_true(&xml, "BlockPublicAcls"),
        ignore_public_acls: is_true(&xml, "IgnorePublicAcls"),
        block_public_policy: is_true(&xml, "BlockPublicPolicy"),
        restrict_public_buckets: is_true(&xml, "RestrictPublicBuckets"),
    }));
    let encryption = match optional(get("encryption")) {
        Fact::Known(Some(xml)) => Fact::Known(text(&xml, "SSEAlgorithm")),
        Fact::Known(None) => Fact::Known(None),
        Fact::Unknown(reason) => Fact::Unknown(reason),
    };
    let access_logging = fact(get("logging").map(|xml| {
        element(&xml, "LoggingEnabled").and_then(|enabled| text(enabled, "TargetBucket"))
    }));
    let lifecycle = match optional(get("lifecycle")) {
        Fact::Known(Some(xml)) => Fact::Known(elements(&xml, "Rule").map(lifecycle_rule).collect()),
        Fact::Known(None) => Fact::Known(Vec::new()),
        Fact::Unknown(reason) => Fact::Unknown(reason),
    };
    let object_lock = match optional(get("object-lock")) {
        Fact::Known(Some(xml)) => {
            Fact::Known(text(&xml, "ObjectLockEnabled").as_deref() == Some("Enabled"))
        }
        Fact::Known(None) => Fact::Known(false),
        Fact::Unknown(reason) => Fact::Unknown(reason),
    };
    Bucket {
        name: name.to_owned(),
        region,
        versioning,
        policy,
        public_grants,
        public_access_block,
        encryption,
        access_logging,
        lifecycle,
        object_lock,
    }
}

fn lifecycle_rule(xml: &str) -> LifecycleRule {
    let days = |outer: &str| element(xml, outer).and_then(|e| text(e, "Days")?.parse().ok());
    LifecycleRule {
        id: text(xml, "ID").unwrap_or_default(),
        enabled: text(xml, "Status").as_deref() == Some("Enabled"),
        transition_days: days("Transition"),
        storage_class: element(xml, "Transition").and_then(|e| text(e, "StorageClass")),
        expiration_days: days("Expiration"),
    }
}

fn key(aws: &Aws, id: &str, trail_region: &str) -> Key {
    let region = arn_part(id, 3).unwrap_or(trail_region).to_owned();
    // An alias ARN does not name the key for GetKeyRotationStatus: DescribeKey does.
    let described = aws.json(KMS, &region, "DescribeKey", &json!({"KeyId": id}));
    let key_id = described
        .as_ref()
        .ok()
        .and_then(|d| d.get("KeyMetadata"))
        .and_then(|m| string(m, "Arn").or_else(|| string(m, "KeyId")))
        .unwrap_or_else(|| id.to_owned());
    let aws_managed = described
        .as_ref()
        .ok()
        .and_then(|d| d.get("KeyMetadata"))
        .and_then(|m| string(m, "KeyManager"))
        .is_some_and(|manager| manager == "AWS");
    let rotation = if aws_managed {
        // AWS rotates its own keys every year.
        Fact::Known(true)
    } else {
        fact(
            aws.json(
                KMS,
                &region,
                "GetKeyRotationStatus",
                &json!({"KeyId": key_id}),
            )
            .map(|answer| {
                answer
                    .get("KeyRotationEnabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            }),
        )
    };
    let policy = match aws.json(
        KMS,
        &region,
        "GetKeyPolicy",
        &json!({"KeyId": key_id, "PolicyName": "default"}),
    ) {
        Ok(answer) => match string(&answer, "Policy").map(|p| serde_json::from_str(&p)) {
            Some(Ok(policy)) => Fact::Known(policy),
            Some(Err(err)) => Fact::Unknown(format!("the key policy is not JSON: {err}")),
            None => Fact::Unknown("GetKeyPolicy gave no policy".to_owned()),
        },
        Err(err) => Fact::Unknown(err.to_string()),
    };
    Key {
        id: id.to_owned(),
        rotation,
        policy,
    }
}

/// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*` → NAME.
pub(crate) fn log_group_name(arn: &str) -> &str {
    arn.split(":log-group:")
        .nth(1)
        .map_or(arn, |rest| rest.strip_suffix(":*").unwrap_or(rest))
}

fn log_group(aws: &Aws, arn: &str, trail_region: &str) -> LogGroup {
    let name = log_group_name(arn).to_owned();
    let region = arn_part(arn, 3).unwrap_or(trail_region).to_owned();
    let described = aws.json(
        LOGS,
        &region,
        "DescribeLogGroups",
        &json!({"logGroupNamePrefix": name}),
    );
    let group = described.map(|answer| {
        array(&answer, "logGroups")
            .iter()
            .find(|g| string(g, "logGroupName").as_deref() == Some(name.as_str()))
            .cloned()
    });
    let (exists, retention_days) = match group {
        Ok(group) => (
            Fact::Known(group.is_some()),
            Fact::Known(
                group
                    .and_then(|g| g.get("retentionInDays").and_then(Value::as_u64))
                    .and_then(|days| u32::try_from(days).ok()),
            ),
        ),
        Err(err) => (
            Fact::Unknown(err.to_string()),
            Fact::Unknown(err.to_string()),
        ),
    };
    let metric_filters = fact(
        paged(
            aws,
            LOGS,
            &region,
            "DescribeMetricFilters",
            json!({"logGroupName": name}),
            "nextToken",
            "metricFilters",
        )
        .map(|filters| {
            filters
                .iter()
                .map(|f| MetricFilterFact {
                    name: string(f, "filterName").unwrap_or_default(),
                    pattern: string(f, "filterPattern").unwrap_or_default(),
                    metrics: array(f, "metricTransformations")
                        .iter()
                        .map(|m| {
                            (
                                string(m, "metricNamespace").unwrap_or_default(),
                                string(m, "metricName").unwrap_or_default(),
                            )
                        })
                        .collect(),
                })
                .collect()
        }),
    );
    LogGroup {
        name,
        exists,
        retention_days,
        metric_filters,
    }
}

/// Every item of a JSON 1.1 listing, following its page tokens.
fn paged(
    aws: &Aws,
    service: api::JsonService,
    region: &str,
    action: &str,
    mut request: Value,
    token: &str,
    items: &str,
) -> Result<Vec<Value>, PostureError> {
    let mut all = Vec::new();
    loop {
        let answer = aws.json(service, region, action, &request)?;
        all.extend(array(&answer, items).iter().cloned());
        match string(&answer, token) {
            Some(next) => request[token] = Value::String(next),
            None => return Ok(all),
        }
    }
}

/// SNS topics asked about once, however many trails and alarms name them.
#[derive(Default)]
struct TopicCache(HashMap<String, Fact<Topic>>);

#[derive(Deserialize)]
struct Members<T> {
    #[serde(rename = "member", default = "Vec::new")]
    member: Vec<T>,
}

impl<T> Default for Members<T> {
    fn default() -> Self {
        Members { member: Vec::new() }
    }
}

#[derive(Deserialize)]
struct Subscriptions {
    #[serde(rename = "Subscriptions", default)]
    subscriptions: Members<Subscription>,
    #[serde(rename = "NextToken", default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Subscription {
    #[serde(rename = "SubscriptionArn", default)]
    arn: String,
}

impl TopicCache {
    fn get(&mut self, aws: &Aws, arn: &str) -> Fact<Topic> {
        self.0
            .entry(arn.to_owned())
            .or_insert_with(|| topic(aws, arn))
            .clone()
    }
}

fn topic(aws: &Aws, arn: &str) -> Fact<Topic> {
    let region = arn_part(arn, 3).unwrap_or(aws.default_region()).to_owned();
    let mut confirmed = 0;
    let mut next: Option<String> = None;
    loop {
        let mut params = vec![("TopicArn", arn)];
        if let Some(token) = &next {
            params.push(("NextToken", token));
        }
        let page: Result<Subscriptions, _> =
            aws.query(SNS, &region, "ListSubscriptionsByTopic", &params);
        match page {
            Ok(page) => {
                confirmed += page
                    .subscriptions
                    .member
                    .iter()
                    .filter(|s| s.arn.starts_with("arn:"))
                    .count();
                match page.next.filter(|t| !t.is_empty()) {
                    Some(token) => next = Some(token),
                    None => break,
                }
            }
            Err(PostureError::Refused(refusal)) if refusal.is_absent() => {
                return Fact::Known(Topic {
                    arn: arn.to_owned(),
                    exists: false,
                    subscriptions: 0,
                });
            }
            Err(err) => return Fact::Unknown(err.to_string()),
        }
    }
    Fact::Known(Topic {
        arn: arn.to_owned(),
        exists: true,
        subscriptions: confirmed,
    })
}

#[derive(Deserialize)]
struct DescribeAlarms {
    #[serde(rename = "MetricAlarms", default)]
    alarms: Members<MetricAlarm>,
    #[serde(rename = "NextToken", default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct MetricAlarm {
    #[serde(rename = "AlarmName", default)]
    name: String,
    #[serde(rename = "Namespace", default)]
    namespace: String,
    #[serde(rename = "MetricName", default)]
    metric: String,
    #[serde(rename = "AlarmActions", default)]
    actions: Members<String>,
}

fn alarms(aws: &Aws, regions: &[String], topics: &mut TopicCache) -> Fact<Vec<Alarm>> {
    let mut all = Vec::new();
    for region in regions {
        let mut next: Option<String> = None;
        loop {
            let mut params = Vec::new();
            if let Some(token) = &next {
                params.push(("NextToken", token.as_str()));
            }
            let page: DescribeAlarms =
                match aws.query(CLOUDWATCH, region, "DescribeAlarms", &params) {
                    Ok(page) => page,
                    Err(err) => return Fact::Unknown(err.to_string()),
                };
            for alarm in page.alarms.member {
                let topics = alarm
                    .actions
                    .member
                    .iter()
                    .filter(|action| action.starts_with("arn:aws:sns:"))
                    .map(|arn| topics.get(aws, arn))
                    .collect();
                all.push(Alarm {
                    name: alarm.name,
                    namespace: alarm.namespace,
                    metric: alarm.metric,
                    topics,
                });
            }
            match page.next.filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token),
                None => break,
            }
        }
    }
    Fact::Known(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trail_without_custom_selectors_records_all_management_events() {
        let empty = json!({"EventSelectors": [], "AdvancedEventSelectors": []});
        let found = selectors(&empty, false);
        assert!(found.management_read && found.management_write);
        assert!(!found.s3_object_read);
    }

    #[test]
    fn basic_selectors_are_read() {
        let answer = json!({"EventSelectors": [{
            "ReadWriteType": "WriteOnly", "IncludeManagementEvents": true,
            "ExcludeManagementEventSources": ["kms.amazonaws.com"],
            "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]
        }]});
        let found = selectors(&answer, true);
        assert!(!found.management_read && found.management_write);
        assert_eq!(found.excluded_sources, ["kms.amazonaws.com"]);
        assert!(found.s3_object_write && !found.s3_object_read);
    }

    #[test]
    fn advanced_selectors_are_read() {
        let answer = json!({"AdvancedEventSelectors": [
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                {"Field": "eventSource", "NotEquals": ["rdsdata.amazonaws.com"]}]},
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                                {"Field": "readOnly", "Equals": ["true"]}]}
        ]});
        let found = selectors(&answer, true);
        assert!(found.management_read && found.management_write && found.advanced);
        assert_eq!(found.excluded_sources, ["rdsdata.amazonaws.com"]);
        assert!(found.s3_object_read && !found.s3_object_write);
    }

    #[test]
    fn lifecycle_rules_and_log_group_names_are_read() {
        let rule = lifecycle_rule(
            "<Rule><ID>archive</ID><Status>Enabled</Status><Transition><Days>90</Days><StorageClass>GLACIER</StorageClass></Transition><Expiration><Days>365</Days></Expiration></Rule>",
        );
        assert_eq!(rule.transition_days, Some(90));
        assert_eq!(rule.expiration_days, Some(365));
        assert_eq!(rule.storage_class.as_deref(), Some("GLACIER"));
        assert_eq!(
            log_group_name("arn:aws:logs:us-east-1:1:log-group:aws-cloudtrail-logs:*"),
            "aws-cloudtrail-logs"
        );
    }
}
