//! The checks: each has an ID, the CIS AWS Foundations controls it evidences (v3/v4
//! numbering first, then the older ones auditors still use), a severity, and gives for each
//! resource a verdict, what was found and the exact fix.
//!
//! A check whose facts are unknown says "unknown", never "pass".

use std::time::Duration;

use serde::Serialize;
use trailhound_detect::{MetricFilter, Rule};
use trailhound_event::{Level, RawEvent};

use crate::facts::{AccountFacts, Fact, Origin, TrailFacts};

/// Why an account-wide fact is unknown from the logs alone.
const SILENT_LOGS: &str =
    "the logs show it for no logging multi-region trail (configured before them?)";
use crate::policy::{
    bucket_policy_problems, cloudtrail_bucket_policy, open_to_everyone, statements,
};

/// What a check is.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Its ID (`TH-CT-01`).
    pub id: String,
    /// What it asks for.
    pub title: String,
    /// The CIS controls it evidences (`CIS v3/v4 3.1`, `CIS v1.4/v1.5 3.1`, `CIS v1.2 2.1`).
    pub cis: Vec<String>,
    /// How bad a failure is.
    pub severity: Level,
}

/// A check's answer for one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The resource meets it.
    Pass,
    /// It does not.
    Fail,
    /// The facts it needs could not be read.
    Unknown,
    /// It does not apply (no key to rotate, no convention configured).
    NotApplicable,
}

impl Verdict {
    /// The word the table shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Unknown => "unknown",
            Verdict::NotApplicable => "n/a",
        }
    }
}

/// One check's verdict on one resource.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The check.
    #[serde(flatten)]
    pub check: Check,
    /// The resource (a trail, bucket, key or log group ARN, or the account).
    pub resource: String,
    /// The verdict.
    pub verdict: Verdict,
    /// What was found.
    pub found: String,
    /// The fix: a CLI command or a policy, when the check fails.
    pub fix: Option<String>,
}

/// What "as configured" means for the checks a user can tune.
#[derive(Debug, Clone)]
pub struct Convention {
    /// A glob the trail names must match (`org-*-trail`).
    pub name_pattern: Option<String>,
    /// Tag keys every trail must carry.
    pub required_tags: Vec<String>,
    /// Require MFA delete on the trail bucket.
    pub require_mfa_delete: bool,
    /// Require Object Lock on the trail bucket.
    pub require_object_lock: bool,
    /// The longest a logging trail may go without delivering.
    pub max_delivery_age: Duration,
    /// The shortest retention the CloudWatch Logs group may have, in days.
    pub min_log_retention_days: u32,
}

impl Default for Convention {
    fn default() -> Self {
        Convention {
            name_pattern: None,
            required_tags: Vec::new(),
            require_mfa_delete: false,
            require_object_lock: false,
            max_delivery_age: Duration::from_secs(24 * 3600),
            min_log_retention_days: 365,
        }
    }
}

fn check(id: &str, title: &str, cis: &[&str], severity: Level) -> Check {
    Check {
        id: id.to_owned(),
        title: title.to_owned(),
        cis: cis.iter().map(|c| (*c).to_owned()).collect(),
        severity,
    }
}

/// Collects outcomes for one check.
struct Verdicts<'o> {
    check: Check,
    out: &'o mut Vec<Outcome>,
}

impl Verdicts<'_> {
    fn push(&mut self, resource: &str, verdict: Verdict, found: String, fix: Option<String>) {
        self.out.push(Outcome {
            check: self.check.clone(),
            resource: resource.to_owned(),
            verdict,
            found,
            fix: if verdict == Verdict::Fail { fix } else { None },
        });
    }

    /// A verdict from a fact: unknown when it is, else pass or fail as `test` says.
    fn on<T>(
        &mut self,
        resource: &str,
        fact: &Fact<T>,
        test: impl FnOnce(&T) -> (bool, String),
        fix: impl FnOnce() -> String,
    ) {
        match fact {
            Fact::Unknown(reason) => self.push(resource, Verdict::Unknown, reason.clone(), None),
            Fact::Known(value) => {
                let (ok, found) = test(value);
                let verdict = if ok { Verdict::Pass } else { Verdict::Fail };
                self.push(resource, verdict, found, Some(fix()));
            }
        }
    }
}

/// Every check's verdicts on `facts`. `rules` are the CIS monitoring rules (their metric
/// filters and test events) the alarm checks compare the account's filters with.
pub fn evaluate(
    facts: &AccountFacts,
    convention: &Convention,
    rules: &[Rule],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    let account = facts
        .account
        .known()
        .cloned()
        .unwrap_or_else(|| "account".to_owned());
    multi_region(facts, &account, &mut out);
    for trail in &facts.trails {
        trail_checks(trail, convention, now, &mut out);
        bucket_checks(trail, &account, convention, &mut out);
    }
    account_wide(facts, &account, &mut out);
    monitoring(facts, &account, rules, &mut out);
    out
}

/// Whether a trail records every management event, read and write, with no exclusion.
fn all_management(trail: &TrailFacts) -> Fact<bool> {
    trail
        .selectors
        .map(|s| s.management_read && s.management_write && s.excluded_sources.is_empty())
}

/// The trails that log every region now.
fn logging_multi_region(facts: &AccountFacts) -> impl Iterator<Item = &TrailFacts> {
    facts.trails.iter().filter(|t| {
        t.multi_region.known() == Some(&true) && t.status.known().is_some_and(|s| s.logging)
    })
}

fn multi_region(facts: &AccountFacts, account: &str, out: &mut Vec<Outcome>) {
    let mut v = Verdicts {
        check: check(
            "TH-CT-01",
            "A multi-region trail is logging every management event (read and write, nothing excluded)",
            &["CIS v3/v4 3.1", "CIS v1.4/v1.5 3.1", "CIS v1.2 2.1"],
            Level::High,
        ),
        out,
    };
    let candidates: Vec<_> = logging_multi_region(facts).collect();
    if let Some(trail) = candidates
        .iter()
        .find(|t| all_management(t).known() == Some(&true))
    {
        v.push(
            account,
            Verdict::Pass,
            format!("{} logs every region", trail.name),
            None,
        );
        return;
    }
    let unknown =
        facts
            .trails
            .iter()
            .find_map(|t| match (&t.multi_region, &t.status, &t.selectors) {
                (Fact::Unknown(r), _, _) | (_, Fact::Unknown(r), _) | (_, _, Fact::Unknown(r)) => {
                    Some(r)
                }
                _ => None,
            });
    if let Some(reason) = unknown {
        v.push(account, Verdict::Unknown, reason.clone(), None);
        return;
    }
    if facts.origin == Origin::Lake {
        // Logs show only the trails configured within them; silence proves nothing.
        v.push(
            account,
            Verdict::Unknown,
            "the logs show no multi-region trail logging every management event".to_owned(),
            None,
        );
        return;
    }
    let found = if facts.trails.is_empty() {
        "no trail exists".to_owned()
    } else if candidates.is_empty() {
        "no multi-region trail is logging".to_owned()
    } else {
        "the logging multi-region trails leave management events out".to_owned()
    };
    let fix = match facts.trails.first() {
        Some(trail) => format!(
            "aws cloudtrail update-trail --name {} --is-multi-region-trail --include-global-service-events && aws cloudtrail start-logging --name {}",
            trail.name, trail.name
        ),
        None => "trailhound setup --bucket BUCKET --apply".to_owned(),
    };
    v.push(account, Verdict::Fail, found, Some(fix));
}

fn trail_checks(
    trail: &TrailFacts,
    convention: &Convention,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut Vec<Outcome>,
) {
    let arn = trail.arn.as_str();
    let name = trail.name.as_str();
    let mut v = Verdicts {
        check: check("TH-CT-02", "The trail is logging", &[], Level::Critical),
        out,
    };
    v.on(
        arn,
        &trail.status,
        |s| match (&s.logging, &s.stopped_at) {
            (true, _) => (true, "logging".to_owned()),
            (false, Some(at)) => (false, format!("logging stopped at {at}")),
            (false, None) => (false, "not logging".to_owned()),
        },
        || format!("aws cloudtrail start-logging --name {name}"),
    );
    v.check = check(
        "TH-CT-03",
        "The trail records management events, read and write, with no source excluded",
        &["CIS v3/v4 3.1", "CIS v1.4/v1.5 3.1", "CIS v1.2 2.1"],
        Level::High,
    );
    v.on(
        arn,
        &trail.selectors,
        |s| {
            let ok = s.management_read && s.management_write && s.excluded_sources.is_empty();
            let found = match (s.management_read, s.management_write) {
                (true, true) if s.excluded_sources.is_empty() => "all management events".to_owned(),
                (true, true) => format!("excludes {}", s.excluded_sources.join(", ")),
                (true, false) => "read events only".to_owned(),
                (false, true) => "write events only".to_owned(),
                (false, false) => "no management events".to_owned(),
            };
            (ok, found)
        },
        || {
            format!(
                "aws cloudtrail put-event-selectors --trail-name {name} --event-selectors '[{{\"ReadWriteType\": \"All\", \"IncludeManagementEvents\": true}}]'"
            )
        },
    );
    v.check = check(
        "TH-CT-04",
        "Log file validation is on",
        &["CIS v3/v4 3.2", "CIS v1.4/v1.5 3.2", "CIS v1.2 2.2"],
        Level::Medium,
    );
    v.on(
        arn,
        &trail.log_file_validation,
        |on| switch(*on, "on", "off"),
        || format!("aws cloudtrail update-trail --name {name} --enable-log-file-validation"),
    );
    v.check = check(
        "TH-CT-05",
        "Logs are encrypted with a KMS key (SSE-KMS)",
        &["CIS v3/v4 3.5", "CIS v1.4/v1.5 3.7", "CIS v1.2 2.7"],
        Level::Medium,
    );
    v.on(
        arn,
        &trail.kms_key,
        |key| match key {
            Some(key) => (true, format!("encrypted with {key}")),
            None => (false, "SSE-S3 only, no KMS key".to_owned()),
        },
        || format!("aws cloudtrail update-trail --name {name} --kms-key-id KEY_ARN  (or: trailhound setup --name {name} --create-kms-key --apply)"),
    );
    v.check = check(
        "TH-KMS-01",
        "The trail's KMS key rotates automatically",
        &["CIS v3/v4 3.6", "CIS v1.4/v1.5 3.8", "CIS v1.2 2.8"],
        Level::Medium,
    );
    match &trail.key {
        None => v.push(arn, Verdict::NotApplicable, "no KMS key".to_owned(), None),
        Some(key) => v.on(
            &key.id,
            &key.rotation,
            |on| switch(*on, "rotation on", "rotation off"),
            || format!("aws kms enable-key-rotation --key-id {}", key.id),
        ),
    }
    v.check = check(
        "TH-KMS-02",
        "The trail's KMS key policy does not let everyone in",
        &[],
        Level::High,
    );
    if let Some(key) = &trail.key {
        v.on(
            &key.id,
            &key.policy,
            |policy| {
                let open = statements(policy).into_iter().any(open_to_everyone);
                (!open, if open { "a statement allows everyone, unconditioned" } else { "no statement open to everyone" }.to_owned())
            },
            || format!("aws kms put-key-policy --key-id {} --policy-name default --policy file://key-policy.json  (trailhound setup prints a least-privilege one)", key.id),
        );
    }
    v.check = check(
        "TH-CT-06",
        "The trail delivers without errors, recently",
        &[],
        Level::High,
    );
    let max_age = convention.max_delivery_age;
    v.on(
        arn,
        &trail.status,
        |s| delivery_health(s, max_age, now),
        || format!("aws cloudtrail get-trail-status --name {name}  (check the bucket policy and KMS key policy allow CloudTrail; see LatestDeliveryError)"),
    );
    // A delivery time of "unknown" is not a failure.
    if let Some(last) = v.out.last_mut()
        && last.check.id == "TH-CT-06"
        && last.found.starts_with("no delivery recorded")
    {
        last.verdict = Verdict::Unknown;
        last.fix = None;
    }
    v.check = check(
        "TH-CW-01",
        "The trail delivers to CloudWatch Logs",
        &["CIS v1.4/v1.5 3.4", "CIS v1.2 2.4"],
        Level::Medium,
    );
    match (&trail.log_group_arn, &trail.log_group) {
        (Fact::Unknown(reason), _) => v.push(arn, Verdict::Unknown, reason.clone(), None),
        (Fact::Known(None), _) | (_, None) => v.push(
            arn,
            Verdict::Fail,
            "no CloudWatch Logs group".to_owned(),
            Some(format!(
                "trailhound setup --name {name} --cloudwatch-logs --apply"
            )),
        ),
        (Fact::Known(Some(group_arn)), Some(group)) => {
            let error = trail
                .status
                .known()
                .and_then(|s| s.latest_cloudwatch_error.clone());
            v.on(
                group_arn,
                &group.exists,
                |exists| match (exists, &error) {
                    (false, _) => (false, format!("the log group {} does not exist", group.name)),
                    (true, Some(error)) => (false, format!("delivery fails: {error}")),
                    (true, None) => (true, format!("delivers to {}", group.name)),
                },
                || format!("aws logs create-log-group --log-group-name {}  (and check the trail's CloudWatch Logs role)", group.name),
            );
        }
    }
    v.check = check(
        "TH-CW-02",
        "The CloudWatch Logs group keeps events for the required time, not forever",
        &[],
        Level::Low,
    );
    if let Some(group) = &trail.log_group {
        let minimum = convention.min_log_retention_days;
        v.on(
            &group.name,
            &group.retention_days,
            |days| match days {
                Some(days) if *days >= minimum => (true, format!("{days} days")),
                Some(days) => (false, format!("{days} days, under {minimum}")),
                None => (false, "kept forever (no retention set)".to_owned()),
            },
            || format!("aws logs put-retention-policy --log-group-name {} --retention-in-days {minimum}", group.name),
        );
    }
    v.check = check(
        "TH-SNS-01",
        "The trail notifies an SNS topic someone is subscribed to",
        &[],
        Level::Low,
    );
    match &trail.topic {
        None => v.push(
            arn,
            Verdict::Fail,
            "no SNS topic".to_owned(),
            Some(format!("trailhound setup --name {name} --sns-topic TOPIC --apply")),
        ),
        Some(topic) => v.on(
            arn,
            topic,
            |t| match (t.exists, t.subscriptions) {
                (false, _) => (false, format!("the topic {} does not exist", t.arn)),
                (true, 0) => (false, format!("nobody is subscribed to {}", t.arn)),
                (true, n) => (true, format!("{n} subscription(s) to {}", t.arn)),
            },
            || "aws sns subscribe --topic-arn TOPIC_ARN --protocol email --notification-endpoint YOU@EXAMPLE.COM".to_owned(),
        ),
    }
    v.check = check(
        "TH-TAG-01",
        "The trail carries the required tags",
        &[],
        Level::Low,
    );
    if convention.required_tags.is_empty() {
        v.push(
            arn,
            Verdict::NotApplicable,
            "no tags required (posture.required_tags)".to_owned(),
            None,
        );
    } else {
        let required = &convention.required_tags;
        v.on(
            arn,
            &trail.tags,
            |tags| {
                let missing: Vec<_> = required
                    .iter()
                    .filter(|key| !tags.iter().any(|(k, _)| k == *key))
                    .cloned()
                    .collect();
                (
                    missing.is_empty(),
                    if missing.is_empty() {
                        "all required tags".to_owned()
                    } else {
                        format!("missing {}", missing.join(", "))
                    },
                )
            },
            || {
                format!(
                    "aws cloudtrail add-tags --resource-id {arn} --tags-list {}",
                    required
                        .iter()
                        .map(|k| format!("Key={k},Value=VALUE"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            },
        );
    }
    v.check = check(
        "TH-NAME-01",
        "The trail's name follows the naming convention",
        &[],
        Level::Low,
    );
    match convention.name_pattern.as_deref().map(glob::Pattern::new) {
        None => v.push(
            arn,
            Verdict::NotApplicable,
            "no convention (posture.name_pattern)".to_owned(),
            None,
        ),
        Some(Err(err)) => v.push(
            arn,
            Verdict::Unknown,
            format!("the name pattern is not a glob: {err}"),
            None,
        ),
        Some(Ok(pattern)) => {
            let ok = pattern.matches(name);
            v.push(
                arn,
                if ok { Verdict::Pass } else { Verdict::Fail },
                format!("{name:?} {} {}", if ok { "matches" } else { "does not match" }, pattern.as_str()),
                Some("trails cannot be renamed: create one with the right name (trailhound setup --name NAME) and delete this one".to_owned()),
            );
        }
    }
}

/// A verdict on a yes/no fact, with the word for each.
fn switch(on: bool, yes: &str, no: &str) -> (bool, String) {
    (on, if on { yes } else { no }.to_owned())
}

fn delivery_health(
    status: &crate::facts::Status,
    max_age: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> (bool, String) {
    if let Some(error) = &status.latest_delivery_error {
        return (false, format!("the last delivery failed: {error}"));
    }
    if !status.logging {
        return (false, "not logging, so not delivering".to_owned());
    }
    let Some(latest) = &status.latest_delivery else {
        return (true, "no delivery recorded yet".to_owned());
    };
    match chrono::DateTime::parse_from_rfc3339(latest) {
        Ok(at) => {
            let age = now.signed_duration_since(at.with_timezone(&chrono::Utc));
            let hours = age.num_minutes() as f64 / 60.0;
            if age.to_std().is_ok_and(|age| age > max_age) {
                (
                    false,
                    format!("nothing delivered for {hours:.1} h (last at {latest})"),
                )
            } else {
                (true, format!("last delivery at {latest}"))
            }
        }
        Err(_) => (true, format!("last delivery at {latest}")),
    }
}

fn bucket_checks(
    trail: &TrailFacts,
    account: &str,
    convention: &Convention,
    out: &mut Vec<Outcome>,
) {
    let bucket = &trail.bucket;
    let name = bucket.name.as_str();
    let arn = format!("arn:aws:s3:::{name}");
    let mut v = Verdicts {
        check: check(
            "TH-S3-01",
            "The trail bucket is not public (ACL and policy)",
            &["CIS v1.4/v1.5 3.3", "CIS v1.2 2.3"],
            Level::Critical,
        ),
        out,
    };
    match (&bucket.public_grants, &bucket.policy) {
        (Fact::Known(grants), _) if !grants.is_empty() => v.push(
            &arn,
            Verdict::Fail,
            format!("the ACL grants {}", grants.join(", ")),
            Some(format!(
                "aws s3api put-bucket-acl --bucket {name} --acl private"
            )),
        ),
        (_, Fact::Known(Some(policy))) if statements(policy).into_iter().any(open_to_everyone) => v
            .push(
                &arn,
                Verdict::Fail,
                "the bucket policy allows everyone, unconditioned".to_owned(),
                Some(format!(
                    "aws s3api put-bucket-policy --bucket {name} --policy '{}'",
                    cloudtrail_bucket_policy(name, trail.prefix.as_deref(), account, &trail.arn)
                )),
            ),
        (Fact::Unknown(reason), _) | (_, Fact::Unknown(reason)) => {
            v.push(&arn, Verdict::Unknown, reason.clone(), None);
        }
        _ => v.push(
            &arn,
            Verdict::Pass,
            "no public grant or statement".to_owned(),
            None,
        ),
    }
    v.check = check(
        "TH-S3-02",
        "The bucket blocks public access (all four settings)",
        &[],
        Level::High,
    );
    v.on(
        &arn,
        &bucket.public_access_block,
        |block| match block {
            Some(block) if block.all() => (true, "all four on".to_owned()),
            Some(_) => (false, "some settings off".to_owned()),
            None => (false, "no public access block on the bucket".to_owned()),
        },
        || format!("aws s3api put-public-access-block --bucket {name} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"),
    );
    v.check = check(
        "TH-S3-03",
        "The bucket policy lets only CloudTrail write and names who may read or delete",
        &[],
        Level::High,
    );
    v.on(
        &arn,
        &bucket.policy,
        |policy| match policy {
            None => (false, "no bucket policy".to_owned()),
            Some(policy) => {
                let problems = bucket_policy_problems(policy);
                (
                    problems.is_empty(),
                    if problems.is_empty() {
                        "only CloudTrail writes".to_owned()
                    } else {
                        problems.join("; ")
                    },
                )
            }
        },
        || {
            format!(
                "aws s3api put-bucket-policy --bucket {name} --policy '{}'",
                cloudtrail_bucket_policy(name, trail.prefix.as_deref(), account, &trail.arn)
            )
        },
    );
    v.check = check("TH-S3-04", "The bucket keeps versions", &[], Level::Medium);
    v.on(
        &arn,
        &bucket.versioning,
        |ver| (ver.enabled, if ver.enabled { "enabled" } else { "not enabled" }.to_owned()),
        || format!("aws s3api put-bucket-versioning --bucket {name} --versioning-configuration Status=Enabled"),
    );
    v.check = check(
        "TH-S3-05",
        "MFA delete is on for the bucket",
        &[],
        Level::Low,
    );
    if convention.require_mfa_delete {
        v.on(
            &arn,
            &bucket.versioning,
            |ver| (ver.mfa_delete, if ver.mfa_delete { "on" } else { "off" }.to_owned()),
            || format!("aws s3api put-bucket-versioning --bucket {name} --versioning-configuration Status=Enabled,MFADelete=Enabled --mfa 'ROOT_MFA_SERIAL CODE'  (as the root user)"),
        );
    } else {
        v.push(
            &arn,
            Verdict::NotApplicable,
            "not required (posture.require_mfa_delete)".to_owned(),
            None,
        );
    }
    v.check = check(
        "TH-S3-06",
        "Server access logging is on for the bucket",
        &["CIS v3/v4 3.4", "CIS v1.4/v1.5 3.6", "CIS v1.2 2.6"],
        Level::Medium,
    );
    v.on(
        &arn,
        &bucket.access_logging,
        |target| match target {
            Some(target) => (true, format!("logs to {target}")),
            None => (false, "off".to_owned()),
        },
        || format!("aws s3api put-bucket-logging --bucket {name} --bucket-logging-status '{{\"LoggingEnabled\": {{\"TargetBucket\": \"ACCESS_LOG_BUCKET\", \"TargetPrefix\": \"{name}/\"}}}}'"),
    );
    v.check = check(
        "TH-S3-07",
        "A lifecycle rule archives or expires old logs",
        &[],
        Level::Low,
    );
    v.on(
        &arn,
        &bucket.lifecycle,
        |rules| {
            let rule = rules.iter().find(|r| r.enabled && (r.transition_days.is_some() || r.expiration_days.is_some()));
            match rule {
                Some(rule) => (true, format!("rule {:?}: archive after {:?} days, expire after {:?}", rule.id, rule.transition_days, rule.expiration_days)),
                None => (false, "no enabled rule archives or expires".to_owned()),
            }
        },
        || format!("trailhound retention s3-lifecycle --bucket {name} --archive-after 90d --expire-after 365d --apply"),
    );
    v.check = check(
        "TH-S3-08",
        "The bucket encrypts by default",
        &[],
        Level::Low,
    );
    v.on(
        &arn,
        &bucket.encryption,
        |algorithm| match algorithm {
            Some(algorithm) => (true, algorithm.clone()),
            None => (false, "no default encryption".to_owned()),
        },
        || format!("aws s3api put-bucket-encryption --bucket {name} --server-side-encryption-configuration '{{\"Rules\": [{{\"ApplyServerSideEncryptionByDefault\": {{\"SSEAlgorithm\": \"AES256\"}}}}]}}'"),
    );
    v.check = check("TH-S3-09", "Object Lock protects the logs", &[], Level::Low);
    if convention.require_object_lock {
        v.on(
            &arn,
            &bucket.object_lock,
            |on| switch(*on, "enabled", "not enabled"),
            || "Object Lock must be enabled when a bucket is created: create a new bucket with --object-lock-enabled-for-bucket and point the trail at it".to_owned(),
        );
    } else {
        v.push(
            &arn,
            Verdict::NotApplicable,
            "not required (posture.require_object_lock)".to_owned(),
            None,
        );
    }
}

fn account_wide(facts: &AccountFacts, account: &str, out: &mut Vec<Outcome>) {
    let fix_trail = facts
        .trails
        .first()
        .map_or("TRAIL".to_owned(), |t| t.name.clone());
    let mut v = Verdicts {
        check: check(
            "TH-DE-01",
            "S3 object-level write events are recorded for every bucket",
            &["CIS v3/v4 3.8", "CIS v1.4/v1.5 3.10"],
            Level::Low,
        ),
        out,
    };
    let s3_data = |read: bool| -> Fact<bool> {
        let mut unknown = None;
        for trail in logging_multi_region(facts) {
            match &trail.selectors {
                Fact::Known(s) if (read && s.s3_object_read) || (!read && s.s3_object_write) => {
                    return Fact::Known(true);
                }
                Fact::Unknown(reason) => unknown = Some(reason.clone()),
                Fact::Known(_) => {}
            }
        }
        match (unknown, facts.origin) {
            (Some(reason), _) => Fact::Unknown(reason),
            (None, Origin::Lake) => Fact::Unknown(SILENT_LOGS.to_owned()),
            (None, Origin::Live) => Fact::Known(false),
        }
    };
    let fix = format!(
        "aws cloudtrail put-event-selectors --trail-name {fix_trail} --event-selectors '[{{\"ReadWriteType\": \"All\", \"IncludeManagementEvents\": true, \"DataResources\": [{{\"Type\": \"AWS::S3::Object\", \"Values\": [\"arn:aws:s3\"]}}]}}]'"
    );
    v.on(
        account,
        &s3_data(false),
        |on| switch(*on, "recorded by a multi-region trail", "not recorded"),
        || fix.clone(),
    );
    v.check = check(
        "TH-DE-02",
        "S3 object-level read events are recorded for every bucket",
        &["CIS v3/v4 3.9", "CIS v1.4/v1.5 3.11"],
        Level::Low,
    );
    v.on(
        account,
        &s3_data(true),
        |on| switch(*on, "recorded by a multi-region trail", "not recorded"),
        || fix.clone(),
    );
    v.check = check(
        "TH-IN-01",
        "CloudTrail Insights watches the API call and error rates",
        &[],
        Level::Low,
    );
    let mut insights = match facts.origin {
        Origin::Live => Fact::Known(Vec::new()),
        Origin::Lake => Fact::Unknown(SILENT_LOGS.to_owned()),
    };
    for trail in logging_multi_region(facts) {
        match &trail.insights {
            Fact::Known(types) if !types.is_empty() => {
                insights = Fact::Known(types.clone());
                break;
            }
            Fact::Unknown(reason) => insights = Fact::Unknown(reason.clone()),
            Fact::Known(_) => {}
        }
    }
    v.on(
        account,
        &insights,
        |types| (!types.is_empty(), if types.is_empty() { "not enabled".to_owned() } else { types.join(", ") }),
        || format!("aws cloudtrail put-insight-selectors --trail-name {fix_trail} --insight-selectors '[{{\"InsightType\": \"ApiCallRateInsight\"}}, {{\"InsightType\": \"ApiErrorRateInsight\"}}]'"),
    );
}

/// CIS monitoring numbering in the older benchmark: v1.2 numbers 3.1–3.14 what v1.4 on
/// numbers 4.1–4.14.
fn monitoring_cis(number: &str) -> Vec<String> {
    let mut cis = vec![
        format!("CIS v3/v4 {number}"),
        format!("CIS v1.4/v1.5 {number}"),
    ];
    if let Some(n) = number
        .strip_prefix("4.")
        .and_then(|n| n.parse::<u32>().ok())
        && n <= 14
    {
        cis.push(format!("CIS v1.2 3.{n}"));
    }
    cis
}

/// The CIS monitoring controls: for each, a metric filter on a logging multi-region trail's
/// log group that catches the control's example events, with an alarm whose SNS topic
/// reaches someone. A filter counts when it matches every example the control ships with,
/// so a pattern written differently but meaning the same passes.
fn monitoring(facts: &AccountFacts, account: &str, rules: &[Rule], out: &mut Vec<Outcome>) {
    let groups: Vec<_> = logging_multi_region(facts)
        .filter_map(|t| t.log_group.as_ref())
        .collect();
    for (number, title, filter, rule) in trailhound_detect::cis_monitoring_rules(rules) {
        let examples: Vec<&String> = rule.tests.matching.iter().flatten().collect();
        let pattern = filter.text();
        let mut v = Verdicts {
            check: Check {
                id: format!("TH-MON-{}", number.replace('.', "-")),
                title: format!("An alarm watches for {title}"),
                cis: monitoring_cis(number),
                severity: Level::Low,
            },
            out,
        };
        let fix = |group: &str| {
            let metric = format!("cis-{}", number.replace('.', "-"));
            format!(
                "aws logs put-metric-filter --log-group-name {group} --filter-name {metric} --metric-transformations metricName={metric},metricNamespace=CISBenchmark,metricValue=1 --filter-pattern '{pattern}' && aws cloudwatch put-metric-alarm --alarm-name {metric} --metric-name {metric} --namespace CISBenchmark --statistic Sum --period 300 --evaluation-periods 1 --threshold 1 --comparison-operator GreaterThanOrEqualToThreshold --alarm-actions TOPIC_ARN  (or: trailhound setup --cloudwatch-logs --sns-topic TOPIC --cis-alarms --apply)"
            )
        };
        if groups.is_empty() && facts.origin == Origin::Lake {
            v.push(account, Verdict::Unknown, SILENT_LOGS.to_owned(), None);
            continue;
        }
        if groups.is_empty() {
            v.push(
                account,
                Verdict::Fail,
                "no logging multi-region trail delivers to CloudWatch Logs".to_owned(),
                Some(fix("LOG_GROUP")),
            );
            continue;
        }
        let mut verdict = (Verdict::Fail, String::new());
        for group in &groups {
            let filters = match &group.metric_filters {
                Fact::Known(filters) => filters,
                Fact::Unknown(reason) => {
                    verdict = (Verdict::Unknown, reason.clone());
                    continue;
                }
            };
            let catching: Vec<_> = filters
                .iter()
                .filter(|f| {
                    MetricFilter::parse(&f.pattern).is_ok_and(|filter| {
                        !examples.is_empty()
                            && examples.iter().all(|e| filter.is_match(&RawEvent::new(e)))
                    })
                })
                .collect();
            if catching.is_empty() {
                if verdict.0 == Verdict::Fail {
                    verdict.1 = format!("no metric filter on {} catches it", group.name);
                }
                continue;
            }
            let alarms = match &facts.alarms {
                Fact::Known(alarms) => alarms,
                Fact::Unknown(reason) => {
                    verdict = (Verdict::Unknown, reason.clone());
                    continue;
                }
            };
            let alarmed = catching
                .iter()
                .flat_map(|f| &f.metrics)
                .find_map(|(ns, metric)| {
                    alarms
                        .iter()
                        .find(|a| &a.namespace == ns && &a.metric == metric)
                });
            match alarmed {
                None => {
                    verdict.1 = format!(
                        "the metric filter {} has no alarm",
                        catching.first().map_or("", |f| f.name.as_str())
                    );
                }
                Some(alarm) => {
                    let reached = alarm
                        .topics
                        .iter()
                        .any(|t| t.known().is_some_and(|t| t.exists && t.subscriptions > 0));
                    if reached {
                        verdict = (
                            Verdict::Pass,
                            format!(
                                "filter {} → alarm {}",
                                catching.first().map_or("", |f| f.name.as_str()),
                                alarm.name
                            ),
                        );
                        break;
                    }
                    let unknown = alarm.topics.iter().find_map(|t| match t {
                        Fact::Unknown(reason) => Some(reason.clone()),
                        Fact::Known(_) => None,
                    });
                    verdict = match unknown {
                        Some(reason) => (Verdict::Unknown, reason),
                        None => (
                            Verdict::Fail,
                            format!(
                                "the alarm {} reaches nobody (no SNS topic with a subscription)",
                                alarm.name
                            ),
                        ),
                    };
                }
            }
        }
        let group = groups.first().map_or("LOG_GROUP", |g| g.name.as_str());
        v.push(account, verdict.0, verdict.1, Some(fix(group)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_facts_give_unknown_verdicts_never_pass() {
        // A trail the logs show only stopping: nothing is known of its bucket.
        let mut replay = crate::from_lake::Replay::default();
        replay.apply(
            r#"{"eventVersion":"1.08","eventTime":"2024-07-01T00:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","recipientAccountId":"111122223333","requestParameters":{"name":"main"}}"#,
        );
        let facts = replay.facts();
        let outcomes = evaluate(&facts, &Convention::default(), &[], chrono::Utc::now());
        let verdict = |id: &str| {
            outcomes
                .iter()
                .find(|o| o.check.id == id)
                .map(|o| o.verdict)
        };
        for id in [
            "TH-S3-01", "TH-S3-02", "TH-S3-03", "TH-S3-04", "TH-S3-06", "TH-CT-04",
        ] {
            assert_eq!(verdict(id), Some(Verdict::Unknown), "{id}");
        }
        // What the logs do show is judged: the trail is not logging.
        assert_eq!(verdict("TH-CT-02"), Some(Verdict::Fail));
        assert!(
            outcomes
                .iter()
                .all(|o| o.verdict != Verdict::Pass || o.check.id == "TH-CT-03")
        );
    }
}
