//! Recovering the complete records of a document that is cut off: a terminal paste that
//! starts or ends mid-record, a truncated download. Used only when asked (`--salvage`),
//! because it guesses: every balanced JSON object that parses and looks like a CloudTrail
//! record is taken, outermost first, and what lies between is reported as skipped.

use std::ops::Range;

use crate::document::{Document, RecordSpan};

/// Finds every complete record in `text`; the byte ranges that held anything else than
/// records and JSON punctuation are the document's rejections (`bytes A-B`).
pub(crate) fn salvage(text: &str) -> Document {
    let bytes = text.as_bytes();
    let mut records = Vec::new();
    let mut at = 0;
    while let Some(offset) = bytes.get(at..).and_then(|rest| memchr::memchr(b'{', rest)) {
        let start = at + offset;
        match matching_brace(bytes, start) {
            Some(end) if is_record(&text[start..=end]) => {
                records.push(start..end + 1);
                at = end + 1;
            }
            // Not a record (a fragment of one, or the outer `{"Records":[`, or a `{` that
            // was really inside a string): look inside it.
            _ => at = start + 1,
        }
    }
    let mut skipped: Vec<Range<usize>> = Vec::new();
    let mut previous = 0;
    for range in records
        .iter()
        .chain(std::iter::once(&(text.len()..text.len())))
    {
        if range.start > previous && !is_punctuation(&text[previous..range.start]) {
            skipped.push(previous..range.start);
        }
        previous = range.end;
    }
    let mut document = Document {
        records: records.into_iter().map(RecordSpan::InDocument).collect(),
        ..Document::default()
    };
    for range in &skipped {
        document.rejected.push((
            format!("bytes {}-{}", range.start, range.end),
            format!(
                "{} bytes that are not a complete record, skipped (--salvage)",
                range.len()
            ),
        ));
    }
    document
}

/// The index of the `}` that closes the `{` at `start`, reading strings (and their
/// escapes) as JSON does; `None` when the text ends first.
fn matching_brace(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (index, byte) in trailhound_event::nesting::outside_strings(bytes, start) {
        match byte {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether an object's text parses and carries a record's marks.
fn is_record(object: &str) -> bool {
    if trailhound_event::nesting::check(object.as_bytes()).is_err() {
        return false;
    }
    #[derive(serde::Deserialize)]
    struct Marks<'a> {
        #[serde(borrow, rename = "eventVersion")]
        event_version: Option<sonic_rs::LazyValue<'a>>,
        #[serde(borrow, rename = "eventTime")]
        event_time: Option<sonic_rs::LazyValue<'a>>,
        #[serde(borrow, rename = "eventName")]
        event_name: Option<sonic_rs::LazyValue<'a>>,
        #[serde(borrow, rename = "eventSource")]
        event_source: Option<sonic_rs::LazyValue<'a>>,
        #[serde(borrow, rename = "Records")]
        records: Option<sonic_rs::LazyValue<'a>>,
    }
    match sonic_rs::from_str::<Marks<'_>>(object) {
        // A whole log file inside the text is not one record: its records are taken one by
        // one instead.
        Ok(marks) => {
            marks.records.is_none()
                && marks.event_time.is_some()
                && (marks.event_name.is_some()
                    || marks.event_source.is_some()
                    || marks.event_version.is_some())
        }
        Err(_) => false,
    }
}

/// Whitespace and the JSON between records (`,`, `[`, `]`, `}`, the `{"Records":[` opening).
fn is_punctuation(text: &str) -> bool {
    let rest = text.trim().replace("\"Records\"", "").replace(':', "");
    rest.chars()
        .all(|c| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u32) -> String {
        format!(
            r#"{{"eventVersion":"1.08","eventTime":"2024-07-01T00:00:0{n}Z","eventName":"A{n}","requestParameters":{{"policy":"{{\"x\":\"}}\"}}"}}}}"#
        )
    }

    #[test]
    fn a_file_cut_at_both_ends_gives_its_complete_records() {
        let whole = format!(
            r#"{{"Records":[{},{},{},{}]}}"#,
            record(1),
            record(2),
            record(3),
            record(4)
        );
        // A paste that starts inside the first record and ends inside the last.
        let cut = &whole[40..whole.len() - 30];
        let salvaged = salvage(cut);
        let found: Vec<&str> = salvaged
            .records
            .iter()
            .map(|span| match span {
                RecordSpan::InDocument(r) => &cut[r.clone()],
                RecordSpan::Unescaped(_) => "",
            })
            .collect();
        assert_eq!(found, [record(2), record(3)]);
        let places: Vec<&str> = salvaged.rejected.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(places.len(), 2, "the two cut ends: {places:?}");
        assert!(places[0].starts_with("bytes 0-"), "{places:?}");
        assert!(
            places[1].ends_with(&format!("-{}", cut.len())),
            "{places:?}"
        );
    }

    #[test]
    fn a_whole_file_has_nothing_skipped() {
        let whole = format!(r#"{{"Records":[{}, {}]}}"#, record(1), record(2));
        let salvaged = salvage(&whole);
        assert_eq!(salvaged.records.len(), 2);
        assert!(salvaged.rejected.is_empty(), "{:?}", salvaged.rejected);
    }
}
