//! A record read only where asked: for rules, which look at a few fields of every event and
//! at most fields of almost none.

use crate::{CloudTrailEvent, FieldPath, Leaves};

/// A CloudTrail record's text, with field look-ups that cost nothing for keys the record does
/// not mention (a SIMD substring test) and one scan otherwise. Building it does no work at
/// all, unlike [`crate::CloudTrailEvent::parse`], which reads every common field up front.
///
/// Built from a parsed [`CloudTrailEvent`] instead ([`RawEvent::located`]), look-ups of the
/// common fields go straight to the values parsing located, with no search at all: ingest
/// parses every record anyway, and rules then cost little more than their comparisons.
#[derive(Debug, Clone, Copy)]
pub struct RawEvent<'a> {
    raw: &'a str,
    parsed: Option<&'a CloudTrailEvent<'a>>,
}

impl<'a> RawEvent<'a> {
    /// Wraps a record's text (not checked: a look-up in text that is not a JSON object finds
    /// nothing).
    pub fn new(raw: &'a str) -> RawEvent<'a> {
        RawEvent { raw, parsed: None }
    }

    /// Wraps a parsed record, whose common fields need no search.
    pub fn located(event: &'a CloudTrailEvent<'a>) -> RawEvent<'a> {
        RawEvent {
            raw: event.raw(),
            parsed: Some(event),
        }
    }

    /// The parsed record, when built from one.
    pub fn parsed(&self) -> Option<&'a CloudTrailEvent<'a>> {
        self.parsed
    }

    /// What parsing knows of a top-level member: see [`CloudTrailEvent::member`].
    fn member(&self, key: &str) -> Option<Option<&'a str>> {
        self.parsed.and_then(|event| event.member(key))
    }

    /// The record's text.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The raw JSON text of every value at `path` ([`FieldPath::leaves`]).
    pub fn leaves(&self, path: &FieldPath) -> Option<Leaves<'a>> {
        if let Some((value, rest)) = self.parsed.and_then(|e| e.located(path.step_list())) {
            return path.leaves_from(value?, rest);
        }
        let first = path.steps().next()?;
        if !mentions_key(self.raw, first) {
            return None;
        }
        path.leaves(self.raw)
    }

    /// A top-level text field, unescaped (e.g. `eventName`).
    pub fn text(&self, key: &str) -> Option<std::borrow::Cow<'a, str>> {
        let text = match self.member(key) {
            Some(member) => member?,
            None => {
                if !mentions_key(self.raw, key) {
                    return None;
                }
                let value = sonic_rs::get(self.raw, [key]).ok()?;
                crate::identity::subslice(self.raw, value.as_raw_str())?
            }
        };
        let inner = text.strip_prefix('"')?.strip_suffix('"')?;
        if inner.contains('\\') {
            sonic_rs::from_str::<String>(text)
                .ok()
                .map(std::borrow::Cow::Owned)
        } else {
            Some(std::borrow::Cow::Borrowed(inner))
        }
    }
}

/// Whether `"key"` occurs in the text: false means the record certainly lacks the key.
fn mentions_key(raw: &str, key: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&bytes[from..], key.as_bytes()) {
        let start = from + at;
        let end = start + key.len();
        if start > 0 && bytes[start - 1] == b'"' && bytes.get(end) == Some(&b'"') {
            return true;
        }
        from = start + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventError;

    #[test]
    fn look_ups_agree_with_a_full_scan() -> Result<(), EventError> {
        let raw = r#"{"eventName":"Get\u0041","errorCode":null,"userIdentity":{"type":"Root"},"resources":[{"ARN":"a"}],"note":"errorCode"}"#;
        let event = RawEvent::new(raw);
        for path in [
            "eventName",
            "errorCode",
            "errorMessage",
            "userIdentity.type",
            "resources.ARN",
            "note",
            "eventNam",
        ] {
            let path = FieldPath::parse(path)?;
            assert_eq!(event.leaves(&path), path.leaves(raw), "{path}");
        }
        assert_eq!(event.text("eventName").as_deref(), Some("GetA"));
        assert_eq!(event.text("userIdentity"), None, "not text");
        assert_eq!(event.text("errorMessage"), None);
        Ok(())
    }

    #[test]
    fn located_look_ups_agree_with_searched_ones() -> Result<(), EventError> {
        // Common fields present, null, absent and oddly typed; a field parsing does not know;
        // a key mentioned only inside a value.
        let raw = r#"{"eventName":"Get\u0041","errorCode":null,"readOnly":true,"userIdentity":{"type":"Root","invokedBy":null,"onBehalfOf":{"userId":"u"},"sessionContext":{"attributes":{"mfaAuthenticated":"false"}}},"resources":[{"ARN":"a"},{"ARN":"b"}],"requestParameters":{"errorMessage":"x","list":[1,2]},"awsRegion":7,"addendum":{"reason":"late"}}"#;
        let parsed = CloudTrailEvent::parse(raw)?;
        let located = RawEvent::located(&parsed);
        let searched = RawEvent::new(raw);
        for path in [
            "eventName",
            "errorCode",
            "errorMessage",
            "readOnly",
            "awsRegion",
            "userIdentity",
            "userIdentity.type",
            "userIdentity.sessionContext.attributes.mfaAuthenticated",
            "userIdentity.sessionContext",
            "userIdentity.invokedBy",
            "userIdentity.userName",
            "userIdentity.onBehalfOf.userId",
            "userIdentity.type.x",
            "resources.ARN",
            "resources.1.ARN",
            "requestParameters.list",
            "requestParameters.errorMessage",
            "addendum.reason",
            "eventTime",
        ] {
            let path = FieldPath::parse(path)?;
            assert_eq!(located.leaves(&path), searched.leaves(&path), "{path}");
        }
        for key in [
            "eventName",
            "errorCode",
            "awsRegion",
            "addendum",
            "eventTime",
        ] {
            assert_eq!(located.text(key), searched.text(key), "{key}");
        }
        assert_eq!(
            located.leaves(&FieldPath::parse("errorCode")?).as_deref(),
            Some(&["null"][..])
        );
        // userIdentity that is not an object: nothing located below it.
        let raw = r#"{"userIdentity":"nobody","eventName":"X"}"#;
        let parsed = CloudTrailEvent::parse(raw)?;
        for path in ["userIdentity", "userIdentity.type"] {
            let path = FieldPath::parse(path)?;
            assert_eq!(
                RawEvent::located(&parsed).leaves(&path),
                RawEvent::new(raw).leaves(&path),
                "{path}"
            );
        }
        Ok(())
    }
}
