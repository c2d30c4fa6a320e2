//! `posture` and `setup`: the trail's configuration, checked and set up.

use std::io::Write;
use std::ops::ControlFlow;

use anyhow::Context;
use arrow::array::{Array, AsArray};
use trailhound_lake::{Access, Lake};
use trailhound_pipeline::config::PostureConfig;
use trailhound_posture::facts::Origin;
use trailhound_posture::{AccountFacts, from_lake};
use trailhound_query::{QueryEngine, QueryError};

use trailhound_event::Level;
use trailhound_posture::setup::{self, Encryption};
use trailhound_posture::{Aws, Convention, Verdict};

use crate::cli::{GlobalArgs, OutputFormat, PostureArgs, PostureFormat, SetupArgs, Severity};
use crate::exit;
use crate::table::{Table, print_table};

fn threshold(severity: Severity) -> Option<Level> {
    match severity {
        Severity::Informational => Some(Level::Informational),
        Severity::Low => Some(Level::Low),
        Severity::Medium => Some(Level::Medium),
        Severity::High => Some(Level::High),
        Severity::Critical => Some(Level::Critical),
        Severity::Never => None,
    }
}

/// The conventions `[posture]` in trailhound.toml sets.
pub(crate) fn convention(config: &PostureConfig) -> Convention {
    Convention {
        name_pattern: config.name_pattern.clone(),
        required_tags: config.required_tags.clone(),
        require_mfa_delete: config.require_mfa_delete,
        require_object_lock: config.require_object_lock,
        ..Convention::default()
    }
}

/// The facts the lake's events show.
fn facts_from_lake(global: &GlobalArgs) -> anyhow::Result<AccountFacts> {
    let dir = global.data_dir()?;
    let engine = QueryEngine::open(&dir)
        .with_context(|| format!("cannot open the lake in {}", dir.display()))?;
    let mut replay = from_lake::Replay::default();
    engine.sql_for_each(&from_lake::events_sql(), |batch| {
        let column = batch.column(0).as_string_opt::<i32>().ok_or_else(|| {
            QueryError::Output("the lake's eventJson column is not text".to_owned())
        })?;
        for row in 0..column.len() {
            replay.apply(column.value(row));
        }
        Ok::<_, QueryError>(ControlFlow::Continue(()))
    })?;
    Ok(replay.facts())
}

pub(crate) fn posture(args: PostureArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    // Flags win over `[posture]` in trailhound.toml.
    let configured = crate::commands::alert::pipeline_config(global)?
        .posture
        .unwrap_or_default();
    let facts = if args.from_lake {
        facts_from_lake(global)?
    } else {
        let regions = if args.regions.is_empty() {
            &configured.regions
        } else {
            &args.regions
        };
        let aws = Aws::connect(&args.s3.settings(), regions.first().map(String::as_str))?;
        trailhound_posture::gather(&aws, regions)?
    };
    let mut convention = convention(&configured);
    if args.name_pattern.is_some() {
        convention.name_pattern = args.name_pattern;
    }
    if !args.required_tags.is_empty() {
        convention.required_tags = args.required_tags;
    }
    convention.require_mfa_delete |= args.require_mfa_delete;
    convention.require_object_lock |= args.require_object_lock;
    convention.max_delivery_age = args.max_delivery_age.to_std().unwrap_or_default();
    convention.min_log_retention_days = args.min_log_retention;
    let rules = trailhound_detect::builtin_rules()?;
    let now = chrono::Utc::now();
    let outcomes = trailhound_posture::evaluate(&facts, &convention, &rules, now);
    // Recorded for the dashboard, and so that `watch --posture-every` knows what changed.
    let data_dir = global.data_dir()?;
    let mut lake = Lake::open(&data_dir, Access::Write)
        .with_context(|| format!("cannot open the lake in {}", data_dir.display()))?;
    let recorded =
        trailhound_pipeline::posture::record(lake.catalog_mut()?, &facts, &outcomes, now)?;
    if !global.quiet && !recorded.newly_failing.is_empty() {
        eprintln!(
            "{} check(s) newly failing since the last run",
            recorded.newly_failing.len()
        );
    }
    match args.format {
        PostureFormat::Json => {
            let document = serde_json::json!({"facts": facts, "outcomes": outcomes});
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &document)?;
            writeln!(out)?;
        }
        PostureFormat::Table => {
            let mut table =
                Table::new(&["check", "severity", "verdict", "resource", "found", "cis"]);
            for outcome in &outcomes {
                table.row(vec![
                    outcome.check.id.clone(),
                    outcome.check.severity.as_str().to_owned(),
                    outcome.verdict.as_str().to_owned(),
                    outcome.resource.clone(),
                    outcome.found.clone(),
                    outcome.check.cis.first().cloned().unwrap_or_default(),
                ]);
            }
            print_table(&table, OutputFormat::Table)?;
            let mut out = std::io::stdout().lock();
            let failed: Vec<_> = outcomes
                .iter()
                .filter(|o| o.verdict == Verdict::Fail)
                .collect();
            if !failed.is_empty() {
                writeln!(out, "\nFixes:")?;
                for outcome in failed {
                    if let Some(fix) = &outcome.fix {
                        writeln!(
                            out,
                            "  {} {}:\n    {fix}",
                            outcome.check.id, outcome.resource
                        )?;
                    }
                }
            }
            let count = |v: Verdict| outcomes.iter().filter(|o| o.verdict == v).count();
            writeln!(
                out,
                "\n{} passed, {} failed, {} unknown, {} not applicable ({} trail(s) in {}{})",
                count(Verdict::Pass),
                count(Verdict::Fail),
                count(Verdict::Unknown),
                count(Verdict::NotApplicable),
                facts.trails.len(),
                facts.regions.join(", "),
                match facts.origin {
                    Origin::Live => "",
                    Origin::Lake => "; reconstructed from the trail's events in the lake",
                }
            )?;
        }
    }
    let failing = threshold(args.fail_on).is_some_and(|level| {
        outcomes
            .iter()
            .any(|o| o.verdict == Verdict::Fail && o.check.severity >= level)
    });
    Ok(if failing { exit::FOUND } else { exit::OK })
}

pub(crate) fn setup(args: SetupArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let aws = Aws::connect(&args.s3.settings(), args.region.as_deref())?;
    let region = args
        .region
        .clone()
        .unwrap_or_else(|| aws.default_region().to_owned());
    let lifecycle = args.lifecycle.rule("")?;
    let request = setup::Request {
        trail: args.name.clone(),
        bucket: args.bucket.clone(),
        prefix: args.prefix.clone(),
        region: region.clone(),
        encryption: match (&args.kms_key, args.create_kms_key) {
            (Some(key), _) => Encryption::Key(key.clone()),
            (None, true) => Encryption::CreateKey,
            (None, false) => Encryption::S3Managed,
        },
        lifecycle,
        access_log_bucket: args.access_log_bucket.clone(),
        cloudwatch_logs: args
            .cloudwatch_logs
            .clone()
            .map(|group| (group, args.log_retention_days)),
        sns_topic: args.sns_topic.clone(),
        notify_emails: args.notify_emails.clone(),
        cis_alarms: args.cis_alarms,
        s3_data_events: args.s3_data_events,
        insights: args.insights,
        tags: args.tags.clone(),
    };
    let plan = setup::plan(&aws, &request)?;
    let mut out = std::io::stdout().lock();
    for kept in &plan.kept {
        writeln!(out, "kept: {kept}")?;
    }
    if plan.steps.is_empty() {
        writeln!(out, "nothing to do: trail {} is set up as asked", args.name)?;
        return Ok(exit::OK);
    }
    if !args.apply {
        writeln!(
            out,
            "plan ({} calls; run again with --apply to make them):",
            plan.steps.len()
        )?;
        for (n, step) in plan.steps.iter().enumerate() {
            writeln!(
                out,
                "{:>3}. {}  {}\n     # {}",
                n + 1,
                step.action,
                step.arguments(),
                step.why
            )?;
        }
        return Ok(exit::OK);
    }
    let quiet = global.quiet;
    setup::apply(&aws, &region, &plan, |step| {
        if !quiet {
            eprintln!("done: {}", step.action);
        }
    })?;
    writeln!(
        out,
        "trail {} is set up ({} calls made)",
        args.name,
        plan.steps.len()
    )?;
    Ok(exit::OK)
}
