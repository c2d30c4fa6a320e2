//! Monitoring: follow buckets, queues and folders, taking each new object exactly once, and
//! alert on what the rules and Insights find.
//!
//! ```text
//! every interval:  trail folders ──list after checkpoint − margin──► new objects ─┐
//!                  queues ──receive (hidden for the visibility timeout)──► announced ──┤
//!                  folders ──walk, unchanged files skipped by the catalog─────────────┤
//!    ──► ingest (rules live; objects, rows and findings in one commit)
//!    ──► compaction ──► Insights and first-seen ──► delete queue messages ──► checkpoints
//!    ──► route new findings (outbox, in one commit with the routing cursor) ──► deliver
//! ```
//!
//! **Exactly once.** Everything after the commit only forgets work at the source or records
//! where to start next time. A poll killed at any step boundary (see [`Step`]) leaves the
//! next poll to list or receive the same objects again; the catalog then knows them (they
//! are skipped without being downloaded) and the lake's `eventID` deduplication covers an
//! object read twice. Findings are committed with their objects and routed to the outbox
//! with the routing cursor, so each finding is alerted once. An alert is sent twice only if
//! the process dies between a sink's answer and the outbox's mark (the delivery number lets
//! a receiver drop the repeat).

mod followed;
mod poll;
mod status;
#[cfg(test)]
mod tests;
mod wake;

use std::time::{Duration, Instant};

pub use followed::{
    Advance, Collected, Followed, FollowedBucket, FollowedFolder, FollowedQueue, NotificationQueue,
    ObjectPlace, S3Trail, Sqs, TrailBucket,
};
pub use status::{
    AlertSummary, FailingSink, FollowedStatus, LakeSummary, MonitorStatus, monitor_status,
};
use trailhound_alert::{AlertRound, Alerting};
use trailhound_detect::RuleSet;
use trailhound_insights::Settings;
use trailhound_lake::Lake;
use trailhound_source::ReadOptions;

use crate::PipelineError;
use crate::ingest::IngestMessage;

/// How a monitor works, beyond what it follows.
pub struct MonitorSettings {
    /// How objects are read (selection, limits, threads, S3 settings).
    pub read: ReadOptions,
    /// The rules run on every new event (`None`: no detection).
    pub rules: Option<RuleSet>,
    /// How Insights and first-seen findings are computed for new events (`None`: not at all).
    pub insights: Option<Settings>,
    /// Posture checks run when due, before routing, so a check that starts failing is
    /// alerted in the same poll (`None`: never).
    pub posture: Option<crate::posture::PostureSchedule>,
    /// What of the lake is kept, applied once a day after a poll (`None`: all of it).
    pub retention: Option<crate::retention::RetentionSettings>,
    /// On a lake that has never alerted, alert its history too: the findings already in it
    /// and those of the first poll (which takes in the backlog). Otherwise they are history.
    pub alert_history: bool,
    /// Where every new event is also written as OCSF, after each poll (`None`: nowhere).
    pub ocsf: Option<crate::ocsf::OcsfSink>,
    /// Reports made when due, after each poll.
    pub reports: Vec<crate::reports::ScheduledReport>,
}

/// The boundaries between a poll's steps, in order: where a kill may leave a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Every source said what is new (failed parts are marked on their checkpoints).
    Collected,
    /// The new objects, their events and findings are committed to the lake.
    Committed,
    /// Small files are compacted.
    Compacted,
    /// Insights and first-seen findings cover the new events.
    InsightsUpdated,
    /// Queue messages whose objects are in the lake are deleted.
    Settled,
    /// Checkpoints are moved past what was taken.
    CheckpointsMoved,
    /// New findings are routed into the alert outbox.
    Routed,
    /// Alerts due are delivered.
    Delivered,
}

impl Step {
    /// Every boundary, in order.
    pub const ALL: [Step; 8] = [
        Step::Collected,
        Step::Committed,
        Step::Compacted,
        Step::InsightsUpdated,
        Step::Settled,
        Step::CheckpointsMoved,
        Step::Routed,
        Step::Delivered,
    ];
}

/// What one poll did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Objects read (or failed to read).
    pub objects: u64,
    /// Events new to the lake.
    pub events_new: u64,
    /// New findings, from the rules and from first-seen.
    pub findings: u64,
    /// Insights computed for the new stretch.
    pub insights: usize,
    /// Problems reported (sources that could not be read, steps that failed after the
    /// commit, files skipped).
    pub problems: u64,
    /// What alerting did.
    pub alerts: AlertRound,
    /// Events written as OCSF.
    pub ocsf_events: u64,
    /// Scheduled reports made and delivered.
    pub reports: u64,
}

impl PollReport {
    /// Whether anything happened worth a line of its own.
    pub fn is_eventful(&self) -> bool {
        self.objects > 0 || self.problems > 0 || self.alerts.sent > 0 || self.alerts.failed > 0
    }
}

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Something could not be done this poll (a source, the ingest): it is retried.
    Error,
    /// Something after the commit failed, or input was dropped: the events are safe.
    Warning,
}

/// A problem a poll met and went past.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// How bad.
    pub severity: Severity,
    /// What, and what to do about it.
    pub message: String,
}

/// What a monitor tells as it works. Every method has a default that ignores the news.
pub trait PollObserver {
    /// Each message of a poll's read: progress, files that could not be read, records
    /// skipped.
    fn read(&mut self, message: &IngestMessage) {
        let _ = message;
    }
    /// A problem the poll went past.
    fn problem(&mut self, problem: &Problem) {
        let _ = problem;
    }
    /// The end of each poll.
    fn polled(&mut self, report: &PollReport) {
        let _ = report;
    }
}

/// A monitor: the followed sources, the lake they feed, and where findings are alerted.
pub struct Monitor {
    lake: Lake,
    followed: Vec<Box<dyn Followed>>,
    alerting: Alerting,
    settings: MonitorSettings,
    /// The lake has never alerted: what the first poll finds is history.
    taking_backlog: bool,
}

impl Monitor {
    /// A monitor over `lake` (opened for writing). On a lake that has never alerted, the
    /// findings already recorded and those of the first poll (the backlog it takes in,
    /// whichever stage finds them: rules, first-seen, Insights) are history; alerting starts
    /// with the second poll. `settings.alert_history` alerts them all instead.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn new(
        mut lake: Lake,
        followed: Vec<Box<dyn Followed>>,
        alerting: Alerting,
        settings: MonitorSettings,
    ) -> Result<Monitor, PipelineError> {
        let new = alerting.is_new(lake.catalog())?;
        if new && settings.alert_history {
            alerting.begin_with_history(lake.catalog_mut()?)?;
        }
        Ok(Monitor {
            taking_backlog: new && !settings.alert_history,
            lake,
            followed,
            alerting,
            settings,
        })
    }

    /// The lake the monitor feeds.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// One poll of every source, then a round of alerting.
    ///
    /// # Errors
    ///
    /// Only when the lake's catalog fails; a source that cannot be read, or a step after the
    /// commit that fails, is a [`Problem`] and the poll goes on.
    pub fn poll(&mut self, observer: &mut dyn PollObserver) -> Result<PollReport, PipelineError> {
        self.poll_until(observer, &mut |_| std::ops::ControlFlow::Continue(()))
    }

    /// Polls every `interval` (sooner when a file lands in a followed folder), telling
    /// `observer` of each poll, until the catalog fails; with `once`, polls once and returns
    /// whether it met problems.
    ///
    /// # Errors
    ///
    /// As [`Monitor::poll`].
    pub fn run(
        &mut self,
        interval: Duration,
        once: bool,
        observer: &mut dyn PollObserver,
    ) -> Result<bool, PipelineError> {
        let folders: Vec<std::path::PathBuf> = self
            .followed
            .iter()
            .filter_map(|f| f.folder().map(std::path::Path::to_path_buf))
            .collect();
        let wake = wake::FolderEvents::watch(&folders);
        let mut problems = false;
        loop {
            let started = Instant::now();
            let report = self.poll(observer)?;
            problems |= report.problems > 0;
            observer.polled(&report);
            if once {
                // Alerts still waiting stay in the outbox for the next run.
                return Ok(problems);
            }
            wake.wait(interval.saturating_sub(started.elapsed()));
        }
    }
}
