//! What the user can ask for: clap definitions and the parsing of argument values. Parsed
//! arguments are turned into library settings by the commands, not here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use trailhound_source::{InputSpec, ReadLimits, ReadOptions, S3Settings, Selection};

mod policy;
mod report;
mod trace;
mod trail;

pub(crate) use policy::{PolicyArgs, PolicyFormat, ResourceMode};
pub(crate) use report::ReportArgs;
pub(crate) use trace::{TraceArgs, TraceFormat};
pub(crate) use trail::{
    PostureArgs, PostureFormat, RetentionArgs, RetentionCommand, S3LifecycleArgs, SetupArgs,
    Severity,
};
pub(crate) use trailhound_event::quantity::parse_size;
pub(crate) use trailhound_query::{TimeBound, parse_age, parse_time_bound};

/// Fast, self-hosted AWS CloudTrail monitoring and analysis.
///
/// Reads every CloudTrail shape (log files, .json.gz, the AWSLogs/ S3 layout, NDJSON,
/// lookup-events output, EventBridge envelopes) from files, folders, globs and stdin.
#[derive(Debug, Parser)]
#[command(
    name = "trailhound",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// More diagnostics on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors on stderr: no progress, no summary, no warnings.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Where the lake and its catalog live [default: $XDG_DATA_HOME/trailhound, else
    /// ~/.local/share/trailhound].
    #[arg(long, global = true, env = "TRAILHOUND_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Configuration file (sinks, routes, throttling) [default: ./trailhound.toml, else
    /// DATA_DIR/trailhound.toml; none is fine].
    #[arg(long, global = true, env = "TRAILHOUND_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Keep the lake's Parquet files on S3 (or an S3-compatible store) under this prefix,
    /// s3://bucket/prefix, instead of in the data directory, which keeps the catalog. Given
    /// once, on the first ingest or watch; the data directory remembers it.
    #[arg(long, global = true, env = "TRAILHOUND_LAKE", value_name = "S3_URL")]
    pub(crate) lake: Option<String>,
    /// The endpoint of the S3-compatible store holding --lake [default: AWS_ENDPOINT_URL,
    /// else AWS].
    #[arg(
        long,
        global = true,
        env = "TRAILHOUND_LAKE_ENDPOINT",
        value_name = "URL"
    )]
    pub(crate) lake_endpoint_url: Option<String>,
    /// The AWS profile whose credentials reach --lake [default: the credential chain].
    #[arg(
        long,
        global = true,
        env = "TRAILHOUND_LAKE_PROFILE",
        value_name = "NAME"
    )]
    pub(crate) lake_profile: Option<String>,
}

impl GlobalArgs {
    /// The data directory: the flag or environment, else the platform's data folder.
    pub(crate) fn data_dir(&self) -> anyhow::Result<PathBuf> {
        Ok(trailhound_lake::data_dir(self.data_dir.as_deref())?)
    }

    /// Records `--lake` in the data directory (or checks it against the one recorded), so
    /// that every command opening the lake finds its files there.
    pub(crate) fn adopt_lake_place(&self) -> anyhow::Result<()> {
        let configured = match &self.lake {
            Some(_) => None,
            None => crate::commands::alert::pipeline_config(self)?.lake,
        };
        let Some(url) = self
            .lake
            .clone()
            .or_else(|| configured.as_ref().map(|c| c.location.clone()))
        else {
            return Ok(());
        };
        let spec = trailhound_lake::RemoteSpec::new(
            &url,
            self.lake_endpoint_url
                .clone()
                .or_else(|| configured.as_ref().and_then(|c| c.endpoint_url.clone())),
            self.lake_profile
                .clone()
                .or_else(|| configured.as_ref().and_then(|c| c.profile.clone())),
        )?;
        trailhound_lake::Lake::adopt_place(&self.data_dir()?, &spec)?;
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Stream the events of any CloudTrail input as NDJSON (or pretty JSON) to stdout.
    ///
    /// Each event is printed exactly as AWS wrote it, one per line, ready for jq or any other
    /// tool. Folders are read recursively in name order; digest files are recognised and
    /// skipped. Files that cannot be read are reported on stderr with the reason, the rest
    /// goes on, and the exit code is 2.
    Cat(CatArgs),
    /// Convert CloudTrail to OCSF 1.1 API Activity (class 6003): Parquet laid out as Amazon
    /// Security Lake expects of a custom source (ext/SOURCE/region=…/accountId=…/eventDay=…/),
    /// or JSON lines on stdout. Reads the same inputs as cat; the mapping is in docs/ocsf.md.
    Export(ExportArgs),
    /// Write realistic synthetic CloudTrail logs in the exact S3 layout CloudTrail uses.
    ///
    /// Gzipped {"Records":[…]} files per account, region and 5 minutes under
    /// DIR/AWSLogs/…, with a realistic mix of services, identities, console sign-ins, errors
    /// and data events. --scenarios plants labelled attack sequences and writes their
    /// ground truth (eventID → technique) to DIR/.trailhound/ground-truth.jsonl. The same seed always
    /// writes the same events.
    Generate(GenerateArgs),
    /// Ingest CloudTrail into the lake: partitioned Parquet with a catalog, deduplicated by
    /// eventID.
    ///
    /// Takes the same inputs and filters as `cat`. Re-ingesting adds nothing: unchanged files
    /// are skipped, and an event already in the lake is stored once. An interrupted ingest
    /// (even killed) can simply be run again. Bad files are recorded with their reason
    /// (`trailhound sources --failed`) and the rest goes on; a file whose content is at fault
    /// is not read again until it changes (or `--force`). Every event runs through the
    /// detection rules (as `hunt` would); findings go to the catalog and to the `findings`
    /// table of `trailhound query`.
    Ingest(IngestArgs),
    /// Run read-only SQL over the lake: CloudTrail Lake's, Athena's or DataFusion's, or a
    /// CloudWatch Logs Insights query.
    ///
    /// Tables: events, findings, insights (computed_insights: Trailhound's own only). A query
    /// pasted from CloudTrail Lake or Athena runs as written: `FROM $EDS_ID`, an event data
    /// store ID or `cloudtrail_logs…` mean `events`; names match in any case
    /// (`useridentity.arn`); `requestParameters.bucketName`, `element_at(…)`,
    /// `json_extract_scalar(…)` reach into the JSON; Athena's `year`/`month`/`day`/`timestamp`
    /// partitions are the lake's `date`. Filters on `account`, `region`, `date`,
    /// `recipientAccountId`, `awsRegion` and `eventTime` skip whole folders.
    ///
    /// Examples:
    ///   trailhound query "SELECT eventName, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC"
    ///   trailhound query -l logs-insights 'filter errorCode like /AccessDenied/ | stats count(*) by userIdentity.arn'
    ///   trailhound query --list;  trailhound query --run console-logins-without-mfa
    Query(QueryArgs),
    /// Find events with quick filters, over the lake or directly over files.
    ///
    /// Patterns are globs (`Delete*`, `*Policy*`) matched without regard to case; --user
    /// matches anywhere in the principal's ARN, name or session issuer unless it has
    /// wildcards.
    Search(SearchArgs),
    /// Summarise the lake at a glance: time range, events per day, top principals, APIs,
    /// errors, regions and source IPs.
    Stats(StatsArgs),
    /// Print one event, exactly as AWS wrote it, by its eventID.
    Show(ShowArgs),
    /// Run detection rules over files (no ingest needed) or over the lake, as a timeline.
    ///
    /// Uses the built-in pack (CIS AWS Foundations 4.1-4.15 and attack techniques) plus any
    /// Sigma rules, correlations or CloudWatch metric-filter rules given with --rules. Exit
    /// code 1 when something was found, 0 when nothing was, 2 when input had to be skipped.
    Hunt(HuntArgs),
    /// Validate CloudTrail log file integrity: digest chains, RSA signatures and log hashes,
    /// in the bucket or on a downloaded copy.
    ///
    /// Checks what `aws cloudtrail validate-logs` checks, offline: each digest is where
    /// CloudTrail put it, signed by the key its fingerprint names (valid at the time), chained
    /// to the previous digest by hash; each listed log file exists and hashes to the listed
    /// value. Also reports hourly digests missing from the chain and log files no digest lists.
    /// On S3 each digest's signature is its x-amz-meta-signature metadata. On a copy, every
    /// digest but the newest is signed by the next one; the newest needs that metadata saved
    /// as a `<digest>.sig` sidecar, else it is reported as an unsigned tip. Invalid files go to stderr, valid ones to stdout with --verbose; exit
    /// code 1 when anything is invalid.
    Validate(ValidateArgs),
    /// Download a trail's logs from S3 for a date range, in CloudTrail's own layout.
    ///
    /// Like `aws s3 cp --recursive`, but only the accounts, regions and days asked for are
    /// listed and downloaded. Digest files come with their signature (the object's
    /// x-amz-meta-signature) as a `.sig` sidecar, so `trailhound validate DIR` works offline.
    /// Files already there at the right size are skipped, so an interrupted pull resumes.
    Pull(PullArgs),
    /// Check every trail and its delivery chain against CIS and best practice, live from the
    /// AWS APIs.
    ///
    /// Reads CloudTrail (trails, status, selectors, Insights, tags), the trail bucket
    /// (versioning, MFA delete, policy, ACL, public access block, encryption, access
    /// logging, lifecycle, Object Lock), the KMS key (rotation, policy), CloudWatch Logs
    /// (group, retention, the CIS metric filters and their alarms) and SNS. Each check has an
    /// ID, the CIS controls it evidences, a severity and, when it fails, the exact fix. A
    /// check whose facts cannot be read (refused, or not implemented by the server) says
    /// "unknown", never "pass". Exit code 1 when a check at or above --fail-on fails.
    Posture(PostureArgs),
    /// A report for auditors or the weekly review: one self-contained document.
    ///
    /// Coverage (accounts and regions, hours with no logs, digests missing from a chain),
    /// activity per day and service, root use, console sign-ins and MFA, the CIS 4.x
    /// monitored changes with who and when, findings and their triage, Insights, integrity
    /// and posture results, top talkers and what was first seen. Every figure is an SQL
    /// query over the lake, printed in the appendix so that an auditor can re-run it.
    /// HTML has inline SVG charts and a print stylesheet; PDF is that HTML printed by a
    /// headless Chromium.
    Report(ReportArgs),
    /// The IAM policy that allows what a principal did, no more.
    ///
    /// Reads the principal's events in the lake (a role's sessions count for the role) and
    /// maps each call to the IAM actions it needs (iam-dataset's map of SDK operations to
    /// actions, checked against AWS's Service Authorization Reference: S3's renames, calls
    /// needing several actions, iam:PassRole inferred from the request), with the resources
    /// the calls named. Calls refused (AccessDenied…) are listed apart, not granted. Prints
    /// the policy document; --format table shows each action's uses.
    Policy(PolicyArgs),
    /// Who is really behind a key, session or event: the chain back to its origin, and
    /// everything minted from it.
    ///
    /// Walks back through the credentials CloudTrail saw handed out (AssumeRole and its SAML
    /// and web identity forms, console role switches, GetSessionToken, GetFederationToken,
    /// instance profiles; across accounts by access key) to the origin: an IAM user's
    /// long-term key, a console sign-in, a federation and its subject, a service, an EC2
    /// instance. Then forward to every session minted from the one asked about, each with its
    /// API calls by service, errors, source addresses and accounts. Reads the identity index
    /// that ingest builds, not the events, so it answers at once.
    Trace(TraceArgs),
    /// Create or complete a trail the way best practice says; prints the plan, changes
    /// nothing without --apply.
    ///
    /// A multi-region trail with log file validation, to a bucket with the CloudTrail bucket
    /// policy, versioning, public access block, default encryption and optionally a lifecycle
    /// rule and server access logging; optionally SSE-KMS, CloudWatch Logs, SNS, S3 data
    /// events, Insights, the CIS alarms and tags. Only what is missing is planned, so a second
    /// run plans nothing, and a setting already stronger than asked is never weakened.
    Setup(SetupArgs),
    /// Keep the lake to a length of time, archiving older days first; or set the trail
    /// bucket's lifecycle rule (`retention s3-lifecycle`).
    ///
    /// Whole day partitions older than --keep leave the catalog (and the disk, an hour
    /// later, once queries running now are done), moved first to --archive-to when given: a
    /// lake of its own with the same layout. A plan is printed unless --apply. Killed midway,
    /// it loses nothing and is simply run again. `[retention]` in trailhound.toml has `watch`
    /// apply it daily.
    Retention(RetentionArgs),
    /// Follow buckets and folders as CloudTrail delivers: ingest each new object once, run
    /// the rules and Insights on it, and alert on what is found.
    ///
    /// S3 sources are polled every --interval with one LIST per trail folder (account ×
    /// region), starting after the newest object taken; folders are walked and unchanged
    /// files skipped (a corrupt one is reported once, and again only when it changes), and a
    /// file landing in one starts a poll at once; SQS queues (--sqs) are read for the objects
    /// their notifications announce, and each message is deleted once its objects are in the
    /// lake. Positions are kept in the catalog, so a restart (even after kill -9) resumes
    /// exactly where it stopped, losing and duplicating nothing. Findings go through
    /// the alert outbox to the sinks in trailhound.toml (stdout when none are configured).
    /// `trailhound status` shows lag and health.
    Watch(WatchArgs),
    /// Alerting: the configured sinks and routes, a test alert, sending what waits, history.
    #[command(subcommand)]
    Alert(AlertCommand),
    /// Health at a glance: the lake, followed sources (position, lag, errors), the alert
    /// outbox.
    Status(StatusArgs),
    /// Serve the web dashboard and the HTTP API (/api/v1) over the lake.
    ///
    /// Listens on 127.0.0.1:8080 unless --listen says otherwise. Every endpoint but /health
    /// and the login page needs a token (`trailhound token create`): programs send
    /// `Authorization: Bearer <token>`, browsers log in at /login with it and get a session
    /// cookie. Viewers read; admins also triage findings and manage tokens. SQL is read-only
    /// and bounded by --query-timeout, --query-memory and --max-rows. The API is described at
    /// /api/v1/openapi.json; Prometheus scrapes /metrics (with a token). It can run beside
    /// `watch` on the same data directory: answers follow each commit.
    Serve(ServeArgs),
    /// Create, list and revoke the API tokens of `serve` (stored hashed in auth.sqlite).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Spot unusual API call and error rates, as CloudTrail Insights does, over the lake.
    ///
    /// Without a subcommand: computes Insights for the stretch asked (the whole lake by
    /// default), records them in the catalog (the `insights` table of `trailhound query`) and
    /// lists them. Each API's per-minute calls, and its per-minute errors per error code, in
    /// each account and region are compared with a baseline of the preceding 7 days; a minute
    /// starts an insight when its count is at least --min-count, --min-ratio times the
    /// baseline's reference rate (its average, or its busiest hour's if higher, so daily and
    /// weekly rhythms are learned) and less likely than --significance under that rate. It
    /// ends at the first minute back to normal. First-seen findings (a principal's first use of
    /// a region, network, client or API after --first-seen-learning of history) go to the
    /// `findings` table. `ingest` does both for the events it adds, reading only the files it
    /// added and the baseline before them: the catalog remembers every first event seen. This
    /// command reads every event again and rebuilds that memory.
    #[command(args_conflicts_with_subcommands = true)]
    Insights(InsightsArgs),
    /// List, test and lint detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print the table definition over the lake for Athena, Trino, Spark or DuckDB.
    Ddl(DdlArgs),
    /// List the source files ingested into the lake, with their outcome.
    Sources(SourcesArgs),
    /// Merge small lake files into larger ones (ingest also does this on its own once small
    /// files pile up). Queries give the same answers before, during and after; replaced files
    /// wait an hour in lake/.retired for queries that listed them, then go.
    Compact,
    /// Back up the catalog to a file or S3, or restore it: how a second machine takes over a
    /// lake (an S3 lake's files are already shared; the catalog is all the first one holds).
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Run the pipeline end to end on built-in sample data: generate a small estate with
    /// planted attacks, read it back, and show what is in it.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Where to write the sample data (default: trailhound-demo in the system's temp folder).
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Background events to generate.
    #[arg(long, default_value_t = 50_000, value_name = "N")]
    pub(crate) events: u64,
}

/// Which events to read, shared by every command that reads logs.
#[derive(Debug, Args)]
pub(crate) struct SelectionArgs {
    /// Only events at or after this time: RFC 3339 (2024-07-31T13:00:00Z), a date
    /// (2024-07-31, midnight UTC) or an age (90m, 24h, 7d, 2w).
    #[arg(long, value_parser = parse_time_bound, value_name = "TIME")]
    pub(crate) since: Option<TimeBound>,
    /// Only events before this time (same forms as --since).
    #[arg(long, value_parser = parse_time_bound, value_name = "TIME")]
    pub(crate) until: Option<TimeBound>,
    /// Only these accounts (recipientAccountId); repeat or separate with commas.
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub(crate) account: Vec<String>,
    /// Only these regions (awsRegion); repeat or separate with commas.
    #[arg(long, value_delimiter = ',', value_name = "REGION")]
    pub(crate) region: Vec<String>,
}

/// How to read, shared by every command that reads logs.
#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// Largest size one file or document may inflate to (guards against gzip bombs), e.g.
    /// 512MiB, 2GiB.
    #[arg(long, value_parser = parse_size, default_value = "1GiB", value_name = "SIZE")]
    pub(crate) max_inflated_size: u64,
    /// Largest single record accepted; larger records are reported and skipped.
    #[arg(long, value_parser = parse_size, default_value = "64MiB", value_name = "SIZE")]
    pub(crate) max_record_size: u64,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0, hide_default_value = true, value_name = "N")]
    pub(crate) threads: usize,
    /// Recover every complete record of a file that starts or ends mid-record (a terminal
    /// paste, a truncated download) instead of skipping it whole; the bytes skipped are
    /// reported with their place.
    #[arg(long)]
    pub(crate) salvage: bool,
    #[command(flatten)]
    pub(crate) s3: S3Args,
}

impl ReadArgs {
    pub(crate) fn limits(&self) -> ReadLimits {
        ReadLimits {
            max_inflated_bytes: self.max_inflated_size,
            max_record_bytes: usize::try_from(self.max_record_size).unwrap_or(usize::MAX),
        }
    }

    /// How to read with these settings, keeping what `selection` selects.
    pub(crate) fn options(&self, selection: Selection) -> ReadOptions {
        ReadOptions {
            limits: self.limits(),
            selection,
            threads: self.threads,
            skip_unchanged: None,
            s3: self.s3.settings(),
            salvage: self.salvage,
        }
    }
}

/// Turns command-line inputs into input specifications, refusing malformed `s3://` URLs and
/// stdin named twice.
pub(crate) fn input_specs(args: &[String]) -> anyhow::Result<Vec<InputSpec>> {
    Ok(InputSpec::parse_all(args)?)
}

/// How to reach `s3://` sources. Credentials and region come from the standard AWS chain:
/// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, then the AWS_PROFILE (or
/// default) profile in ~/.aws/credentials and ~/.aws/config, then the container or instance
/// role; AWS_REGION, the profile's region, or the bucket's own.
#[derive(Debug, Args)]
pub(crate) struct S3Args {
    /// Endpoint of an S3-compatible store (MinIO, Ceph, LocalStack, …) instead of AWS.
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub(crate) endpoint_url: Option<String>,
    /// A profile in ~/.aws/credentials or ~/.aws/config; its keys win over the environment's
    /// [default: AWS_PROFILE, else the environment's keys, else the default profile].
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Objects downloaded from S3 at once.
    #[arg(long, default_value_t = 16, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) downloads: u16,
}

impl S3Args {
    pub(crate) fn settings(&self) -> S3Settings {
        S3Settings {
            endpoint: self.endpoint_url.clone(),
            profile: self.profile.clone(),
            downloads: usize::from(self.downloads),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct CatArgs {
    /// Files, folders, glob patterns, s3://bucket/prefix, or - for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<String>,
    /// Pretty-print each event (two-space indentation) instead of one line per event.
    #[arg(long)]
    pub(crate) pretty: bool,
    #[command(flatten)]
    pub(crate) selection: SelectionArgs,
    #[command(flatten)]
    pub(crate) read: ReadArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Files, folders, glob patterns, s3://bucket/prefix, or - for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<String>,
    /// What to write.
    #[arg(long, value_enum, default_value_t = ExportFormat::Ocsf)]
    pub(crate) format: ExportFormat,
    /// Where to write the Parquet files: a folder, or the Security Lake bucket itself
    /// (s3://aws-security-data-lake-…/; reached with --endpoint-url and --profile like the
    /// inputs); required for --format ocsf.
    #[arg(short, long, value_name = "DIR|S3_URL")]
    pub(crate) output: Option<String>,
    /// The custom source's name in Security Lake: the folder under ext/.
    #[arg(long, default_value = "trailhound-cloudtrail", value_name = "NAME")]
    pub(crate) source_name: String,
    #[command(flatten)]
    pub(crate) selection: SelectionArgs,
    #[command(flatten)]
    pub(crate) read: ReadArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExportFormat {
    /// OCSF API Activity in Parquet, in Security Lake's custom source layout under --output.
    Ocsf,
    /// OCSF API Activity as JSON lines on stdout.
    OcsfJson,
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// Files, folders, glob patterns, s3://bucket/prefix, or - for stdin.
    #[arg(required = true, value_name = "SOURCE")]
    pub(crate) sources: Vec<String>,
    /// Do not compact small files after ingesting.
    #[arg(long)]
    pub(crate) no_compact: bool,
    /// Read every source again, even those ingested before and unchanged since (events
    /// already in the lake are still stored once), and those that could not be read for a
    /// fault in their content (after an upgrade that may read them).
    #[arg(long)]
    pub(crate) force: bool,
    /// Commit to the lake whenever this much data is buffered: bounds memory; smaller values
    /// make smaller files and lose less work to an interruption.
    #[arg(long, value_parser = parse_size, default_value = "384MiB", value_name = "SIZE")]
    pub(crate) commit_size: u64,
    /// Do not bring the identity index (`trailhound trace`, the `sessions` table, the chain
    /// signals) up to date; the next ingest, watch poll or trace does.
    #[arg(long)]
    pub(crate) no_identity: bool,
    #[command(flatten)]
    pub(crate) pipeline: PipelineArgs,
}

/// What happens to new events, and which are read: shared by `ingest` and `watch`.
#[derive(Debug, Args)]
pub(crate) struct PipelineArgs {
    /// Do not run detection rules (nor the identity chain signals) on the new events.
    #[arg(long)]
    pub(crate) no_detect: bool,
    /// Do not compute Insights (unusual API call and error rates) or first-seen findings for
    /// the new events.
    #[arg(long)]
    pub(crate) no_insights: bool,
    #[command(flatten)]
    pub(crate) rules: RuleSourceArgs,
    #[command(flatten)]
    pub(crate) selection: SelectionArgs,
    #[command(flatten)]
    pub(crate) read: ReadArgs,
}

#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// One query (SELECT, WITH, … or a Logs Insights pipeline); `-` reads it from stdin.
    #[arg(value_name = "QUERY", required_unless_present_any = ["run", "list", "forget"])]
    pub(crate) query: Option<String>,
    /// The language the query is written in.
    #[arg(long, short = 'l', value_enum, default_value_t = QueryLanguage::Sql)]
    pub(crate) language: QueryLanguage,
    /// The SQL dialect, where CloudTrail Lake's, Athena's and DataFusion's conflict; `auto`
    /// runs queries of all three as written.
    #[arg(long, value_enum, default_value_t = SqlDialect::Auto)]
    pub(crate) dialect: SqlDialect,
    /// Print the SQL the engine runs (after translation) instead of running it.
    #[arg(long)]
    pub(crate) explain: bool,
    /// Save the query under NAME (in the lake's catalog) instead of running it.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["run", "list", "forget"])]
    pub(crate) save: Option<String>,
    /// With --save: what the query is for, shown by --list.
    #[arg(long, value_name = "TEXT", requires = "save")]
    pub(crate) description: Option<String>,
    /// Run the saved or built-in query NAME.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["query", "list", "forget"])]
    pub(crate) run: Option<String>,
    /// List the saved and built-in queries.
    #[arg(long, conflicts_with_all = ["query", "forget"])]
    pub(crate) list: bool,
    /// Delete the saved query NAME.
    #[arg(long, value_name = "NAME", conflicts_with = "query")]
    pub(crate) forget: Option<String>,
    /// Print how long planning and running the query took (on stderr).
    #[arg(long)]
    pub(crate) timing: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
}

/// The language of `trailhound query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum QueryLanguage {
    /// SQL, in the dialect --dialect names.
    Sql,
    /// CloudWatch Logs Insights' query language (`fields … | filter … | stats …`).
    #[value(alias = "insights", alias = "cwli")]
    LogsInsights,
}

/// The SQL dialects of `trailhound query --dialect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SqlDialect {
    /// Whichever of the three the query is written in.
    Auto,
    /// CloudTrail Lake's (Trino).
    #[value(alias = "cloudtrail-lake")]
    Lake,
    /// Athena's (Trino/Presto).
    #[value(alias = "trino", alias = "presto")]
    Athena,
    /// DataFusion's own, with no translation.
    Datafusion,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Search these files, folders or s3://bucket/prefix instead of the lake.
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<String>,
    /// eventName glob, e.g. 'Delete*'.
    #[arg(long, value_name = "GLOB")]
    pub(crate) event: Option<String>,
    /// Principal: ARN, user name, principal id, invoking AWS service or session issuer
    /// (substring unless a glob).
    #[arg(long, value_name = "GLOB")]
    pub(crate) user: Option<String>,
    /// eventSource glob, e.g. 'iam*' or 's3.amazonaws.com'.
    #[arg(long, value_name = "GLOB")]
    pub(crate) source: Option<String>,
    /// sourceIPAddress glob, e.g. '203.0.113.*'.
    #[arg(long, value_name = "GLOB")]
    pub(crate) ip: Option<String>,
    /// Only failed calls; with a value, only those whose errorCode matches.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "*", value_name = "GLOB")]
    pub(crate) error: Option<String>,
    /// At most this many events (0 for all).
    #[arg(long, default_value_t = 100)]
    pub(crate) limit: usize,
    /// Output format: a table of key fields, or the whole events as JSON lines.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
    #[command(flatten)]
    pub(crate) selection: SelectionArgs,
    #[command(flatten)]
    pub(crate) read: ReadArgs,
}

#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    /// Rows in each top-N list.
    #[arg(long, default_value_t = 10)]
    pub(crate) top: usize,
    #[command(flatten)]
    pub(crate) selection: SelectionArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The eventID.
    #[arg(value_name = "EVENT_ID")]
    pub(crate) event_id: String,
    /// One line instead of indented JSON.
    #[arg(long)]
    pub(crate) compact: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DdlArgs {
    /// The engine to write the definition for.
    #[arg(long, value_enum)]
    pub(crate) engine: DdlEngine,
    /// Table name.
    #[arg(long, default_value = "cloudtrail_events")]
    pub(crate) table: String,
    /// Where the engine finds the events folder [default: this lake's, e.g. for DuckDB; give
    /// s3://bucket/prefix/lake/events for Athena].
    #[arg(long, value_name = "URL")]
    pub(crate) location: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct HuntArgs {
    /// Hunt over these files, folders or s3://bucket/prefix instead of the lake.
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<String>,
    #[command(flatten)]
    pub(crate) rules: RuleSourceArgs,
    /// Only findings at this level or above.
    #[arg(long, value_enum, default_value_t = LevelArg::Low)]
    pub(crate) min_level: LevelArg,
    /// Output format of the timeline (or of the summary with --summary).
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
    /// Instead of the findings, summarise each principal's activity: APIs used, failed
    /// calls, regions, source IPs, user agents, access keys, first and last seen.
    #[arg(long)]
    pub(crate) summary: bool,
    #[command(flatten)]
    pub(crate) selection: SelectionArgs,
    #[command(flatten)]
    pub(crate) read: ReadArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InsightsArgs {
    #[command(subcommand)]
    pub(crate) command: Option<InsightsCommand>,
    /// Look for insights starting at or after this time (RFC 3339, a date, or an age such as
    /// 30d) [default: the start of the lake].
    #[arg(long, value_parser = parse_time_bound, value_name = "TIME")]
    pub(crate) since: Option<TimeBound>,
    /// Look for insights starting before this time [default: the end of the lake].
    #[arg(long, value_parser = parse_time_bound, value_name = "TIME")]
    pub(crate) until: Option<TimeBound>,
    #[command(flatten)]
    pub(crate) tuning: InsightTuningArgs,
    /// Output format of the list.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
}

/// How unusual a rate must be to become an insight.
#[derive(Debug, Args)]
pub(crate) struct InsightTuningArgs {
    /// How much history each baseline covers (e.g. 7d, 14d).
    #[arg(long, value_parser = parse_age, default_value = "7d", value_name = "AGE")]
    pub(crate) baseline: chrono::Duration,
    /// History needed before anything can fire (e.g. 36h).
    #[arg(long, value_parser = parse_age, default_value = "36h", value_name = "AGE")]
    pub(crate) learning: chrono::Duration,
    /// Fewest calls (or errors) in one minute that can start an insight.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub(crate) min_count: u64,
    /// A starting minute needs at least this many times the baseline's reference rate.
    #[arg(long, default_value_t = 3.0, value_name = "X")]
    pub(crate) min_ratio: f64,
    /// How improbable (under the baseline) a starting minute must be.
    #[arg(long, default_value_t = 1e-7, value_name = "P")]
    pub(crate) significance: f64,
    /// Count write calls only for call rates, exactly as AWS does (reads count by default,
    /// so bursts of Get*/List*/Describe* show up too).
    #[arg(long)]
    pub(crate) write_only: bool,
    /// History a principal, access key or account needs before its first use of a region,
    /// network, client or API becomes a first-seen finding.
    #[arg(long, value_parser = parse_age, default_value = "7d", value_name = "AGE")]
    pub(crate) first_seen_learning: chrono::Duration,
}

#[derive(Debug, Subcommand)]
pub(crate) enum InsightsCommand {
    /// List every Insights event: Trailhound's, and CloudTrail's own ingested from
    /// CloudTrail-Insight files (the `origin` column).
    List(InsightsListArgs),
    /// Explain one insight: its records and a per-minute chart of the rate against the
    /// baseline.
    Show(InsightsShowArgs),
    /// Write the recorded insights as CloudTrail-Insight files (the S3 layout CloudTrail
    /// delivers them in) under DIR.
    Export(InsightsExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InsightsListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
}

#[derive(Debug, Args)]
pub(crate) struct InsightsShowArgs {
    /// The insight's sharedEventID or the eventID of its Start or End (a unique prefix is
    /// enough).
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// Minutes shown before and after the insight.
    #[arg(long, default_value_t = 15, value_name = "MINUTES")]
    pub(crate) context: i64,
    /// `text` (chart) or `json` (the records and the series, for dashboards).
    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    pub(crate) format: ShowFormat,
}

/// How `insights show` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ShowFormat {
    /// For people: the records' gist and a chart.
    Text,
    /// For programs.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct InsightsExportArgs {
    /// Folder to write AWSLogs/<account>/CloudTrail-Insight/<region>/YYYY/MM/DD/ under.
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
}

/// Which rules to use.
#[derive(Debug, Args)]
pub(crate) struct RuleSourceArgs {
    /// A rule file or folder (Sigma YAML, correlations, `filter:` metric-filter rules);
    /// repeat for several. Added to the built-in pack; a rule with a built-in rule's id
    /// replaces it.
    #[arg(long = "rules", value_name = "PATH")]
    pub(crate) rule_paths: Vec<PathBuf>,
    /// Use only the rules given with --rules, not the built-in pack.
    #[arg(long)]
    pub(crate) no_builtin: bool,
}

/// Rule levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LevelArg {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CatalogCommand {
    /// Write a consistent copy of the catalog (taken while ingest or watch go on; files
    /// committed just before are waited for until they are in place) to a new file or
    /// s3://bucket/key.
    Backup {
        /// A path or s3://bucket/key that does not exist yet.
        #[arg(value_name = "DEST")]
        to: String,
    },
    /// Make a backup the data directory's catalog. Stop the machine that wrote to the lake
    /// first: the next ingest or watch here retires the lake files the backup does not list
    /// and reads their sources again, so every event is stored once.
    Restore {
        /// The backup: a path or s3://bucket/key.
        #[arg(value_name = "SRC")]
        from: String,
        /// Replace an existing catalog (kept beside it as catalog.sqlite.before-restore-TIME).
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// List the rules: id, level, title, tags and where each comes from.
    List(RulesListArgs),
    /// Run every rule's own test events (`tests: {match: [...], nomatch: [...]}`); exit 1 if
    /// any fails.
    Test(RulesTestArgs),
    /// Check rule files: every problem with its file, line and column; exit 1 if any.
    Lint(RulesLintArgs),
    /// Write the built-in pack's rule files into a folder, to read or adapt.
    Export(RulesExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RulesListArgs {
    #[command(flatten)]
    pub(crate) rules: RuleSourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
}

#[derive(Debug, Args)]
pub(crate) struct RulesTestArgs {
    #[command(flatten)]
    pub(crate) rules: RuleSourceArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RulesLintArgs {
    /// Rule files or folders to check.
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RulesExportArgs {
    /// Folder to write into (created if missing).
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
}

/// Engines `ddl` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DdlEngine {
    Athena,
    Trino,
    Spark,
    Duckdb,
}

#[derive(Debug, Args)]
pub(crate) struct SourcesArgs {
    /// Only sources that failed or had records rejected.
    #[arg(long)]
    pub(crate) failed: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
}

/// How tabular results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header line; nested columns as JSON text.
    Csv,
}

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Folder to write into (created if missing); logs go under DIR/AWSLogs/.
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// Background events to write (planted scenario events come on top).
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub(crate) events: u64,
    /// Number of AWS accounts.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub(crate) accounts: usize,
    /// Regions, comma-separated; the first is the home region where global services
    /// (IAM, sign-in) log.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "us-east-1,us-west-2,eu-west-1,ap-southeast-1"
    )]
    pub(crate) regions: Vec<String>,
    /// Number of days to cover.
    #[arg(long, default_value_t = 7, value_name = "N")]
    pub(crate) days: u32,
    /// First day (YYYY-MM-DD, UTC); default: DAYS days before today.
    #[arg(long, value_name = "DATE")]
    pub(crate) start: Option<String>,
    /// Random seed: the same seed and options write the same events.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) seed: u64,
    /// Plant labelled attack sequences: all of them with a bare `--scenarios`, or some with
    /// `--scenarios=stop-logging,root-usage`; `--scenarios=list` prints the names.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "all", value_delimiter = ',', value_name = "NAMES")]
    pub(crate) scenarios: Option<Vec<String>>,
    /// Write an organization trail layout (AWSLogs/o-…/ACCOUNT/…) with this organization id.
    #[arg(long, value_name = "ORG_ID")]
    pub(crate) org: Option<String>,
    /// gzip level 0–9: 1 is fastest, 6 is what gzip uses by default.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub(crate) compression_level: u32,
    /// Also write hourly digest files signed with this RSA private key (PEM, 2048–4096
    /// bits), as a trail with log file validation does, with a signature sidecar per digest
    /// and the public key in DIR/.trailhound/public-keys.json for `trailhound validate`.
    /// Make a key with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out KEY.pem`.
    #[arg(long, value_name = "KEY.pem")]
    pub(crate) sign: Option<PathBuf>,
    /// The bucket name digests record for the logs and themselves.
    #[arg(
        long,
        default_value = "trailhound-generated-logs",
        value_name = "NAME",
        requires = "sign"
    )]
    pub(crate) bucket: String,
    /// The trail name in digest file names.
    #[arg(
        long,
        default_value = "management-events",
        value_name = "NAME",
        requires = "sign"
    )]
    pub(crate) trail: String,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// The trail's bucket, `s3://bucket[/prefix]`, or a downloaded copy of it (any folder
    /// holding its AWSLogs/ tree).
    #[arg(value_name = "PATH|s3://…", required = true)]
    pub(crate) paths: Vec<String>,
    #[command(flatten)]
    pub(crate) s3: S3Args,
    /// Public keys: the JSON `aws cloudtrail list-public-keys --start-time … --region …`
    /// prints, or PEM/DER RSA public keys; repeat for several regions.
    #[arg(long, value_name = "FILE", required = true)]
    pub(crate) public_keys: Vec<PathBuf>,
    /// Validate digests ending at or after this time (RFC 3339, a date, or an age such as
    /// 7d) [default: the oldest found].
    #[arg(long, value_parser = parse_time_bound, value_name = "TIME")]
    pub(crate) start_time: Option<TimeBound>,
    /// Validate logs delivered up to this time [default: now].
    #[arg(long, value_parser = parse_time_bound, value_name = "TIME")]
    pub(crate) end_time: Option<TimeBound>,
    /// Only this account (for organization trails: the member account).
    #[arg(long, value_name = "ID")]
    pub(crate) account: Option<String>,
    /// Only this region.
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// Output: `text` (as `aws cloudtrail validate-logs` prints) or `json`.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    pub(crate) format: ValidateFormat,
}

#[derive(Debug, Args)]
pub(crate) struct PullArgs {
    /// The trail's bucket, `s3://bucket[/prefix]`.
    #[arg(value_name = "s3://…")]
    pub(crate) source: String,
    /// Folder to download into; keys keep their path below it (DIR/AWSLogs/…).
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
    #[command(flatten)]
    pub(crate) selection: SelectionArgs,
    #[command(flatten)]
    pub(crate) s3: S3Args,
}

#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    /// s3://bucket/prefix (a trail's bucket, or a prefix inside it) and local folders.
    #[arg(required_unless_present_any = ["sqs", "posture_every"], value_name = "SOURCE")]
    pub(crate) sources: Vec<String>,
    /// An SQS queue URL that receives the bucket's S3 event notifications or CloudTrail's
    /// SNS notifications; the objects they announce are taken as they arrive. Repeatable.
    #[arg(long, value_name = "QUEUE_URL")]
    pub(crate) sqs: Vec<String>,
    /// How long a received queue message stays hidden while its objects are ingested; if
    /// the monitor dies first, the message comes back after this long.
    #[arg(long, value_parser = parse_age, default_value = "5m", value_name = "AGE")]
    pub(crate) sqs_visibility_timeout: chrono::Duration,
    /// Time between polls.
    #[arg(long, value_parser = parse_age, default_value = "60s", value_name = "AGE")]
    pub(crate) interval: chrono::Duration,
    /// Poll once, deliver alerts, and exit (for cron, and for tests).
    #[arg(long)]
    pub(crate) once: bool,
    /// On a lake that has never alerted, alert its history too: the findings already in it
    /// and those of the first poll (the backlog). Without it they are recorded, not alerted.
    #[arg(long)]
    pub(crate) alert_history: bool,
    /// Also run `trailhound posture` this often (with the same AWS settings); a check that
    /// starts failing becomes a finding and is alerted.
    #[arg(long, value_parser = parse_age, value_name = "AGE")]
    pub(crate) posture_every: Option<chrono::Duration>,
    /// Regions whose trails posture checks (repeat) [default: the configured region].
    #[arg(
        long = "posture-region",
        value_name = "REGION",
        requires = "posture_every"
    )]
    pub(crate) posture_regions: Vec<String>,
    /// Also write every new event as OCSF API Activity, in Security Lake's custom source
    /// layout under this folder or bucket (s3://…), once each (or `dir` in the `[ocsf]`
    /// section).
    #[arg(long, value_name = "DIR|S3_URL")]
    pub(crate) ocsf_dir: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) pipeline: PipelineArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AlertCommand {
    /// The configured sinks and the routes that feed them.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Send a sample alert to one sink, now, to check its configuration.
    Test {
        /// The sink's name in trailhound.toml.
        #[arg(value_name = "SINK")]
        sink: String,
    },
    /// Route new findings and send what waits in the outbox (what `watch` does after each
    /// poll). Exit code 1 when alerts are still waiting for their sink.
    Send,
    /// Send a dead letter again (an alert its sink refused for good, or gave up on): it goes
    /// back in its sink's queue and is delivered now.
    Retry {
        /// Its number in `trailhound alert history`.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Alerts recorded in the outbox, newest first: sent, waiting (with the last error),
    /// suppressed by throttling, or dead (refused for good, or given up on).
    History {
        /// How many.
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address and port to listen on. Anything but loopback exposes the lake to the network:
    /// use --tls-cert/--tls-key there, or a TLS proxy with --secure-cookies.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub(crate) listen: std::net::SocketAddr,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Mark the session cookie Secure without --tls-cert (when a TLS proxy is in front).
    #[arg(long)]
    pub(crate) secure_cookies: bool,
    /// Longest one SQL statement may run, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub(crate) query_timeout: u64,
    /// Memory all running queries may hold together, e.g. 512MiB, 2GiB; a query that needs
    /// more is refused (nothing spills to disk).
    #[arg(long, value_parser = parse_size, default_value = "1GiB", value_name = "SIZE")]
    pub(crate) query_memory: u64,
    /// Most rows one SQL request returns.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub(crate) max_rows: usize,
    /// Overview answers kept per state of the lake (0: compute every request anew).
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub(crate) cache_entries: usize,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Make a token and print it once; only its hash is kept.
    Create {
        /// Who or what it is for (a person, "grafana", "ci").
        #[arg(long, value_name = "NAME")]
        name: String,
        /// viewer: reads everything; admin: also triages findings and manages tokens.
        #[arg(long, value_enum, default_value_t = TokenRole::Viewer)]
        role: TokenRole,
    },
    /// List tokens (never their secrets).
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Revoke a token; its browser sessions end at once.
    Revoke {
        /// The token's id (see `token list`).
        #[arg(value_name = "ID")]
        id: i64,
    },
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TokenRole {
    /// Read everything.
    Viewer,
    /// Read, triage findings, manage tokens.
    Admin,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Output format: `table` for people, `json` for monitoring.
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    pub(crate) format: StatusFormat,
}

/// How `status` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum StatusFormat {
    /// Sections of aligned text.
    Table,
    /// One JSON document.
    Json,
}

/// How `validate` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ValidateFormat {
    /// Lines as `aws cloudtrail validate-logs` prints them.
    Text,
    /// One JSON document with every outcome and the counts.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
