use std::ops::Range;
use std::sync::Arc;

use trailhound_event::{CloudTrailEvent, EventError, MemberSpans};

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
    /// Where each record's common members are, for records whose reading saw them: empty,
    /// or one entry per span (see [`EventBatch::push`]).
    pub(crate) members: Vec<Option<MemberSpans>>,
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

    /// The records parsed ([`CloudTrailEvent`]), in order. Records whose members reading
    /// already located (CloudTrail's own log files) are not walked again.
    pub fn events(
        &self,
    ) -> impl ExactSizeIterator<Item = Result<CloudTrailEvent<'_>, EventError>> + '_ {
        self.spans.iter().enumerate().map(|(index, span)| {
            let raw = &self.text[span.clone()];
            match self.members.get(index) {
                Some(Some(members)) => CloudTrailEvent::from_spans(raw, members),
                _ => CloudTrailEvent::parse(raw),
            }
        })
    }

    /// Adds a record, with its members' places if known. `members` stays empty while no
    /// record has them, so batches of other shapes carry nothing extra.
    pub(crate) fn push(&mut self, span: Range<usize>, members: Option<MemberSpans>) {
        if members.is_some() || !self.members.is_empty() {
            self.members.resize(self.spans.len(), None);
            self.members.push(members);
        }
        self.spans.push(span);
    }

    /// Keeps only the records for which `keep` holds.
    pub(crate) fn retain(
        &mut self,
        keep: impl Fn(&Result<CloudTrailEvent<'_>, EventError>) -> bool,
    ) {
        let kept: Vec<bool> = self.events().map(|event| keep(&event)).collect();
        let mut flags = kept.iter();
        self.spans.retain(|_| flags.next() == Some(&true));
        if !self.members.is_empty() {
            let mut flags = kept.iter();
            self.members.retain(|_| flags.next() == Some(&true));
        }
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
