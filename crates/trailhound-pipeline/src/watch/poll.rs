//! One poll, in the order that makes it exactly once (see the module above): nothing is
//! forgotten at a source, and no checkpoint moves, before the lake commit that holds what
//! was taken.

use std::ops::ControlFlow;

use trailhound_lake::{CompactOptions, WriteOptions};
use trailhound_source::{InputSpec, ReadSummary};

use super::{Collected, Monitor, PollObserver, PollReport, Problem, Severity, Step};
use crate::PipelineError;
use crate::identity::update_identity_index;
use crate::ingest::{IngestSettings, ingest};
use crate::insights::update_pending_insights;

impl Monitor {
    /// One poll that stops at the first boundary where `stop` says so, as if the process had
    /// been killed there: how the tests prove each boundary safe.
    pub(crate) fn poll_until(
        &mut self,
        observer: &mut dyn PollObserver,
        stop: &mut dyn FnMut(Step) -> ControlFlow<()>,
    ) -> Result<PollReport, PipelineError> {
        let mut report = PollReport::default();
        if self.take_in(observer, stop, &mut report)?.is_break() {
            return Ok(report);
        }
        if self.taking_backlog {
            // Everything so far is the lake's history. Until this point survives, a restart
            // is still a first poll: a kill cannot turn history into alerts.
            self.alerting.begin(self.lake.catalog_mut()?)?;
            self.taking_backlog = false;
        }
        // Posture describes the present, not the backlog: its findings are alerted.
        self.check_posture(observer, &mut report)?;
        let catalog = self.lake.catalog_mut()?;
        report.alerts.queued = self.alerting.route(catalog)?;
        if stop(Step::Routed).is_break() {
            return Ok(report);
        }
        let queued = report.alerts.queued;
        report.alerts = self.alerting.deliver(catalog)?;
        report.alerts.queued = queued;
        if stop(Step::Delivered).is_break() {
            return Ok(report);
        }
        self.retain_if_due(observer, &mut report);
        self.export_ocsf(observer, &mut report);
        self.make_due_reports(observer, &mut report);
        Ok(report)
    }

    /// Writes what the lake took in as OCSF, when a sink is configured; a failure is a problem
    /// of this poll, and the next one writes what is still unmarked.
    fn export_ocsf(&mut self, observer: &mut dyn PollObserver, report: &mut PollReport) {
        let Some(sink) = &self.settings.ocsf else {
            return;
        };
        match crate::ocsf::export_pending(&self.lake, sink) {
            Ok(exported) => report.ocsf_events += exported.events,
            Err(err) => problem(
                observer,
                report,
                Severity::Warning,
                format!("OCSF export to {}: {err}", sink.dir.display()),
            ),
        }
    }

    /// Everything up to the checkpoints: collect, commit, and what follows the commit.
    fn take_in(
        &mut self,
        observer: &mut dyn PollObserver,
        stop: &mut dyn FnMut(Step) -> ControlFlow<()>,
        report: &mut PollReport,
    ) -> Result<ControlFlow<()>, PipelineError> {
        let mut collected: Vec<Collected> = Vec::with_capacity(self.followed.len());
        for source in &mut self.followed {
            let found = source.collect(self.lake.catalog())?;
            for (checkpoint, error) in &found.failures {
                self.lake
                    .catalog_mut()?
                    .fail_checkpoint(checkpoint, error)?;
                problem(
                    observer,
                    report,
                    Severity::Error,
                    format!("{checkpoint}: {error}"),
                );
            }
            for warning in &found.warnings {
                problem(observer, report, Severity::Warning, warning.clone());
            }
            collected.push(found);
        }
        if stop(Step::Collected).is_break() {
            return Ok(ControlFlow::Break(()));
        }
        let inputs: Vec<InputSpec> = collected
            .iter_mut()
            .flat_map(|c| std::mem::take(&mut c.inputs))
            .collect();
        let mut counted = None;
        if !inputs.is_empty() {
            let mut summary = ReadSummary::default();
            let settings = IngestSettings {
                write: WriteOptions::default(),
                rules: self.settings.rules.as_ref(),
                force: false,
            };
            counted = Some(crate::identity::count_written_files(&mut self.lake));
            let ingested = ingest(
                &mut self.lake,
                inputs,
                &self.settings.read,
                &settings,
                |message| {
                    summary.add(message);
                    observer.read(message);
                },
            );
            let ingested = match ingested {
                Ok(ingested) => ingested,
                Err(err) => {
                    // Nothing moves: the next poll retries from the same checkpoints, and
                    // queue messages come back after their visibility timeout.
                    let error = err.to_string();
                    for advance in collected.iter().flat_map(|c| &c.advances) {
                        self.lake
                            .catalog_mut()?
                            .fail_checkpoint(&advance.checkpoint, &error)?;
                    }
                    problem(observer, report, Severity::Error, error);
                    return Ok(ControlFlow::Continue(()));
                }
            };
            report.objects = summary.objects_read + summary.objects_failed;
            report.problems += summary.objects_failed + summary.inputs_failed;
            report.events_new = ingested.events_new;
            report.findings = ingested.findings;
            if stop(Step::Committed).is_break() {
                return Ok(ControlFlow::Break(()));
            }
            // The events are in the lake: what follows is reported when it fails, but does
            // not stop the monitor or hold the checkpoints back.
            if let Err(err) = self.lake.compact(CompactOptions::automatic()) {
                problem(
                    observer,
                    report,
                    Severity::Warning,
                    format!("compacting the lake failed ({err}); `trailhound compact` retries"),
                );
            }
            if stop(Step::Compacted).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        // Files an earlier poll committed but did not get to (killed, or the update failed)
        // are caught up here even when nothing new came.
        if let Some(settings) = &self.settings.insights {
            match update_pending_insights(&mut self.lake, settings) {
                Ok(None) => {}
                Ok(Some(updated)) => {
                    report.insights = updated.computation.insights.len();
                    report.findings += updated.new_findings;
                }
                Err(err) => problem(
                    observer,
                    report,
                    Severity::Warning,
                    format!(
                        "computing Insights for the new events failed ({err}); the next poll \
                         tries again, and `trailhound insights --since …` computes them anew"
                    ),
                ),
            }
        }
        self.lake.observe_written_files(None);
        // Without detection (`--no-detect`) the index is kept, without its chain signals.
        let identity = trailhound_identity::Settings {
            enabled: self.settings.rules.is_some(),
            ..trailhound_identity::Settings::default()
        };
        match update_identity_index(&mut self.lake, &identity, counted.as_deref()) {
            Ok(updated) => report.findings += updated.new_findings,
            Err(err) => problem(
                observer,
                report,
                Severity::Warning,
                format!("updating the identity index failed ({err}); the next poll tries again"),
            ),
        }
        if stop(Step::InsightsUpdated).is_break() {
            return Ok(ControlFlow::Break(()));
        }
        for (source, found) in self.followed.iter_mut().zip(&collected) {
            if let Err(err) = source.settle(found) {
                // The messages come back after their visibility timeout; the catalog then
                // skips their objects.
                problem(observer, report, Severity::Warning, err);
            }
        }
        if stop(Step::Settled).is_break() {
            return Ok(ControlFlow::Break(()));
        }
        for advance in collected.iter().flat_map(|c| &c.advances) {
            // A folder's objects are counted by what the read took from it.
            let objects = advance
                .objects
                .unwrap_or_else(|| i64::try_from(report.objects).unwrap_or(i64::MAX));
            self.lake.catalog_mut()?.advance_checkpoint(
                &advance.checkpoint,
                advance.position.as_deref(),
                objects,
            )?;
        }
        Ok(stop(Step::CheckpointsMoved))
    }
}

impl Monitor {
    /// Applies the retention once a day. Its own crash safety makes it safe anywhere after
    /// the poll; a failure is this poll's problem and is tried again at the next.
    fn retain_if_due(&mut self, observer: &mut dyn PollObserver, report: &mut PollReport) {
        let Some(settings) = &self.settings.retention else {
            return;
        };
        let now = chrono::Utc::now();
        let result = crate::retention::due(&self.lake, now).and_then(|due| {
            if !due {
                return Ok(());
            }
            let plan = settings.plan(&self.lake, now)?;
            crate::retention::apply(&mut self.lake, settings, &plan, |_| {})?;
            crate::retention::mark_run(&mut self.lake, now)
        });
        if let Err(err) = result {
            problem(
                observer,
                report,
                Severity::Warning,
                format!("retention: {err}"),
            );
        }
    }

    /// Makes and delivers each scheduled report that is due, after everything this poll took
    /// in is in the lake; a failure is this poll's problem, and the next poll tries again.
    fn make_due_reports(&mut self, observer: &mut dyn PollObserver, report: &mut PollReport) {
        let now = chrono::Utc::now();
        for scheduled in &self.settings.reports {
            let result = scheduled.due(&self.lake, now).and_then(|due| {
                due.map(|scope| scheduled.run(&mut self.lake, scope))
                    .transpose()
            });
            match result {
                Ok(Some(file)) => {
                    report.reports += 1;
                    tracing::info!(report = %scheduled.schedule.name, %file, "scheduled report delivered");
                }
                Ok(None) => {}
                Err(err) => problem(
                    observer,
                    report,
                    Severity::Warning,
                    format!("report {:?}: {err}", scheduled.schedule.name),
                ),
            }
        }
    }

    /// Runs the posture checks when they are due; failing to reach AWS is a problem of this
    /// poll, not the end of the monitor.
    fn check_posture(
        &mut self,
        observer: &mut dyn PollObserver,
        report: &mut PollReport,
    ) -> Result<(), PipelineError> {
        let Some(schedule) = &self.settings.posture else {
            return Ok(());
        };
        let catalog = self.lake.catalog_mut()?;
        if !crate::posture::due(catalog, schedule.every)? {
            return Ok(());
        }
        match crate::posture::run_live(catalog, schedule) {
            Ok(record) => report.findings += record.findings,
            Err(PipelineError::Lake(err)) => return Err(PipelineError::Lake(err)),
            Err(err) => problem(
                observer,
                report,
                Severity::Warning,
                format!("posture: {err}"),
            ),
        }
        Ok(())
    }
}

/// Counts a problem and tells the observer.
fn problem(
    observer: &mut dyn PollObserver,
    report: &mut PollReport,
    severity: Severity,
    message: String,
) {
    report.problems += 1;
    observer.problem(&Problem { severity, message });
}
