//! CloudWatch Logs metric-filter patterns for JSON events, as CIS AWS Foundations writes
//! them: `{ ($.eventName = "ConsoleLogin") && ($.errorMessage = "Failed authentication") }`.
//!
//! Supported: selectors `$.a.b`, `$.a[0].b`; `=` and `!=` with quoted or bare text (`*`
//! wildcards anywhere, `%regex%`), numbers with `=`, `!=`, `<`, `<=`, `>`, `>=`; `IS NULL`,
//! `NOT EXISTS`, `EXISTS`, `IS TRUE`, `IS FALSE`; `&&`, `||` (`&&` binds tighter) and
//! parentheses. As in CloudWatch, text comparisons are case-sensitive, and a comparison with
//! a property the event does not have is false (`!=` included).

use regex::Regex;
use trailhound_event::{FieldPath, RawEvent};

use crate::boolean::{BoolExpr, Operands, disjunction};
use crate::field::Leaf;
use crate::pattern::TextPattern;

/// A parsed metric-filter pattern.
#[derive(Debug, Clone)]
pub struct MetricFilter {
    expr: Expr,
    /// The pattern as written, for putting it on a log group.
    text: String,
}

/// A pattern: tests of selectors, joined by `&&` and `||`.
type Expr = BoolExpr<(FieldPath, Test)>;

#[derive(Debug, Clone)]
enum Test {
    Text { pattern: TextOrRegex, negate: bool },
    Number { op: NumberOp, value: f64 },
    Null,
    Exists(bool),
    Bool(bool),
}

#[derive(Debug, Clone)]
enum TextOrRegex {
    Text(TextPattern),
    Regex(Regex),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum NumberOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl MetricFilter {
    /// Parses a pattern; the error says what is wrong and where (byte offset in the text).
    pub fn parse(text: &str) -> Result<MetricFilter, String> {
        trailhound_event::nesting::check(text.as_bytes())?;
        let trimmed = text.trim();
        let inner = trimmed
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .ok_or("a JSON metric filter is written in braces: `{ $.field = value }`")?;
        let tokens = lex(inner)?;
        let mut parser = Parser { tokens, at: 0 };
        let expr = disjunction(&mut parser)?;
        if let Some(token) = parser.tokens.get(parser.at) {
            return Err(format!(
                "unexpected `{}` after a complete pattern",
                token.text()
            ));
        }
        Ok(MetricFilter {
            expr,
            text: trimmed.to_owned(),
        })
    }

    /// The pattern as it was written (trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the event (its JSON text) matches.
    pub fn is_match(&self, event: &RawEvent<'_>) -> bool {
        eval(&self.expr, event)
    }

    /// The pattern as an SQL condition, with `column` giving each selector's value as SQL
    /// text (`None` for a selector it cannot reach, or for a pattern SQL cannot express).
    /// Each test is false (or SQL's unknown, which a condition treats alike) where the value
    /// is missing, as in CloudWatch; `IS NULL` cannot
    /// tell a JSON `null` from a missing property, so it is true for both.
    pub fn to_sql(&self, column: &dyn Fn(&FieldPath) -> Option<String>) -> Option<String> {
        self.expr.to_sql(&|(path, test)| {
            let value = column(path)?;
            let condition = match test {
                Test::Exists(true) => format!("{value} IS NOT NULL"),
                Test::Exists(false) | Test::Null => format!("{value} IS NULL"),
                Test::Bool(expected) => format!("{value} = '{expected}'"),
                Test::Text { pattern, negate } => {
                    let matches = match pattern {
                        TextOrRegex::Text(p) => match p.exact() {
                            Some(exact) => format!("{value} = {}", sql_string(exact)),
                            None => format!("{value} LIKE {}", sql_string(&p.sql_like()?)),
                        },
                        TextOrRegex::Regex(r) => format!("{value} ~ {}", sql_string(r.as_str())),
                    };
                    if *negate {
                        // `!=` is false, not unknown, where the value is missing.
                        format!("({value} IS NOT NULL AND NOT ({matches}))")
                    } else {
                        matches
                    }
                }
                Test::Number { op, value: n } => {
                    let op = match op {
                        NumberOp::Eq => "=",
                        NumberOp::Ne => "<>",
                        NumberOp::Lt => "<",
                        NumberOp::Le => "<=",
                        NumberOp::Gt => ">",
                        NumberOp::Ge => ">=",
                    };
                    format!("TRY_CAST({value} AS DOUBLE) {op} {n}")
                }
            };
            // A test of a missing value is SQL's unknown, which AND, OR and WHERE treat as
            // CloudWatch treats false; only a negation would not, and to_sql guards those.
            Some(condition)
        })
    }

    /// The exact `field` values every matching event has (for indexing; `None`: any).
    pub fn required(&self, field: &str) -> Option<Vec<String>> {
        required(&self.expr, field)
    }
}

/// `text` as an SQL string literal.
fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn eval(expr: &Expr, event: &RawEvent<'_>) -> bool {
    expr.eval(&mut |(path, test)| {
        let leaves = event.leaves(path);
        match test {
            Test::Exists(expected) => leaves.is_some() == *expected,
            Test::Null => leaves.is_some_and(|l| l.iter().any(|v| Leaf(v).is_null())),
            Test::Bool(expected) => {
                leaves.is_some_and(|l| l.contains(&(if *expected { "true" } else { "false" })))
            }
            Test::Text { pattern, negate } => {
                let Some(leaves) = leaves else { return false };
                let texts: Vec<_> = leaves.iter().filter_map(|v| Leaf(v).text()).collect();
                if texts.is_empty() {
                    return false;
                }
                let hit = texts.iter().any(|t| match pattern {
                    TextOrRegex::Text(p) => p.is_match(t),
                    TextOrRegex::Regex(r) => r.is_match(t),
                });
                hit != *negate
            }
            Test::Number { op, value } => leaves.is_some_and(|l| {
                l.iter().filter_map(|v| Leaf(v).number()).any(|n| match op {
                    NumberOp::Eq => n == *value,
                    NumberOp::Ne => n != *value,
                    NumberOp::Lt => n < *value,
                    NumberOp::Le => n <= *value,
                    NumberOp::Gt => n > *value,
                    NumberOp::Ge => n >= *value,
                })
            }),
        }
    })
}

fn required(expr: &Expr, field: &str) -> Option<Vec<String>> {
    expr.required(&|(path, test)| match test {
        Test::Text {
            pattern: TextOrRegex::Text(p),
            negate: false,
        } if path.as_str() == field => {
            // The index is case-insensitive; an exact case-sensitive value is still exact.
            p.exact().map(|e| vec![e.to_lowercase()])
        }
        _ => None,
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Op(&'static str),
    Selector(String),
    Quoted(String),
    Bare(String),
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Open => "(".into(),
            Token::Close => ")".into(),
            Token::And => "&&".into(),
            Token::Or => "||".into(),
            Token::Op(op) => (*op).into(),
            Token::Selector(s) | Token::Bare(s) => s.clone(),
            Token::Quoted(s) => format!("\"{s}\""),
        }
    }
}

fn lex(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let rest = &text[i..];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'(' {
            tokens.push(Token::Open);
            i += 1;
        } else if c == b')' {
            tokens.push(Token::Close);
            i += 1;
        } else if rest.starts_with("&&") {
            tokens.push(Token::And);
            i += 2;
        } else if rest.starts_with("||") {
            tokens.push(Token::Or);
            i += 2;
        } else if let Some(op) = ["!=", "<=", ">=", "=", "<", ">"]
            .into_iter()
            .find(|op| rest.starts_with(op))
        {
            tokens.push(Token::Op(op));
            i += op.len();
        } else if c == b'"' {
            let mut value = String::new();
            let mut j = i + 1;
            let mut closed = false;
            while j < bytes.len() {
                match bytes[j] {
                    b'\\' if j + 1 < bytes.len() => {
                        // The escaped character may be multi-byte; step over all of it.
                        let ch = text[j + 1..].chars().next().unwrap_or('\u{fffd}');
                        value.push(ch);
                        j += 1 + ch.len_utf8();
                    }
                    b'"' => {
                        closed = true;
                        j += 1;
                        break;
                    }
                    _ => {
                        let ch = text[j..].chars().next().unwrap_or('\u{fffd}');
                        value.push(ch);
                        j += ch.len_utf8();
                    }
                }
            }
            if !closed {
                return Err(format!(
                    "a quoted value starting at offset {i} is never closed"
                ));
            }
            tokens.push(Token::Quoted(value));
            i = j;
        } else {
            let end = rest
                .find(|ch: char| {
                    ch.is_whitespace()
                        || matches!(ch, '(' | ')' | '=' | '!' | '<' | '>' | '&' | '|' | '"')
                })
                .unwrap_or(rest.len());
            let (word, consumed) = if let Some(after) = rest.strip_prefix('%') {
                // A regex runs to the closing %.
                match after.find('%') {
                    Some(close) => (&rest[..close + 2], close + 2),
                    None => return Err("a %regex% is never closed".into()),
                }
            } else {
                (&rest[..end], end)
            };
            if consumed == 0 {
                return Err(format!(
                    "unexpected `{}` at offset {i}",
                    rest.chars().next().unwrap_or(' ')
                ));
            }
            tokens.push(if word.starts_with("$.") || word == "$" {
                Token::Selector(word.to_owned())
            } else {
                Token::Bare(word.to_owned())
            });
            i += consumed;
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Operands for Parser {
    type Leaf = (FieldPath, Test);

    fn take_or(&mut self) -> bool {
        self.take(&Token::Or)
    }

    fn take_and(&mut self) -> bool {
        self.take(&Token::And)
    }

    fn operand(&mut self) -> Result<Expr, String> {
        self.primary()
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn take(&mut self, token: &Token) -> bool {
        let next = self.tokens.get(self.at) == Some(token);
        self.at += usize::from(next);
        next
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Token::Open) => {
                let inner = disjunction(self)?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("a `(` is never closed".into()),
                }
            }
            Some(Token::Selector(selector)) => {
                let path = selector_path(&selector)?;
                let test = self.test(&selector)?;
                Ok(Expr::Leaf((path, test)))
            }
            Some(other) => Err(format!(
                "expected a selector like `$.eventName`, found `{}`",
                other.text()
            )),
            None => Err("the pattern ends too early".into()),
        }
    }

    fn test(&mut self, selector: &str) -> Result<Test, String> {
        match self.next() {
            Some(Token::Op(op)) => {
                let value = self
                    .next()
                    .ok_or_else(|| format!("`{selector} {op}` needs a value"))?;
                comparison(op, value)
            }
            Some(Token::Bare(word)) => {
                let word = word.to_ascii_uppercase();
                let second = match self.peek() {
                    Some(Token::Bare(w)) => {
                        let w = w.to_ascii_uppercase();
                        self.at += 1;
                        w
                    }
                    _ => String::new(),
                };
                match (word.as_str(), second.as_str()) {
                    ("IS", "NULL") => Ok(Test::Null),
                    ("IS", "TRUE") => Ok(Test::Bool(true)),
                    ("IS", "FALSE") => Ok(Test::Bool(false)),
                    ("NOT", "EXISTS") => Ok(Test::Exists(false)),
                    ("EXISTS", "") => Ok(Test::Exists(true)),
                    _ => Err(format!(
                        "after `{selector}` expected an operator (=, !=, <, >, <=, >=), IS NULL, IS TRUE, IS FALSE, EXISTS or NOT EXISTS, found `{word} {second}`"
                    )),
                }
            }
            Some(other) => Err(format!(
                "after `{selector}` expected an operator, found `{}`",
                other.text()
            )),
            None => Err(format!("`{selector}` needs an operator and a value")),
        }
    }
}

fn comparison(op: &'static str, value: Token) -> Result<Test, String> {
    let (text, quoted) = match value {
        Token::Quoted(t) => (t, true),
        Token::Bare(t) => (t, false),
        other => return Err(format!("`{op}` needs a value, found `{}`", other.text())),
    };
    let number = if quoted {
        None
    } else {
        text.parse::<f64>().ok()
    };
    match (op, number) {
        ("=" | "!=", None) => {
            let pattern =
                if let Some(regex) = text.strip_prefix('%').and_then(|t| t.strip_suffix('%')) {
                    TextOrRegex::Regex(
                        Regex::new(regex).map_err(|e| format!("invalid regex %{regex}%: {e}"))?,
                    )
                } else {
                    // CloudWatch's `*` is a wildcard; there are no `?` wildcards or escapes.
                    let sigma_form = text.replace('\\', "\\\\").replace('?', "\\?");
                    TextOrRegex::Text(TextPattern::sigma(&sigma_form, true))
                };
            Ok(Test::Text {
                pattern,
                negate: op == "!=",
            })
        }
        (_, Some(n)) => Ok(Test::Number {
            op: match op {
                "=" => NumberOp::Eq,
                "!=" => NumberOp::Ne,
                "<" => NumberOp::Lt,
                "<=" => NumberOp::Le,
                ">" => NumberOp::Gt,
                _ => NumberOp::Ge,
            },
            value: n,
        }),
        (_, None) => Err(format!(
            "`{op}` compares numbers, but `{text}` is not a number"
        )),
    }
}

/// `$.a.b[0].c` → `a.b.0.c`.
fn selector_path(selector: &str) -> Result<FieldPath, String> {
    let body = selector
        .strip_prefix("$.")
        .ok_or_else(|| format!("a selector starts with `$.`: `{selector}`"))?;
    let dotted = body.replace('[', ".").replace(']', "");
    FieldPath::parse(&dotted).map_err(|e| format!("selector `{selector}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, event: &str) -> bool {
        match MetricFilter::parse(pattern) {
            Ok(f) => f.is_match(&RawEvent::new(event)),
            Err(e) => panic!("{pattern}: {e}"),
        }
    }

    const LOGIN: &str = r#"{"eventName":"ConsoleLogin","errorMessage":"Failed authentication","userIdentity":{"type":"Root"},"additionalEventData":{"MFAUsed":"No"},"n":null,"count":5,"flag":true,"resources":[{"ARN":"arn:a"}],"eventType":"AwsConsoleSignIn"}"#;

    #[test]
    fn cis_patterns() {
        assert!(m(
            r#"{ ($.eventName = "ConsoleLogin") && ($.errorMessage = "Failed authentication") }"#,
            LOGIN
        ));
        assert!(m(
            r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }"#,
            LOGIN
        ));
        assert!(m(
            r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#,
            LOGIN
        ));
        assert!(m(
            r#"{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") || ($.eventName = ConsoleLogin) }"#,
            LOGIN
        ));
        assert!(
            !m(r#"{ ($.eventName = consolelogin) }"#, LOGIN),
            "case-sensitive"
        );
        assert!(m(r#"{ $.eventName = Console* }"#, LOGIN));
        assert!(m(r#"{ $.eventName=%^Console.*% }"#, LOGIN));
    }

    #[test]
    fn operators() {
        assert!(m("{ $.n IS NULL }", LOGIN));
        assert!(!m("{ $.eventName IS NULL }", LOGIN));
        assert!(m("{ $.missing NOT EXISTS }", LOGIN));
        assert!(m("{ $.eventName EXISTS }", LOGIN));
        assert!(m("{ $.flag IS TRUE }", LOGIN));
        assert!(!m("{ $.flag IS FALSE }", LOGIN));
        assert!(m(
            "{ $.count > 4 && $.count <= 5 && $.count != 6 && $.count = 5 }",
            LOGIN
        ));
        assert!(!m("{ $.count < 5 }", LOGIN));
        assert!(m("{ $.resources[0].ARN = \"arn:a\" }", LOGIN));
        assert!(
            !m("{ $.missing != \"x\" }", LOGIN),
            "a missing property never matches"
        );
        // && binds tighter than ||
        assert!(m(
            "{ $.eventName = X && $.count = 1 || $.count = 5 }",
            LOGIN
        ));
    }

    #[test]
    fn errors() {
        let err = |p: &str| MetricFilter::parse(p).err().unwrap_or_default();
        assert!(err("$.a = 1").contains("braces"));
        assert!(err("{ $.a = }").contains("needs a value"));
        assert!(err("{ $.a > x }").contains("not a number"));
        assert!(err("{ ($.a = 1 }").contains("never closed"));
        assert!(err("{ $.a = \"x }").contains("never closed"));
        assert!(err("{ $.a IS MAYBE }").contains("expected an operator"));
        // Non-ASCII text is a value, never a panic.
        assert!(MetricFilter::parse("{ $.a = é }").is_ok());
        assert!(err("{ é }").contains("expected a selector"));
        // An escaped multi-byte character inside quotes (found by the fuzzer).
        assert!(MetricFilter::parse("{ $.a = \"\\é\" }").is_ok());
    }
}
