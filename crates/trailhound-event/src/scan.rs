//! Walking a record's top-level members once, for both jobs that need it.
//!
//! The typed view of a record ([`crate::CloudTrailEvent`]) needs where each common member's
//! value lies; the reader of a CloudTrail log file needs where each record lies. Both come
//! from the same walk with sonic-rs's parser, which validates the JSON as it goes, so a log
//! file is walked once ([`LogRecords`] yields every record with its [`MemberSpans`]) rather
//! than once to find the records and again to parse each. The walk is sonic-rs's own
//! checked skipping, so what it accepts and rejects is what `sonic_rs::from_str` does.

use std::ops::Range;

use sonic_rs::parser::{ParseStatus, Parser};

use crate::EventError;
use crate::member::Member;

/// Declares the common members once: the [`Common`] enum, [`COMMON_KEYS`] in the same order,
/// and [`common_index`], so the three cannot disagree.
macro_rules! common_members {
    ($($member:ident => $key:literal,)+) => {
        /// The top-level members the typed view knows, in [`COMMON_KEYS`] order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Common {
            $($member,)+
        }

        /// The common members' keys as CloudTrail writes them, indexed by [`Common`].
        pub(crate) const COMMON_KEYS: [&str; COMMON_COUNT] = [$($key,)+];

        /// The index in [`COMMON_KEYS`] of a top-level key, if it is a common member.
        pub(crate) fn common_index(key: &str) -> Option<usize> {
            match key {
                $($key => Some(Common::$member as usize),)+
                _ => None,
            }
        }
    };
}

/// How many common members there are.
pub(crate) const COMMON_COUNT: usize = 28;

common_members! {
    EventVersion => "eventVersion",
    EventTime => "eventTime",
    EventSource => "eventSource",
    EventName => "eventName",
    AwsRegion => "awsRegion",
    SourceIpAddress => "sourceIPAddress",
    UserAgent => "userAgent",
    ErrorCode => "errorCode",
    ErrorMessage => "errorMessage",
    ReadOnly => "readOnly",
    EventType => "eventType",
    EventCategory => "eventCategory",
    ManagementEvent => "managementEvent",
    RecipientAccountId => "recipientAccountId",
    RequestId => "requestID",
    EventId => "eventID",
    SharedEventId => "sharedEventID",
    VpcEndpointId => "vpcEndpointId",
    UserIdentity => "userIdentity",
    RequestParameters => "requestParameters",
    ResponseElements => "responseElements",
    AdditionalEventData => "additionalEventData",
    ServiceEventDetails => "serviceEventDetails",
    Resources => "resources",
    InsightDetails => "insightDetails",
    TlsDetails => "tlsDetails",
    ApiVersion => "apiVersion",
    SessionCredentialFromConsole => "sessionCredentialFromConsole",
}

/// Slots after the common members: the parts of `userIdentity` the typed view reads, found
/// in the same walk (its `sessionContext`, `sessionIssuer` and `attributes` are objects the
/// walk descends into; every other value is skipped whole).
pub(crate) mod identity_slot {
    use super::COMMON_COUNT;

    /// `type`, `principalId`, `arn`, `accountId`, `accessKeyId`, `userName`, `invokedBy`,
    /// `identityProvider`, from this slot on.
    pub(crate) const MEMBERS: usize = COMMON_COUNT;
    pub(crate) const SESSION_CONTEXT: usize = MEMBERS + 8;
    pub(crate) const SESSION_ISSUER: usize = SESSION_CONTEXT + 1;
    pub(crate) const ATTRIBUTES: usize = SESSION_CONTEXT + 2;
    pub(crate) const SOURCE_IDENTITY: usize = SESSION_CONTEXT + 3;
    /// The issuer's `type`, `principalId`, `arn`, `accountId`, `userName`, from this slot on.
    pub(crate) const ISSUER_MEMBERS: usize = SOURCE_IDENTITY + 1;
    /// `mfaAuthenticated`, then `creationDate`.
    pub(crate) const ATTRIBUTE_MEMBERS: usize = ISSUER_MEMBERS + 5;
    pub(crate) const END: usize = ATTRIBUTE_MEMBERS + 2;
}

/// Slots after `userIdentity`'s: `tlsDetails`'s `tlsVersion`, `cipherSuite` and
/// `clientProvidedHostHeader`, from this slot on.
pub(crate) const TLS_MEMBERS: usize = identity_slot::END;

const SLOT_COUNT: usize = TLS_MEMBERS + 3;
// One bit of `MemberSpans::escaped` per slot.
const _: () = assert!(SLOT_COUNT <= u64::BITS as usize);

/// The objects the walk descends into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Record,
    Identity,
    SessionContext,
    SessionIssuer,
    Attributes,
    Tls,
}

impl Level {
    /// The slot of `key` in an object of this level, if the typed view reads it.
    fn slot(self, key: &str) -> Option<usize> {
        use identity_slot::*;
        match self {
            Level::Record => common_index(key),
            Level::Identity => Some(match key {
                "type" => MEMBERS,
                "principalId" => MEMBERS + 1,
                "arn" => MEMBERS + 2,
                "accountId" => MEMBERS + 3,
                "accessKeyId" => MEMBERS + 4,
                "userName" => MEMBERS + 5,
                "invokedBy" => MEMBERS + 6,
                "identityProvider" => MEMBERS + 7,
                "sessionContext" => SESSION_CONTEXT,
                _ => return None,
            }),
            Level::SessionContext => Some(match key {
                "sessionIssuer" => SESSION_ISSUER,
                "attributes" => ATTRIBUTES,
                "sourceIdentity" => SOURCE_IDENTITY,
                _ => return None,
            }),
            Level::SessionIssuer => Some(match key {
                "type" => ISSUER_MEMBERS,
                "principalId" => ISSUER_MEMBERS + 1,
                "arn" => ISSUER_MEMBERS + 2,
                "accountId" => ISSUER_MEMBERS + 3,
                "userName" => ISSUER_MEMBERS + 4,
                _ => return None,
            }),
            Level::Attributes => Some(match key {
                "mfaAuthenticated" => ATTRIBUTE_MEMBERS,
                "creationDate" => ATTRIBUTE_MEMBERS + 1,
                _ => return None,
            }),
            Level::Tls => Some(match key {
                "tlsVersion" => TLS_MEMBERS,
                "cipherSuite" => TLS_MEMBERS + 1,
                "clientProvidedHostHeader" => TLS_MEMBERS + 2,
                _ => return None,
            }),
        }
    }

    /// The level of the object held in `slot`, for the slots the walk descends into.
    fn inside(slot: usize) -> Option<Level> {
        match slot {
            s if s == Common::UserIdentity as usize => Some(Level::Identity),
            s if s == Common::TlsDetails as usize => Some(Level::Tls),
            identity_slot::SESSION_CONTEXT => Some(Level::SessionContext),
            identity_slot::SESSION_ISSUER => Some(Level::SessionIssuer),
            identity_slot::ATTRIBUTES => Some(Level::Attributes),
            _ => None,
        }
    }
}

/// Where a record's common members are, as byte offsets into the record's own text: what
/// [`crate::CloudTrailEvent::from_spans`] needs to build the typed view without walking the
/// record again. Owned and small (no borrow), so it can travel beside the text it describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpans {
    /// `(start, end)` of each member's value; `(0, 0)` for a member the record lacks (no
    /// value's text is empty).
    spans: [(u32, u32); SLOT_COUNT],
    /// One bit per member whose value is a string with escapes.
    escaped: u64,
    /// A common member that occurs twice, which the typed view refuses as
    /// `sonic_rs::from_str` would.
    duplicate: Option<u8>,
    /// A member inside `userIdentity` that occurs twice: the identity is then read the
    /// general way, which decides what that means.
    identity_duplicate: bool,
    /// A member inside `tlsDetails` that occurs twice, which makes it unreadable.
    tls_duplicate: bool,
    /// An offset did not fit 32 bits: the record must be parsed on its own.
    too_large: bool,
}

impl Default for MemberSpans {
    fn default() -> Self {
        MemberSpans {
            spans: [(0, 0); SLOT_COUNT],
            escaped: 0,
            duplicate: None,
            identity_duplicate: false,
            tls_duplicate: false,
            too_large: false,
        }
    }
}

impl MemberSpans {
    /// The byte range of member `index`'s value in the record, if the record has it.
    pub(crate) fn span(&self, index: usize) -> Option<Range<usize>> {
        let (start, end) = *self.spans.get(index)?;
        (end > start).then_some(start as usize..end as usize)
    }

    /// Whether member `index` is a string with escapes.
    pub(crate) fn is_escaped(&self, index: usize) -> bool {
        self.escaped & (1 << index) != 0
    }

    /// The key of a common member the record holds twice, if any.
    pub(crate) fn duplicate(&self) -> Option<&'static str> {
        self.duplicate
            .and_then(|index| COMMON_KEYS.get(usize::from(index)).copied())
    }

    /// Whether a member inside `userIdentity` occurs twice.
    pub(crate) fn identity_duplicate(&self) -> bool {
        self.identity_duplicate
    }

    /// Whether a member inside `tlsDetails` occurs twice.
    pub(crate) fn tls_duplicate(&self) -> bool {
        self.tls_duplicate
    }

    /// The value in `slot` of the record `raw` these spans describe, unescaped if need be.
    pub(crate) fn member<'a>(
        &self,
        raw: &'a str,
        slot: usize,
    ) -> Result<Option<Member<'a>>, EventError> {
        let Some(span) = self.span(slot) else {
            return Ok(None);
        };
        let text = raw.get(span).ok_or_else(|| EventError::InvalidJson {
            message: "a member's place does not fit the record".to_owned(),
        })?;
        if !self.is_escaped(slot) {
            return Ok(Some(Member::InRecord(text)));
        }
        let unescaped: String = sonic_rs::from_str(text).map_err(invalid)?;
        Ok(Some(Member::Escaped(Box::new((
            text.into(),
            unescaped.into(),
        )))))
    }

    /// [`MemberSpans::member`] with `null` read as absent, as serde reads an `Option` member
    /// of a nested object.
    pub(crate) fn non_null<'a>(
        &self,
        raw: &'a str,
        slot: usize,
    ) -> Result<Option<Member<'a>>, EventError> {
        Ok(self.member(raw, slot)?.filter(|m| !m.is_null()))
    }

    fn record(&mut self, level: Level, slot: usize, value: Range<usize>, escaped: bool) {
        let Some(place) = self.spans.get_mut(slot) else {
            return;
        };
        if place.1 > place.0 {
            match level {
                Level::Record => {
                    if let Ok(slot) = u8::try_from(slot) {
                        self.duplicate.get_or_insert(slot);
                    }
                }
                Level::Tls => self.tls_duplicate = true,
                Level::Identity
                | Level::SessionContext
                | Level::SessionIssuer
                | Level::Attributes => self.identity_duplicate = true,
            }
            return;
        }
        match (u32::try_from(value.start), u32::try_from(value.end)) {
            (Ok(start), Ok(end)) => *place = (start, end),
            _ => self.too_large = true,
        }
        if escaped {
            self.escaped |= 1 << slot;
        }
    }
}

type TextParser<'a> = Parser<sonic_rs::Read<'a>>;

fn invalid(err: sonic_rs::Error) -> EventError {
    EventError::InvalidJson {
        message: err.to_string(),
    }
}

fn unexpected(parser: &TextParser<'_>, what: &str) -> EventError {
    EventError::InvalidJson {
        message: format!("{what} at byte {}", parser.offset().saturating_sub(1)),
    }
}

/// Walks the object whose `{` the parser has just consumed to its closing brace, recording
/// the members `level` knows in `spans`, relative to the record's start at byte `start`.
fn walk_object(
    parser: &mut TextParser<'_>,
    start: usize,
    level: Level,
    keys: &mut Vec<u8>,
    spans: &mut MemberSpans,
) -> Result<(), EventError> {
    let mut next = parser.skip_space();
    if next == Some(b'}') {
        return Ok(());
    }
    loop {
        if next != Some(b'"') {
            return Err(unexpected(parser, "expected a key or `}`"));
        }
        keys.clear();
        let slot = level.slot(&parser.parse_str(keys).map_err(invalid)?);
        if parser.skip_space() != Some(b':') {
            return Err(unexpected(parser, "expected `:`"));
        }
        // Places come from the parser's offset rather than the slices' addresses: right
        // whatever buffer the parser reads from.
        let inner = slot.and_then(Level::inside);
        if let (Some(inner), Some(b'{')) = (inner, parser.skip_space_peek()) {
            parser.skip_space();
            let value_start = parser.offset() - 1 - start;
            walk_object(parser, start, inner, keys, spans)?;
            if let Some(slot) = slot {
                spans.record(level, slot, value_start..parser.offset() - start, false);
            }
        } else {
            let (value, status) = parser.skip_one(true).map_err(invalid)?;
            if let Some(slot) = slot {
                let end = parser.offset() - start;
                let escaped =
                    matches!(status, ParseStatus::HasEscaped) && value.first() == Some(&b'"');
                spans.record(level, slot, end - value.len()..end, escaped);
            }
        }
        match parser.skip_space() {
            Some(b',') => next = parser.skip_space(),
            Some(b'}') => return Ok(()),
            _ => return Err(unexpected(parser, "expected `,` or `}`")),
        }
    }
}

/// Walks a record whose `{` the parser has just consumed, at byte `start`: its members'
/// spans, or `None` when it is too large for them.
fn walk_record(
    parser: &mut TextParser<'_>,
    start: usize,
    keys: &mut Vec<u8>,
) -> Result<Option<MemberSpans>, EventError> {
    let mut spans = MemberSpans::default();
    walk_object(parser, start, Level::Record, keys, &mut spans)?;
    Ok((!spans.too_large).then_some(spans))
}

/// Reads `raw` as exactly one JSON object: its members' spans (`None` if the record is too
/// large for them), or why it is not one.
pub(crate) fn scan_record(raw: &str) -> Result<Option<MemberSpans>, EventError> {
    let mut parser = Parser::new(sonic_rs::Read::from(raw));
    if parser.skip_space() != Some(b'{') {
        return Err(unexpected(&parser, "expected `{`"));
    }
    let start = parser.offset() - 1;
    let spans = walk_record(&mut parser, start, &mut Vec::new())?;
    if parser.skip_space().is_some() {
        return Err(unexpected(&parser, "trailing characters after the record"));
    }
    Ok(spans)
}

/// One element of a log file's `Records` array.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "each element is moved straight into its document's list; boxing the spans would \
              cost an allocation per record for nothing"
)]
pub enum LogElement<'a> {
    /// An object: its byte range in the array's text and where its common members are
    /// (`None` for a record too large for 32-bit offsets, which must be parsed on its own).
    Record(Range<usize>, Option<MemberSpans>),
    /// Anything else, as its JSON text.
    Other(&'a str),
}

/// The elements of a CloudTrail log file's `Records` array, each walked once.
///
/// Built on the text starting at the array's `[`; yields errors for malformed JSON and stops
/// after the first. [`LogRecords::end`] then tells where the array ended.
pub struct LogRecords<'a> {
    parser: TextParser<'a>,
    text: &'a str,
    keys: Vec<u8>,
    first: bool,
    done: bool,
}

impl<'a> LogRecords<'a> {
    /// Starts reading the array at the beginning of `text`, which must be its `[`.
    pub fn new(text: &'a str) -> LogRecords<'a> {
        LogRecords {
            parser: Parser::new(sonic_rs::Read::from(text)),
            text,
            keys: Vec::new(),
            first: true,
            done: false,
        }
    }

    /// The byte offset just past the array's `]` once the iterator has ended without an
    /// error; otherwise how far reading got.
    pub fn end(&self) -> usize {
        self.parser.offset()
    }

    fn element(&mut self) -> Result<Option<LogElement<'a>>, EventError> {
        if self.first {
            self.first = false;
            if self.parser.skip_space() != Some(b'[') {
                return Err(unexpected(&self.parser, "expected `[`"));
            }
            if self.parser.skip_space_peek() == Some(b']') {
                self.parser.skip_space();
                return Ok(None);
            }
        } else {
            match self.parser.skip_space() {
                Some(b']') => return Ok(None),
                Some(b',') => {}
                _ => return Err(unexpected(&self.parser, "expected `,` or `]`")),
            }
        }
        if self.parser.skip_space_peek() == Some(b'{') {
            self.parser.skip_space();
            let start = self.parser.offset() - 1;
            let spans = walk_record(&mut self.parser, start, &mut self.keys)?;
            return Ok(Some(LogElement::Record(start..self.parser.offset(), spans)));
        }
        let (value, _) = self.parser.skip_one(true).map_err(invalid)?;
        let end = self.parser.offset();
        let other = self
            .text
            .get(end - value.len()..end)
            .ok_or_else(|| unexpected(&self.parser, "a value that is not whole characters"))?;
        Ok(Some(LogElement::Other(other)))
    }
}

impl<'a> Iterator for LogRecords<'a> {
    type Item = Result<LogElement<'a>, EventError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.element() {
            Ok(Some(element)) => Some(Ok(element)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(err) => {
                self.done = true;
                Some(Err(err))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CloudTrailEvent;

    #[test]
    fn every_common_key_finds_its_own_slot() {
        for (index, key) in COMMON_KEYS.iter().enumerate() {
            assert_eq!(common_index(key), Some(index), "{key}");
        }
        assert_eq!(common_index("eventname"), None);
        assert_eq!(
            COMMON_KEYS.len(),
            Common::SessionCredentialFromConsole as usize + 1
        );
    }

    fn elements(text: &str) -> Result<Vec<String>, EventError> {
        LogRecords::new(text)
            .map(|element| {
                element.map(|element| match element {
                    LogElement::Record(range, _) => format!("record {}", &text[range]),
                    LogElement::Other(raw) => format!("other {raw}"),
                })
            })
            .collect()
    }

    #[test]
    fn records_are_found_where_sonic_rs_finds_them() -> Result<(), EventError> {
        let text = r#"[ {"eventName":"A","x":{"y":[1,"}"]}} ,{}, 7,"s",[{}] ,null,{"a":"\"}"}]  "#;
        let expected: Vec<String> = sonic_rs::to_array_iter(text)
            .map(|value| {
                let value = value.map_err(|err| EventError::InvalidJson {
                    message: err.to_string(),
                })?;
                let raw = value.as_raw_str();
                Ok(if raw.starts_with('{') {
                    format!("record {raw}")
                } else {
                    format!("other {raw}")
                })
            })
            .collect::<Result<_, EventError>>()?;
        assert_eq!(elements(text)?, expected);
        let mut records = LogRecords::new(text);
        assert_eq!(records.by_ref().count(), 7);
        assert_eq!(&text[records.end()..], "  ");
        assert_eq!(elements("[]")?, Vec::<String>::new());
        Ok(())
    }

    #[test]
    fn malformed_arrays_end_with_an_error() {
        for text in [
            r#"[{"a":1}"#,
            r#"[{"a":1},]"#,
            r#"[{"a" 1}]"#,
            r#"[{"a":1,}]"#,
            r#"[{"a":tru}]"#,
            r#"{"a":1}"#,
            r#"[{"a":1} {"b":2}]"#,
            "",
        ] {
            let results: Vec<_> = LogRecords::new(text).collect();
            assert!(
                results.last().is_some_and(Result::is_err),
                "{text:?} gave {results:?}"
            );
        }
    }

    #[test]
    fn spans_give_the_same_view_as_a_parse_of_the_record() -> Result<(), EventError> {
        let text = r#"[{"eventTime":"2024-07-01T00:00:00Z","eventName":"Get\u0041","errorCode":null,"userIdentity":{"type":"Root","accountId":"111122223333"},"requestParameters":{"bucketName":"b"},"other":1}]"#;
        let mut found = Vec::new();
        for element in LogRecords::new(text) {
            if let LogElement::Record(range, Some(spans)) = element? {
                found.push((range, spans));
            }
        }
        let [(range, spans)] = found.as_slice() else {
            panic!("one record expected, found {found:?}");
        };
        let raw = &text[range.clone()];
        let located = CloudTrailEvent::from_spans(raw, spans)?;
        let parsed = CloudTrailEvent::parse(raw)?;
        assert_eq!(located.event_name(), Some("GetA"));
        assert_eq!(located.event_name(), parsed.event_name());
        assert_eq!(located.event_time(), parsed.event_time());
        assert_eq!(located.account_id(), Some("111122223333"));
        assert_eq!(located.member("errorCode"), Some(Some("null")));
        assert_eq!(located.member("eventName"), None);
        assert_eq!(
            located.json_text(crate::JsonPart::RequestParameters),
            Some(r#"{"bucketName":"b"}"#)
        );
        Ok(())
    }

    #[test]
    fn a_common_member_twice_is_refused() {
        let raw = r#"{"eventName":"A","x":1,"eventName":"B"}"#;
        assert!(matches!(
            CloudTrailEvent::parse(raw),
            Err(EventError::InvalidJson { message }) if message.contains("eventName")
        ));
        // Other keys may repeat, as sonic-rs lets them.
        assert!(CloudTrailEvent::parse(r#"{"x":1,"x":2}"#).is_ok());
    }
}
