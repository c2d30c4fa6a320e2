//! `hunt`: detection rules over files or over the lake, as a timeline of findings or a
//! summary per principal.

use std::time::Instant;

use trailhound_detect::Level;
use trailhound_event::Finding;
use trailhound_lake::{Access, Lake};
use trailhound_pipeline::{Activity, HuntSettings, hunt_files, hunt_lake};

use crate::cli::{GlobalArgs, HuntArgs, OutputFormat, input_specs};
use crate::commands::cat::selection;
use crate::exit;
use crate::read_report::ReadReporter;
use crate::table::{Table, print_json, print_table};

pub(crate) fn run(args: HuntArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let rules = crate::commands::rules::load(&args.rules)?;
    let selection = selection(&args.selection)?;
    let settings = HuntSettings {
        rules: &rules,
        min_level: Level::from(args.min_level),
        summary: args.summary,
    };
    let (outcome, skipped_input) = if args.paths.is_empty() {
        let lake = Lake::open(&global.data_dir()?, Access::Read)?;
        (hunt_lake(&settings, &lake, &selection)?, false)
    } else {
        let read = args.read.options(selection);
        let mut reporter = ReadReporter::new(global.quiet);
        let outcome = hunt_files(&settings, input_specs(&args.paths)?, &read, |message| {
            reporter.observe(message)
        });
        (
            outcome,
            reporter.finish(started.elapsed()).anything_skipped(),
        )
    };
    if args.summary {
        print_summary(&outcome.activity, args.format)?;
        return Ok(if skipped_input {
            exit::INPUT_ERROR
        } else {
            exit::OK
        });
    }
    print_findings(&outcome.findings, args.format)?;
    if !global.quiet {
        eprintln!(
            "{} findings from {} rules in {:.2}s",
            outcome.findings.len(),
            rules.rules().len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if skipped_input {
        exit::INPUT_ERROR
    } else if outcome.findings.is_empty() {
        exit::OK
    } else {
        exit::FOUND
    })
}

fn print_findings(findings: &[Finding], format: OutputFormat) -> anyhow::Result<()> {
    if matches!(format, OutputFormat::Json | OutputFormat::Jsonl) {
        return Ok(print_json(findings, format)?);
    }
    let mut table = Table::new(&[
        "time",
        "level",
        "rule",
        "principal",
        "event",
        "sourceIP",
        "region",
        "account",
        "events",
        "summary",
    ]);
    for f in findings {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        table.row(vec![
            text(&f.time),
            f.level.to_string(),
            f.rule_title.clone(),
            text(&f.principal),
            text(&f.event_name),
            text(&f.source_ip),
            text(&f.region),
            text(&f.account),
            f.event_count.to_string(),
            f.summary.clone(),
        ]);
    }
    Ok(print_table(&table, format)?)
}

fn print_summary(activity: &[(String, Activity)], format: OutputFormat) -> anyhow::Result<()> {
    let mut table = Table::new(&[
        "principal",
        "events",
        "failed",
        "apis",
        "top_apis",
        "regions",
        "source_ips",
        "user_agents",
        "access_keys",
        "first_seen",
        "last_seen",
    ]);
    let join = |set: &std::collections::BTreeSet<String>| {
        set.iter().cloned().collect::<Vec<_>>().join(" ")
    };
    for (principal, seen) in activity {
        let top: Vec<String> = seen
            .top_apis(5)
            .iter()
            .map(|(api, n)| format!("{api}={n}"))
            .collect();
        table.row(vec![
            principal.clone(),
            seen.events.to_string(),
            seen.failed.to_string(),
            seen.apis.len().to_string(),
            top.join(" "),
            join(&seen.regions),
            join(&seen.source_ips),
            join(&seen.user_agents),
            join(&seen.access_keys),
            seen.first_seen.clone().unwrap_or_default(),
            seen.last_seen.clone().unwrap_or_default(),
        ]);
    }
    Ok(print_table(&table, format)?)
}
