//! A Logs Insights query as commands and expressions.

use std::ops::Range;

use super::InsightsError;
use super::lexer::{Spanned, Token};

/// An expression and the bytes of the query it was read from.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    pub(super) expr: Expr,
    pub(super) span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    Field(String),
    Number(String),
    Text(String),
    Regex(String),
    Boolean(bool),
    /// A time span (`5m`): amount and unit as written.
    Period(String, String),
    /// `[a, b]`, the right side of `in`.
    List(Vec<Node>),
    /// `*` in `count(*)`.
    Star,
    Call(String, Vec<Node>),
    Not(Box<Node>),
    Negate(Box<Node>),
    Binary(Op, Box<Node>, Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Or,
    And,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Like,
    NotLike,
    Matches,
    In,
    NotIn,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

/// An expression of a list (`fields`, `stats`), with its `as` name and its text, which
/// names it when it has no `as`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Item {
    pub(super) node: Node,
    pub(super) alias: Option<String>,
    pub(super) text: String,
}

impl Item {
    /// The name the result gives it.
    pub(super) fn name(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.text)
    }
}

/// How `parse` finds its values.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Pattern {
    /// `'user=*, ip=*'`: each `*` is a value.
    Glob(String),
    /// `/user=(?<user>\S+)/`: each named group is a value.
    Regex(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Command {
    Fields(Vec<Item>),
    Display(Vec<Item>),
    Filter(Node),
    Stats {
        aggregates: Vec<Item>,
        by: Vec<Item>,
    },
    /// Keys, each descending or not.
    Sort(Vec<(Node, bool)>),
    Limit(u64),
    Dedup(Vec<Node>),
    Parse {
        field: Node,
        pattern: Pattern,
        names: Vec<String>,
    },
}

/// One command and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Step {
    pub(super) command: Command,
    pub(super) span: Range<usize>,
}

/// The commands this translation knows, for the message about one it does not.
pub(super) const COMMANDS: [&str; 8] = [
    "fields", "filter", "stats", "sort", "limit", "dedup", "display", "parse",
];

/// Reads the commands of `query`.
pub(super) fn parse(query: &str) -> Result<Vec<Step>, InsightsError> {
    let tokens = super::lexer::tokens(query)?;
    let mut steps = Vec::new();
    for segment in tokens.split(|t| t.token == Token::Symbol("|")) {
        let Some(first) = segment.first() else {
            let at = steps
                .last()
                .map_or(0, |s: &Step| s.span.end)
                .min(query.len());
            return Err(InsightsError::new(
                "a command is missing between two `|` (or at an end)",
                at..(at + 1).min(query.len()),
            ));
        };
        let span = first.span.start..segment.last().map_or(first.span.end, |t| t.span.end);
        let mut parser = Parser {
            query,
            tokens: &segment[1..],
            at: 0,
            end: span.end,
        };
        let command = parser.command(first)?;
        parser.finish()?;
        steps.push(Step { command, span });
    }
    if steps.is_empty() {
        return Err(InsightsError::new(
            "the query is empty: start with fields, filter or stats",
            0..0,
        ));
    }
    Ok(steps)
}

struct Parser<'q> {
    query: &'q str,
    tokens: &'q [Spanned],
    at: usize,
    /// Where the command ends, for messages about what is missing.
    end: usize,
}

impl<'q> Parser<'q> {
    fn command(&mut self, first: &'q Spanned) -> Result<Command, InsightsError> {
        let word = match &first.token {
            Token::Name(word) => word.to_ascii_lowercase(),
            _ => {
                return Err(InsightsError::new(
                    format!("expected a command ({})", COMMANDS.join(", ")),
                    first.span.clone(),
                ));
            }
        };
        Ok(match word.as_str() {
            "fields" => Command::Fields(self.items()?),
            "display" => Command::Display(self.items()?),
            "filter" => Command::Filter(self.expr()?),
            "stats" => {
                let aggregates = self.items()?;
                let by = if self.eat_word("by") {
                    self.items()?
                } else {
                    Vec::new()
                };
                Command::Stats { aggregates, by }
            }
            "sort" => {
                let mut keys = Vec::new();
                loop {
                    let key = self.expr()?;
                    let descending = if self.eat_word("desc") {
                        true
                    } else {
                        self.eat_word("asc");
                        false
                    };
                    keys.push((key, descending));
                    if !self.eat_symbol(",") {
                        break;
                    }
                }
                Command::Sort(keys)
            }
            "limit" | "head" => {
                let token = self.next("a number of rows")?;
                match &token.token {
                    Token::Number(n) => Command::Limit(n.parse().map_err(|_| {
                        InsightsError::new("limit takes a whole number", token.span.clone())
                    })?),
                    _ => {
                        return Err(InsightsError::new(
                            "limit takes a whole number",
                            token.span.clone(),
                        ));
                    }
                }
            }
            "dedup" => {
                let mut fields = vec![self.expr()?];
                while self.eat_symbol(",") {
                    fields.push(self.expr()?);
                }
                Command::Dedup(fields)
            }
            "parse" => self.parse_command()?,
            "unmask" | "pattern" | "diff" | "anomaly" | "filterindex" | "source" => {
                return Err(InsightsError::new(
                    format!(
                        "`{word}` works on CloudWatch Logs' own storage and has no meaning over \
                         the lake; the commands here are {}",
                        COMMANDS.join(", ")
                    ),
                    first.span.clone(),
                ));
            }
            _ => {
                let near = COMMANDS
                    .iter()
                    .find(|c| strsim_close(c, &word))
                    .map(|c| format!("did you mean `{c}`? "))
                    .unwrap_or_default();
                return Err(InsightsError::new(
                    format!(
                        "unknown command `{word}`: {near}the commands are {}",
                        COMMANDS.join(", ")
                    ),
                    first.span.clone(),
                ));
            }
        })
    }

    /// `parse [field] 'glob' as a, b` or `parse [field] /(?<a>…)/`.
    fn parse_command(&mut self) -> Result<Command, InsightsError> {
        let field = match self.peek().map(|t| &t.token) {
            Some(Token::Text(_) | Token::Regex(_)) => Node {
                expr: Expr::Field("@message".to_owned()),
                span: self.here(),
            },
            _ => self.primary()?,
        };
        let token = self.next("a 'glob * pattern' or a /regex/")?;
        let pattern = match &token.token {
            Token::Text(glob) => Pattern::Glob(glob.clone()),
            Token::Regex(regex) => Pattern::Regex(regex.clone()),
            _ => {
                return Err(InsightsError::new(
                    "parse takes a 'glob * pattern' or a /regex/ after the field",
                    token.span.clone(),
                ));
            }
        };
        let mut names = Vec::new();
        if self.eat_word("as") {
            loop {
                names.push(self.name()?);
                if !self.eat_symbol(",") {
                    break;
                }
            }
        }
        Ok(Command::Parse {
            field,
            pattern,
            names,
        })
    }

    fn items(&mut self) -> Result<Vec<Item>, InsightsError> {
        let mut items = Vec::new();
        loop {
            let node = self.expr()?;
            let text = collapse(&self.query[node.span.clone()]);
            let alias = if self.eat_word("as") {
                Some(self.name()?)
            } else {
                None
            };
            items.push(Item { node, alias, text });
            if !self.eat_symbol(",") {
                return Ok(items);
            }
        }
    }

    fn name(&mut self) -> Result<String, InsightsError> {
        let token = self.next("a name")?;
        match &token.token {
            Token::Name(name) | Token::Quoted(name) => Ok(name.clone()),
            _ => Err(InsightsError::new("expected a name", token.span.clone())),
        }
    }

    fn expr(&mut self) -> Result<Node, InsightsError> {
        self.binary_chain(Self::and, &[("or", Op::Or)])
    }

    fn and(&mut self) -> Result<Node, InsightsError> {
        self.binary_chain(Self::not, &[("and", Op::And)])
    }

    /// `left (word right)*` for operators written as words.
    fn binary_chain(
        &mut self,
        operand: fn(&mut Self) -> Result<Node, InsightsError>,
        words: &[(&str, Op)],
    ) -> Result<Node, InsightsError> {
        let mut left = operand(self)?;
        while let Some((_, op)) = words.iter().find(|(w, _)| self.peek_word(w)) {
            self.at += 1;
            let right = operand(self)?;
            left = join(*op, left, right);
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Node, InsightsError> {
        if self.peek_word("not") {
            let start = self.here().start;
            self.at += 1;
            let inner = self.not()?;
            let span = start..inner.span.end;
            return Ok(Node {
                expr: Expr::Not(Box::new(inner)),
                span,
            });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Node, InsightsError> {
        let left = self.additive()?;
        let op = match self.peek().map(|t| &t.token) {
            Some(Token::Symbol(symbol)) => match *symbol {
                "=" => Some(Op::Eq),
                "!=" => Some(Op::NotEq),
                "<" => Some(Op::Lt),
                "<=" => Some(Op::LtEq),
                ">" => Some(Op::Gt),
                ">=" => Some(Op::GtEq),
                "=~" => Some(Op::Matches),
                _ => None,
            },
            Some(token) if token.is_word("like") => Some(Op::Like),
            Some(token) if token.is_word("in") => Some(Op::In),
            Some(token) if token.is_word("not") => {
                match self.tokens.get(self.at + 1).map(|t| &t.token) {
                    Some(next) if next.is_word("like") => {
                        self.at += 1;
                        Some(Op::NotLike)
                    }
                    Some(next) if next.is_word("in") => {
                        self.at += 1;
                        Some(Op::NotIn)
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let Some(op) = op else {
            return Ok(left);
        };
        self.at += 1;
        let right = self.additive()?;
        Ok(join(op, left, right))
    }

    fn additive(&mut self) -> Result<Node, InsightsError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek().map(|t| &t.token) {
                Some(Token::Symbol("+")) => Op::Add,
                Some(Token::Symbol("-")) => Op::Sub,
                _ => return Ok(left),
            };
            self.at += 1;
            let right = self.multiplicative()?;
            left = join(op, left, right);
        }
    }

    fn multiplicative(&mut self) -> Result<Node, InsightsError> {
        let mut left = self.power()?;
        loop {
            let op = match self.peek().map(|t| &t.token) {
                Some(Token::Symbol("*")) => Op::Mul,
                Some(Token::Symbol("/")) => Op::Div,
                Some(Token::Symbol("%")) => Op::Mod,
                _ => return Ok(left),
            };
            self.at += 1;
            let right = self.power()?;
            left = join(op, left, right);
        }
    }

    fn power(&mut self) -> Result<Node, InsightsError> {
        let base = self.unary()?;
        if self.eat_symbol("^") {
            let exponent = self.power()?;
            return Ok(join(Op::Pow, base, exponent));
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<Node, InsightsError> {
        if matches!(self.peek().map(|t| &t.token), Some(Token::Symbol("-"))) {
            let start = self.here().start;
            self.at += 1;
            let inner = self.unary()?;
            let span = start..inner.span.end;
            return Ok(Node {
                expr: Expr::Negate(Box::new(inner)),
                span,
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, InsightsError> {
        let token = self.next("a value")?;
        let span = token.span.clone();
        let expr = match &token.token {
            Token::Number(n) => Expr::Number(n.clone()),
            Token::Text(text) => Expr::Text(text.clone()),
            Token::Regex(regex) => Expr::Regex(regex.clone()),
            Token::Period(amount, unit) => Expr::Period(amount.clone(), unit.clone()),
            Token::Quoted(name) => Expr::Field(name.clone()),
            Token::Symbol("(") => {
                let inner = self.expr()?;
                self.expect_symbol(")")?;
                return Ok(inner);
            }
            Token::Symbol("[") => {
                let mut values = Vec::new();
                if !self.eat_symbol("]") {
                    loop {
                        values.push(self.expr()?);
                        if !self.eat_symbol(",") {
                            break;
                        }
                    }
                    self.expect_symbol("]")?;
                }
                let end = self.tokens[self.at - 1].span.end;
                return Ok(Node {
                    expr: Expr::List(values),
                    span: span.start..end,
                });
            }
            Token::Symbol("*") => Expr::Star,
            Token::Name(name) => {
                if self.eat_symbol("(") {
                    let mut args = Vec::new();
                    if !self.eat_symbol(")") {
                        loop {
                            args.push(self.expr()?);
                            if !self.eat_symbol(",") {
                                break;
                            }
                        }
                        self.expect_symbol(")")?;
                    }
                    let end = self.tokens[self.at - 1].span.end;
                    return Ok(Node {
                        expr: Expr::Call(name.clone(), args),
                        span: span.start..end,
                    });
                }
                const KEYWORDS: [&str; 9] =
                    ["and", "or", "not", "like", "in", "as", "by", "asc", "desc"];
                if KEYWORDS.iter().any(|k| name.eq_ignore_ascii_case(k)) {
                    return Err(InsightsError::new(
                        format!("expected a value, found `{name}`"),
                        span,
                    ));
                }
                match name.to_ascii_lowercase().as_str() {
                    "true" => Expr::Boolean(true),
                    "false" => Expr::Boolean(false),
                    _ => Expr::Field(name.clone()),
                }
            }
            Token::Symbol(symbol) => {
                return Err(InsightsError::new(
                    format!("expected a value, found `{symbol}`"),
                    span,
                ));
            }
        };
        Ok(Node { expr, span })
    }

    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.at)
    }

    fn peek_word(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| t.token.is_word(word))
    }

    fn next(&mut self, what: &str) -> Result<&'q Spanned, InsightsError> {
        let tokens: &'q [Spanned] = self.tokens;
        let token = tokens.get(self.at).ok_or_else(|| {
            InsightsError::new(format!("expected {what} here"), self.end..self.end)
        })?;
        self.at += 1;
        Ok(token)
    }

    /// Where the next token is (or the end of the command).
    fn here(&self) -> Range<usize> {
        self.peek().map_or(self.end..self.end, |t| t.span.clone())
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = self.peek_word(word);
        if found {
            self.at += 1;
        }
        found
    }

    fn eat_symbol(&mut self, symbol: &str) -> bool {
        let found = matches!(self.peek().map(|t| &t.token), Some(Token::Symbol(s)) if *s == symbol);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<(), InsightsError> {
        if self.eat_symbol(symbol) {
            Ok(())
        } else {
            Err(InsightsError::new(
                format!("expected `{symbol}` here"),
                self.here(),
            ))
        }
    }

    /// Whatever is left of a command is a mistake.
    fn finish(&self) -> Result<(), InsightsError> {
        match self.peek() {
            None => Ok(()),
            Some(token) => Err(InsightsError::new(
                "unexpected words here: is a `|`, a `,` or an operator missing?",
                token.span.start..self.end,
            )),
        }
    }
}

fn join(op: Op, left: Node, right: Node) -> Node {
    let span = left.span.start..right.span.end;
    Node {
        expr: Expr::Binary(op, Box::new(left), Box::new(right)),
        span,
    }
}

/// Whitespace runs as one space, to name a result column after the expression.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether two words are one edit (insertion, deletion, change, swap of neighbours) apart.
pub(super) fn strsim_close(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a == b {
        return true;
    }
    match a.len().abs_diff(b.len()) {
        0 => {
            let differ: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            match differ.as_slice() {
                [_] => true,
                [i, j] => *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i],
                _ => false,
            }
        }
        1 => {
            let (short, long) = if a.len() < b.len() {
                (&a, &b)
            } else {
                (&b, &a)
            };
            (0..long.len()).any(|skip| {
                long.iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, c)| c)
                    .eq(short.iter())
            })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_their_parts() -> Result<(), InsightsError> {
        let steps = parse(
            "fields eventName, userIdentity.arn as who | filter not ispresent(errorCode) and eventName like /^Get/ \
             | stats count(*) as n, pct(x, 90) by bin(1h), who | sort n desc, who | limit 5",
        )?;
        assert_eq!(steps.len(), 5);
        let Command::Fields(items) = &steps[0].command else {
            panic!("{:?}", steps[0]);
        };
        assert_eq!((items[0].name(), items[1].name()), ("eventName", "who"));
        let Command::Stats { aggregates, by } = &steps[2].command else {
            panic!("{:?}", steps[2]);
        };
        assert_eq!(
            aggregates.iter().map(Item::name).collect::<Vec<_>>(),
            ["n", "pct(x, 90)"]
        );
        assert_eq!(
            by.iter().map(Item::name).collect::<Vec<_>>(),
            ["bin(1h)", "who"]
        );
        assert!(
            matches!(&steps[3].command, Command::Sort(keys) if keys.len() == 2 && keys[0].1 && !keys[1].1)
        );
        assert_eq!(steps[4].command, Command::Limit(5));
        Ok(())
    }

    #[test]
    fn and_binds_tighter_than_or_and_comparisons_tighter_than_and() -> Result<(), InsightsError> {
        let steps = parse("filter a = 1 or b = 2 and c not in [3, 4]")?;
        let Command::Filter(node) = &steps[0].command else {
            panic!();
        };
        let Expr::Binary(Op::Or, _, right) = &node.expr else {
            panic!("{node:?}");
        };
        let Expr::Binary(Op::And, _, last) = &right.expr else {
            panic!("{right:?}");
        };
        assert!(
            matches!(&last.expr, Expr::Binary(Op::NotIn, _, list) if matches!(&list.expr, Expr::List(v) if v.len() == 2))
        );
        Ok(())
    }

    #[test]
    fn mistakes_point_at_their_place() {
        let at = |query: &str| parse(query).err().map(|e| (e.span, e.message));
        let (span, message) = at("fields a | fitler b = 1").unwrap_or_default();
        assert_eq!(span, 11..17);
        assert!(message.contains("did you mean `filter`"), "{message}");
        let (span, _) = at("filter a = ").unwrap_or_default();
        assert_eq!(span, 10..10);
        let (span, message) = at("fields a b").unwrap_or_default();
        assert_eq!(span, 9..10);
        assert!(message.contains("unexpected"), "{message}");
        let (span, _) = at("fields a || limit 1").unwrap_or_default();
        assert_eq!(span.start, 8);
        let (span, message) = at("stats count(*) by").unwrap_or_default();
        assert_eq!(span, 17..17, "{message}");
    }

    #[test]
    fn one_edit_apart() {
        assert!(strsim_close("filter", "fitler"));
        assert!(strsim_close("stats", "stat"));
        assert!(strsim_close("sort", "sorts"));
        assert!(!strsim_close("limit", "fields"));
    }
}
