//! Sigma's `condition`: search identifiers joined by `and`, `or`, `not` and parentheses, and
//! the quantifiers `1 of PATTERN`, `all of PATTERN`, `1 of them`, `all of them`.
//! Precedence, tightest first: `not`, `and`, `or`.

use crate::boolean::{BoolExpr, Operands, disjunction};

/// A parsed condition over search identifiers, by index into the rule's searches.
pub type Condition = BoolExpr<usize>;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    One,
    All,
    Of,
    Word(String),
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => out.push(Token::Open),
            ')' => out.push(Token::Close),
            c if c.is_alphanumeric() || matches!(c, '_' | '*' | '-' | '.') => {
                let mut end = start + c.len_utf8();
                while let Some(&(i, next)) = chars.peek() {
                    if next.is_alphanumeric() || matches!(next, '_' | '*' | '-' | '.') {
                        end = i + next.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let word = &text[start..end];
                out.push(match word.to_ascii_lowercase().as_str() {
                    "and" => Token::And,
                    "or" => Token::Or,
                    "not" => Token::Not,
                    "1" => Token::One,
                    "all" => Token::All,
                    "of" => Token::Of,
                    _ => Token::Word(word.to_owned()),
                });
            }
            '|' => {
                return Err(
                    "`|` aggregations in conditions are deprecated Sigma; write a correlation rule instead"
                        .into(),
                );
            }
            other => return Err(format!("unexpected character `{other}` in the condition")),
        }
    }
    Ok(out)
}

/// Parses a condition; `names` are the rule's search identifiers in order.
pub fn parse(text: &str, names: &[String]) -> Result<Condition, String> {
    trailhound_event::nesting::check(text.as_bytes())?;
    let tokens = tokens(text)?;
    let mut parser = ConditionParser {
        tokens: &tokens,
        at: 0,
        names,
    };
    let condition = disjunction(&mut parser)?;
    match parser.tokens.get(parser.at) {
        None => Ok(condition),
        Some(token) => Err(format!(
            "unexpected {} after a complete condition",
            describe(token)
        )),
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Open => "`(`".into(),
        Token::Close => "`)`".into(),
        Token::And => "`and`".into(),
        Token::Or => "`or`".into(),
        Token::Not => "`not`".into(),
        Token::One => "`1`".into(),
        Token::All => "`all`".into(),
        Token::Of => "`of`".into(),
        Token::Word(w) => format!("`{w}`"),
    }
}

struct ConditionParser<'t> {
    tokens: &'t [Token],
    at: usize,
    names: &'t [String],
}

impl Operands for ConditionParser<'_> {
    type Leaf = usize;

    fn take_or(&mut self) -> bool {
        self.take(&Token::Or)
    }

    fn take_and(&mut self) -> bool {
        self.take(&Token::And)
    }

    fn operand(&mut self) -> Result<Condition, String> {
        self.unary()
    }
}

impl ConditionParser<'_> {
    fn take(&mut self, token: &Token) -> bool {
        let next = self.tokens.get(self.at) == Some(token);
        self.at += usize::from(next);
        next
    }

    fn next(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.at);
        self.at += 1;
        token
    }

    fn unary(&mut self) -> Result<Condition, String> {
        match self.next().cloned() {
            Some(Token::Not) => Ok(Condition::Not(Box::new(self.unary()?))),
            Some(Token::Open) => {
                let inner = disjunction(self)?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("a `(` is never closed".into()),
                }
            }
            Some(quantifier @ (Token::One | Token::All)) => {
                if self.next() != Some(&Token::Of) {
                    return Err(format!("expected `of` after {}", describe(&quantifier)));
                }
                let pattern = match self.next() {
                    Some(Token::Word(w)) => w.clone(),
                    Some(other) => {
                        return Err(format!(
                            "expected a search name pattern or `them` after `of`, found {}",
                            describe(other)
                        ));
                    }
                    None => return Err("the condition ends after `of`".into()),
                };
                let selected = self.select(&pattern)?;
                let items: Vec<Condition> = selected.into_iter().map(Condition::Leaf).collect();
                Ok(if quantifier == Token::One {
                    Condition::Or(items)
                } else {
                    Condition::And(items)
                })
            }
            Some(Token::Word(name)) => self
                .names
                .iter()
                .position(|n| *n == name)
                .map(Condition::Leaf)
                .ok_or_else(|| {
                    format!(
                        "the condition names `{name}`, which is not a search of this rule (it has: {})",
                        self.names.join(", ")
                    )
                }),
            Some(token) => Err(format!("unexpected {}", describe(&token))),
            None => Err("the condition ends too early".into()),
        }
    }

    /// Search indexes for `them` or a `prefix*` pattern.
    fn select(&self, pattern: &str) -> Result<Vec<usize>, String> {
        let selected: Vec<usize> = if pattern == "them" {
            // `them` excludes searches whose names start with an underscore (Sigma spec).
            (0..self.names.len())
                .filter(|i| !self.names[*i].starts_with('_'))
                .collect()
        } else {
            let glob = crate::pattern::TextPattern::sigma(pattern, true);
            (0..self.names.len())
                .filter(|i| glob.is_match(&self.names[*i]))
                .collect()
        };
        if selected.is_empty() {
            return Err(format!("`{pattern}` matches none of this rule's searches"));
        }
        Ok(selected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        [
            "selection",
            "filter_main_a",
            "filter_main_b",
            "sel_x",
            "_helper",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn eval(condition: &str, true_searches: &[usize]) -> Result<bool, String> {
        let c = parse(condition, &names())?;
        Ok(c.eval(&mut |i| true_searches.contains(i)))
    }

    #[test]
    fn operators_and_precedence() -> Result<(), String> {
        assert!(eval("selection", &[0])?);
        assert!(eval("selection and not filter_main_a", &[0])?);
        assert!(!eval("selection and not filter_main_a", &[0, 1])?);
        // not > and > or
        assert!(eval("sel_x or selection and filter_main_a", &[3])?);
        assert!(!eval("(sel_x or selection) and filter_main_a", &[3])?);
        assert!(eval("not (selection or sel_x)", &[])?);
        Ok(())
    }

    #[test]
    fn quantifiers() -> Result<(), String> {
        assert!(eval("selection and not 1 of filter_main_*", &[0])?);
        assert!(!eval("selection and not 1 of filter_main_*", &[0, 2])?);
        assert!(eval("all of filter_main_*", &[1, 2])?);
        assert!(!eval("all of filter_main_*", &[1])?);
        assert!(
            eval("all of them", &[0, 1, 2, 3])?,
            "_helper is not part of them"
        );
        assert!(eval("1 of them", &[3])?);
        assert!(!eval("1 of them", &[4])?);
        Ok(())
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = |c: &str| parse(c, &names()).err().unwrap_or_default();
        assert!(err("selection and").contains("ends too early"));
        assert!(err("unknown").contains("not a search of this rule"));
        assert!(err("(selection").contains("never closed"));
        assert!(err("1 of nothing_*").contains("matches none"));
        assert!(err("selection | count() > 5").contains("correlation rule"));
        assert!(err("selection selection").contains("after a complete condition"));
    }

    #[test]
    fn required_values_for_indexing() -> Result<(), String> {
        let c = parse("selection and not filter_main_a", &names())?;
        let req = |i: &usize| (*i == 0).then(|| vec!["stoplogging".to_string()]);
        assert_eq!(c.required(&req), Some(vec!["stoplogging".to_string()]));
        let c = parse("selection or sel_x", &names())?;
        assert_eq!(c.required(&req), None);
        Ok(())
    }
}
