use crate::{ObjectStatus, Previously, ReadMessage};

/// Running totals of a read, for progress displays and the closing summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Objects read successfully (log files, NDJSON, stdin, …).
    pub objects_read: u64,
    /// Objects that failed entirely.
    pub objects_failed: u64,
    /// Digest files recognised and skipped.
    pub digests: u64,
    /// Files and folders outside the selection, skipped unopened.
    pub pruned: u64,
    /// Objects skipped because they were read before and have not changed.
    pub unchanged: u64,
    /// Objects skipped because they could not be read before, for a fault in their bytes,
    /// and have not changed: they were reported then.
    pub failed_unchanged: u64,
    /// Inputs that could not be expanded (missing paths, empty folders).
    pub inputs_failed: u64,
    /// Records found.
    pub records: u64,
    /// Records kept by the selection.
    pub selected: u64,
    /// Records rejected as unusable.
    pub rejected: u64,
    /// Bytes of content read, after inflation.
    pub bytes: u64,
}

impl ReadSummary {
    /// Counts one message.
    pub fn add<B>(&mut self, message: &ReadMessage<B>) {
        match message {
            ReadMessage::ObjectDone(report) => {
                match report.status {
                    ObjectStatus::Read(_) => self.objects_read += 1,
                    ObjectStatus::Digest => self.digests += 1,
                    ObjectStatus::Pruned => self.pruned += 1,
                    ObjectStatus::Unchanged(Previously::Read) => self.unchanged += 1,
                    ObjectStatus::Unchanged(Previously::Failed) => self.failed_unchanged += 1,
                    ObjectStatus::Failed(_) => self.objects_failed += 1,
                }
                self.records += report.records;
                self.selected += report.selected;
                self.rejected += report.rejected;
                self.bytes += report.bytes;
            }
            ReadMessage::InputFailed(_) => self.inputs_failed += 1,
            ReadMessage::Batch(_) | ReadMessage::RecordRejected { .. } => {}
        }
    }

    /// Whether anything was skipped: a failed object or input, or a rejected record.
    pub fn anything_skipped(&self) -> bool {
        self.objects_failed > 0 || self.inputs_failed > 0 || self.rejected > 0
    }
}
