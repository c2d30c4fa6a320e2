//! A Sigma rule's `detection` section: named searches (a mapping of fields is AND, a list of
//! mappings is OR, a list of plain values is keywords) and the condition over them.

use base64::Engine as _;
use trailhound_event::{FieldPath, RawEvent};

use crate::field::{Compare, FieldMatch, RefKind, ValueMatcher};
use crate::pattern::TextPattern;
use crate::sigma::condition::{self, Condition};
use crate::yaml::{Node, Position, Value};
use crate::{Problem, problem};

/// A named search.
#[derive(Debug, Clone)]
pub enum Search {
    /// Any of these groups matches; within a group every field matches.
    Fields(Vec<Vec<FieldMatch>>),
    /// Any of these patterns appears anywhere in the event's text.
    Keywords(Vec<TextPattern>),
}

impl Search {
    fn is_match(&self, event: &RawEvent<'_>) -> bool {
        match self {
            Search::Fields(groups) => groups
                .iter()
                .any(|group| group.iter().all(|field| field.is_match(event))),
            Search::Keywords(patterns) => patterns.iter().any(|p| p.is_match(event.raw())),
        }
    }

    /// Exact values of `field` that every match of this search has.
    fn required(&self, field: &str) -> Option<Vec<String>> {
        let Search::Fields(groups) = self else {
            return None;
        };
        let mut all = Vec::new();
        for group in groups {
            let values = group
                .iter()
                .filter(|f| f.path.as_str() == field)
                .find_map(FieldMatch::exact_values)?;
            all.extend(values);
        }
        Some(all)
    }
}

/// A compiled `detection` section.
#[derive(Debug, Clone)]
pub struct Detection {
    names: Vec<String>,
    searches: Vec<Search>,
    condition: Condition,
}

impl Detection {
    /// Whether an event (its JSON text) matches.
    pub fn is_match(&self, event: &RawEvent<'_>) -> bool {
        // Each search at most once per event, however often the condition names it; without
        // allocating for the usual rule of fewer than 64 searches.
        if self.searches.len() <= 64 {
            let (mut known, mut value) = (0u64, 0u64);
            self.condition.eval(&mut |&i| {
                let bit = 1u64 << i;
                if known & bit == 0 {
                    known |= bit;
                    if self.searches[i].is_match(event) {
                        value |= bit;
                    }
                }
                value & bit != 0
            })
        } else {
            let mut cache: Vec<Option<bool>> = vec![None; self.searches.len()];
            self.condition
                .eval(&mut |&i| *cache[i].get_or_insert_with(|| self.searches[i].is_match(event)))
        }
    }

    /// The exact `field` values every matching event must have, lower-cased (`None`: any).
    pub fn required(&self, field: &str) -> Option<Vec<String>> {
        self.condition
            .required(&|&i| self.searches.get(i).and_then(|s| s.required(field)))
    }

    /// The search names, in the order written.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Parses a `detection` mapping.
    pub fn parse(node: &Node, problems: &mut Vec<Problem>) -> Option<Detection> {
        let Value::Map(entries) = &node.value else {
            problems.push(problem(
                node.at,
                format!("`detection` must be a mapping, not {}", node.kind()),
            ));
            return None;
        };
        let mut names = Vec::new();
        let mut searches = Vec::new();
        let mut condition_node = None;
        for (key, value) in entries {
            let name = key.scalar_text().unwrap_or_default();
            match name.as_str() {
                "condition" => condition_node = Some(value),
                // Sigma v1's aggregation window; meaningless without an aggregation.
                "timeframe" => {}
                _ => {
                    if let Some(search) = parse_search(value, problems) {
                        names.push(name);
                        searches.push(search);
                    }
                }
            }
        }
        let Some(condition_node) = condition_node else {
            problems.push(problem(node.at, "`detection` has no `condition`"));
            return None;
        };
        let condition = parse_condition(condition_node, &names, problems)?;
        Some(Detection {
            names,
            searches,
            condition,
        })
    }
}

fn parse_condition(
    node: &Node,
    names: &[String],
    problems: &mut Vec<Problem>,
) -> Option<Condition> {
    let texts: Vec<(&str, Position)> = match &node.value {
        Value::Str(text) => vec![(text.as_str(), node.at)],
        // A list of conditions (older Sigma) means any of them.
        Value::Seq(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(|t| (t, i.at)))
            .collect(),
        _ => {
            problems.push(problem(
                node.at,
                format!("`condition` must be text, not {}", node.kind()),
            ));
            return None;
        }
    };
    let mut parsed = Vec::new();
    for (text, at) in texts {
        match condition::parse(text, names) {
            Ok(c) => parsed.push(c),
            Err(message) => problems.push(problem(at, format!("condition `{text}`: {message}"))),
        }
    }
    match parsed.len() {
        0 => None,
        1 => parsed.pop(),
        _ => Some(Condition::Or(parsed)),
    }
}

fn parse_search(node: &Node, problems: &mut Vec<Problem>) -> Option<Search> {
    match &node.value {
        Value::Map(_) => Some(Search::Fields(vec![parse_field_group(node, problems)?])),
        Value::Seq(items)
            if items.iter().all(|i| matches!(i.value, Value::Map(_))) && !items.is_empty() =>
        {
            let groups: Vec<Vec<FieldMatch>> = items
                .iter()
                .filter_map(|item| parse_field_group(item, problems))
                .collect();
            (groups.len() == items.len()).then_some(Search::Fields(groups))
        }
        Value::Seq(items) => {
            let mut patterns = Vec::new();
            for item in items {
                match item.scalar_text() {
                    // Keywords match anywhere in the event.
                    Some(text) => patterns.push(TextPattern::sigma(&format!("*{}*", text), false)),
                    None => problems.push(problem(
                        item.at,
                        format!(
                            "a keyword list may hold only plain values, not {}",
                            item.kind()
                        ),
                    )),
                }
            }
            Some(Search::Keywords(patterns))
        }
        Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
            let text = node.scalar_text().unwrap_or_default();
            Some(Search::Keywords(vec![TextPattern::sigma(
                &format!("*{text}*"),
                false,
            )]))
        }
        Value::Null => {
            problems.push(problem(node.at, "a search is empty"));
            None
        }
    }
}

fn parse_field_group(node: &Node, problems: &mut Vec<Problem>) -> Option<Vec<FieldMatch>> {
    let Value::Map(entries) = &node.value else {
        return None;
    };
    let before = problems.len();
    let mut fields = Vec::new();
    for (key, value) in entries {
        let key_text = key.scalar_text().unwrap_or_default();
        if let Some(field) = parse_field(&key_text, key.at, value, problems) {
            fields.push(field);
        }
    }
    (problems.len() == before).then_some(fields)
}

/// The modifiers of one field, as written after `|`.
#[derive(Default)]
struct Modifiers {
    text: TextShape,
    cased: bool,
    all: bool,
    regex: Option<String>,
    base64: Option<bool>,
    cidr: bool,
    exists: bool,
    compare: Option<Compare>,
    fieldref: bool,
}

#[derive(Default, Clone, Copy, PartialEq)]
enum TextShape {
    #[default]
    Plain,
    Contains,
    StartsWith,
    EndsWith,
}

fn parse_modifiers(names: &[&str], at: Position, problems: &mut Vec<Problem>) -> Option<Modifiers> {
    let mut m = Modifiers::default();
    let mut flags = String::new();
    for name in names {
        match *name {
            "contains" => m.text = TextShape::Contains,
            "startswith" => m.text = TextShape::StartsWith,
            "endswith" => m.text = TextShape::EndsWith,
            "all" => m.all = true,
            "cased" => m.cased = true,
            "re" => m.regex = Some(String::new()),
            "i" | "ignorecase" => flags.push('i'),
            "m" | "multiline" => flags.push('m'),
            "s" | "dotall" => flags.push('s'),
            "base64" => m.base64 = Some(false),
            "base64offset" => m.base64 = Some(true),
            "cidr" => m.cidr = true,
            "exists" => m.exists = true,
            "gt" => m.compare = Some(Compare::Greater),
            "gte" => m.compare = Some(Compare::GreaterOrEqual),
            "lt" => m.compare = Some(Compare::Less),
            "lte" => m.compare = Some(Compare::LessOrEqual),
            "fieldref" => m.fieldref = true,
            "windash" | "utf16" | "utf16le" | "utf16be" | "wide" | "expand" => {
                problems.push(problem(
                    at,
                    format!("the `{name}` modifier is not supported (it has no use on CloudTrail records)"),
                ));
                return None;
            }
            other => {
                problems.push(problem(at, format!("unknown modifier `{other}`")));
                return None;
            }
        }
    }
    if !flags.is_empty() {
        match &mut m.regex {
            Some(f) => *f = flags,
            None => {
                problems.push(problem(
                    at,
                    "the regex flags `i`, `m`, `s` need the `re` modifier",
                ));
                return None;
            }
        }
    }
    Some(m)
}

fn parse_field(
    key: &str,
    at: Position,
    value: &Node,
    problems: &mut Vec<Problem>,
) -> Option<FieldMatch> {
    let mut parts = key.split('|');
    let path_text = parts.next().unwrap_or_default();
    let modifier_names: Vec<&str> = parts.collect();
    let path = match FieldPath::parse(path_text) {
        Ok(path) => path,
        Err(err) => {
            problems.push(problem(at, format!("field `{key}`: {err}")));
            return None;
        }
    };
    let modifiers = parse_modifiers(&modifier_names, at, problems)?;
    let items: Vec<&Node> = match &value.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![value],
    };
    if items.is_empty() {
        problems.push(problem(
            value.at,
            format!("field `{key}` has an empty list of values"),
        ));
        return None;
    }
    let mut values = Vec::new();
    for item in items {
        values.extend(compile_value(key, &modifiers, item, problems)?);
    }
    Some(FieldMatch {
        path,
        values,
        all: modifiers.all,
    })
}

/// One written value → its matchers (one, except `base64offset`, which yields three).
fn compile_value(
    key: &str,
    m: &Modifiers,
    node: &Node,
    problems: &mut Vec<Problem>,
) -> Option<Vec<ValueMatcher>> {
    let fail = |problems: &mut Vec<Problem>, message: String| {
        problems.push(problem(node.at, format!("field `{key}`: {message}")));
        None
    };
    if m.exists {
        return match node.value {
            Value::Bool(b) => Some(vec![ValueMatcher::Exists(b)]),
            _ => fail(problems, "`exists` takes `true` or `false`".into()),
        };
    }
    let text = match &node.value {
        Value::Null => return Some(vec![ValueMatcher::Null]),
        Value::Seq(_) | Value::Map(_) => {
            return fail(
                problems,
                format!("a value must be plain, not {}", node.kind()),
            );
        }
        _ => node.scalar_text().unwrap_or_default(),
    };
    if let Some(compare) = m.compare {
        return match node.value {
            Value::Int(n) => Some(vec![ValueMatcher::Number(compare, n as f64)]),
            Value::Float(n) => Some(vec![ValueMatcher::Number(compare, n)]),
            _ => fail(problems, format!("`{text}` is not a number")),
        };
    }
    if m.cidr {
        return match text.parse() {
            Ok(net) => Some(vec![ValueMatcher::Cidr(net)]),
            Err(_) => fail(
                problems,
                format!("`{text}` is not a network like 10.0.0.0/8 or 2001:db8::/32"),
            ),
        };
    }
    if m.fieldref {
        let kind = match m.text {
            TextShape::Plain => RefKind::Equal,
            TextShape::Contains => RefKind::Contains,
            TextShape::StartsWith => RefKind::StartsWith,
            TextShape::EndsWith => RefKind::EndsWith,
        };
        return match FieldPath::parse(&text) {
            Ok(other) => Some(vec![ValueMatcher::FieldRef {
                other,
                kind,
                cased: m.cased,
            }]),
            Err(err) => fail(problems, err.to_string()),
        };
    }
    if let Some(flags) = &m.regex {
        let pattern = if flags.is_empty() {
            text.clone()
        } else {
            format!("(?{flags}){text}")
        };
        return match regex::Regex::new(&pattern) {
            Ok(regex) => Some(vec![ValueMatcher::Regex(regex)]),
            Err(err) => fail(problems, format!("invalid regular expression: {err}")),
        };
    }
    let variants: Vec<String> = match m.base64 {
        None => vec![text],
        Some(false) => vec![base64::engine::general_purpose::STANDARD.encode(text.as_bytes())],
        Some(true) => base64_offsets(text.as_bytes()),
    };
    let shape = if m.base64 == Some(true) && m.text == TextShape::Plain {
        // base64offset only makes sense as a substring.
        TextShape::Contains
    } else {
        m.text
    };
    Some(
        variants
            .into_iter()
            .map(|v| {
                // Encoded text is matched as written: wildcards are not special in it.
                let v = if m.base64.is_some() {
                    escape_wildcards(&v)
                } else {
                    v
                };
                let written = match shape {
                    TextShape::Plain => v,
                    TextShape::Contains => format!("*{v}*"),
                    TextShape::StartsWith => format!("{v}*"),
                    TextShape::EndsWith => format!("*{v}"),
                };
                ValueMatcher::Text(TextPattern::sigma(&written, m.cased || m.base64.is_some()))
            })
            .collect(),
    )
}

fn escape_wildcards(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('*', "\\*")
        .replace('?', "\\?")
}

/// The three base64 renderings of `bytes` at offsets 0, 1 and 2 of a 3-byte group, trimmed to
/// the characters that do not depend on the surrounding data (as Sigma defines base64offset).
fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    let engine = base64::engine::general_purpose::STANDARD;
    // Leading characters that encode the padding, and trailing ones that depend on what
    // follows, by offset and by length modulo 3.
    const START: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|offset| {
            let mut padded = vec![b' '; offset];
            padded.extend_from_slice(bytes);
            let encoded = engine.encode(&padded);
            let end = encoded
                .len()
                .saturating_sub(END_TRIM[padded.len() % 3])
                .max(START[offset]);
            encoded
                .get(START[offset]..end)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_documents;

    fn detection(yaml: &str) -> Result<Detection, String> {
        let docs = parse_documents(yaml).map_err(|e| e.message)?;
        let mut problems = Vec::new();
        let node = docs
            .first()
            .and_then(|d| d.get("detection"))
            .ok_or("no detection")?;
        Detection::parse(node, &mut problems).ok_or_else(|| {
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn matches(yaml: &str, event: &str) -> bool {
        detection(yaml)
            .ok()
            .is_some_and(|d| d.is_match(&RawEvent::new(event)))
    }

    const STOP: &str = r#"{"eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/Mallory"},"requestParameters":{"name":"main-trail","policy":"eyJhIjoiYiJ9"},"sourceIPAddress":"198.51.100.7","errorCode":null}"#;

    #[test]
    fn maps_lists_and_case() {
        let rule = "detection:\n  selection:\n    eventSource: cloudtrail.amazonaws.com\n    eventName:\n      - stoplogging\n      - DeleteTrail\n  condition: selection\n";
        assert!(matches(rule, STOP));
        let rule = "detection:\n  selection:\n    - eventName: DeleteTrail\n    - userIdentity.arn|endswith: /mallory\n  condition: selection\n";
        assert!(matches(rule, STOP));
        let rule = "detection:\n  selection:\n    userIdentity.arn|cased|endswith: /mallory\n  condition: selection\n";
        assert!(!matches(rule, STOP));
    }

    #[test]
    fn keywords_null_and_empty() {
        assert!(matches(
            "detection:\n  keywords:\n    - main-TRAIL\n  condition: keywords\n",
            STOP
        ));
        assert!(!matches(
            "detection:\n  keywords:\n    - other-trail\n  condition: keywords\n",
            STOP
        ));
        assert!(matches(
            "detection:\n  s:\n    errorCode: null\n  condition: s\n",
            STOP
        ));
        assert!(matches(
            "detection:\n  s:\n    errorMessage: null\n  condition: s\n",
            STOP
        ));
        assert!(!matches(
            "detection:\n  s:\n    eventName: null\n  condition: s\n",
            STOP
        ));
        assert!(!matches(
            "detection:\n  s:\n    eventName: ''\n  condition: s\n",
            STOP
        ));
        assert!(matches(
            r#"{"detection":{"s":{"x":""},"condition":"s"}}"#,
            r#"{"x":""}"#
        ));
    }

    #[test]
    fn modifiers() {
        let m = |field: &str, value: &str| {
            matches(
                &format!("detection:\n  s:\n    {field}: {value}\n  condition: s\n"),
                STOP,
            )
        };
        assert!(m("eventName|contains", "Logg"));
        assert!(m("eventName|startswith", "stop"));
        assert!(m("eventName|contains|all", "[Stop, Logging]"));
        assert!(!m("eventName|contains|all", "[Stop, Trail]"));
        assert!(m("eventName|re", "'^Stop[A-Z]'"));
        assert!(!m("eventName|re", "'^stop'"));
        assert!(m("eventName|re|i", "'^stop'"));
        assert!(m("sourceIPAddress|cidr", "198.51.100.0/24"));
        assert!(!m("sourceIPAddress|cidr", "10.0.0.0/8"));
        assert!(m("requestParameters.policy|base64", "'{\"a\":\"b\"}'"));
        assert!(m("requestParameters.name|exists", "true"));
        assert!(m("requestParameters.nothing|exists", "false"));
        assert!(!m(
            "userIdentity.arn|fieldref|contains",
            "userIdentity.type"
        ));
        assert!(m("eventName|endswith", "LOGGING"));
        assert!(m("eventName|cased", "StopLogging"));
        assert!(!m("eventName|cased", "stoplogging"));
        // `"a":` sits at offset 1 of the encoded `{"a":"b"}`.
        assert!(m(
            "requestParameters.policy|base64offset|contains",
            "'\"a\":'"
        ));
        assert!(!m(
            "requestParameters.policy|base64offset|contains",
            "'\"z\"'"
        ));
    }

    #[test]
    fn regex_flags_and_numeric_comparisons() {
        let event = r#"{"m":"first\nsecond","n":5}"#;
        let m = |field: &str, value: &str| {
            matches(
                &format!("detection:\n  s:\n    {field}: {value}\n  condition: s\n"),
                event,
            )
        };
        assert!(!m("m|re", "'^second'"));
        assert!(m("m|re|m", "'^second'"), "m: ^ matches at line starts");
        assert!(!m("m|re", "'first.second'"));
        assert!(m("m|re|s", "'first.second'"), "s: . matches a newline");
        assert!(m("n|lt", "6") && m("n|lte", "5") && !m("n|lt", "5"));
        assert!(m("n|gt", "4") && m("n|gte", "5") && !m("n|gt", "5"));
        assert!(m("n|gte", "4.5"));
        assert!(
            !m("missing|lt", "100"),
            "an absent field compares as nothing"
        );
    }

    #[test]
    fn base64offset_finds_text_at_any_alignment() {
        let engine = base64::engine::general_purpose::STANDARD;
        let variants = base64_offsets(b"secret");
        for prefix in ["", "a", "ab", "abc"] {
            let encoded = engine.encode(format!("{prefix}secret and more"));
            assert!(
                variants.iter().any(|v| encoded.contains(v.as_str())),
                "{prefix:?}: {encoded} vs {variants:?}"
            );
        }
    }

    #[test]
    fn problems_have_positions() {
        let err = detection("detection:\n  s:\n    eventName|bogus: x\n  condition: s\n")
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("3:5") && err.contains("unknown modifier `bogus`"),
            "{err}"
        );
        let err = detection("detection:\n  s:\n    eventName: x\n  condition: s and t\n")
            .err()
            .unwrap_or_default();
        assert!(err.contains("4:14") && err.contains("`t`"), "{err}");
        let err = detection("detection:\n  s:\n    n|gt: many\n  condition: s\n")
            .err()
            .unwrap_or_default();
        assert!(err.contains("not a number"), "{err}");
    }

    #[test]
    fn indexing_by_event_name() -> Result<(), String> {
        let d = detection(
            "detection:\n  selection:\n    eventName: [StopLogging, DeleteTrail]\n  filter:\n    userIdentity.type: Root\n  condition: selection and not filter\n",
        )?;
        assert_eq!(
            d.required("eventName"),
            Some(vec!["stoplogging".into(), "deletetrail".into()])
        );
        let d = detection(
            "detection:\n  selection:\n    eventName|startswith: Delete\n  condition: selection\n",
        )?;
        assert_eq!(d.required("eventName"), None);
        Ok(())
    }
}
