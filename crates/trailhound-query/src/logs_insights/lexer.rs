//! The words of a Logs Insights query, each with where it stands in the text.

use std::ops::Range;

use super::InsightsError;

/// One word.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    /// A field or a keyword, as written (backticks removed).
    Name(String),
    /// A field written in backticks: never a keyword.
    Quoted(String),
    Number(String),
    /// A time span such as `5m` or `1h`: the number and the unit as written.
    Period(String, String),
    Text(String),
    /// `/…/`, the pattern between the slashes.
    Regex(String),
    /// `=`, `!=`, `<`, `<=`, `>`, `>=`, `=~`, `+`, `-`, `*`, `/`, `%`, `^`, `(`, `)`, `[`, `]`,
    /// `,`, `|`.
    Symbol(&'static str),
}

impl Token {
    /// Whether this is the keyword `word` (in any case).
    pub(super) fn is_word(&self, word: &str) -> bool {
        matches!(self, Token::Name(name) if name.eq_ignore_ascii_case(word))
    }
}

/// A token and the bytes of the query it was read from.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Spanned {
    pub(super) token: Token,
    pub(super) span: Range<usize>,
}

const SYMBOLS: [&str; 21] = [
    "!=", "<>", "<=", ">=", "=~", "==", "=", "<", ">", "+", "-", "*", "/", "%", "^", "(", ")", "[",
    "]", ",", "|",
];

/// Splits `query` into tokens.
pub(super) fn tokens(query: &str) -> Result<Vec<Spanned>, InsightsError> {
    let bytes = query.as_bytes();
    let mut out: Vec<Spanned> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let c = bytes[at];
        let start = at;
        if c.is_ascii_whitespace() {
            at += 1;
            continue;
        }
        // `#` starts a comment to the end of the line, as in the console.
        if c == b'#' {
            while at < bytes.len() && bytes[at] != b'\n' {
                at += 1;
            }
            continue;
        }
        let token = if c.is_ascii_alphabetic() || c == b'_' || c == b'@' {
            at += 1;
            while at < bytes.len() && is_name_byte(bytes[at]) {
                at += 1;
            }
            Token::Name(query[start..at].to_owned())
        } else if c.is_ascii_digit() {
            while at < bytes.len() && (bytes[at].is_ascii_digit() || bytes[at] == b'.') {
                at += 1;
            }
            let number = query[start..at].to_owned();
            let unit_start = at;
            while at < bytes.len() && bytes[at].is_ascii_alphabetic() {
                at += 1;
            }
            if at > unit_start {
                Token::Period(number, query[unit_start..at].to_owned())
            } else {
                Token::Number(number)
            }
        } else if c == b'\'' || c == b'"' {
            let (text, end) = quoted(query, start, c)?;
            at = end;
            Token::Text(text)
        } else if c == b'`' {
            let end = query[start + 1..]
                .find('`')
                .map(|i| start + 1 + i)
                .ok_or_else(|| {
                    InsightsError::new("this backtick is never closed", start..start + 1)
                })?;
            at = end + 1;
            Token::Quoted(query[start + 1..end].to_owned())
        } else if c == b'/' && expects_operand(&out) {
            let (pattern, end) = regex(query, start)?;
            at = end;
            Token::Regex(pattern)
        } else if let Some(symbol) = SYMBOLS.iter().find(|s| query[at..].starts_with(**s)) {
            at += symbol.len();
            Token::Symbol(match *symbol {
                "<>" => "!=",
                "==" => "=",
                other => other,
            })
        } else {
            let character = query[start..].chars().next().unwrap_or(' ');
            return Err(InsightsError::new(
                format!("unexpected character {character:?}"),
                start..start + character.len_utf8(),
            ));
        };
        out.push(Spanned {
            token,
            span: start..at,
        });
    }
    Ok(out)
}

/// Field names run on through dots (`userIdentity.arn`, `resources.0.ARN`).
fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'.' || byte == b'@' || byte == b'$'
}

/// Whether a `/` here starts a pattern (where a value is expected) rather than dividing.
fn expects_operand(before: &[Spanned]) -> bool {
    // `parse @message /…/`: the pattern follows the field.
    if let [
        ..,
        command,
        Spanned {
            token: Token::Name(_),
            ..
        },
    ] = before
        && command.token.is_word("parse")
    {
        return true;
    }
    match before.last().map(|p| &p.token) {
        None => true,
        Some(Token::Symbol(symbol)) => !matches!(*symbol, ")" | "]"),
        Some(Token::Name(name)) => ["like", "and", "or", "not", "filter", "parse", "in"]
            .iter()
            .any(|word| name.eq_ignore_ascii_case(word)),
        Some(_) => false,
    }
}

/// A string in `quote`s starting at `start`, with `\` escaping the next character; its text
/// and where it ends.
fn quoted(query: &str, start: usize, quote: u8) -> Result<(String, usize), InsightsError> {
    let mut text = String::new();
    let mut chars = query[start + 1..].char_indices();
    while let Some((offset, c)) = chars.next() {
        if c == char::from(quote) {
            return Ok((text, start + 1 + offset + 1));
        }
        if c == '\\' {
            match chars.next() {
                Some((_, 'n')) => text.push('\n'),
                Some((_, 't')) => text.push('\t'),
                Some((_, escaped)) => text.push(escaped),
                None => break,
            }
        } else {
            text.push(c);
        }
    }
    Err(InsightsError::new(
        "this string is never closed",
        start..query.len(),
    ))
}

/// A `/pattern/`, `\/` standing for a slash inside it; the pattern and where it ends.
fn regex(query: &str, start: usize) -> Result<(String, usize), InsightsError> {
    let mut pattern = String::new();
    let mut chars = query[start + 1..].char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '/' => return Ok((pattern, start + 1 + offset + 1)),
            '\\' => match chars.next() {
                Some((_, '/')) => pattern.push('/'),
                Some((_, other)) => {
                    pattern.push('\\');
                    pattern.push(other);
                }
                None => break,
            },
            '\n' => break,
            other => pattern.push(other),
        }
    }
    Err(InsightsError::new(
        "this pattern is never closed: end it with /",
        start..query.len(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(query: &str) -> Vec<Token> {
        tokens(query)
            .map(|t| t.into_iter().map(|s| s.token).collect())
            .unwrap_or_default()
    }

    #[test]
    fn slashes_are_patterns_where_a_value_goes_and_division_after_one() {
        assert_eq!(
            kinds("filter errorCode like /Access\\/Denied/ | fields a / 2"),
            vec![
                Token::Name("filter".into()),
                Token::Name("errorCode".into()),
                Token::Name("like".into()),
                Token::Regex("Access/Denied".into()),
                Token::Symbol("|"),
                Token::Name("fields".into()),
                Token::Name("a".into()),
                Token::Symbol("/"),
                Token::Number("2".into()),
            ]
        );
    }

    #[test]
    fn periods_fields_strings_and_comments() {
        assert_eq!(
            kinds(
                "stats count(*) by bin(5m), `odd-name`, resources.0.ARN # why\n| filter x = 'it\\'s'"
            ),
            vec![
                Token::Name("stats".into()),
                Token::Name("count".into()),
                Token::Symbol("("),
                Token::Symbol("*"),
                Token::Symbol(")"),
                Token::Name("by".into()),
                Token::Name("bin".into()),
                Token::Symbol("("),
                Token::Period("5".into(), "m".into()),
                Token::Symbol(")"),
                Token::Symbol(","),
                Token::Quoted("odd-name".into()),
                Token::Symbol(","),
                Token::Name("resources.0.ARN".into()),
                Token::Symbol("|"),
                Token::Name("filter".into()),
                Token::Name("x".into()),
                Token::Symbol("="),
                Token::Text("it's".into()),
            ]
        );
    }

    #[test]
    fn unclosed_strings_and_patterns_say_where_they_start() {
        let err = tokens("filter a = 'open").err();
        assert_eq!(err.map(|e| e.span), Some(11..16));
        let err = tokens("filter a like /open").err();
        assert_eq!(err.map(|e| e.span.start), Some(14));
    }
}
