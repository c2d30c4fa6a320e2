//! `ingest`, `sources` and `compact`: writing to the lake and what it records.

use std::time::Instant;

use anyhow::Context;
use trailhound_lake::{Access, CompactOptions, Lake, WriteOptions};
use trailhound_pipeline::{
    IngestSettings, count_written_files, ingest, update_identity_index, update_pending_insights,
};

use crate::cli::{GlobalArgs, IngestArgs, SourcesArgs, input_specs};
use crate::commands::cat::selection;
use crate::exit;
use crate::read_report::ReadReporter;
use crate::table::{Table, print_table};

pub(crate) fn run(args: IngestArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let data_dir = global.data_dir()?;
    let mut lake = Lake::open(&data_dir, Access::Write)
        .with_context(|| format!("cannot open the lake in {}", data_dir.display()))?;
    let inputs = input_specs(&args.sources)?;
    let read = args
        .pipeline
        .read
        .options(selection(&args.pipeline.selection)?);
    let rules = (!args.pipeline.no_detect)
        .then(|| crate::commands::rules::load(&args.pipeline.rules))
        .transpose()?;
    let settings = IngestSettings {
        write: WriteOptions {
            commit_bytes: usize::try_from(args.commit_size).unwrap_or(usize::MAX),
        },
        rules: rules.as_ref(),
        force: args.force,
    };
    // The identity index counts the new files from the rows the writer holds.
    let counted = (!args.no_identity).then(|| count_written_files(&mut lake));
    let mut reporter = ReadReporter::new(global.quiet);
    let report = ingest(&mut lake, inputs, &read, &settings, |message| {
        reporter.observe(message)
    })
    .context("ingest stopped; run it again to resume (nothing is lost or stored twice)")?;
    let summary = reporter.finish(started.elapsed());
    let compacted = (!args.no_compact)
        .then(|| lake.compact(CompactOptions::automatic()))
        .transpose()?;
    // Insights need each new minute's baseline, which is in the lake only once committed.
    let insights = if args.pipeline.no_insights {
        None
    } else {
        update_pending_insights(&mut lake, &trailhound_insights::Settings::default())
            .context("the events are in the lake, but computing their Insights failed; run `trailhound insights` to retry")?
    };
    lake.observe_written_files(None);
    let identities = if args.no_identity {
        None
    } else {
        Some(
            update_identity_index(
                &mut lake,
                &trailhound_identity::Settings {
                    enabled: !args.pipeline.no_detect,
                    ..trailhound_identity::Settings::default()
                },
                counted.as_deref(),
            )
            .context("the events are in the lake, but indexing their identities failed; `trailhound trace` retries")?,
        )
    };
    if !global.quiet {
        eprintln!(
            "lake {}: {} new events, {} already present, {} findings; {} files ({:.1} MiB) in {} commits; {:.0} events/s",
            data_dir.display(),
            report.events_new,
            report.duplicates,
            report.findings,
            report.files,
            report.bytes as f64 / (1 << 20) as f64,
            report.commits,
            summary.records as f64 / started.elapsed().as_secs_f64().max(1e-9),
        );
        if let Some(insights) = &insights {
            eprintln!(
                "insights: {} unusual API call or error rates (`trailhound insights list`), {} new first-seen findings",
                insights.computation.insights.len(),
                insights.new_findings
            );
        }
        if let Some(identities) = identities.filter(|i| i.findings > 0 || !i.unreadable.is_empty())
        {
            eprintln!(
                "identities: {} credentials handed out, {} new chain findings{}",
                identities.grants,
                identities.new_findings,
                if identities.unreadable.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} lake files could not be read and stay pending",
                        identities.unreadable.len()
                    )
                }
            );
        }
        if let Some(compacted) = compacted.filter(|c| c.files_before > 0) {
            eprintln!(
                "compacted {} small files into {} in {} partitions",
                compacted.files_before, compacted.files_after, compacted.partitions
            );
        }
    }
    Ok(if summary.anything_skipped() {
        exit::INPUT_ERROR
    } else {
        exit::OK
    })
}

pub(crate) fn sources(args: SourcesArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let lake = Lake::open(&global.data_dir()?, Access::Read)?;
    let sources = lake.catalog().sources(args.failed)?;
    let mut table = Table::new(&[
        "location",
        "outcome",
        "events_read",
        "events_new",
        "rejected",
        "ingested_at",
        "error",
    ]);
    for source in &sources {
        table.row(vec![
            source.location.clone(),
            source.outcome.to_string(),
            source.events_read.to_string(),
            source.events_new.to_string(),
            source.rejected.to_string(),
            source.ingested_at.clone(),
            source.error.clone().unwrap_or_default(),
        ]);
    }
    print_table(&table, args.format)?;
    Ok(if args.failed && !sources.is_empty() {
        exit::FOUND
    } else {
        exit::OK
    })
}

pub(crate) fn compact(global: &GlobalArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let mut lake = Lake::open(&global.data_dir()?, Access::Write)?;
    let report = lake.compact(CompactOptions::manual())?;
    // Merged files are counted afresh by the identity index (the merged ones took their
    // counts with them).
    update_identity_index(&mut lake, &trailhound_identity::Settings::default(), None)?;
    if !global.quiet {
        eprintln!(
            "compacted {} files into {} in {} partitions ({} rows) in {:.2}s",
            report.files_before,
            report.files_after,
            report.partitions,
            report.rows,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(exit::OK)
}
