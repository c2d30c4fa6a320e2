//! Setting a trail up the way best practice says: a locked-down, versioned, encrypted bucket
//! with the CloudTrail bucket policy and a lifecycle rule; a multi-region trail with log file
//! validation, optionally SSE-KMS, CloudWatch Logs (group, retention, role), an SNS topic,
//! S3 data events, Insights and the CIS alarms.
//!
//! [`plan`] reads what exists and lists only the calls still needed; a setting already
//! stronger than asked is left alone, so a second run plans nothing and no run weakens
//! anything. [`apply`] makes the calls in order.

use serde_json::{Value, json};

use crate::api::{Aws, CLOUDTRAIL, CLOUDWATCH, IAM, KMS, LOGS, SNS, elements};
use crate::error::PostureError;
use crate::facts::{Fact, TrailFacts};
use crate::gather::{self, log_group_name};
use crate::lifecycle::ArchiveRule;
use crate::policy::{cloudtrail_bucket_policy, cloudtrail_key_policy, statements};

/// Where the logs are encrypted with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// S3-managed keys (SSE-S3).
    S3Managed,
    /// This KMS key (ARN, ID or alias ARN).
    Key(String),
    /// A new customer-managed key with rotation, under `alias/trailhound-TRAIL`.
    CreateKey,
}

/// What the user asked `setup` for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The trail's name.
    pub trail: String,
    /// The bucket; `aws-cloudtrail-logs-ACCOUNT-TRAIL` when not given.
    pub bucket: Option<String>,
    /// A key prefix for the logs.
    pub prefix: Option<String>,
    /// The trail's home region.
    pub region: String,
    /// Log encryption.
    pub encryption: Encryption,
    /// The lifecycle rule to add, if any.
    pub lifecycle: Option<ArchiveRule>,
    /// The bucket server access logs go to; created if missing.
    pub access_log_bucket: Option<String>,
    /// The CloudWatch Logs group to deliver to, and its retention in days.
    pub cloudwatch_logs: Option<(String, u32)>,
    /// The SNS topic (name) notified of deliveries, which the CIS alarms also use.
    pub sns_topic: Option<String>,
    /// Email addresses to subscribe to the topic (each confirms by email).
    pub notify_emails: Vec<String>,
    /// Put the CIS monitoring metric filters and alarms on the log group.
    pub cis_alarms: bool,
    /// Record S3 object-level read and write events for every bucket.
    pub s3_data_events: bool,
    /// Enable CloudTrail Insights (API call and error rates).
    pub insights: bool,
    /// Tags for the trail.
    pub tags: Vec<(String, String)>,
}

/// How a step reaches AWS.
#[derive(Debug, Clone)]
pub enum Call {
    /// A JSON 1.1 API call.
    Json {
        /// The service.
        service: crate::api::JsonService,
        /// Its body.
        body: Value,
    },
    /// A query-protocol call.
    Query {
        /// The service.
        service: crate::api::QueryService,
        /// Its parameters.
        params: Vec<(String, String)>,
    },
    /// An S3 bucket call.
    S3 {
        /// PUT, mostly.
        method: http::Method,
        /// The bucket.
        bucket: String,
        /// The subresource (`versioning`); empty to create the bucket.
        query: String,
        /// The XML or JSON body.
        body: String,
    },
}

/// One API call of the plan.
#[derive(Debug, Clone)]
pub struct Step {
    /// `s3:PutBucketVersioning`.
    pub action: String,
    /// Why it is needed.
    pub why: String,
    /// The call.
    pub call: Call,
}

impl Step {
    /// The call's arguments as one line of text, for the printed plan.
    pub fn arguments(&self) -> String {
        match &self.call {
            Call::Json { body, .. } => body.to_string(),
            Call::Query { params, .. } => params
                .iter()
                .skip(1)
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            Call::S3 { bucket, body, .. } if body.is_empty() => format!("Bucket={bucket}"),
            Call::S3 { bucket, body, .. } => format!("Bucket={bucket} {body}"),
        }
    }
}

/// The calls still needed, and what was left alone and why.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The calls, in order.
    pub steps: Vec<Step>,
    /// Settings kept as they are (stronger than asked, or not ours to change).
    pub kept: Vec<String>,
}

/// Where the new key's ID goes in later calls' arguments, until CreateKey has answered.
const NEW_KEY: &str = "<the new key's ID>";

struct Planner {
    plan: Plan,
}

impl Planner {
    fn json(&mut self, service: crate::api::JsonService, action: &str, body: Value, why: &str) {
        self.plan.steps.push(Step {
            action: format!("{}:{action}", service.name()),
            why: why.to_owned(),
            call: Call::Json { service, body },
        });
    }

    fn query(
        &mut self,
        service: crate::api::QueryService,
        action: &str,
        params: &[(&str, String)],
        why: &str,
    ) {
        self.plan.steps.push(Step {
            action: format!("{}:{action}", service.name()),
            why: why.to_owned(),
            call: Call::Query {
                service,
                params: std::iter::once(("Action".to_owned(), action.to_owned()))
                    .chain(params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())))
                    .collect(),
            },
        });
    }

    fn s3(&mut self, action: &str, bucket: &str, query: &str, body: String, why: &str) {
        self.plan.steps.push(Step {
            action: format!("s3:{action}"),
            why: why.to_owned(),
            call: Call::S3 {
                method: http::Method::PUT,
                bucket: bucket.to_owned(),
                query: query.to_owned(),
                body,
            },
        });
    }

    fn keep(&mut self, what: String) {
        self.plan.kept.push(what);
    }
}

/// What a read found: `None` when the service says the thing does not exist.
fn found<T>(result: Result<T, PostureError>) -> Result<Option<T>, PostureError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(PostureError::Refused(refusal)) if refusal.is_absent() => Ok(None),
        Err(err) => Err(err),
    }
}

/// The default bucket name for a trail: stable, so a second run finds it.
pub fn default_bucket(account: &str, trail: &str) -> String {
    let mut name = format!(
        "aws-cloudtrail-logs-{account}-{}",
        trail.to_ascii_lowercase()
    );
    name.retain(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    name.truncate(63);
    name.trim_end_matches(['-', '.']).to_owned()
}

/// Reads what exists and plans what is missing.
///
/// # Errors
///
/// When the account cannot be identified or a resource cannot be read well enough to know
/// whether changing it would weaken it.
pub fn plan(aws: &Aws, request: &Request) -> Result<Plan, PostureError> {
    let account = gather::caller_account(aws)?;
    let region = request.region.as_str();
    let trail_arn = format!(
        "arn:aws:cloudtrail:{region}:{account}:trail/{}",
        request.trail
    );
    let bucket = request
        .bucket
        .clone()
        .unwrap_or_else(|| default_bucket(&account, &request.trail));
    let mut p = Planner {
        plan: Plan::default(),
    };

    // The trail as it is, if it exists.
    let existing = gather::gather(aws, &[region.to_owned()])?
        .trails
        .into_iter()
        .find(|t| t.name == request.trail || t.arn == trail_arn);
    if let Some(trail) = &existing
        && trail.bucket_name != bucket
        && request.bucket.is_some()
    {
        p.keep(format!(
            "the trail delivers to {}; it stays there (give that bucket, or none, to work on it)",
            trail.bucket_name
        ));
    }
    let bucket = existing.as_ref().map_or(bucket, |t| t.bucket_name.clone());

    let key_arn = key_steps(
        aws,
        &mut p,
        request,
        existing.as_ref(),
        &account,
        &trail_arn,
    )?;
    bucket_steps(aws, &mut p, request, &bucket, &account, &trail_arn)?;
    let logs = logs_steps(aws, &mut p, request, &account)?;
    let topic_arn = topic_steps(aws, &mut p, request, &account)?;
    trail_steps(
        &mut p,
        request,
        existing.as_ref(),
        &bucket,
        key_arn,
        logs.as_ref(),
        topic_arn.as_deref(),
    );
    if request.cis_alarms {
        alarm_steps(aws, &mut p, request, logs.as_ref(), topic_arn.as_deref())?;
    }
    Ok(p.plan)
}

/// The KMS key the trail will use: the one given, the one an earlier run created, or one
/// this run creates (its alias ARN, which CloudTrail accepts).
fn key_steps(
    aws: &Aws,
    p: &mut Planner,
    request: &Request,
    existing: Option<&TrailFacts>,
    account: &str,
    trail_arn: &str,
) -> Result<Option<String>, PostureError> {
    let region = request.region.as_str();
    if let Some(Fact::Known(Some(current))) = existing.map(|t| &t.kms_key) {
        if request.encryption != Encryption::S3Managed {
            p.keep(format!("the trail already encrypts with {current}"));
        }
        return Ok(Some(current.clone()));
    }
    match &request.encryption {
        Encryption::S3Managed => Ok(None),
        Encryption::Key(key) => Ok(Some(key.clone())),
        Encryption::CreateKey => {
            let alias = format!("alias/trailhound-{}", request.trail);
            let alias_arn = format!("arn:aws:kms:{region}:{account}:{alias}");
            match aws.json(KMS, region, "DescribeKey", &json!({"KeyId": alias})) {
                Ok(described) => {
                    let key_id = described["KeyMetadata"]["KeyId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    let rotation = aws.json(
                        KMS,
                        region,
                        "GetKeyRotationStatus",
                        &json!({"KeyId": key_id}),
                    )?;
                    if rotation["KeyRotationEnabled"].as_bool() != Some(true) {
                        p.json(
                            KMS,
                            "EnableKeyRotation",
                            json!({"KeyId": key_id}),
                            "rotate the trail's key yearly (CIS 3.6)",
                        );
                    }
                }
                Err(PostureError::Refused(refusal)) if refusal.is_absent() => {
                    p.json(
                        KMS,
                        "CreateKey",
                        json!({
                            "Description": format!("CloudTrail logs of trail {}", request.trail),
                            "KeyUsage": "ENCRYPT_DECRYPT",
                            "Policy": cloudtrail_key_policy(account, trail_arn).to_string(),
                        }),
                        "a customer-managed key for SSE-KMS (CIS 3.5)",
                    );
                    p.json(
                        KMS,
                        "CreateAlias",
                        json!({"AliasName": alias, "TargetKeyId": NEW_KEY}),
                        "a stable name, so a second run finds the key",
                    );
                    p.json(
                        KMS,
                        "EnableKeyRotation",
                        json!({"KeyId": NEW_KEY}),
                        "rotate the trail's key yearly (CIS 3.6)",
                    );
                }
                Err(err) => return Err(err),
            }
            Ok(Some(alias_arn))
        }
    }
}

fn bucket_exists(aws: &Aws, bucket: &str) -> Result<bool, PostureError> {
    match aws.s3(
        http::Method::GET,
        "us-east-1",
        bucket,
        "location",
        &[],
        Vec::new(),
    ) {
        Ok(_) => Ok(true),
        Err(PostureError::Refused(refusal))
            if refusal.code == "NoSuchBucket" || refusal.status == 404 =>
        {
            Ok(false)
        }
        Err(err) => Err(err),
    }
}

fn create_bucket(p: &mut Planner, bucket: &str, region: &str, why: &str) {
    let body = if region == "us-east-1" {
        String::new()
    } else {
        format!(
            "<CreateBucketConfiguration><LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
        )
    };
    p.s3("CreateBucket", bucket, "", body, why);
}

const BLOCK_ALL: &str = "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>";
const ENCRYPT_S3: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";

fn bucket_steps(
    aws: &Aws,
    p: &mut Planner,
    request: &Request,
    bucket: &str,
    account: &str,
    trail_arn: &str,
) -> Result<(), PostureError> {
    let region = request.region.as_str();
    let exists = bucket_exists(aws, bucket)?;
    let facts = if exists {
        Some(gather::bucket(aws, bucket))
    } else {
        create_bucket(p, bucket, region, "the trail's bucket");
        None
    };
    // What a fact says, or an error: changing what cannot be read could weaken it.
    fn read<'f, T>(fact: &'f Fact<T>, what: &str, bucket: &str) -> Result<&'f T, PostureError> {
        match fact {
            Fact::Known(value) => Ok(value),
            Fact::Unknown(reason) => Err(PostureError::Usage(format!(
                "cannot read the {what} of bucket {bucket} ({reason}); setup changes nothing it cannot read first"
            ))),
        }
    }
    let versioned = match &facts {
        Some(f) => read(&f.versioning, "versioning", bucket)?.enabled,
        None => false,
    };
    if !versioned {
        p.s3(
            "PutBucketVersioning",
            bucket,
            "versioning",
            "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
                .to_owned(),
            "keep every version of every log file",
        );
    }
    let blocked = match &facts {
        Some(f) => {
            read(&f.public_access_block, "public access block", bucket)?.is_some_and(|b| b.all())
        }
        None => false,
    };
    if !blocked {
        p.s3(
            "PutPublicAccessBlock",
            bucket,
            "publicAccessBlock",
            BLOCK_ALL.to_owned(),
            "the logs are never public",
        );
    }
    match facts
        .as_ref()
        .map(|f| read(&f.encryption, "default encryption", bucket))
        .transpose()?
    {
        Some(Some(algorithm)) => p.keep(format!(
            "bucket {bucket} already encrypts by default ({algorithm})"
        )),
        _ => p.s3(
            "PutBucketEncryption",
            bucket,
            "encryption",
            ENCRYPT_S3.to_owned(),
            "encrypt at rest by default",
        ),
    }
    let wanted = cloudtrail_bucket_policy(bucket, request.prefix.as_deref(), account, trail_arn);
    let current = match &facts {
        Some(f) => read(&f.policy, "policy", bucket)?.clone(),
        None => None,
    };
    if let Some(policy) = merged_policy(current.as_ref(), &wanted) {
        p.s3(
            "PutBucketPolicy",
            bucket,
            "policy",
            policy.to_string(),
            "only CloudTrail writes; no plain-HTTP access",
        );
    }
    if let Some(rule) = &request.lifecycle {
        let rules = match &facts {
            Some(f) => read(&f.lifecycle, "lifecycle", bucket)?.clone(),
            None => Vec::new(),
        };
        if rules
            .iter()
            .any(|r| r.enabled && (r.transition_days.is_some() || r.expiration_days.is_some()))
        {
            p.keep(format!(
                "bucket {bucket} already has a lifecycle rule that archives or expires"
            ));
        } else {
            let existing = if exists {
                match aws.s3(
                    http::Method::GET,
                    region,
                    bucket,
                    "lifecycle",
                    &[],
                    Vec::new(),
                ) {
                    Ok(xml) => elements(&xml, "Rule")
                        .map(str::to_owned)
                        .collect::<String>(),
                    Err(PostureError::Refused(r)) if r.is_absent() => String::new(),
                    Err(err) => return Err(err),
                }
            } else {
                String::new()
            };
            p.s3(
                "PutBucketLifecycleConfiguration",
                bucket,
                "lifecycle",
                format!(
                    "<LifecycleConfiguration>{existing}{}</LifecycleConfiguration>",
                    rule.to_xml()
                ),
                "archive, then expire, old logs",
            );
        }
    }
    if let Some(target) = &request.access_log_bucket {
        let logging = match &facts {
            Some(f) => read(&f.access_logging, "access logging", bucket)?.clone(),
            None => None,
        };
        match logging {
            Some(current) => p.keep(format!("bucket {bucket} already logs access to {current}")),
            None => {
                if !bucket_exists(aws, target)? {
                    create_bucket(p, target, region, "where the trail bucket's access logs go");
                    p.s3(
                        "PutPublicAccessBlock",
                        target,
                        "publicAccessBlock",
                        BLOCK_ALL.to_owned(),
                        "access logs are never public",
                    );
                    p.s3(
                        "PutBucketEncryption",
                        target,
                        "encryption",
                        ENCRYPT_S3.to_owned(),
                        "encrypt at rest by default",
                    );
                    let policy = json!({
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "S3ServerAccessLogsPolicy",
                            "Effect": "Allow",
                            "Principal": {"Service": "logging.s3.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": format!("arn:aws:s3:::{target}/*"),
                            "Condition": {"StringEquals": {"aws:SourceAccount": account}, "ArnLike": {"aws:SourceArn": format!("arn:aws:s3:::{bucket}")}}
                        }]
                    });
                    p.s3(
                        "PutBucketPolicy",
                        target,
                        "policy",
                        policy.to_string(),
                        "only S3's log delivery writes access logs",
                    );
                }
                p.s3(
                    "PutBucketLogging",
                    bucket,
                    "logging",
                    format!("<BucketLoggingStatus><LoggingEnabled><TargetBucket>{target}</TargetBucket><TargetPrefix>{bucket}/</TargetPrefix></LoggingEnabled></BucketLoggingStatus>"),
                    "server access logs of the trail bucket (CIS 3.4)",
                );
            }
        }
    }
    Ok(())
}

/// The bucket policy with our statements added where missing (matched by `Sid`); `None`
/// when nothing is missing. Existing statements are kept as they are.
fn merged_policy(current: Option<&Value>, wanted: &Value) -> Option<Value> {
    let Some(current) = current else {
        return Some(wanted.clone());
    };
    let sids: Vec<&str> = statements(current)
        .iter()
        .filter_map(|s| s.get("Sid").and_then(Value::as_str))
        .collect();
    let missing: Vec<Value> = statements(wanted)
        .into_iter()
        .filter(|s| {
            s.get("Sid")
                .and_then(Value::as_str)
                .is_some_and(|sid| !sids.contains(&sid))
        })
        .cloned()
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut merged = current.clone();
    let mut all: Vec<Value> = statements(current).into_iter().cloned().collect();
    all.extend(missing);
    merged["Statement"] = Value::Array(all);
    Some(merged)
}

/// The log group and role the trail delivers with: (group ARN, role ARN, group name).
struct Logs {
    group_arn: String,
    role_arn: String,
    group: String,
}

fn logs_steps(
    aws: &Aws,
    p: &mut Planner,
    request: &Request,
    account: &str,
) -> Result<Option<Logs>, PostureError> {
    let Some((group, retention)) = &request.cloudwatch_logs else {
        return Ok(None);
    };
    let region = request.region.as_str();
    let answer = aws.json(
        LOGS,
        region,
        "DescribeLogGroups",
        &json!({"logGroupNamePrefix": group}),
    )?;
    let group_found = answer["logGroups"]
        .as_array()
        .and_then(|groups| {
            groups
                .iter()
                .find(|g| g["logGroupName"].as_str() == Some(group))
        })
        .cloned();
    match group_found {
        None => {
            p.json(
                LOGS,
                "CreateLogGroup",
                json!({"logGroupName": group}),
                "where the trail's events also go",
            );
            p.json(
                LOGS,
                "PutRetentionPolicy",
                json!({"logGroupName": group, "retentionInDays": retention}),
                "keep events for the retention asked",
            );
        }
        Some(found) => match found["retentionInDays"].as_u64() {
            None => p.keep(format!(
                "log group {group} keeps events forever; setup does not shorten that"
            )),
            Some(days) if days >= u64::from(*retention) => {
                p.keep(format!("log group {group} already keeps {days} days"))
            }
            Some(_) => p.json(
                LOGS,
                "PutRetentionPolicy",
                json!({"logGroupName": group, "retentionInDays": retention}),
                "keep events for the retention asked",
            ),
        },
    }
    let role = format!("CloudTrailToCloudWatchLogs-{}", request.trail);
    let role_arn = format!("arn:aws:iam::{account}:role/{role}");
    let group_arn = format!("arn:aws:logs:{region}:{account}:log-group:{group}:*");
    let exists =
        found(aws.query::<serde::de::IgnoredAny>(IAM, region, "GetRole", &[("RoleName", &role)]))?
            .is_some();
    if !exists {
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "sts:AssumeRole"}]
        });
        let permissions = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": format!("arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:*")
            }]
        });
        p.query(
            IAM,
            "CreateRole",
            &[
                ("RoleName", role.clone()),
                ("AssumeRolePolicyDocument", trust.to_string()),
            ],
            "the role CloudTrail delivers to CloudWatch Logs with",
        );
        p.query(
            IAM,
            "PutRolePolicy",
            &[
                ("RoleName", role.clone()),
                ("PolicyName", "deliver-to-log-group".to_owned()),
                ("PolicyDocument", permissions.to_string()),
            ],
            "only its own log group",
        );
    }
    Ok(Some(Logs {
        group_arn,
        role_arn,
        group: group.clone(),
    }))
}

fn topic_steps(
    aws: &Aws,
    p: &mut Planner,
    request: &Request,
    account: &str,
) -> Result<Option<String>, PostureError> {
    let Some(topic) = &request.sns_topic else {
        return Ok(None);
    };
    let region = request.region.as_str();
    let arn = format!("arn:aws:sns:{region}:{account}:{topic}");
    let exists = found(aws.query::<serde::de::IgnoredAny>(
        SNS,
        region,
        "GetTopicAttributes",
        &[("TopicArn", &arn)],
    ))?
    .is_some();
    if !exists {
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "AWSCloudTrailSNSPolicy", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "SNS:Publish", "Resource": arn},
                {"Sid": "CloudWatchAlarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "SNS:Publish", "Resource": arn}
            ]
        });
        p.query(
            SNS,
            "CreateTopic",
            &[("Name", topic.clone())],
            "notified of each delivery, and of the CIS alarms",
        );
        p.query(
            SNS,
            "SetTopicAttributes",
            &[
                ("TopicArn", arn.clone()),
                ("AttributeName", "Policy".to_owned()),
                ("AttributeValue", policy.to_string()),
            ],
            "only CloudTrail and CloudWatch publish",
        );
    }
    #[derive(serde::Deserialize)]
    struct Subscriptions {
        #[serde(rename = "Subscriptions", default)]
        list: Option<Members>,
    }
    #[derive(serde::Deserialize)]
    struct Members {
        #[serde(rename = "member", default)]
        member: Vec<Member>,
    }
    #[derive(serde::Deserialize)]
    struct Member {
        #[serde(rename = "Endpoint", default)]
        endpoint: String,
    }
    let subscribed: Vec<String> = if exists {
        let answer: Subscriptions = aws.query(
            SNS,
            region,
            "ListSubscriptionsByTopic",
            &[("TopicArn", &arn)],
        )?;
        answer
            .list
            .map(|l| l.member.into_iter().map(|m| m.endpoint).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    for email in &request.notify_emails {
        if !subscribed.contains(email) {
            p.query(
                SNS,
                "Subscribe",
                &[
                    ("TopicArn", arn.clone()),
                    ("Protocol", "email".to_owned()),
                    ("Endpoint", email.clone()),
                ],
                "someone to tell (they confirm by email)",
            );
        }
    }
    if request.notify_emails.is_empty() && subscribed.is_empty() {
        p.keep(format!(
            "nobody is subscribed to {arn}: add --notify-email YOU@EXAMPLE.COM"
        ));
    }
    Ok(Some(arn))
}

fn trail_steps(
    p: &mut Planner,
    request: &Request,
    existing: Option<&TrailFacts>,
    bucket: &str,
    key: Option<String>,
    logs: Option<&Logs>,
    topic_arn: Option<&str>,
) {
    let name = request.trail.as_str();
    let Some(trail) = existing else {
        let mut body = json!({
            "Name": name,
            "S3BucketName": bucket,
            "IsMultiRegionTrail": true,
            "IncludeGlobalServiceEvents": true,
            "EnableLogFileValidation": true,
        });
        if let Some(prefix) = &request.prefix {
            body["S3KeyPrefix"] = json!(prefix);
        }
        if let Some(key) = &key {
            body["KmsKeyId"] = json!(key);
        }
        if let Some(logs) = logs {
            body["CloudWatchLogsLogGroupArn"] = json!(logs.group_arn);
            body["CloudWatchLogsRoleArn"] = json!(logs.role_arn);
        }
        if let (Some(_), Some(topic)) = (topic_arn, &request.sns_topic) {
            body["SnsTopicName"] = json!(topic);
        }
        if !request.tags.is_empty() {
            body["TagsList"] = json!(
                request
                    .tags
                    .iter()
                    .map(|(k, v)| json!({"Key": k, "Value": v}))
                    .collect::<Vec<_>>()
            );
        }
        p.json(
            CLOUDTRAIL,
            "CreateTrail",
            body,
            "a multi-region trail with log file validation (CIS 3.1, 3.2)",
        );
        selector_steps(p, request, None);
        if request.insights {
            insight_step(p, name);
        }
        p.json(
            CLOUDTRAIL,
            "StartLogging",
            json!({"Name": name}),
            "a trail records nothing until it is started",
        );
        return;
    };
    let mut update = json!({"Name": trail.arn});
    if trail.multi_region.known() != Some(&true) {
        update["IsMultiRegionTrail"] = json!(true);
        update["IncludeGlobalServiceEvents"] = json!(true);
    }
    if trail.log_file_validation.known() != Some(&true) {
        update["EnableLogFileValidation"] = json!(true);
    }
    if let (Some(key), Fact::Known(None)) = (&key, &trail.kms_key) {
        update["KmsKeyId"] = json!(key);
    }
    match (logs, &trail.log_group_arn) {
        (Some(logs), Fact::Known(None)) => {
            update["CloudWatchLogsLogGroupArn"] = json!(logs.group_arn);
            update["CloudWatchLogsRoleArn"] = json!(logs.role_arn);
        }
        (Some(logs), Fact::Known(Some(current))) if log_group_name(current) != logs.group => {
            p.keep(format!("the trail already delivers to {current}"));
        }
        _ => {}
    }
    match (topic_arn, &trail.sns_topic) {
        (Some(_), Fact::Known(None)) => update["SnsTopicName"] = json!(request.sns_topic),
        (Some(wanted), Fact::Known(Some(current))) if current != wanted => {
            p.keep(format!("the trail already notifies {current}"));
        }
        _ => {}
    }
    if update.as_object().is_some_and(|o| o.len() > 1) {
        p.json(
            CLOUDTRAIL,
            "UpdateTrail",
            update,
            "turn on what best practice asks and the trail lacks",
        );
    }
    if let Fact::Known(tags) = &trail.tags {
        let missing: Vec<_> = request
            .tags
            .iter()
            .filter(|(k, _)| !tags.iter().any(|(key, _)| key == k))
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        if !missing.is_empty() {
            p.json(
                CLOUDTRAIL,
                "AddTags",
                json!({"ResourceId": trail.arn, "TagsList": missing}),
                "the tags asked for",
            );
        }
    }
    selector_steps(p, request, Some(trail));
    if request.insights && trail.insights.known().is_some_and(Vec::is_empty) {
        insight_step(p, &trail.arn);
    }
    if !trail.status.known().is_some_and(|s| s.logging) {
        p.json(
            CLOUDTRAIL,
            "StartLogging",
            json!({"Name": trail.arn}),
            "the trail is not logging",
        );
    }
}

fn insight_step(p: &mut Planner, trail: &str) {
    p.json(
        CLOUDTRAIL,
        "PutInsightSelectors",
        json!({"TrailName": trail, "InsightSelectors": [{"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiErrorRateInsight"}]}),
        "CloudTrail Insights on call and error rates",
    );
}

fn selector_steps(p: &mut Planner, request: &Request, trail: Option<&TrailFacts>) {
    let current = trail.and_then(|t| t.selectors.known());
    if current.is_some_and(|s| s.advanced) {
        p.keep("the trail uses advanced event selectors; setup leaves them as they are".to_owned());
        return;
    }
    let management_ok = match current {
        Some(s) => s.management_read && s.management_write && s.excluded_sources.is_empty(),
        None => true,
    };
    let data_ok =
        !request.s3_data_events || current.is_some_and(|s| s.s3_object_read && s.s3_object_write);
    if management_ok && data_ok {
        return;
    }
    // S3 data events already recorded stay recorded.
    let data =
        request.s3_data_events || current.is_some_and(|s| s.s3_object_read || s.s3_object_write);
    let mut selector = json!({"ReadWriteType": "All", "IncludeManagementEvents": true});
    if data {
        selector["DataResources"] = json!([{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]);
    }
    let name = trail.map_or(request.trail.clone(), |t| t.arn.clone());
    p.json(
        CLOUDTRAIL,
        "PutEventSelectors",
        json!({"TrailName": name, "EventSelectors": [selector]}),
        "every management event, read and write (CIS 3.1), and S3 object events if asked (CIS 3.8, 3.9)",
    );
}

fn alarm_steps(
    aws: &Aws,
    p: &mut Planner,
    request: &Request,
    logs: Option<&Logs>,
    topic_arn: Option<&str>,
) -> Result<(), PostureError> {
    let (Some(logs), Some(topic)) = (logs, topic_arn) else {
        return Err(PostureError::Usage(
            "--cis-alarms needs --cloudwatch-logs (the events they watch) and --sns-topic (whom they tell)".to_owned(),
        ));
    };
    let region = request.region.as_str();
    let filters: Vec<String> = match aws.json(
        LOGS,
        region,
        "DescribeMetricFilters",
        &json!({"logGroupName": logs.group}),
    ) {
        Ok(answer) => answer["metricFilters"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|f| f["filterName"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        Err(PostureError::Refused(r)) if r.is_absent() => Vec::new(),
        Err(err) => return Err(err),
    };
    #[derive(serde::Deserialize)]
    struct Alarms {
        #[serde(rename = "MetricAlarms", default)]
        alarms: Option<Names>,
    }
    #[derive(serde::Deserialize)]
    struct Names {
        #[serde(rename = "member", default)]
        member: Vec<Named>,
    }
    #[derive(serde::Deserialize)]
    struct Named {
        #[serde(rename = "AlarmName")]
        name: String,
    }
    let alarms: Alarms = aws.query(
        CLOUDWATCH,
        region,
        "DescribeAlarms",
        &[("AlarmNamePrefix", "cis-")],
    )?;
    let alarms: Vec<String> = alarms
        .alarms
        .map(|a| a.member.into_iter().map(|n| n.name).collect())
        .unwrap_or_default();
    let rules = trailhound_detect::builtin_rules()
        .map_err(|err| PostureError::Internal(err.to_string()))?;
    for (number, title, filter, _) in trailhound_detect::cis_monitoring_rules(&rules) {
        let metric = format!("cis-{}", number.replace('.', "-"));
        if !filters.contains(&metric) {
            p.json(
                LOGS,
                "PutMetricFilter",
                json!({
                    "logGroupName": logs.group,
                    "filterName": metric,
                    "filterPattern": filter.text(),
                    "metricTransformations": [{"metricName": metric, "metricNamespace": "CISBenchmark", "metricValue": "1"}]
                }),
                &format!("count {title} (CIS {number})"),
            );
        }
        if !alarms.contains(&metric) {
            p.query(
                CLOUDWATCH,
                "PutMetricAlarm",
                &[
                    ("AlarmName", metric.clone()),
                    ("AlarmDescription", format!("CIS {number}: {title}")),
                    ("MetricName", metric.clone()),
                    ("Namespace", "CISBenchmark".to_owned()),
                    ("Statistic", "Sum".to_owned()),
                    ("Period", "300".to_owned()),
                    ("EvaluationPeriods", "1".to_owned()),
                    ("Threshold", "1".to_owned()),
                    (
                        "ComparisonOperator",
                        "GreaterThanOrEqualToThreshold".to_owned(),
                    ),
                    ("TreatMissingData", "notBreaching".to_owned()),
                    ("AlarmActions.member.1", topic.to_owned()),
                ],
                &format!("tell the topic about {title} (CIS {number})"),
            );
        }
    }
    Ok(())
}

/// Makes the plan's calls in order, calling `done` after each.
///
/// # Errors
///
/// The first call that fails, with what was done before it (a second run continues).
pub fn apply(
    aws: &Aws,
    region: &str,
    plan: &Plan,
    mut done: impl FnMut(&Step),
) -> Result<(), PostureError> {
    let mut new_key: Option<String> = None;
    for step in &plan.steps {
        match &step.call {
            Call::Json { service, body } => {
                let body = substitute(body, new_key.as_deref());
                let action = step.action.split_once(':').map_or("", |(_, a)| a);
                let answer = aws.json(*service, region, action, &body)?;
                if action == "CreateKey" {
                    new_key = answer["KeyMetadata"]["KeyId"].as_str().map(str::to_owned);
                }
            }
            Call::Query { service, params } => {
                let action = params.first().map_or("", |(_, a)| a.as_str());
                let rest: Vec<(&str, &str)> = params
                    .iter()
                    .skip(1)
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                aws.query::<serde::de::IgnoredAny>(*service, region, action, &rest)?;
            }
            Call::S3 {
                method,
                bucket,
                query,
                body,
            } => {
                let md5 = content_md5(body.as_bytes());
                let headers: Vec<(&str, &str)> = if body.is_empty() {
                    Vec::new()
                } else {
                    vec![("content-md5", md5.as_str())]
                };
                aws.s3(
                    method.clone(),
                    region,
                    bucket,
                    query,
                    &headers,
                    body.clone().into_bytes(),
                )?;
            }
        }
        done(step);
    }
    Ok(())
}

/// Puts `rule` on `bucket` beside its other lifecycle rules (one with the same ID is
/// replaced); returns how many others it kept.
///
/// # Errors
///
/// When the bucket's rules cannot be read or the new set is refused.
pub fn put_lifecycle(aws: &Aws, bucket: &str, rule: &ArchiveRule) -> Result<usize, PostureError> {
    let region = match aws.s3(
        http::Method::GET,
        "us-east-1",
        bucket,
        "location",
        &[],
        Vec::new(),
    ) {
        Ok(xml) => match crate::api::text(&xml, "LocationConstraint").as_deref() {
            None | Some("") => "us-east-1".to_owned(),
            Some("EU") => "eu-west-1".to_owned(),
            Some(region) => region.to_owned(),
        },
        Err(err) => return Err(err),
    };
    let others: Vec<String> = match aws.s3(
        http::Method::GET,
        &region,
        bucket,
        "lifecycle",
        &[],
        Vec::new(),
    ) {
        Ok(xml) => elements(&xml, "Rule")
            .filter(|r| crate::api::text(r, "ID").as_deref() != Some(rule.id.as_str()))
            .map(str::to_owned)
            .collect(),
        Err(PostureError::Refused(r)) if r.is_absent() && r.code != "NoSuchBucket" => Vec::new(),
        Err(err) => return Err(err),
    };
    let body = format!(
        "<LifecycleConfiguration>{}{}</LifecycleConfiguration>",
        others.concat(),
        rule.to_xml()
    );
    let md5 = content_md5(body.as_bytes());
    aws.s3(
        http::Method::PUT,
        &region,
        bucket,
        "lifecycle",
        &[("content-md5", &md5)],
        body.into_bytes(),
    )?;
    Ok(others.len())
}

fn substitute(body: &Value, key: Option<&str>) -> Value {
    match (body, key) {
        (Value::String(s), Some(key)) if s == NEW_KEY => Value::String(key.to_owned()),
        (Value::Object(map), _) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, key)))
                .collect(),
        ),
        (Value::Array(list), _) => Value::Array(list.iter().map(|v| substitute(v, key)).collect()),
        _ => body.clone(),
    }
}

/// S3 wants a Content-MD5 on lifecycle, encryption and other configuration PUTs.
fn content_md5(body: &[u8]) -> String {
    use base64::Engine as _;
    use md5::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_statements_are_added_and_theirs_kept() {
        let wanted =
            cloudtrail_bucket_policy("b", None, "1", "arn:aws:cloudtrail:us-east-1:1:trail/t");
        assert_eq!(merged_policy(None, &wanted), Some(wanted.clone()));
        assert_eq!(merged_policy(Some(&wanted), &wanted), None);
        let theirs = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Mine", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "*"}]});
        let merged = merged_policy(Some(&theirs), &wanted).unwrap_or_default();
        let sids: Vec<_> = statements(&merged)
            .iter()
            .filter_map(|s| s["Sid"].as_str())
            .collect();
        assert_eq!(
            sids,
            [
                "Mine",
                "AWSCloudTrailAclCheck",
                "AWSCloudTrailWrite",
                "DenyInsecureTransport"
            ]
        );
    }

    #[test]
    fn default_bucket_names_are_valid_and_stable() {
        assert_eq!(
            default_bucket("111122223333", "Main_Trail"),
            "aws-cloudtrail-logs-111122223333-maintrail"
        );
        assert!(default_bucket("111122223333", &"x".repeat(80)).len() <= 63);
    }

    #[test]
    fn the_new_key_is_put_where_it_is_awaited() {
        let body = json!({"AliasName": "alias/x", "TargetKeyId": NEW_KEY});
        assert_eq!(substitute(&body, Some("k-1"))["TargetKeyId"], "k-1");
    }
}
