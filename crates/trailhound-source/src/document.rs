//! Recognising which shape a JSON document has and finding the records inside it.
//!
//! Shapes, detected by content:
//! - a CloudTrail log file, `{"Records":[…]}` (also what Insights files hold);
//! - a single record object;
//! - a JSON array of records (or of the shapes below);
//! - `aws cloudtrail lookup-events` output, `{"Events":[{"CloudTrailEvent":"<json>",…}]}`,
//!   and its Insights variant whose `Events` are records themselves;
//! - an EventBridge envelope, `{"detail-type":"AWS API Call via CloudTrail","detail":{…}}`;
//! - one `lookup-events` item on its own (what `jq -c '.Events[]'` writes, a line each);
//! - a Splunk or Cribl export, the record as a JSON string in `_raw`
//!   (`{"_raw":"<json>","_time":…}`, or Splunk's `{"result":{"_raw":…}}`), alone, a line
//!   each, or in an array;
//! - a digest file, recognised and yielding no records.
//!
//! CloudTrail's SNS delivery notification (`{"s3Bucket":…,"s3ObjectKey":[…]}`, alone or in
//! SNS's envelope) is recognised and refused with the way to read what it names.
//!
//! Records are located, not copied: a [`RecordSpan`] is a byte range of the document text.
//! The one exception is `lookup-events`, whose records are JSON strings that must be unescaped.

use std::ops::Range;

use serde::Deserialize;
use sonic_rs::{JsonValueTrait, LazyValue};
use trailhound_event::{LogElement, LogRecords, MemberSpans};

use crate::SourceError;
use crate::error::first_line;

/// The shape a document was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentShape {
    /// `{"Records":[…]}`.
    LogFile,
    /// One record object.
    Record,
    /// A JSON array.
    Array,
    /// `lookup-events` output.
    LookupEvents,
    /// An EventBridge envelope.
    Envelope,
    /// A CloudTrail digest file.
    Digest,
    /// A log platform's export: records as JSON strings in `_raw` (Splunk, Cribl).
    Export,
}

/// Where one record's text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordSpan {
    /// A range of the document text.
    InDocument(Range<usize>),
    /// A range of [`Document::unescaped`].
    Unescaped(Range<usize>),
}

/// The records found in one document.
#[derive(Debug, Default)]
pub(crate) struct Document {
    pub(crate) shape: Option<DocumentShape>,
    pub(crate) records: Vec<RecordSpan>,
    /// Where each record's common members are, when the walk that found the records saw
    /// them (CloudTrail's own log files): empty, or one entry per record.
    pub(crate) members: Vec<Option<MemberSpans>>,
    /// Text of records that had to be unescaped out of JSON strings.
    pub(crate) unescaped: String,
    /// Records that could not be used: (position such as `record 3`, reason).
    pub(crate) rejected: Vec<(String, String)>,
}

/// The top-level keys that tell the shapes apart. Everything else is skipped (and validated)
/// by the parser without being materialised.
#[derive(Deserialize)]
struct Markers<'a> {
    #[serde(borrow, rename = "Records")]
    records: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "Events")]
    events: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "CloudTrailEvent")]
    cloudtrail_event: Option<LazyValue<'a>>,
    #[serde(borrow)]
    detail: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "detail-type")]
    detail_type: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "digestStartTime")]
    digest_start_time: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "digestSignatureAlgorithm")]
    digest_signature_algorithm: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "eventVersion")]
    event_version: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "eventTime")]
    event_time: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "eventName")]
    event_name: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "eventSource")]
    event_source: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "eventID")]
    event_id: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "eventType")]
    event_type: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "_raw")]
    raw: Option<LazyValue<'a>>,
    #[serde(borrow)]
    result: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "s3Bucket")]
    s3_bucket: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "s3ObjectKey")]
    s3_object_key: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "Type")]
    sns_type: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "Message")]
    sns_message: Option<LazyValue<'a>>,
}

impl Markers<'_> {
    fn looks_like_record(&self) -> bool {
        self.event_version.is_some()
            || self.event_time.is_some()
            || self.event_name.is_some()
            || self.event_source.is_some()
            || self.event_id.is_some()
            || self.event_type.is_some()
    }

    fn looks_like_digest(&self) -> bool {
        self.digest_start_time.is_some() && self.digest_signature_algorithm.is_some()
    }

    fn is_envelope(&self) -> bool {
        self.detail_type.is_some() && self.detail.as_ref().is_some_and(|d| d.is_object())
    }

    /// CloudTrail's delivery notification, alone or as the message of SNS's envelope: the
    /// error that says what to do with it.
    fn delivery_notification(&self) -> Option<SourceError> {
        if let (Some(bucket), Some(keys)) = (&self.s3_bucket, &self.s3_object_key) {
            let keys: Vec<String> =
                sonic_rs::from_str::<Vec<String>>(keys.as_raw_str()).unwrap_or_default();
            let shown = match keys.as_slice() {
                [] => "no keys".to_owned(),
                [one] => one.clone(),
                [first, rest @ ..] => format!("{first} and {} more", rest.len()),
            };
            return Some(SourceError::DeliveryNotification {
                bucket: bucket.as_str().unwrap_or_default().to_owned(),
                keys: shown,
            });
        }
        let is_sns = self.sns_type.as_ref().and_then(|t| t.as_str()) == Some("Notification");
        let message = self.sns_message.as_ref().and_then(|m| m.as_str())?;
        if !is_sns {
            return None;
        }
        let inner: Markers<'_> = sonic_rs::from_str(message).ok()?;
        inner.delivery_notification()
    }
}

/// Finds the records in one JSON document.
///
/// # Errors
///
/// When the document is not JSON, malformed, or of no known shape. Problems confined to one
/// record (an array element that is not an object, say) are collected in
/// [`Document::rejected`] instead.
pub(crate) fn decode(text: &str) -> Result<Document, SourceError> {
    trailhound_event::nesting::check(text.as_bytes())
        .map_err(|message| SourceError::InvalidJson { message })?;
    if let Some(document) = decode_log_file(text) {
        return Ok(document);
    }
    let mut document = Document::default();
    match text.trim_start().as_bytes().first() {
        Some(b'{') => {
            let markers = parse_markers(text)?;
            decode_object(text, text, &markers, &mut document)?;
        }
        Some(b'[') => {
            document.shape = Some(DocumentShape::Array);
            for (index, element) in sonic_rs::to_array_iter(text).enumerate() {
                let element = element.map_err(invalid_json)?;
                let position = format!("record {}", index + 1);
                decode_element(text, &element, position, &mut document);
            }
        }
        _ => {
            return Err(SourceError::NotJson {
                start: text.trim_start().chars().take(16).collect(),
            });
        }
    }
    Ok(document)
}

/// CloudTrail writes every log file as `{"Records":[…]}` on one line. For those the records
/// are found in one pass over the array, instead of a first pass over the whole object for its
/// keys. Anything else (other keys, spacing, malformed JSON) gives `None` and takes the general
/// path, which decodes or reports it.
fn decode_log_file(text: &str) -> Option<Document> {
    const OPENING: &str = "{\"Records\":[";
    let start = text.len() - text.trim_start().len();
    if !text[start..].starts_with(OPENING) {
        return None;
    }
    let array_start = start + OPENING.len() - 1;
    let mut document = Document {
        shape: Some(DocumentShape::LogFile),
        ..Document::default()
    };
    // Each record is walked once, here, and its members' places kept for the parse.
    let mut elements = LogRecords::new(&text[array_start..]);
    for (index, element) in elements.by_ref().enumerate() {
        match element.ok()? {
            LogElement::Record(range, members) => {
                document.records.push(RecordSpan::InDocument(
                    array_start + range.start..array_start + range.end,
                ));
                document.members.push(members);
            }
            LogElement::Other(raw) => {
                let position = format!("record {}", index + 1);
                document.rejected.push((position, not_an_object(raw)));
            }
        }
    }
    let end = array_start + elements.end();
    let rest = text.get(end..)?.trim_start().strip_prefix('}')?;
    rest.trim().is_empty().then_some(document)
}

fn parse_markers(text: &str) -> Result<Markers<'_>, SourceError> {
    sonic_rs::from_str(text).map_err(invalid_json)
}

fn invalid_json(err: sonic_rs::Error) -> SourceError {
    SourceError::InvalidJson {
        message: first_line(&err.to_string()),
    }
}

/// Decodes a top-level object.
fn decode_object<'a>(
    text: &'a str,
    object: &'a str,
    markers: &Markers<'_>,
    document: &mut Document,
) -> Result<(), SourceError> {
    if let Some(records) = &markers.records {
        document.shape = Some(DocumentShape::LogFile);
        for_each_element(
            text,
            records,
            "Records",
            document,
            |text, element, position, document| {
                if element.is_object() {
                    push_span(text, element, position, document);
                } else {
                    document
                        .rejected
                        .push((position, not_an_object(element.as_raw_str())));
                }
            },
        )
    } else if let Some(events) = &markers.events {
        document.shape = Some(DocumentShape::LookupEvents);
        for_each_element(text, events, "Events", document, decode_element)
    } else if let Some(embedded) = &markers.cloudtrail_event {
        document.shape = Some(DocumentShape::LookupEvents);
        push_embedded(
            embedded.as_str(),
            "CloudTrailEvent",
            "record 1".to_owned(),
            document,
        );
        Ok(())
    } else if let Some(raw) = exported(markers) {
        document.shape = Some(DocumentShape::Export);
        push_embedded(Some(&raw), "_raw", "record 1".to_owned(), document);
        Ok(())
    } else if let Some(notification) = markers.delivery_notification() {
        Err(notification)
    } else if markers.looks_like_digest() {
        document.shape = Some(DocumentShape::Digest);
        Ok(())
    } else if markers.is_envelope() {
        document.shape = Some(DocumentShape::Envelope);
        if let Some(detail) = &markers.detail {
            push_span(text, detail, "detail".to_owned(), document);
        }
        Ok(())
    } else if markers.looks_like_record() {
        document.shape = Some(DocumentShape::Record);
        if let Some(range) = span_of(text, object) {
            document.records.push(RecordSpan::InDocument(range));
        }
        Ok(())
    } else {
        Err(SourceError::UnrecognisedShape {
            keys: top_level_keys(object),
        })
    }
}

/// Calls `each` for every element of a JSON array value.
fn for_each_element<'a>(
    text: &'a str,
    array: &LazyValue<'_>,
    name: &str,
    document: &mut Document,
    mut each: impl FnMut(&'a str, &LazyValue<'a>, String, &mut Document),
) -> Result<(), SourceError> {
    if !array.is_array() {
        return Err(SourceError::InvalidJson {
            message: format!("\"{name}\" is not an array"),
        });
    }
    let Some(array_text) = subslice(text, array.as_raw_str()) else {
        return Err(SourceError::Internal(format!(
            "\"{name}\" lies outside its document"
        )));
    };
    for (index, element) in sonic_rs::to_array_iter(array_text).enumerate() {
        let element = element.map_err(invalid_json)?;
        each(text, &element, format!("record {}", index + 1), document);
    }
    Ok(())
}

/// Decodes one element of an array or of `lookup-events` output, which may itself be a
/// record, an envelope, or a `lookup-events` item carrying the record as a JSON string.
fn decode_element<'a>(
    text: &'a str,
    element: &LazyValue<'a>,
    position: String,
    document: &mut Document,
) {
    if !element.is_object() {
        document
            .rejected
            .push((position, not_an_object(element.as_raw_str())));
        return;
    }
    let Some(element_text) = subslice(text, element.as_raw_str()) else {
        document
            .rejected
            .push((position, "record lies outside its document".to_owned()));
        return;
    };
    let markers = match parse_markers(element_text) {
        Ok(markers) => markers,
        Err(err) => {
            document.rejected.push((position, err.to_string()));
            return;
        }
    };
    if let Some(embedded) = &markers.cloudtrail_event {
        push_embedded(embedded.as_str(), "CloudTrailEvent", position, document);
    } else if let Some(raw) = exported(&markers) {
        push_embedded(Some(&raw), "_raw", position, document);
    } else if markers.is_envelope() {
        if let Some(detail) = &markers.detail {
            push_span(text, detail, position, document);
        }
    } else if markers.looks_like_record() {
        push_span(text, element, position, document);
    } else {
        document.rejected.push((
            position,
            format!(
                "not a CloudTrail record (keys: {})",
                top_level_keys(element_text)
            ),
        ));
    }
}

/// The `_raw` string of a log platform's export: at the top (`{"_raw":…}`, Cribl and
/// Splunk's JSON lines) or under `result` (Splunk's export API). `Some("")` when `_raw` is
/// there but not a string, so that the record is refused with that reason.
fn exported(markers: &Markers<'_>) -> Option<String> {
    let text = |raw: &LazyValue<'_>| raw.as_str().map(str::to_owned).unwrap_or_default();
    if let Some(raw) = &markers.raw {
        return Some(text(raw));
    }
    let result = markers.result.as_ref().filter(|r| r.is_object())?;
    let inner: Markers<'_> = sonic_rs::from_str(result.as_raw_str()).ok()?;
    inner.raw.as_ref().map(text)
}

/// A record carried as a JSON string (`CloudTrailEvent`, `_raw`): unescaped into the
/// document's side text.
fn push_embedded(value: Option<&str>, name: &str, position: String, document: &mut Document) {
    match value {
        Some(record) if record.trim_start().starts_with('{') => {
            let start = document.unescaped.len();
            document.unescaped.push_str(record.trim());
            document
                .records
                .push(RecordSpan::Unescaped(start..document.unescaped.len()));
        }
        _ => document.rejected.push((
            position,
            format!("{name} is not a JSON object encoded as a string"),
        )),
    }
}

fn push_span(text: &str, value: &LazyValue<'_>, position: String, document: &mut Document) {
    match span_of(text, value.as_raw_str()) {
        Some(range) => document.records.push(RecordSpan::InDocument(range)),
        None => document
            .rejected
            .push((position, "record lies outside its document".to_owned())),
    }
}

/// Why a record that is not an object, given as its JSON text, is refused.
fn not_an_object(raw: &str) -> String {
    let kind = match raw.as_bytes().first() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    };
    format!("record is {kind}, not a JSON object")
}

fn top_level_keys(object: &str) -> String {
    let keys: Vec<String> = sonic_rs::to_object_iter(object)
        .take(8)
        .filter_map(Result::ok)
        .map(|(key, _)| key.to_string())
        .collect();
    if keys.is_empty() {
        "none".to_owned()
    } else {
        keys.join(", ")
    }
}

/// The byte range `inner` occupies in `outer`, if it lies within it.
fn span_of(outer: &str, inner: &str) -> Option<Range<usize>> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    let end = start.checked_add(inner.len())?;
    (end <= outer.len()).then_some(start..end)
}

fn subslice<'a>(outer: &'a str, inner: &str) -> Option<&'a str> {
    span_of(outer, inner).and_then(|range| outer.get(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape, the records' text and the rejections of a decoded document.
    type Decoded = (Option<DocumentShape>, Vec<String>, Vec<String>);

    fn records(text: &str) -> Result<Decoded, SourceError> {
        let document = decode(text)?;
        let found = document
            .records
            .iter()
            .map(|span| match span {
                RecordSpan::InDocument(range) => text[range.clone()].to_owned(),
                RecordSpan::Unescaped(range) => document.unescaped[range.clone()].to_owned(),
            })
            .collect();
        let rejected = document
            .rejected
            .iter()
            .map(|(p, r)| format!("{p}: {r}"))
            .collect();
        Ok((document.shape, found, rejected))
    }

    #[test]
    fn log_files_yield_their_records_byte_exact() -> Result<(), SourceError> {
        let text =
            "{\"Records\": [ {\"eventName\" : \"A\"},\n {\"eventName\":\"B\", \"x\": [1, 2]} ]}";
        let (shape, found, rejected) = records(text)?;
        assert_eq!(shape, Some(DocumentShape::LogFile));
        assert_eq!(
            found,
            [
                "{\"eventName\" : \"A\"}",
                "{\"eventName\":\"B\", \"x\": [1, 2]}"
            ]
        );
        assert!(rejected.is_empty());
        Ok(())
    }

    #[test]
    fn cloudtrails_own_files_and_their_near_misses_decode_alike() -> Result<(), SourceError> {
        // CloudTrail's own spelling takes the one-pass path; the others take the general one.
        for text in [
            r#"{"Records":[{"eventName":"A"},{"eventName":"B"}]}"#,
            "\n{\"Records\":[ {\"eventName\":\"A\"} ,\n{\"eventName\":\"B\"}\n] }\n",
            r#"{"Records": [{"eventName":"A"},{"eventName":"B"}]}"#,
            r#"{"Records":[{"eventName":"A"},{"eventName":"B"}],"x":1}"#,
        ] {
            let (shape, found, rejected) = records(text)?;
            assert_eq!(shape, Some(DocumentShape::LogFile), "{text}");
            assert_eq!(
                found,
                [r#"{"eventName":"A"}"#, r#"{"eventName":"B"}"#],
                "{text}"
            );
            assert!(rejected.is_empty(), "{text}");
        }
        let (_, found, _) = records(r#"{"Records":[]}"#)?;
        assert!(found.is_empty());
        for broken in [
            r#"{"Records":[{"eventName":"A"}]"#,
            r#"{"Records":[{"eventName":"A"}]}}"#,
            r#"{"Records":[{"eventName":"A"},]}"#,
            r#"{"Records":[{"eventName":"A"} {"eventName":"B"}]}"#,
            r#"{"Records":[{"eventName":"A"}], "Records":[]}"#,
        ] {
            assert!(decode(broken).is_err(), "{broken}");
        }
        Ok(())
    }

    #[test]
    fn non_object_records_are_rejected_one_by_one() -> Result<(), SourceError> {
        let (_, found, rejected) = records(r#"{"Records":[1, {"eventName":"A"}, "x", null]}"#)?;
        assert_eq!(found, [r#"{"eventName":"A"}"#]);
        assert_eq!(
            rejected,
            [
                "record 1: record is a number, not a JSON object",
                "record 3: record is a string, not a JSON object",
                "record 4: record is null, not a JSON object"
            ]
        );
        Ok(())
    }

    #[test]
    fn lookup_events_output_is_unescaped() -> Result<(), SourceError> {
        let text = r#"{"Events":[{"EventId":"1","EventName":"A","CloudTrailEvent":"{\"eventVersion\":\"1.08\",\"eventName\":\"A\",\"userAgent\":\"x\\\"y\"}"}],"NextToken":"t"}"#;
        let (shape, found, _) = records(text)?;
        assert_eq!(shape, Some(DocumentShape::LookupEvents));
        assert_eq!(
            found,
            [r#"{"eventVersion":"1.08","eventName":"A","userAgent":"x\"y"}"#]
        );
        // The Insights variant carries records directly.
        let (_, found, _) = records(
            r#"{"NextToken":"t","Events":[{"eventVersion":"1.07","eventType":"AwsCloudTrailInsight"}]}"#,
        )?;
        assert_eq!(found.len(), 1);
        Ok(())
    }

    #[test]
    fn envelopes_yield_their_detail() -> Result<(), SourceError> {
        let text = r#"{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{"eventName":"PutObject"}}"#;
        let (shape, found, _) = records(text)?;
        assert_eq!(shape, Some(DocumentShape::Envelope));
        assert_eq!(found, [r#"{"eventName":"PutObject"}"#]);
        let (shape, found, _) = records(&format!("[{text}, {{\"eventName\":\"B\"}}]"))?;
        assert_eq!(shape, Some(DocumentShape::Array));
        assert_eq!(
            found,
            [r#"{"eventName":"PutObject"}"#, r#"{"eventName":"B"}"#]
        );
        Ok(())
    }

    #[test]
    fn single_records_and_digests_are_told_apart() -> Result<(), SourceError> {
        let (shape, found, _) = records(r#"{"eventVersion":"1.0","eventName":"A"}"#)?;
        assert_eq!((shape, found.len()), (Some(DocumentShape::Record), 1));
        let digest = r#"{"awsAccountId":"111122223333","digestStartTime":"x","digestEndTime":"y","digestSignatureAlgorithm":"SHA256withRSA","logFiles":[]}"#;
        let (shape, found, _) = records(digest)?;
        assert_eq!((shape, found.len()), (Some(DocumentShape::Digest), 0));
        Ok(())
    }

    #[test]
    fn malformed_and_foreign_documents_are_errors() {
        assert!(matches!(
            decode(r#"{"Records":[{"a": tru}]}"#),
            Err(SourceError::InvalidJson { .. })
        ));
        assert!(matches!(
            decode(r#"{"Records":[]} trailing"#),
            Err(SourceError::InvalidJson { .. })
        ));
        assert!(matches!(
            decode(r#"{"Records":{}}"#),
            Err(SourceError::InvalidJson { .. })
        ));
        assert!(matches!(
            decode("PK\u{3}\u{4}binary"),
            Err(SourceError::NotJson { .. })
        ));
        let err = decode(r#"{"name":"x","size":1}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("top-level keys: name, size"), "{err}");
    }

    #[test]
    fn one_lookup_events_item_is_a_document() -> Result<(), SourceError> {
        let text = r#"{"EventId":"1","EventName":"A","CloudTrailEvent":"{\"eventVersion\":\"1.08\",\"eventName\":\"A\"}"}"#;
        let (shape, found, rejected) = records(text)?;
        assert_eq!(shape, Some(DocumentShape::LookupEvents));
        assert_eq!(found, [r#"{"eventVersion":"1.08","eventName":"A"}"#]);
        assert!(rejected.is_empty());
        Ok(())
    }

    #[test]
    fn splunk_and_cribl_exports_yield_their_raw_records() -> Result<(), SourceError> {
        let record = r#"{\"eventVersion\":\"1.08\",\"eventName\":\"A\"}"#;
        for text in [
            format!(r#"{{"_time":"2024-07-01T00:00:00Z","_raw":"{record}","host":"x"}}"#),
            format!(
                r#"{{"preview":false,"offset":0,"result":{{"_raw":"{record}","_time":"2024"}}}}"#
            ),
        ] {
            let (shape, found, rejected) = records(&text)?;
            assert_eq!(shape, Some(DocumentShape::Export), "{text}");
            assert_eq!(
                found,
                [r#"{"eventVersion":"1.08","eventName":"A"}"#],
                "{text}"
            );
            assert!(rejected.is_empty(), "{text}");
        }
        let array = format!(
            r#"[{{"_raw":"{record}","_time":1}},{{"_raw":"{record}","_time":2}},{{"_raw":7}}]"#
        );
        let (shape, found, rejected) = records(&array)?;
        assert_eq!(shape, Some(DocumentShape::Array));
        assert_eq!(found.len(), 2);
        assert_eq!(
            rejected,
            ["record 3: _raw is not a JSON object encoded as a string"]
        );
        Ok(())
    }

    #[test]
    fn delivery_notifications_say_how_to_read_what_they_name() {
        let notification = r#"{"s3Bucket":"trail-logs","s3ObjectKey":["AWSLogs/1/CloudTrail/us-east-1/2024/07/01/a.json.gz","b.json.gz"]}"#;
        let envelope = format!(
            r#"{{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":{}}}"#,
            sonic_rs::to_string(notification).unwrap_or_default()
        );
        for text in [notification, envelope.as_str()] {
            let error = decode(text)
                .map(|_| ())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains("s3://trail-logs"), "{error}");
            assert!(error.contains("watch --sqs"), "{error}");
            assert!(error.contains("and 1 more"), "{error}");
        }
    }
}
