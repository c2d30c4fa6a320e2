//! Matching one field of an event: the values a rule lists for a field, after their modifiers,
//! against every value the field path reaches in the event.

use std::borrow::Cow;
use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;
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
    /// Whether the field, whose values are `leaves` (`None` when it is absent), matches.
    fn is_match(&self, leaves: Option<&[Leaf<'_>]>, event: &RawEvent<'_>) -> bool {
        match self {
            ValueMatcher::Null => {
                leaves.is_none_or(|l| l.is_empty() || l.iter().any(|v| v.is_null()))
            }
            ValueMatcher::Exists(expected) => leaves.is_some() == *expected,
            ValueMatcher::Text(pattern) => any_text(leaves, |t| pattern.is_match(t)),
            ValueMatcher::Regex(regex) => any_text(leaves, |t| regex.is_match(t)),
            ValueMatcher::Cidr(net) => any_text(leaves, |t| {
                t.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip))
            }),
            ValueMatcher::Number(compare, right) => leaves.is_some_and(|l| {
                l.iter()
                    .filter_map(|v| v.number())
                    .any(|left| compare.holds(left, *right))
            }),
            ValueMatcher::FieldRef { other, kind, cased } => {
                let Some(others) = event.leaves(other) else {
                    return false;
                };
                let others: Vec<String> = others
                    .into_iter()
                    .filter_map(|raw| Leaf(raw).text().map(|t| fold(&t, *cased).into_owned()))
                    .collect();
                any_text(leaves, |t| {
                    let t = fold(t, *cased);
                    others.iter().any(|o| match kind {
                        RefKind::Equal => *t == **o,
                        RefKind::Contains => t.contains(o.as_str()),
                        RefKind::StartsWith => t.starts_with(o.as_str()),
                        RefKind::EndsWith => t.ends_with(o.as_str()),
                    })
                })
            }
        }
    }
}

fn any_text(leaves: Option<&[Leaf<'_>]>, mut test: impl FnMut(&str) -> bool) -> bool {
    leaves.is_some_and(|l| l.iter().any(|v| v.text().is_some_and(|t| test(&t))))
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
        let leaves: Option<Vec<Leaf<'_>>> = event
            .leaves(&self.path)
            .map(|raw| raw.into_iter().map(Leaf).collect());
        let leaves = leaves.as_deref();
        if self.all {
            self.values.iter().all(|v| v.is_match(leaves, event))
        } else {
            self.values.iter().any(|v| v.is_match(leaves, event))
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
