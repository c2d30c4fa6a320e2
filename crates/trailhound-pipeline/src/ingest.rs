//! One ingest: the reader's workers decode each record, convert it to columns and run the
//! rules on it; the ingesting thread drops duplicates, concludes findings (correlations in
//! time order) and commits whole source objects with their findings.
//!
//! ```text
//! read_map workers: EventBatch ──parse once──┬──► convert_parsed (Arrow columns)
//!                                            └──► inspect (rules: EventMatch) ─┐
//! ingesting thread: LakeWriter.add ◄──────────────────────────────────────────┤
//!                   Conclude (Detector) ──► findings ──► committed with their objects
//! ```
//!
//! `ingest`, `watch` and `demo` all go through here, so they share the lake's crash-safety
//! and deduplication guarantees.

use std::ops::ControlFlow;

use trailhound_detect::{Detector, EventMatch, Level, RuleSet};
use trailhound_event::{CloudTrailEvent, Finding};
use trailhound_lake::{
    ConvertedBatch, IngestReport, Lake, LakeError, ParsedBatch, WriteOptions, convert_parsed,
};
use trailhound_source::{EventBatch, InputSpec, ReadMessage, ReadOptions};

use crate::PipelineError;

/// What an ingest's observer sees: the reader's messages, each batch converted to columns and
/// paired with its inspection.
pub type IngestMessage<T = Vec<EventMatch>> = ReadMessage<(ConvertedBatch, T)>;

/// What becomes of an ingest's per-batch inspections (see [`ingest_with`]): on the ingesting
/// thread, in input order, each turns into findings to record with its objects.
pub trait Conclude<T> {
    /// Findings from one batch's inspection.
    fn conclude(&mut self, inspection: T) -> Vec<Finding>;
    /// Findings that only the end of the input reveals (e.g. correlations still open).
    fn finish(&mut self) -> Vec<Finding>;
}

/// Detection at ingest: the rules' matches become findings recorded with their objects.
impl Conclude<Vec<EventMatch>> for Detector<'_> {
    fn conclude(&mut self, matches: Vec<EventMatch>) -> Vec<Finding> {
        let mut findings = Vec::new();
        for found in matches {
            self.feed(found, &mut findings);
        }
        findings
    }

    fn finish(&mut self) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.flush(&mut findings);
        findings
    }
}

/// How to ingest.
#[derive(Clone, Copy, Default)]
pub struct IngestSettings<'r> {
    /// How the lake writes.
    pub write: WriteOptions,
    /// The rules to run on every event (`None`: no detection).
    pub rules: Option<&'r RuleSet>,
    /// Read every source again, even those the catalog knows to be unchanged since they were
    /// read (their events are still stored once).
    pub force: bool,
}

/// Reads `inputs` into the lake, running the rules (if any) on every event. `observe` sees
/// every message of the read (batches, object reports, rejected records, failed inputs)
/// before the lake writer does, for progress and reporting. Unless `settings.force`, sources
/// the catalog knows to be unchanged since they were read are not opened.
///
/// # Errors
///
/// A failure of the lake itself stops the ingest; running it again resumes without loss or
/// duplicates. Input that cannot be read never does: it is reported through `observe`.
pub fn ingest(
    lake: &mut Lake,
    inputs: Vec<InputSpec>,
    read: &ReadOptions,
    settings: &IngestSettings<'_>,
    observe: impl FnMut(&IngestMessage),
) -> Result<IngestReport, PipelineError> {
    let mut read = read.clone();
    if !settings.force {
        read.skip_unchanged = Some(lake.unchanged_filter()?);
    }
    let report = match settings.rules {
        None => ingest_with(
            lake,
            inputs,
            &read,
            settings.write,
            &|_| Vec::new(),
            &mut NoFindings,
            observe,
        ),
        Some(rules) => ingest_with(
            lake,
            inputs,
            &read,
            settings.write,
            &|events| rules.evaluate_events(events),
            &mut Detector::new(rules, Level::Informational),
            observe,
        ),
    };
    Ok(report?)
}

/// Like [`ingest`], with any inspection: `inspect` runs on the reader's workers beside the
/// conversion to columns, on the records already parsed (only those that parsed; the others
/// are not stored either), and `concluder` turns its results into findings on this thread.
/// Findings are committed in the same catalog transaction as the objects they came from.
///
/// # Errors
///
/// As [`ingest`].
pub fn ingest_with<T: Send>(
    lake: &mut Lake,
    inputs: Vec<InputSpec>,
    read: &ReadOptions,
    write: WriteOptions,
    inspect: &(dyn Fn(&[CloudTrailEvent<'_>]) -> T + Sync),
    concluder: &mut dyn Conclude<T>,
    mut observe: impl FnMut(&IngestMessage<T>),
) -> Result<IngestReport, LakeError> {
    let mut writer = lake.writer(write);
    let mut failure = None;
    // Each record is parsed once, for the inspection and the columns both.
    let work = |batch: EventBatch| {
        let parsed = ParsedBatch::of(&batch);
        let inspection = inspect(&parsed.events);
        (convert_parsed(parsed), inspection)
    };
    trailhound_source::read_map(inputs, read, &work, |message| {
        observe(&message);
        let result = match message {
            ReadMessage::Batch((converted, inspection)) => {
                for problem in &converted.failures {
                    tracing::warn!("{problem}; record skipped");
                }
                writer.add_findings(concluder.conclude(inspection));
                writer.add(converted)
            }
            ReadMessage::ObjectDone(report) => writer.object_done(&report),
            ReadMessage::RecordRejected { .. } | ReadMessage::InputFailed(_) => Ok(()),
        };
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(err) => {
                failure = Some(err);
                ControlFlow::Break(())
            }
        }
    });
    if let Some(err) = failure {
        return Err(err);
    }
    writer.add_findings(concluder.finish());
    writer.finish()
}

/// An inspection that concludes nothing.
struct NoFindings;

impl<T> Conclude<Vec<T>> for NoFindings {
    fn conclude(&mut self, _: Vec<T>) -> Vec<Finding> {
        Vec::new()
    }
    fn finish(&mut self) -> Vec<Finding> {
        Vec::new()
    }
}
