use std::ops::Range;
use std::sync::Arc;

use crate::Origin;

/// Records read from one object, in file order, as text exactly as written.
///
/// A batch owns one text buffer (usually the inflated file itself) and the byte ranges of its
/// records, so reading a file allocates once rather than once per record.
#[derive(Debug, Clone)]
pub struct EventBatch {
    pub(crate) origin: Arc<Origin>,
    pub(crate) text: String,
    pub(crate) spans: Vec<Range<usize>>,
}

impl EventBatch {
    /// The object the records came from.
    pub fn origin(&self) -> &Arc<Origin> {
        &self.origin
    }

    /// The records' original JSON text.
    pub fn records(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.spans.iter().map(|span| &self.text[span.clone()])
    }

    /// How many records the batch holds.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the batch holds no records.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}
