//! YAML documents as a small tree that remembers where each node was written, so a rule's
//! problems are reported at their line and column.
//!
//! Scalars are typed by YAML 1.2's core schema, except that quoted scalars always stay
//! strings: in Sigma `'null'` is text and `null` is the null value.

use std::fmt;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Where a node starts: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A YAML node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where it starts.
    pub at: Position,
    /// What it is.
    pub value: Value,
}

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text (every quoted scalar, and plain scalars that are nothing else).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in the order written; keys are scalars as text.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value of `key` if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    /// Any scalar as the text a rule author would see (`42`, `true`, `text`); `None` for null,
    /// sequences and mappings.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(text) => Some(text.clone()),
            Value::Int(n) => Some(n.to_string()),
            Value::Float(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// What kind of node this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "text",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The node as JSON (for rule test events written in YAML).
    pub fn to_json(&self) -> sonic_rs::Value {
        use sonic_rs::json;
        match &self.value {
            Value::Null => sonic_rs::Value::new(),
            Value::Bool(b) => json!(*b),
            Value::Int(n) => json!(*n),
            Value::Float(n) => json!(*n),
            Value::Str(s) => json!(s.as_str()),
            Value::Seq(items) => {
                let mut array = sonic_rs::Array::new();
                for item in items {
                    array.push(item.to_json());
                }
                array.into_value()
            }
            Value::Map(entries) => {
                let mut object = sonic_rs::Object::new();
                for (key, value) in entries {
                    let key = key.scalar_text().unwrap_or_default();
                    object.insert(&key, value.to_json());
                }
                object.into_value()
            }
        }
    }
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where.
    pub at: Position,
    /// What the parser said.
    pub message: String,
}

/// Parses every document of a YAML stream (`---` separates them).
pub fn parse_documents(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut builder = TreeBuilder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|err| SyntaxError {
        at: position(err.marker()),
        message: err.info().to_owned(),
    })?;
    if let Some(message) = builder.problem {
        return Err(SyntaxError {
            at: builder.problem_at,
            message,
        });
    }
    Ok(builder.documents)
}

fn position(marker: &Marker) -> Position {
    Position {
        line: marker.line(),
        column: marker.col() + 1,
    }
}

/// Builds [`Node`]s from the parser's events.
#[derive(Default)]
struct TreeBuilder {
    documents: Vec<Node>,
    /// Open sequences and mappings, innermost last.
    stack: Vec<Node>,
    /// For each open mapping, a key waiting for its value.
    pending_keys: Vec<Option<Node>>,
    /// Anchored nodes, by anchor id, for aliases.
    anchors: Vec<(usize, Node)>,
    problem: Option<String>,
    problem_at: Position,
}

impl TreeBuilder {
    fn finish_node(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.push((anchor, node.clone()));
        }
        let Some(parent) = self.stack.last_mut() else {
            self.documents.push(node);
            return;
        };
        match &mut parent.value {
            Value::Seq(items) => items.push(node),
            Value::Map(entries) => {
                let slot = self.pending_keys.last_mut();
                match slot {
                    Some(slot @ None) => {
                        if !matches!(
                            node.value,
                            Value::Str(_)
                                | Value::Int(_)
                                | Value::Bool(_)
                                | Value::Float(_)
                                | Value::Null
                        ) && self.problem.is_none()
                        {
                            self.problem = Some("a mapping key must be a scalar".into());
                            self.problem_at = node.at;
                        }
                        *slot = Some(node);
                    }
                    Some(slot) => {
                        if let Some(key) = slot.take() {
                            let text = key.scalar_text();
                            if entries.iter().any(|(k, _)| k.scalar_text() == text)
                                && self.problem.is_none()
                            {
                                self.problem = Some(format!(
                                    "the key `{}` appears twice in this mapping",
                                    text.unwrap_or_default()
                                ));
                                self.problem_at = key.at;
                            }
                            entries.push((key, node));
                        }
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        let at = position(&marker);
        match event {
            Event::Scalar(text, style, anchor, _tag) => {
                let value = if style == TScalarStyle::Plain {
                    plain_scalar(text)
                } else {
                    Value::Str(text)
                };
                self.finish_node(Node { at, value }, anchor);
            }
            Event::SequenceStart(_anchor, _) => {
                self.stack.push(Node {
                    at,
                    value: Value::Seq(Vec::new()),
                });
                self.pending_keys.push(None);
            }
            Event::MappingStart(_anchor, _) => {
                self.stack.push(Node {
                    at,
                    value: Value::Map(Vec::new()),
                });
                self.pending_keys.push(None);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.pending_keys.pop();
                if let Some(node) = self.stack.pop() {
                    self.finish_node(node, 0);
                }
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(anchor, _)| *anchor == id)
                    .map(|(_, node)| node.clone());
                match node {
                    Some(node) => self.finish_node(node, 0),
                    None => {
                        if self.problem.is_none() {
                            self.problem = Some("an alias names an unknown anchor".into());
                            self.problem_at = at;
                        }
                    }
                }
            }
            Event::DocumentEnd => {}
            _ => {}
        }
    }
}

/// Types a plain scalar by YAML 1.2's core schema.
fn plain_scalar(text: String) -> Value {
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let numeric = text
        .strip_prefix(['-', '+'])
        .unwrap_or(&text)
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if numeric {
        if let Ok(n) = text.parse::<i64>() {
            return Value::Int(n);
        }
        if let Some(hex) = text.strip_prefix("0x")
            && let Ok(n) = i64::from_str_radix(hex, 16)
        {
            return Value::Int(n);
        }
        if let Ok(n) = text.parse::<f64>()
            && !text.ends_with('.')
        {
            return Value::Float(n);
        }
    }
    Value::Str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_typed_and_quoted_ones_stay_text() -> Result<(), SyntaxError> {
        let docs =
            parse_documents("a: null\nb: 'null'\nc: 42\nd: '42'\ne: true\nf: 1.5\ng:\nh: x*y\n")?;
        let doc = &docs[0];
        assert_eq!(doc.get("a").map(|n| &n.value), Some(&Value::Null));
        assert_eq!(
            doc.get("b").map(|n| &n.value),
            Some(&Value::Str("null".into()))
        );
        assert_eq!(doc.get("c").map(|n| &n.value), Some(&Value::Int(42)));
        assert_eq!(
            doc.get("d").map(|n| &n.value),
            Some(&Value::Str("42".into()))
        );
        assert_eq!(doc.get("e").map(|n| &n.value), Some(&Value::Bool(true)));
        assert_eq!(doc.get("f").map(|n| &n.value), Some(&Value::Float(1.5)));
        assert_eq!(doc.get("g").map(|n| &n.value), Some(&Value::Null));
        assert_eq!(
            doc.get("h").map(|n| &n.value),
            Some(&Value::Str("x*y".into()))
        );
        Ok(())
    }

    #[test]
    fn positions_and_documents() -> Result<(), SyntaxError> {
        let docs = parse_documents("title: one\n---\ntitle: two\nlist:\n  - a\n  - b\n")?;
        assert_eq!(docs.len(), 2);
        let list = docs[1].get("list").map(|n| n.at);
        assert_eq!(list, Some(Position { line: 5, column: 3 }));
        Ok(())
    }

    #[test]
    fn errors_have_positions() {
        let err = parse_documents("a: [1, 2\nb: c\n").err();
        assert!(err.is_some_and(|e| e.at.line >= 1));
        let dup = parse_documents("a: 1\na: 2\n").err();
        assert_eq!(dup.map(|e| e.at.line), Some(2));
    }
}
