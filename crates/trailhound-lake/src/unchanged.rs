//! Which inputs need not be read again: the catalog's answer to the reader's "was this file
//! read before, and is it unchanged since?".

use std::sync::{Arc, Mutex};

use trailhound_source::SkipUnchanged;

use crate::catalog::sources::ReadSources;
use crate::{Lake, LakeError, SourceLocator};

impl Lake {
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
