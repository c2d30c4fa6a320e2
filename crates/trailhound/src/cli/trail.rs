//! Arguments of the commands about the trail itself: `posture`, `setup`, `retention`.

use std::path::PathBuf;

use chrono::TimeDelta as Duration;

use clap::{Args, Subcommand, ValueEnum};

use trailhound_posture::lifecycle::{self, ArchiveRule};

use super::{S3Args, parse_age};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PostureFormat {
    /// Aligned columns, then the fix for each failure.
    Table,
    /// One JSON document: the verdicts and the facts they rest on.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
    /// Never fail.
    Never,
}

#[derive(Debug, Args)]
pub(crate) struct PostureArgs {
    /// Reconstruct the trails' configuration from their own events in the lake
    /// (CreateTrail, PutBucketPolicy, StopLogging…) instead of asking the AWS APIs: for an
    /// auditor's copy of the logs. What the logs never show is "unknown".
    #[arg(long, conflicts_with_all = ["regions", "endpoint_url", "profile"])]
    pub(crate) from_lake: bool,
    /// Regions whose trails to check (repeat) [default: the configured region]. Multi-region
    /// and organization trails are seen from any region.
    #[arg(long = "region", value_name = "REGION")]
    pub(crate) regions: Vec<String>,
    #[command(flatten)]
    pub(crate) s3: S3Args,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PostureFormat::Table)]
    pub(crate) format: PostureFormat,
    /// Exit 1 when a check of this severity or above fails.
    #[arg(long, value_enum, default_value_t = Severity::High, value_name = "LEVEL")]
    pub(crate) fail_on: Severity,
    /// A glob every trail name must match (`org-*`).
    #[arg(long, value_name = "GLOB")]
    pub(crate) name_pattern: Option<String>,
    /// A tag key every trail must carry (repeat).
    #[arg(long = "required-tag", value_name = "KEY")]
    pub(crate) required_tags: Vec<String>,
    /// Require MFA delete on trail buckets.
    #[arg(long)]
    pub(crate) require_mfa_delete: bool,
    /// Require Object Lock on trail buckets.
    #[arg(long)]
    pub(crate) require_object_lock: bool,
    /// The longest a logging trail may go without delivering a log file.
    #[arg(long, value_parser = parse_age, default_value = "24h", value_name = "AGE")]
    pub(crate) max_delivery_age: Duration,
    /// The shortest retention, in days, of the trail's CloudWatch Logs group.
    #[arg(long, default_value_t = 365, value_name = "DAYS")]
    pub(crate) min_log_retention: u32,
}

#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    /// The trail's name.
    #[arg(long, default_value = "management-events", value_name = "NAME")]
    pub(crate) name: String,
    /// The bucket the logs go to (created if missing) [default:
    /// aws-cloudtrail-logs-ACCOUNT-NAME].
    #[arg(long, value_name = "BUCKET")]
    pub(crate) bucket: Option<String>,
    /// A key prefix for the logs in the bucket.
    #[arg(long, value_name = "PREFIX")]
    pub(crate) prefix: Option<String>,
    /// The trail's home region [default: the configured region].
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    #[command(flatten)]
    pub(crate) s3: S3Args,
    /// Encrypt the logs with this KMS key (SSE-KMS) instead of SSE-S3.
    #[arg(long, value_name = "KEY_ARN", conflicts_with = "create_kms_key")]
    pub(crate) kms_key: Option<String>,
    /// Create a customer-managed KMS key with rotation for the logs (alias/trailhound-NAME).
    #[arg(long)]
    pub(crate) create_kms_key: bool,
    #[command(flatten)]
    pub(crate) lifecycle: LifecycleArgs,
    /// Where the trail bucket's server access logs go (created if missing).
    #[arg(long, value_name = "BUCKET")]
    pub(crate) access_log_bucket: Option<String>,
    /// Also deliver to CloudWatch Logs, to this group (with a role for CloudTrail).
    #[arg(long, value_name = "GROUP", num_args = 0..=1, default_missing_value = "aws-cloudtrail-logs")]
    pub(crate) cloudwatch_logs: Option<String>,
    /// Retention of the CloudWatch Logs group, in days.
    #[arg(long, default_value_t = 365, value_name = "DAYS")]
    pub(crate) log_retention_days: u32,
    /// Notify this SNS topic (name; created if missing) of each delivery.
    #[arg(long, value_name = "NAME")]
    pub(crate) sns_topic: Option<String>,
    /// Subscribe this email address to the topic (repeat; each confirms by email).
    #[arg(long = "notify-email", value_name = "ADDRESS", requires = "sns_topic")]
    pub(crate) notify_emails: Vec<String>,
    /// Put the CIS 4.1-4.15 metric filters and alarms on the log group, alarming to the
    /// topic (needs --cloudwatch-logs and --sns-topic).
    #[arg(long)]
    pub(crate) cis_alarms: bool,
    /// Record S3 object-level read and write events for every bucket (CIS 3.8, 3.9; billed
    /// as data events).
    #[arg(long)]
    pub(crate) s3_data_events: bool,
    /// Enable CloudTrail Insights on API call and error rates (billed per event analysed).
    #[arg(long)]
    pub(crate) insights: bool,
    /// A tag for the trail, KEY=VALUE (repeat).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub(crate) tags: Vec<(String, String)>,
    /// Make the calls; without it the plan is printed and nothing changes.
    #[arg(long)]
    pub(crate) apply: bool,
}

fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct RetentionArgs {
    #[command(subcommand)]
    pub(crate) command: Option<RetentionCommand>,
    /// Keep this much of the lake, by event day (90d, 1y); older day partitions are
    /// archived (with --archive-to) or deleted.
    #[arg(long, value_parser = parse_age, value_name = "AGE")]
    pub(crate) keep: Option<Duration>,
    /// Only this account's partitions (repeat).
    #[arg(long = "account", value_name = "ID")]
    pub(crate) accounts: Vec<String>,
    /// Only events of this category leave (data, management, insight, networkactivity);
    /// the rest of each old day stays: keep data events 30 days, the rest longer.
    #[arg(long, value_name = "CATEGORY")]
    pub(crate) category: Option<String>,
    /// Move old partitions here first: a lake of its own, with the same layout, that
    /// `trailhound --data-dir DIR query` reads.
    #[arg(long, value_name = "DIR")]
    pub(crate) archive_to: Option<PathBuf>,
    /// Make the change; without it the plan is printed and nothing changes.
    #[arg(long)]
    pub(crate) apply: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RetentionCommand {
    /// Print (or put, with --apply) the trail bucket's lifecycle rule: archive after one
    /// age, expire after another.
    S3Lifecycle(S3LifecycleArgs),
}

#[derive(Debug, Args)]
pub(crate) struct S3LifecycleArgs {
    /// The trail's bucket (needed with --apply).
    #[arg(long, value_name = "BUCKET")]
    pub(crate) bucket: Option<String>,
    /// The key prefix the rule applies to.
    #[arg(long, default_value = "AWSLogs/", value_name = "PREFIX")]
    pub(crate) prefix: String,
    #[command(flatten)]
    pub(crate) lifecycle: LifecycleArgs,
    #[command(flatten)]
    pub(crate) s3: S3Args,
    /// Put the rule on the bucket (kept beside its other rules).
    #[arg(long)]
    pub(crate) apply: bool,
}

/// The trail bucket's lifecycle rule, as `setup` and `retention s3-lifecycle` take it.
#[derive(Debug, Args)]
pub(crate) struct LifecycleArgs {
    /// Move logs to --storage-class after this long (whole days: 90d, 1y).
    #[arg(long, value_parser = parse_age, value_name = "AGE")]
    pub(crate) archive_after: Option<Duration>,
    /// Delete logs after this long (whole days).
    #[arg(long, value_parser = parse_age, value_name = "AGE")]
    pub(crate) expire_after: Option<Duration>,
    /// The archive storage class (GLACIER, DEEP_ARCHIVE, GLACIER_IR, STANDARD_IA).
    #[arg(long, default_value = "GLACIER", value_name = "CLASS")]
    pub(crate) storage_class: String,
}

impl LifecycleArgs {
    /// The rule asked for under `prefix`; `None` when neither age is given.
    pub(crate) fn rule(&self, prefix: &str) -> anyhow::Result<Option<ArchiveRule>> {
        if self.archive_after.is_none() && self.expire_after.is_none() {
            return Ok(None);
        }
        let days = |age: Option<Duration>| {
            age.map(|age| lifecycle::days(age.to_std().unwrap_or_default()))
                .transpose()
                .map_err(anyhow::Error::msg)
        };
        let rule = ArchiveRule {
            id: "trailhound-archive".to_owned(),
            prefix: prefix.to_owned(),
            archive_after_days: days(self.archive_after)?,
            storage_class: self.storage_class.clone(),
            expire_after_days: days(self.expire_after)?,
        };
        rule.validate().map_err(anyhow::Error::msg)?;
        Ok(Some(rule))
    }
}
