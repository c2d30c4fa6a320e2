//! Matching one field of an event: the values a rule lists for a field, after their modifiers,
//! against every value the field path reaches in the event.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;
use smallvec::SmallVec;
use trailhound_event::{FieldPath, RawEvent};

use crate::pattern::{TextPattern, fold};

/// One value of an event field, as raw JSON.
#[derive(Debug, Clone, Copy)]
pub struct Leaf<'a>(pub &'a str);

impl<'a> Leaf<'a> {
    /// JSON `null`.
    pub fn is_null(self) -> bool {
        self.0 == "null"
    }

    /// The value as rules compare it: strings unescaped, numbers and booleans as written,
    /// objects and arrays as their JSON text; `None` for `null`.
    pub fn text(self) -> Option<Cow<'a, str>> {
        let raw = self.0;
        if raw == "null" {
            return None;
        }
        match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(inner) if !inner.contains('\\') => Some(Cow::Borrowed(inner)),
            Some(_) => sonic_rs::from_str::<String>(raw).ok().map(Cow::Owned),
            None => Some(Cow::Borrowed(raw)),
        }
    }

    /// The value as a number (JSON numbers and numeric strings).
    pub fn number(self) -> Option<f64> {
        self.text()?.trim().parse().ok()
    }
}

/// How a [`ValueMatcher`] compares numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// `gt`
    Greater,
    /// `gte`
    GreaterOrEqual,
    /// `lt`
    Less,
    /// `lte`
    LessOrEqual,
}

impl Compare {
    fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Compare::Greater => left > right,
            Compare::GreaterOrEqual => left >= right,
            Compare::Less => left < right,
            Compare::LessOrEqual => left <= right,
        }
    }
}

/// How a `fieldref` compares the two fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// Equal.
    Equal,
    /// This field contains the other.
    Contains,
    /// This field starts with the other.
    StartsWith,
    /// This field ends with the other.
    EndsWith,
}

/// One value of a rule, compiled with its modifiers.
#[derive(Debug, Clone)]
pub enum ValueMatcher {
    /// Text, with wildcards.
    Text(TextPattern),
    /// A regular expression (`re`).
    Regex(Regex),
    /// An IP network (`cidr`).
    Cidr(IpNet),
    /// A numeric comparison (`gt`, `gte`, `lt`, `lte`).
    Number(Compare, f64),
    /// `null`: the field is absent or null.
    Null,
    /// `exists: true|false`.
    Exists(bool),
    /// `fieldref`: compare with another field of the same event.
    FieldRef {
        /// The other field.
        other: FieldPath,
        /// How.
        kind: RefKind,
        /// Case-sensitive.
        cased: bool,
    },
}

impl ValueMatcher {
    /// Whether the field, whose values are `values`, matches.
    fn is_match(&self, values: &FieldValues<'_>, event: &RawEvent<'_>) -> bool {
        match self {
            ValueMatcher::Null => values
                .leaves
                .is_none_or(|l| l.is_empty() || l.iter().any(|v| Leaf(v).is_null())),
            ValueMatcher::Exists(expected) => values.leaves.is_some() == *expected,
            ValueMatcher::Text(pattern) => values
                .texts()
                .iter()
                .enumerate()
                .any(|(at, t)| pattern.is_match_lazily(t, || &values.lower()[at])),
            ValueMatcher::Regex(regex) => values.texts().iter().any(|t| regex.is_match(t)),
            ValueMatcher::Cidr(net) => values
                .texts()
                .iter()
                .any(|t| t.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip))),
            ValueMatcher::Number(compare, right) => values
                .texts()
                .iter()
                .filter_map(|t| t.trim().parse::<f64>().ok())
                .any(|left| compare.holds(left, *right)),
            ValueMatcher::FieldRef { other, kind, cased } => {
                let Some(others) = event.leaves(other) else {
                    return false;
                };
                let others: Vec<String> = others
                    .into_iter()
                    .filter_map(|raw| Leaf(raw).text().map(|t| fold(&t, *cased).into_owned()))
                    .collect();
                let texts = if *cased {
                    values.texts()
                } else {
                    values.lower()
                };
                texts.iter().any(|t| {
                    others.iter().any(|o| match kind {
                        RefKind::Equal => **t == **o,
                        RefKind::Contains => t.contains(o.as_str()),
                        RefKind::StartsWith => t.starts_with(o.as_str()),
                        RefKind::EndsWith => t.ends_with(o.as_str()),
                    })
                })
            }
        }
    }
}

/// The values a field path reaches in one event, read as text once and lower-cased at most
/// once for all the values a rule lists for the field (a list of twenty eventNames must not
/// lower-case the event's name twenty times). One value is the rule; it stays off the heap.
struct FieldValues<'a> {
    /// Raw JSON of each value; `None` when the path leads nowhere.
    leaves: Option<&'a [&'a str]>,
    texts: OnceCell<Texts<'a>>,
    lower: OnceCell<Texts<'a>>,
}

type Texts<'a> = SmallVec<[Cow<'a, str>; 2]>;

impl<'a> FieldValues<'a> {
    fn new(leaves: Option<&'a [&'a str]>) -> Self {
        FieldValues {
            leaves,
            texts: OnceCell::new(),
            lower: OnceCell::new(),
        }
    }

    /// The values as rules compare them (see [`Leaf::text`]); `null`s left out.
    fn texts(&self) -> &[Cow<'a, str>] {
        self.texts.get_or_init(|| {
            self.leaves
                .unwrap_or_default()
                .iter()
                .filter_map(|raw| Leaf(raw).text())
                .collect()
        })
    }

    /// The texts lower-cased (see [`fold`]), in the same order.
    fn lower(&self) -> &[Cow<'a, str>] {
        self.lower.get_or_init(|| {
            self.texts()
                .iter()
                .map(|text| match text {
                    Cow::Borrowed(text) => fold(text, false),
                    Cow::Owned(text) => Cow::Owned(fold(text, false).into_owned()),
                })
                .collect()
        })
    }
}

/// A field of a Sigma selection: its path, its values and whether all must match.
#[derive(Debug, Clone)]
pub struct FieldMatch {
    /// The field.
    pub path: FieldPath,
    /// Its values, each compiled with the field's modifiers.
    pub values: Vec<ValueMatcher>,
    /// `all`: every value must match (otherwise any one).
    pub all: bool,
}

impl FieldMatch {
    /// Whether the event (its JSON text) matches.
    pub fn is_match(&self, event: &RawEvent<'_>) -> bool {
        let leaves = event.leaves(&self.path);
        let values = FieldValues::new(leaves.as_deref());
        if self.all {
            self.values.iter().all(|v| v.is_match(&values, event))
        } else {
            self.values.iter().any(|v| v.is_match(&values, event))
        }
    }

    /// The exact values this field requires, lower-cased, if it is a plain list of exact
    /// values (for indexing rules by eventName).
    pub fn exact_values(&self) -> Option<Vec<String>> {
        if self.all {
            return None;
        }
        self.values
            .iter()
            .map(|v| match v {
                ValueMatcher::Text(p) => p.exact().map(str::to_owned),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(path: &str, values: Vec<ValueMatcher>, all: bool) -> FieldMatch {
        FieldMatch {
            path: FieldPath::parse(path).unwrap_or_else(|_| unreachable!()),
            values,
            all,
        }
    }

    fn ev() -> RawEvent<'static> {
        RawEvent::new(EVENT)
    }

    const EVENT: &str = r#"{"eventName":"AuthorizeSecurityGroupIngress","sourceIPAddress":"203.0.113.9","n":null,"port":22,"s":"a\"b","requestParameters":{"ipPermissions":{"items":[{"fromPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}},"userIdentity":{"userName":"alice","arn":"arn:aws:iam::1:user/alice"}}"#;

    #[test]
    fn text_null_exists_numbers() {
        let text = |v: &str| ValueMatcher::Text(TextPattern::sigma(v, false));
        assert!(field("eventName", vec![text("authorize*")], false).is_match(&ev()));
        assert!(field("n", vec![ValueMatcher::Null], false).is_match(&ev()));
        assert!(field("absent", vec![ValueMatcher::Null], false).is_match(&ev()));
        assert!(!field("eventName", vec![ValueMatcher::Null], false).is_match(&ev()));
        assert!(field("n", vec![ValueMatcher::Exists(true)], false).is_match(&ev()));
        assert!(field("absent", vec![ValueMatcher::Exists(false)], false).is_match(&ev()));
        assert!(field("port", vec![text("22")], false).is_match(&ev()));
        assert!(field("s", vec![text("a\"b")], false).is_match(&ev()));
        assert!(
            field(
                "port",
                vec![ValueMatcher::Number(Compare::GreaterOrEqual, 22.0)],
                false
            )
            .is_match(&ev())
        );
        assert!(
            !field(
                "port",
                vec![ValueMatcher::Number(Compare::Greater, 22.0)],
                false
            )
            .is_match(&ev())
        );
        assert!(
            field(
                "requestParameters.ipPermissions.items.ipRanges.items.cidrIp",
                vec![text("0.0.0.0/0")],
                false
            )
            .is_match(&ev())
        );
    }

    #[test]
    fn all_cidr_fieldref() {
        let text = |v: &str| ValueMatcher::Text(TextPattern::sigma(v, false));
        assert!(
            field(
                "eventName",
                vec![text("*Security*"), text("*Ingress")],
                true
            )
            .is_match(&ev())
        );
        assert!(
            !field("eventName", vec![text("*Security*"), text("*Egress")], true).is_match(&ev())
        );
        let net: IpNet = "203.0.113.0/24".parse().unwrap_or_else(|_| unreachable!());
        assert!(field("sourceIPAddress", vec![ValueMatcher::Cidr(net)], false).is_match(&ev()));
        let other = FieldPath::parse("userIdentity.userName").unwrap_or_else(|_| unreachable!());
        let reference = ValueMatcher::FieldRef {
            other,
            kind: RefKind::EndsWith,
            cased: false,
        };
        assert!(field("userIdentity.arn", vec![reference], false).is_match(&ev()));
    }
}
