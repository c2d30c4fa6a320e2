//! `status`: is the monitor healthy, and how far behind is it?

use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::json;
use trailhound_lake::{Access, Lake};

use crate::cli::{GlobalArgs, StatusArgs, StatusFormat};
use crate::exit;

pub(crate) fn run(args: StatusArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let data_dir = global.data_dir();
    anyhow::ensure!(
        data_dir.join("catalog.sqlite").exists(),
        "no lake in {}: nothing was ingested or watched there yet (see `trailhound ingest` and `trailhound watch`)",
        data_dir.display()
    );
    let lake = Lake::open(&data_dir, Access::Read)?;
    let catalog = lake.catalog();
    let now = Utc::now();

    let mut report = trailhound_server::monitor_status(catalog, now)?;
    report["data_dir"] = json!(data_dir.display().to_string());
    let healthy = report["healthy"].as_bool().unwrap_or(false);
    let checkpoints = catalog.checkpoints()?;
    let lake_report = &report["lake"];
    let events = lake_report["events"].as_u64().unwrap_or(0);
    let files = lake_report["files"].as_u64().unwrap_or(0);
    let newest_event = lake_report["newest_event"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc());
    let sources_read = lake_report["sources_read"].as_u64().unwrap_or(0);
    let failed_sources = lake_report["sources_failed"].as_u64().unwrap_or(0);
    let followed = report["followed"].as_array().cloned().unwrap_or_default();
    let outbox = catalog.outbox_counts()?;
    let failing_sinks: Vec<(String, String)> = report["alerts"]["failing_sinks"]
        .as_array()
        .map(|sinks| {
            sinks
                .iter()
                .map(|s| {
                    (
                        s["sink"].as_str().unwrap_or_default().to_owned(),
                        s["error"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = std::io::stdout().lock();
    match args.format {
        StatusFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        StatusFormat::Table => {
            writeln!(
                out,
                "{} — lake {}",
                if healthy { "healthy" } else { "UNHEALTHY" },
                data_dir.display()
            )?;
            writeln!(
                out,
                "  {events} events in {files} files; newest event {}; {sources_read} sources read, {failed_sources} failed",
                newest_event.map_or_else(|| "none".to_owned(), |t| ago(now, t)),
            )?;
            if !checkpoints.is_empty() {
                writeln!(out, "followed:")?;
            }
            for (checkpoint, shown) in checkpoints.iter().zip(&followed) {
                let lag = shown["lag_seconds"]
                    .as_i64()
                    .map_or_else(|| "-".to_owned(), human_seconds);
                let polled = checkpoint
                    .polled_at
                    .as_deref()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map_or_else(|| "never".to_owned(), |t| ago(now, t.to_utc()));
                write!(
                    out,
                    "  {}  lag {lag}, polled {polled}, {} objects",
                    checkpoint.source, checkpoint.objects
                )?;
                match &checkpoint.error {
                    Some(error) => writeln!(out, ", ERROR: {error}")?,
                    None => writeln!(out)?,
                }
            }
            writeln!(
                out,
                "alerts: {} sent, {} waiting, {} suppressed",
                outbox.sent, outbox.pending, outbox.suppressed
            )?;
            for (sink, error) in &failing_sinks {
                writeln!(out, "  sink {sink} failing: {error}")?;
            }
        }
    }
    Ok(if healthy { exit::OK } else { exit::FOUND })
}

fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    format!(
        "{} ({} ago)",
        then.format("%Y-%m-%dT%H:%M:%SZ"),
        human_seconds((now - then).num_seconds())
    )
}

fn human_seconds(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}
