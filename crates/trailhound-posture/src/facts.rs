//! What is known about an account's trails and their delivery chain, whoever found it out:
//! the live APIs ([`crate::gather`]) or the trail's own events in the lake
//! ([`crate::from_lake`]). Checks read only these facts, so both sources get the same
//! verdicts for what both can see.

use serde::Serialize;

/// One fact: known, or unknown with the reason (refused, not implemented by the server,
/// not visible in the logs). A check over an unknown fact is "unknown", never "pass".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", content = "value", rename_all = "lowercase")]
pub enum Fact<T> {
    /// Read or reconstructed.
    Known(T),
    /// Why it could not be.
    Unknown(String),
}

impl<T> Fact<T> {
    /// The value, when known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Fact::Known(value) => Some(value),
            Fact::Unknown(_) => None,
        }
    }

    /// A fact derived from this one.
    pub fn map<U>(&self, f: impl FnOnce(&T) -> U) -> Fact<U> {
        match self {
            Fact::Known(value) => Fact::Known(f(value)),
            Fact::Unknown(reason) => Fact::Unknown(reason.clone()),
        }
    }
}

/// Where the facts came from: the checks' output says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Read from the AWS APIs just now.
    Live,
    /// Reconstructed from CloudTrail's events in the lake.
    Lake,
}

/// An account's trails and what they deliver to.
#[derive(Debug, Clone, Serialize)]
pub struct AccountFacts {
    /// Where these facts come from.
    pub origin: Origin,
    /// The account the credentials belong to (or the lake's events came from).
    pub account: Fact<String>,
    /// The regions looked at.
    pub regions: Vec<String>,
    /// Every trail seen, once (multi-region trails appear in every region).
    pub trails: Vec<TrailFacts>,
    /// CloudWatch alarms, with whether their SNS actions reach anyone.
    pub alarms: Fact<Vec<Alarm>>,
}

/// One trail.
#[derive(Debug, Clone, Serialize)]
pub struct TrailFacts {
    /// The trail's name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// The region it was created in.
    pub home_region: String,
    /// The account that owns it (an organization trail's is the management account).
    pub owner: String,
    /// Whether it logs every region.
    pub multi_region: Fact<bool>,
    /// Whether it is an organization trail.
    pub organization: Fact<bool>,
    /// Whether it records global services (IAM, STS, CloudFront).
    pub global_services: Fact<bool>,
    /// Whether log file validation (digest files) is on.
    pub log_file_validation: Fact<bool>,
    /// The KMS key the logs are encrypted with (SSE-KMS), if any.
    pub kms_key: Fact<Option<String>>,
    /// The bucket the logs go to.
    pub bucket_name: String,
    /// The key prefix in the bucket.
    pub prefix: Option<String>,
    /// The SNS topic notified of each delivery, if any.
    pub sns_topic: Fact<Option<String>>,
    /// The CloudWatch Logs group the events also go to, if any.
    pub log_group_arn: Fact<Option<String>>,
    /// Logging state and delivery health.
    pub status: Fact<Status>,
    /// What the trail records.
    pub selectors: Fact<Selectors>,
    /// The Insights types enabled.
    pub insights: Fact<Vec<String>>,
    /// Its tags.
    pub tags: Fact<Vec<(String, String)>>,
    /// The bucket's configuration.
    pub bucket: Bucket,
    /// The KMS key's configuration, when the trail uses one.
    pub key: Option<Key>,
    /// The log group's configuration, when the trail delivers to one.
    pub log_group: Option<LogGroup>,
    /// The SNS topic's reach, when the trail notifies one.
    pub topic: Option<Fact<Topic>>,
}

/// Logging state and the last deliveries, from `GetTrailStatus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Status {
    /// Whether the trail is logging now.
    pub logging: bool,
    /// When it last delivered a log file to S3 (RFC 3339).
    pub latest_delivery: Option<String>,
    /// The last S3 delivery error, if the last delivery failed.
    pub latest_delivery_error: Option<String>,
    /// When it last delivered to CloudWatch Logs.
    pub latest_cloudwatch_delivery: Option<String>,
    /// The last CloudWatch Logs delivery error.
    pub latest_cloudwatch_error: Option<String>,
    /// When logging last stopped.
    pub stopped_at: Option<String>,
}

/// What a trail records, from its basic or advanced event selectors.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Selectors {
    /// Management read events recorded.
    pub management_read: bool,
    /// Management write events recorded.
    pub management_write: bool,
    /// Management event sources left out (`kms.amazonaws.com`, `rdsdata.amazonaws.com`).
    pub excluded_sources: Vec<String>,
    /// S3 object-level read events recorded for every bucket.
    pub s3_object_read: bool,
    /// S3 object-level write events recorded for every bucket.
    pub s3_object_write: bool,
    /// Whether the trail uses advanced event selectors.
    pub advanced: bool,
}

/// The trail bucket's configuration; each part can be unknown on its own.
#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    /// Its name.
    pub name: String,
    /// Its region.
    pub region: Fact<String>,
    /// Versioning and MFA delete.
    pub versioning: Fact<Versioning>,
    /// The bucket policy, if any.
    pub policy: Fact<Option<serde_json::Value>>,
    /// ACL grants to everyone or to any AWS account (`AllUsers`, `AuthenticatedUsers`).
    pub public_grants: Fact<Vec<String>>,
    /// The bucket's public access block, all four settings, if set.
    pub public_access_block: Fact<Option<PublicAccessBlock>>,
    /// The default encryption algorithm (`AES256`, `aws:kms`), if set.
    pub encryption: Fact<Option<String>>,
    /// The bucket server access logs go to, if enabled.
    pub access_logging: Fact<Option<String>>,
    /// The lifecycle rules.
    pub lifecycle: Fact<Vec<LifecycleRule>>,
    /// Whether Object Lock is enabled.
    pub object_lock: Fact<bool>,
}

impl Bucket {
    /// A bucket of which nothing is known yet, for `reason`.
    pub fn unknown(name: &str, reason: &str) -> Bucket {
        Bucket {
            name: name.to_owned(),
            region: Fact::Unknown(reason.to_owned()),
            versioning: Fact::Unknown(reason.to_owned()),
            policy: Fact::Unknown(reason.to_owned()),
            public_grants: Fact::Unknown(reason.to_owned()),
            public_access_block: Fact::Unknown(reason.to_owned()),
            encryption: Fact::Unknown(reason.to_owned()),
            access_logging: Fact::Unknown(reason.to_owned()),
            lifecycle: Fact::Unknown(reason.to_owned()),
            object_lock: Fact::Unknown(reason.to_owned()),
        }
    }
}

/// Versioning state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Versioning {
    /// Versioning is enabled (not suspended, not never set).
    pub enabled: bool,
    /// MFA delete is enabled.
    pub mfa_delete: bool,
}

/// The four public access block settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PublicAccessBlock {
    /// BlockPublicAcls.
    pub block_public_acls: bool,
    /// IgnorePublicAcls.
    pub ignore_public_acls: bool,
    /// BlockPublicPolicy.
    pub block_public_policy: bool,
    /// RestrictPublicBuckets.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// All four on.
    pub fn all(&self) -> bool {
        self.block_public_acls
            && self.ignore_public_acls
            && self.block_public_policy
            && self.restrict_public_buckets
    }
}

/// One lifecycle rule, as far as the checks need it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LifecycleRule {
    /// Its ID.
    pub id: String,
    /// Enabled (not Disabled).
    pub enabled: bool,
    /// Days before objects move to another storage class, if it moves them.
    pub transition_days: Option<u32>,
    /// The storage class they move to.
    pub storage_class: Option<String>,
    /// Days before objects expire, if they do.
    pub expiration_days: Option<u32>,
}

/// The trail's KMS key.
#[derive(Debug, Clone, Serialize)]
pub struct Key {
    /// The key ID or ARN the trail names.
    pub id: String,
    /// Automatic rotation enabled.
    pub rotation: Fact<bool>,
    /// The key policy.
    pub policy: Fact<serde_json::Value>,
}

/// The trail's CloudWatch Logs group.
#[derive(Debug, Clone, Serialize)]
pub struct LogGroup {
    /// Its name.
    pub name: String,
    /// Whether it exists.
    pub exists: Fact<bool>,
    /// Its retention in days; `None` keeps events forever.
    pub retention_days: Fact<Option<u32>>,
    /// Its metric filters.
    pub metric_filters: Fact<Vec<MetricFilterFact>>,
}

/// One metric filter of a log group.
#[derive(Debug, Clone, Serialize)]
pub struct MetricFilterFact {
    /// Its name.
    pub name: String,
    /// Its pattern.
    pub pattern: String,
    /// The metrics it publishes (namespace, name).
    pub metrics: Vec<(String, String)>,
}

/// One SNS topic's reach.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Topic {
    /// Its ARN.
    pub arn: String,
    /// Whether it exists.
    pub exists: bool,
    /// Confirmed subscriptions.
    pub subscriptions: usize,
}

/// One CloudWatch metric alarm.
#[derive(Debug, Clone, Serialize)]
pub struct Alarm {
    /// Its name.
    pub name: String,
    /// The metric's namespace.
    pub namespace: String,
    /// The metric's name.
    pub metric: String,
    /// Its actions' SNS topics, with their reach.
    pub topics: Vec<Fact<Topic>>,
}
