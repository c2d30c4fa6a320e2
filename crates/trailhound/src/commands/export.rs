//! `trailhound export --format ocsf|ocsf-json`: the reader's records through the OCSF mapping
//! into Security Lake's layout or onto stdout.

use std::io::Write;
use std::ops::ControlFlow;
use std::time::Instant;

use anyhow::Context;
use trailhound_ocsf::{SecurityLakeWriter, api_activity};
use trailhound_source::ReadMessage;

use crate::cli::{ExportArgs, ExportFormat, GlobalArgs, input_specs};
use crate::commands::cat::selection;
use crate::exit;
use crate::read_report::ReadReporter;

/// Where the events go.
enum Sink {
    SecurityLake(SecurityLakeWriter),
    Lines(std::io::BufWriter<std::io::StdoutLock<'static>>),
}

pub(crate) fn run(args: ExportArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let inputs = input_specs(&args.paths)?;
    let options = args.read.options(selection(&args.selection)?);
    // Files for a bucket are written to a local folder first, then uploaded: a Security Lake
    // crawler must never see half a Parquet file.
    let (local_root, upload) = match args.output.as_deref() {
        Some(url) if url.starts_with("s3://") => {
            let (bucket, prefix) = trailhound_source::S3Bucket::for_url(
                &trailhound_source::S3Url::parse(url)?,
                &args.read.s3.settings(),
            )?;
            let staging = std::env::temp_dir().join(format!(
                "trailhound-export-{}-{}",
                std::process::id(),
                chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
            ));
            (Some(staging.clone()), Some((bucket, prefix, staging)))
        }
        Some(dir) => (Some(std::path::PathBuf::from(dir)), None),
        None => (None, None),
    };
    let mut sink = match (args.format, &local_root) {
        (ExportFormat::Ocsf, Some(dir)) => {
            Sink::SecurityLake(SecurityLakeWriter::new(dir, &args.source_name))
        }
        (ExportFormat::Ocsf, None) => anyhow::bail!(
            "--format ocsf writes Parquet files under a folder: give -o DIR (or --format ocsf-json for JSON lines on stdout)"
        ),
        (ExportFormat::OcsfJson, Some(_)) => {
            anyhow::bail!("--format ocsf-json writes to stdout; -o is for --format ocsf")
        }
        (ExportFormat::OcsfJson, None) => {
            Sink::Lines(std::io::BufWriter::new(std::io::stdout().lock()))
        }
    };
    let mut reporter = ReadReporter::new(global.quiet);
    let mut failure: Option<anyhow::Error> = None;
    let mut not_events = 0u64;
    trailhound_source::read(inputs, &options, |message| {
        reporter.observe(&message);
        let ReadMessage::Batch(batch) = &message else {
            return ControlFlow::Continue(());
        };
        for record in batch.records() {
            let event = match api_activity(record) {
                Ok(event) => event,
                Err(err) => {
                    not_events += 1;
                    tracing::warn!("{}: {err}", batch.origin().name);
                    continue;
                }
            };
            let written = match &mut sink {
                Sink::SecurityLake(writer) => writer.push(event).map_err(anyhow::Error::from),
                Sink::Lines(out) => serde_json::to_writer(&mut *out, &event)
                    .map_err(anyhow::Error::from)
                    .and_then(|()| out.write_all(b"\n").map_err(anyhow::Error::from)),
            };
            if let Err(err) = written {
                failure = Some(err);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    if let Some(err) = failure {
        return Err(err).context("writing the OCSF events failed");
    }
    match sink {
        Sink::SecurityLake(writer) => {
            let (files, events) = writer.finish()?;
            if let Some((bucket, prefix, staging)) = &upload {
                let uploaded = bucket.upload_below(staging, &files, prefix);
                let _ = std::fs::remove_dir_all(staging);
                uploaded?;
            }
            if !global.quiet {
                let output = args
                    .output
                    .as_deref()
                    .unwrap_or_default()
                    .trim_end_matches('/');
                eprintln!(
                    "{events} OCSF API Activity events in {} Parquet files under {output}/ext/{}",
                    files.len(),
                    args.source_name
                );
            }
        }
        Sink::Lines(mut out) => out.flush().context("writing to stdout failed")?,
    }
    if not_events > 0 && !global.quiet {
        eprintln!("{not_events} records had no eventName or eventTime and were left out");
    }
    let summary = reporter.finish(started.elapsed());
    Ok(if summary.anything_skipped() || not_events > 0 {
        exit::INPUT_ERROR
    } else {
        exit::OK
    })
}
