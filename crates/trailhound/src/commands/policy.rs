//! `trailhound policy`: the IAM policy that allows what a principal did in the lake.

use std::io::Write;
use std::ops::ControlFlow;

use anyhow::Context;
use arrow::array::RecordBatch;
use trailhound_policy::attached::Verdict;
use trailhound_policy::{Gathered, Granted, Principal, Resources, data_events_sql, events_sql};
use trailhound_query::QueryEngine;

use crate::cli::{GlobalArgs, PolicyArgs, PolicyFormat, ResourceMode};
use crate::exit;

pub(crate) fn run(args: PolicyArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let principal = Principal::parse(&args.principal).map_err(anyhow::Error::msg)?;
    let who = principal.describe();
    let now = chrono::Utc::now();
    let from_files = !args.paths.is_empty();
    let since = match args.since {
        Some(bound) => Some(bound.resolve(now)),
        None if from_files => None,
        None => Some(now - chrono::Duration::days(90)),
    };
    let until = args.until.map(|u| u.resolve(now));
    let mut seen = Gathered::default();
    if args.group_by.is_some() {
        seen.by_principal = Some(Default::default());
    }
    let read = if from_files {
        read_files(
            &mut seen,
            &args.paths,
            &principal,
            since,
            until,
            global.quiet,
        )?
    } else {
        read_lake(&mut seen, global, &principal, since, until.unwrap_or(now))?
    };
    let usage = &seen.usage;
    let period = format!(
        "{} to {}",
        since.map_or("the first event".to_owned(), stamp),
        until.map_or("now".to_owned(), stamp)
    );
    if usage.events == 0 {
        eprintln!(
            "no events of {who} from {period}: check the name (`trailhound stats` lists the principals) and the period"
        );
        return Ok(exit::FOUND);
    }
    let resources = match args.resources {
        ResourceMode::Exact => Resources::Exact,
        ResourceMode::Wildcard => Resources::Wildcard,
    };
    let (policy, widened) = if args.fit {
        usage.policy_within(resources, args.max_size)
    } else {
        (usage.policy(resources), Vec::new())
    };
    let granted = match (&args.attached, args.attached_from_aws) {
        (Some(path), _) => Some(granted(path, &seen)?),
        (None, true) => {
            let aws = trailhound_posture::Aws::connect(&args.aws.settings(), None)?;
            let details = trailhound_posture::authorization::account_authorization_details(&aws)?;
            Some(
                seen.granted(&details)
                    .context("the account's IAM details")?,
            )
        }
        (None, false) => None,
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        PolicyFormat::Policy => match &seen.by_principal {
            Some(groups) => {
                let policies: std::collections::BTreeMap<
                    &String,
                    trailhound_policy::PolicyDocument,
                > = groups
                    .iter()
                    .map(|(arn, usage)| {
                        let policy = if args.fit {
                            usage.policy_within(resources, args.max_size).0
                        } else {
                            usage.policy(resources)
                        };
                        (arn, policy)
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut out, &policies)?;
                writeln!(out)?;
            }
            None => {
                serde_json::to_writer_pretty(&mut out, &policy)?;
                writeln!(out)?;
            }
        },
        PolicyFormat::Json => {
            let summary = seen.summary(
                &who,
                (since.map(stamp), until.map(stamp)),
                resources,
                granted.as_deref(),
            );
            serde_json::to_writer_pretty(&mut out, &summary)?;
            writeln!(out)?;
        }
        PolicyFormat::Table => {
            let width = usage
                .actions
                .keys()
                .map(String::len)
                .max()
                .unwrap_or(6)
                .max(6);
            writeln!(
                out,
                "{:<width$}  {:>7}  {:<20}  {:<20}  resources",
                "action", "calls", "first used", "last used"
            )?;
            for used in usage.actions.values() {
                let resources: Vec<&str> = used.resources.iter().map(String::as_str).collect();
                writeln!(
                    out,
                    "{:<width$}  {:>7}  {:<20}  {:<20}  {}",
                    used.action,
                    used.count,
                    used.first_used,
                    used.last_used,
                    first_of(&resources, 3)
                )?;
            }
            for (title, list) in [
                ("attempted, not granted", &usage.denied),
                ("no action known (left out)", &usage.unknown),
            ] {
                if list.is_empty() {
                    continue;
                }
                writeln!(out, "\n{title}:")?;
                for call in list {
                    writeln!(
                        out,
                        "  {}:{} ×{}{}{}",
                        call.event_source.trim_end_matches(".amazonaws.com"),
                        call.event_name,
                        call.count,
                        call.error_code
                            .as_ref()
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default(),
                        if call.actions.is_empty() {
                            String::new()
                        } else {
                            format!(
                                " → {}",
                                call.actions.iter().cloned().collect::<Vec<_>>().join(", ")
                            )
                        }
                    )?;
                }
            }
        }
    }
    if let (PolicyFormat::Table, Some(granted)) = (args.format, &granted) {
        write_granted(&mut out, granted)?;
    }
    out.flush()?;
    if let (false, Some(granted)) = (global.quiet, &granted) {
        eprintln!(
            "attached policies grant {} actions: {} used, {} unused, {} not visible in CloudTrail (data events not logged)",
            granted.len(),
            granted
                .iter()
                .filter(|g| g.verdict == Verdict::Used)
                .count(),
            granted
                .iter()
                .filter(|g| g.verdict == Verdict::Unused)
                .count(),
            granted
                .iter()
                .filter(|g| g.verdict == Verdict::NotVisible)
                .count(),
        );
    }
    if !global.quiet {
        for what in &widened {
            eprintln!("widened to fit --max-size {}: {what}", args.max_size);
        }
        let inferred: Vec<&String> = usage.actions.values().flat_map(|a| &a.inferred).collect();
        for how in inferred {
            eprintln!("note: {how}");
        }
        eprintln!(
            "{who}: {} events, {} actions; {} call(s) refused and left out, {} of unknown action, {} needing no permission; policy {} characters",
            usage.events,
            usage.actions.len(),
            usage.denied.iter().map(|c| c.count).sum::<u64>(),
            usage.unknown.iter().map(|c| c.count).sum::<u64>(),
            usage.no_permission.iter().map(|c| c.count).sum::<u64>(),
            policy.size()
        );
        if policy.size() > args.max_size {
            eprintln!(
                "warning: the policy has {} characters, more than --max-size {}: a managed policy holds 6144; try --resources wildcard, or split it",
                policy.size(),
                args.max_size
            );
        }
    }
    Ok(read)
}

/// The actions the principal's policies in `path` grant, each marked.
fn granted(path: &std::path::Path, seen: &Gathered) -> anyhow::Result<Vec<Granted>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let details: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not JSON: save `aws iam get-account-authorization-details` into it",
            path.display()
        )
    })?;
    seen.granted(&details)
        .with_context(|| path.display().to_string())
}

/// The principal's events in the lake.
fn read_lake(
    seen: &mut Gathered,
    global: &GlobalArgs,
    principal: &Principal,
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<u8> {
    let period = format!(
        "{} eventTime < TIMESTAMP '{}'",
        since
            .map(|s| format!("eventTime >= TIMESTAMP '{}' AND", stamp(s)))
            .unwrap_or_default(),
        stamp(until)
    );
    let dir = global.data_dir()?;
    let engine = QueryEngine::open(&dir)
        .with_context(|| format!("cannot open the lake in {}", dir.display()))?;
    engine.sql_for_each(
        &events_sql(principal, &period),
        |batch: &RecordBatch| -> anyhow::Result<ControlFlow<()>> {
            seen.add_rows(batch);
            Ok(ControlFlow::Continue(()))
        },
    )?;
    engine.sql_for_each(
        &data_events_sql(&period),
        |batch: &RecordBatch| -> anyhow::Result<ControlFlow<()>> {
            seen.add_data_event_sources(batch);
            Ok(ControlFlow::Continue(()))
        },
    )?;
    Ok(exit::OK)
}

/// The principal's events in files; 2 when a file had to be skipped.
fn read_files(
    seen: &mut Gathered,
    paths: &[String],
    principal: &Principal,
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    quiet: bool,
) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    let inputs = crate::cli::input_specs(paths)?;
    let options = trailhound_source::ReadOptions {
        selection: trailhound_source::Selection {
            since,
            until,
            ..trailhound_source::Selection::default()
        },
        ..trailhound_source::ReadOptions::default()
    };
    let mut reporter = crate::read_report::ReadReporter::new(quiet);
    trailhound_source::read(inputs, &options, |message| {
        reporter.observe(&message);
        if let trailhound_source::ReadMessage::Batch(batch) = &message {
            for record in batch.records() {
                seen.add_record(record, principal);
            }
        }
        ControlFlow::Continue(())
    });
    Ok(if reporter.finish(started.elapsed()).anything_skipped() {
        exit::INPUT_ERROR
    } else {
        exit::OK
    })
}

fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The granted actions by verdict, the unused ones counted per service.
fn write_granted(out: &mut dyn Write, granted: &[Granted]) -> std::io::Result<()> {
    writeln!(out, "\ngranted by the attached policies:")?;
    for verdict in [Verdict::Used, Verdict::NotVisible, Verdict::Unused] {
        let of: Vec<&Granted> = granted.iter().filter(|g| g.verdict == verdict).collect();
        let label = match verdict {
            Verdict::Used => "used",
            Verdict::NotVisible => "not visible in CloudTrail (data events not logged)",
            Verdict::Unused => "unused",
        };
        writeln!(out, "  {label}: {}", of.len())?;
        let mut per_service: std::collections::BTreeMap<&str, Vec<&str>> =
            std::collections::BTreeMap::new();
        for g in of {
            let (service, name) = g.action.split_once(':').unwrap_or((&g.action, ""));
            per_service.entry(service).or_default().push(name);
        }
        for (service, names) in per_service {
            writeln!(out, "    {service}: {}", first_of(&names, 8))?;
        }
    }
    Ok(())
}

/// The first `n` items, and how many more there are.
fn first_of(items: &[&str], n: usize) -> String {
    let shown = items.iter().take(n).copied().collect::<Vec<_>>().join(", ");
    match items.len().saturating_sub(n) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}
