//! One ingest run: the reader's workers decode and convert records to columns, the lake writer
//! drops duplicates and commits. The CLI's `ingest` and `demo`, and later `watch`, all go
//! through [`Lake::ingest`], so they share its crash-safety and dedup guarantees.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use trailhound_detect::{Detector, EventMatch, Finding};
use trailhound_event::CloudTrailEvent;
use trailhound_source::{EventBatch, InputSpec, ReadMessage, ReadOptions, SkipUnchanged};

use crate::catalog::ReadSources;
use crate::convert::{ParsedBatch, convert_parsed};
use crate::{ConvertedBatch, IngestReport, Lake, LakeError, SourceLocator, WriteOptions};

/// What an ingest's observer sees: the reader's messages, batches converted to columns and
/// paired with their inspection.
pub type IngestMessage<T = ()> = ReadMessage<(ConvertedBatch, T)>;

/// What becomes of an ingest's per-batch inspections (see [`Lake::ingest_with`]): on the
/// ingesting thread, in input order, each turns into findings to record with its objects.
pub trait Conclude<T> {
    /// Findings from one batch's inspection.
    fn conclude(&mut self, inspection: T) -> Vec<Finding>;
    /// Findings that only the end of the input reveals (e.g. correlations still open).
    fn finish(&mut self) -> Vec<Finding>;
}

/// No inspection at all.
struct Nothing;

impl Conclude<()> for Nothing {
    fn conclude(&mut self, (): ()) -> Vec<Finding> {
        Vec::new()
    }
    fn finish(&mut self) -> Vec<Finding> {
        Vec::new()
    }
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

impl Lake {
    /// Reads `inputs` into the lake. `observe` sees every message of the read (batches, object
    /// reports, rejected records, failed inputs) before the writer does, for progress and
    /// reporting. Records that cannot be converted are logged and skipped; a failure of the lake
    /// itself stops the run, and running it again resumes without loss or duplicates.
    pub fn ingest(
        &mut self,
        inputs: Vec<InputSpec>,
        read: &ReadOptions,
        write: WriteOptions,
        observe: impl FnMut(&IngestMessage),
    ) -> Result<IngestReport, LakeError> {
        self.ingest_with(inputs, read, write, &|_| (), &mut Nothing, observe)
    }

    /// Like [`Lake::ingest`], with `inspect` run on the reader's workers beside the conversion
    /// to columns (detection, for one) and its results concluded into findings on this thread.
    /// `inspect` sees the records already parsed, and only those that parsed (the others are
    /// not stored either).
    /// Findings are committed in the same catalog transaction as the objects they came from.
    pub fn ingest_with<T: Send>(
        &mut self,
        inputs: Vec<InputSpec>,
        read: &ReadOptions,
        write: WriteOptions,
        inspect: &(dyn Fn(&[CloudTrailEvent<'_>]) -> T + Sync),
        concluder: &mut dyn Conclude<T>,
        mut observe: impl FnMut(&IngestMessage<T>),
    ) -> Result<IngestReport, LakeError> {
        let mut writer = self.writer(write);
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

    /// A filter for [`ReadOptions::skip_unchanged`]: files this lake has read completely before,
    /// or found faulty in their own bytes, and whose size and modification time have not
    /// changed since are not read again.
    pub fn unchanged_filter(&self) -> Result<SkipUnchanged, LakeError> {
        let sources = ReadSources::open(&self.catalog_path())?;
        // Called from the one thread that walks the inputs, so the lock is never contended.
        let state = Mutex::new((sources, SourceLocator::default()));
        Ok(Arc::new(move |origin| {
            let facts = origin.facts?;
            let mut state = match state.lock() {
                Ok(state) => state,
                Err(poisoned) => poisoned.into_inner(),
            };
            let (sources, locator) = &mut *state;
            let location = locator.locate(&origin.name, origin.link);
            match sources.facts(&location) {
                Ok(recorded) => recorded
                    .filter(|&(size, modified_ns, _)| {
                        (size, modified_ns) == (facts.size, facts.modified_ns)
                    })
                    .map(|(_, _, previously)| previously),
                Err(err) => {
                    // Reading it again is safe (its events are deduplicated), skipping is not.
                    tracing::warn!(
                        "{location}: cannot tell whether it was read before ({err}); reading it"
                    );
                    None
                }
            }
        }))
    }
}
