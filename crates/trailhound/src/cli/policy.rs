//! `trailhound policy`'s arguments.

use clap::{Args, ValueEnum};
use trailhound_query::{TimeBound, parse_time_bound};

/// `trailhound policy`.
#[derive(Debug, Args)]
pub(crate) struct PolicyArgs {
    /// Whose policy: a role (`arn:aws:iam::111122223333:role/deploy`, `role/deploy`; its
    /// sessions count for it, an assumed-role session ARN names its role), a user
    /// (`arn:aws:iam::111122223333:user/alice`, `user/alice`), a bare name (either), or `all`
    /// (everything in the lake, e.g. to compare mappings).
    pub(crate) principal: String,
    /// Read these CloudTrail files or folders instead of the lake (every shape `cat` reads).
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<String>,
    /// Start of the period: an age (90d), a date or an RFC 3339 time [default: 90d over the
    /// lake, everything in files].
    #[arg(long, value_parser = parse_time_bound, value_name = "TIME")]
    pub(crate) since: Option<TimeBound>,
    /// End of the period (now by default).
    #[arg(long, value_parser = parse_time_bound, value_name = "TIME")]
    pub(crate) until: Option<TimeBound>,
    /// policy: the IAM policy document; table: each action with its uses, then the calls
    /// refused and those no table knows; json: all of it, for tooling.
    #[arg(long, value_enum, default_value_t = PolicyFormat::Policy)]
    pub(crate) format: PolicyFormat,
    /// exact: the ARNs the calls named; wildcard: `*` (actions only).
    #[arg(long, value_enum, default_value_t = ResourceMode::Exact)]
    pub(crate) resources: ResourceMode,
    /// Warn when the policy is longer than this many characters (IAM's limit for a managed
    /// policy is 6144; an inline policy of a role 10240).
    #[arg(long, default_value_t = 6_144, value_name = "CHARS")]
    pub(crate) max_size: usize,
    /// Widen the policy until it fits --max-size: first every resource `*`, then actions of a
    /// service sharing a verb as one wildcard (`ec2:Describe*`, which allows more than was
    /// used). What was widened is said on stderr.
    #[arg(long)]
    pub(crate) fit: bool,
    /// principal: one policy per principal the events name (a name in several accounts,
    /// `all`): a JSON object from each principal's ARN to its policy.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub(crate) group_by: Option<GroupBy>,
    /// The principal's current policies, saved from `aws iam
    /// get-account-authorization-details`: each action they grant is marked used, unused, or
    /// not visible (a data event the trail does not log).
    #[arg(long, value_name = "FILE", conflicts_with = "attached_from_aws")]
    pub(crate) attached: Option<std::path::PathBuf>,
    /// The same, read live from IAM with the credential chain (`iam:GetAccountAuthorizationDetails`).
    #[arg(long)]
    pub(crate) attached_from_aws: bool,
    /// How IAM is reached with --attached-from-aws.
    #[command(flatten)]
    pub(crate) aws: crate::cli::S3Args,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PolicyFormat {
    /// The IAM policy document.
    Policy,
    /// A table of actions.
    Table,
    /// Everything, as JSON.
    Json,
}

/// `--resources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ResourceMode {
    /// The ARNs the calls named.
    Exact,
    /// `*`.
    Wildcard,
}

/// `--group-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GroupBy {
    /// One policy per principal ARN.
    Principal,
}
