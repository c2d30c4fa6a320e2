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

    let status = trailhound_server::monitor_status(catalog, now)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        StatusFormat::Json => {
            let mut report = serde_json::to_value(&status)?;
            report["data_dir"] = json!(data_dir.display().to_string());
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        StatusFormat::Table => {
            writeln!(
                out,
                "{} — lake {}",
                if status.healthy {
                    "healthy"
                } else {
                    "UNHEALTHY"
                },
                data_dir.display()
            )?;
            writeln!(
                out,
                "  {} events in {} files; newest event {}; {} sources read, {} failed",
                status.lake.events,
                status.lake.files,
                status
                    .lake
                    .newest_event
                    .map_or_else(|| "none".to_owned(), |t| ago(now, t)),
                status.lake.sources_read,
                status.lake.sources_failed,
            )?;
            if !status.followed.is_empty() {
                writeln!(out, "followed:")?;
            }
            for shown in &status.followed {
                let checkpoint = &shown.checkpoint;
                let lag = shown
                    .lag_seconds
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
                status.alerts.sent, status.alerts.pending, status.alerts.suppressed
            )?;
            for failing in &status.alerts.failing_sinks {
                writeln!(out, "  sink {} failing: {}", failing.sink, failing.error)?;
            }
        }
    }
    Ok(if status.healthy {
        exit::OK
    } else {
        exit::FOUND
    })
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
