//! One ingest run: the reader's workers decode and convert records to columns, the lake writer
//! drops duplicates and commits. The CLI's `ingest` and `demo`, and later `watch`, all go
//! through [`Lake::ingest`], so they share its crash-safety and dedup guarantees.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use trailhound_source::{InputSpec, ReadMessage, ReadOptions, SkipUnchanged};

use crate::{
    ConvertedBatch, IngestReport, Lake, LakeError, WriteOptions, convert, source_location,
};

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
        mut observe: impl FnMut(&ReadMessage<ConvertedBatch>),
    ) -> Result<IngestReport, LakeError> {
        let mut writer = self.writer(write);
        let mut failure = None;
        trailhound_source::read_map(inputs, read, &|batch| convert(&batch), |message| {
            observe(&message);
            let result = match message {
                ReadMessage::Batch(converted) => {
                    for problem in &converted.failures {
                        tracing::warn!("{problem}; record skipped");
                    }
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
        match failure {
            Some(err) => Err(err),
            None => writer.finish(),
        }
    }

    /// A filter for [`ReadOptions::skip_unchanged`]: files this lake has read completely before
    /// and whose size and modification time have not changed since are not read again.
    pub fn unchanged_filter(&self) -> Result<SkipUnchanged, LakeError> {
        let index: HashMap<String, (u64, i64)> = self.catalog().unchanged_index()?;
        Ok(Arc::new(move |origin| {
            let Some(facts) = origin.facts else {
                return false;
            };
            index.get(&source_location(&origin.name)) == Some(&(facts.size, facts.modified_ns))
        }))
    }
}
