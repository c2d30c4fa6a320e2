//! How the monitor is doing: the lake's size and freshness, each followed source's lag and
//! last error, and the alert outbox. `trailhound status` prints it; the API serves it.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde::Serialize;
use trailhound_lake::{Catalog, Checkpoint, LakeError, SourceOutcome};
use trailhound_source::LogKey;

/// The monitor's health: the lake's size and freshness, each followed source's lag and last
/// error, and the alert outbox. `trailhound status` prints it; `/api/v1/status` serves it.
#[derive(Debug, Clone, Serialize)]
pub struct MonitorStatus {
    /// No followed source failed its last poll and no sink is failing.
    pub healthy: bool,
    /// The lake.
    pub lake: LakeSummary,
    /// Each followed source (`watch`), with its checkpoint.
    pub followed: Vec<FollowedStatus>,
    /// The alert outbox.
    pub alerts: AlertSummary,
}

/// The lake's size and freshness.
#[derive(Debug, Clone, Serialize)]
pub struct LakeSummary {
    /// Events in all.
    pub events: u64,
    /// Parquet files.
    pub files: usize,
    /// `eventTime` of the newest event.
    #[serde(serialize_with = "rfc3339")]
    pub newest_event: Option<DateTime<Utc>>,
    /// Source objects recorded.
    pub sources_read: usize,
    /// Of those, the ones that could not be read.
    pub sources_failed: usize,
}

/// One followed source.
#[derive(Debug, Clone, Serialize)]
pub struct FollowedStatus {
    /// What is followed, with its checkpoint.
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
    /// When CloudTrail delivered the newest object taken (from its key).
    #[serde(serialize_with = "rfc3339")]
    pub newest_delivery: Option<DateTime<Utc>>,
    /// How far behind that delivery is.
    pub lag_seconds: Option<i64>,
}

/// The alert outbox.
#[derive(Debug, Clone, Serialize)]
pub struct AlertSummary {
    /// Waiting for their sink.
    pub pending: u64,
    /// Delivered.
    pub sent: u64,
    /// Throttled or duplicates.
    pub suppressed: u64,
    /// Dead letters: refused for good or given up on (`trailhound alert retry ID`).
    pub dead: u64,
    /// Sinks whose last attempt failed, with the error.
    pub failing_sinks: Vec<FailingSink>,
}

/// A sink whose last attempt failed.
#[derive(Debug, Clone, Serialize)]
pub struct FailingSink {
    /// Its name in trailhound.toml.
    pub sink: String,
    /// Its answer.
    pub error: String,
}

fn rfc3339<S: serde::Serializer>(time: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => s.serialize_str(&time.to_rfc3339()),
        None => s.serialize_none(),
    }
}

/// Reads the monitor's health from the catalog at `now`.
///
/// # Errors
///
/// When the catalog cannot be read.
pub fn monitor_status(catalog: &Catalog, now: DateTime<Utc>) -> Result<MonitorStatus, LakeError> {
    let files = catalog.lake_files(None)?;
    let sources = catalog.sources(false)?;
    let followed: Vec<FollowedStatus> = catalog
        .checkpoints()?
        .into_iter()
        .map(|c| {
            // CloudTrail keys carry their delivery time: how far behind the newest object is.
            let delivered = c
                .position
                .as_deref()
                .and_then(|p| LogKey::parse(p).delivered);
            FollowedStatus {
                newest_delivery: delivered,
                lag_seconds: delivered.map(|t| (now - t).num_seconds()),
                checkpoint: c,
            }
        })
        .collect();
    let outbox = catalog.outbox_counts()?;
    let mut failing_sinks: Vec<FailingSink> = Vec::new();
    for entry in catalog.pending_alerts()? {
        if let Some(error) = entry.last_error
            && !failing_sinks.iter().any(|f| f.sink == entry.sink)
        {
            failing_sinks.push(FailingSink {
                sink: entry.sink,
                error,
            });
        }
    }
    Ok(MonitorStatus {
        healthy: followed.iter().all(|f| f.checkpoint.error.is_none()) && failing_sinks.is_empty(),
        lake: LakeSummary {
            events: files.iter().map(|f| f.rows).sum(),
            files: files.len(),
            newest_event: files
                .iter()
                .filter_map(|f| f.max_time_us)
                .max()
                .and_then(DateTime::from_timestamp_micros),
            sources_read: sources.len(),
            sources_failed: sources
                .iter()
                .filter(|s| s.outcome == SourceOutcome::Failed)
                .count(),
        },
        followed,
        alerts: AlertSummary {
            pending: outbox.pending,
            sent: outbox.sent,
            suppressed: outbox.suppressed,
            dead: outbox.dead,
            failing_sinks,
        },
    })
}

impl MonitorStatus {
    /// The status for people, as of `now`.
    ///
    /// # Errors
    ///
    /// When writing fails.
    pub fn write_text(&self, out: &mut dyn Write, now: DateTime<Utc>) -> io::Result<()> {
        let lake = &self.lake;
        writeln!(
            out,
            "  {} events in {} files; newest event {}; {} sources read, {} failed",
            lake.events,
            lake.files,
            lake.newest_event
                .map_or_else(|| "none".to_owned(), |t| ago(now, t)),
            lake.sources_read,
            lake.sources_failed,
        )?;
        if !self.followed.is_empty() {
            writeln!(out, "followed:")?;
        }
        for shown in &self.followed {
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
        let alerts = &self.alerts;
        writeln!(
            out,
            "alerts: {} sent, {} waiting, {} suppressed, {} dead",
            alerts.sent, alerts.pending, alerts.suppressed, alerts.dead
        )?;
        if alerts.dead > 0 {
            writeln!(
                out,
                "  dead letters: see `trailhound alert history`; `trailhound alert retry ID` sends one again"
            )?;
        }
        for failing in &alerts.failing_sinks {
            writeln!(out, "  sink {} failing: {}", failing.sink, failing.error)?;
        }
        Ok(())
    }
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
