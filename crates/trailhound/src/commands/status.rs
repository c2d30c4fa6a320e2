//! `status`: is the monitor healthy, and how far behind is it?

use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::json;
use trailhound_lake::{Access, Lake};
use trailhound_source::LogKey;

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

    let files = catalog.lake_files(None)?;
    let events: u64 = files.iter().map(|f| f.rows).sum();
    let newest_event = files
        .iter()
        .filter_map(|f| f.max_time_us)
        .max()
        .and_then(DateTime::from_timestamp_micros);
    let sources = catalog.sources(false)?;
    let failed_sources = sources.iter().filter(|s| s.outcome == "failed").count();

    let checkpoints = catalog.checkpoints()?;
    let followed: Vec<serde_json::Value> = checkpoints
        .iter()
        .map(|c| {
            // CloudTrail keys carry their delivery time: how far behind the newest object is.
            let delivered = c
                .position
                .as_deref()
                .and_then(|p| LogKey::parse(p).delivered);
            json!({
                "source": c.source,
                "position": c.position,
                "newest_delivery": delivered.map(|t| t.to_rfc3339()),
                "lag_seconds": delivered.map(|t| (now - t).num_seconds()),
                "polled_at": c.polled_at,
                "advanced_at": c.advanced_at,
                "objects": c.objects,
                "error": c.error,
            })
        })
        .collect();
    let outbox = catalog.outbox_counts()?;
    let mut failing_sinks: Vec<(String, String)> = Vec::new();
    for entry in catalog.pending_alerts()? {
        if let Some(error) = entry.last_error
            && !failing_sinks.iter().any(|(sink, _)| *sink == entry.sink)
        {
            failing_sinks.push((entry.sink, error));
        }
    }
    let healthy = checkpoints.iter().all(|c| c.error.is_none()) && failing_sinks.is_empty();

    let report = json!({
        "healthy": healthy,
        "data_dir": data_dir.display().to_string(),
        "lake": {
            "events": events,
            "files": files.len(),
            "newest_event": newest_event.map(|t| t.to_rfc3339()),
            "sources_read": sources.len(),
            "sources_failed": failed_sources,
        },
        "followed": followed,
        "alerts": {
            "pending": outbox.pending,
            "sent": outbox.sent,
            "suppressed": outbox.suppressed,
            "failing_sinks": failing_sinks.iter().map(|(sink, error)| json!({"sink": sink, "error": error})).collect::<Vec<_>>(),
        },
    });
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
                "  {events} events in {} files; newest event {}; {} sources read, {failed_sources} failed",
                files.len(),
                newest_event.map_or_else(|| "none".to_owned(), |t| ago(now, t)),
                sources.len(),
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
