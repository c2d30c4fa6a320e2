//! One member's value in a parsed record.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use sonic_rs::{JsonValueTrait, LazyValue};

/// A member's value as parsing found it.
///
/// sonic-rs's `LazyValue` holds the same facts in 48 bytes and defers unescaping behind an
/// atomic cache that every drop must check. A parsed record holds some fifty members and
/// ingest parses millions of records, so these are 24 bytes and cost nothing to drop unless
/// a string held escapes.
#[derive(Debug, Clone)]
pub(crate) enum Member<'a> {
    /// The value's JSON text, a slice of the record: every object, array, number, literal and
    /// string without escapes.
    InRecord(&'a str),
    /// A string with escapes, which sonic-rs copies out of the record (CloudTrail escapes
    /// little beyond quotes in error messages and the odd user agent): its JSON text and its
    /// unescaped text.
    Escaped(Box<(Box<str>, Box<str>)>),
}

impl<'a> Member<'a> {
    /// The value's JSON text, exactly as written.
    pub(crate) fn raw(&self) -> &str {
        match self {
            Member::InRecord(raw) => raw,
            Member::Escaped(escaped) => &escaped.0,
        }
    }

    /// The value's JSON text as a slice of the record, when it is one.
    pub(crate) fn in_record(&self) -> Option<&'a str> {
        match self {
            Member::InRecord(raw) => Some(raw),
            Member::Escaped(_) => None,
        }
    }

    /// Whether the value is `null`.
    pub(crate) fn is_null(&self) -> bool {
        self.raw() == "null"
    }

    /// A string's text; `None` for any other kind of value.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            // Quotes cannot appear unescaped inside a string, so these are its delimiters.
            Member::InRecord(raw) => raw.strip_prefix('"')?.strip_suffix('"'),
            Member::Escaped(escaped) => Some(&escaped.1),
        }
    }

    /// A boolean's value; `None` for any other kind of value.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self.raw() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Member<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = LazyValue::deserialize(deserializer)?;
        match value.as_raw_cow() {
            Cow::Borrowed(raw) => Ok(Member::InRecord(raw)),
            Cow::Owned(raw) => match value.as_str() {
                Some(text) => Ok(Member::Escaped(Box::new((raw.into(), text.into())))),
                None => Err(serde::de::Error::custom(
                    "a record member other than a string was copied out of the record",
                )),
            },
        }
    }
}

/// A lenient string accessor shared by the typed views: a JSON string reads as its text,
/// anything else (absent, `null`, a number, an object) reads as `None`.
pub(crate) fn member_str<'s>(value: &'s Option<Member<'_>>) -> Option<&'s str> {
    value.as_ref().and_then(Member::as_str)
}

/// A lenient boolean accessor: CloudTrail writes `true`/`false`, older records and some
/// tools write the strings `"true"`/`"false"`; both read as a bool.
pub(crate) fn member_bool(value: &Option<Member<'_>>) -> Option<bool> {
    let value = value.as_ref()?;
    value.as_bool().or_else(|| match value.as_str()? {
        s if s.eq_ignore_ascii_case("true") => Some(true),
        s if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder<'a> {
        #[serde(borrow)]
        value: Option<Member<'a>>,
    }

    fn member(json: &str) -> Result<Option<Member<'_>>, sonic_rs::Error> {
        Ok(sonic_rs::from_str::<Holder<'_>>(json)?.value)
    }

    #[test]
    fn reads_every_kind_of_value_as_written() -> Result<(), sonic_rs::Error> {
        let text = r#"{"value": "plain"}"#;
        let plain = member(text)?;
        assert_eq!(member_str(&plain), Some("plain"));
        assert_eq!(plain.as_ref().map(Member::raw), Some(r#""plain""#));
        assert_eq!(
            plain.as_ref().and_then(Member::in_record),
            Some(r#""plain""#)
        );

        let escaped = member(r#"{"value":"say \"no\"\u0021"}"#)?;
        assert_eq!(member_str(&escaped), Some("say \"no\"!"));
        assert_eq!(
            escaped.as_ref().map(Member::raw),
            Some(r#""say \"no\"\u0021""#)
        );
        assert_eq!(escaped.as_ref().and_then(Member::in_record), None);

        assert_eq!(member_str(&member(r#"{"value":""}"#)?), Some(""));
        assert_eq!(member_str(&member(r#"{"value":12}"#)?), None);
        assert_eq!(member_bool(&member(r#"{"value":true}"#)?), Some(true));
        assert_eq!(member_bool(&member(r#"{"value":"FALSE"}"#)?), Some(false));
        assert_eq!(member_bool(&member(r#"{"value":"yes"}"#)?), None);
        let object = member(r#"{"value":{"a":[1,"x"]}}"#)?;
        assert_eq!(member_str(&object), None);
        assert_eq!(object.as_ref().map(Member::raw), Some(r#"{"a":[1,"x"]}"#));
        // serde reads `null` as absent; `present` (see record.rs) keeps it.
        assert!(member(r#"{"value":null}"#)?.is_none());
        Ok(())
    }
}
