//! Searching files without a lake: the quick filters of `search` applied to records as the
//! reader finds them, in input order.

use std::ops::ControlFlow;

use trailhound_event::CloudTrailEvent;
use trailhound_query::QuickFilter;
use trailhound_source::{EventBatch, InputSpec, ReadMessage, ReadOptions};

/// Calls `found` with each record of `inputs` that `filter` matches (its text, exactly as
/// written, and its parsed view), until `found` breaks or the input ends. `observe` sees
/// every message of the read, for progress and for reporting what could not be read.
pub fn search_files(
    inputs: Vec<InputSpec>,
    read: &ReadOptions,
    filter: &QuickFilter,
    mut observe: impl FnMut(&ReadMessage<EventBatch>),
    mut found: impl FnMut(&str, &CloudTrailEvent<'_>) -> ControlFlow<()>,
) {
    trailhound_source::read(inputs, read, |message| {
        observe(&message);
        if let ReadMessage::Batch(batch) = &message {
            for (record, event) in batch.records().zip(batch.events()) {
                let Ok(event) = event else { continue };
                if filter.matches(&event) && found(record, &event).is_break() {
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    });
}
