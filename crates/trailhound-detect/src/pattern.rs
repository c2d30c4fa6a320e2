//! Text patterns as Sigma writes them: `*` and `?` wildcards with `\` escapes, matched
//! case-insensitively unless the rule says `cased`. The common shapes (exact, prefix, suffix,
//! substring) get their own fast paths; only real globs take the general matcher.

use std::borrow::Cow;

use memchr::memmem;

/// A compiled text pattern.
#[derive(Debug, Clone)]
pub struct TextPattern {
    shape: Shape,
    cased: bool,
}

#[derive(Debug, Clone)]
enum Shape {
    Exact(String),
    Prefix(String),
    Suffix(String),
    // Boxed: a finder is large, and patterns sit in enums.
    Contains(Box<memmem::Finder<'static>>),
    Glob(Vec<Piece>),
}

/// One piece of a glob.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    AnyOne,
    AnyMany,
}

impl TextPattern {
    /// Compiles a Sigma value (wildcards and escapes as the spec defines them).
    pub fn sigma(value: &str, cased: bool) -> TextPattern {
        let pieces = split_wildcards(value, cased);
        TextPattern {
            shape: shape_of(pieces),
            cased,
        }
    }

    /// Whether `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        self.is_match_folded(&fold(text, self.cased))
    }

    /// [`TextPattern::is_match`] without lower-casing when it can: `folded` gives `text`
    /// passed through [`fold`], and is asked for only when the pattern needs it (substrings
    /// and globs of case-insensitive patterns over text that is not plain ASCII). Exact,
    /// prefix and suffix patterns compare ASCII text ignoring case in place.
    pub fn is_match_lazily<'t>(&self, text: &'t str, folded: impl FnOnce() -> &'t str) -> bool {
        if self.cased {
            return self.is_match_folded(text);
        }
        if text.is_ascii() {
            // The pattern is lower-case already; for ASCII text, ignoring ASCII case is
            // exactly what folding the text would do.
            let bytes = text.as_bytes();
            match &self.shape {
                Shape::Exact(p) => return bytes.eq_ignore_ascii_case(p.as_bytes()),
                Shape::Prefix(p) => {
                    return bytes
                        .get(..p.len())
                        .is_some_and(|head| head.eq_ignore_ascii_case(p.as_bytes()));
                }
                Shape::Suffix(p) => {
                    return bytes
                        .len()
                        .checked_sub(p.len())
                        .is_some_and(|at| bytes[at..].eq_ignore_ascii_case(p.as_bytes()));
                }
                Shape::Contains(_) | Shape::Glob(_) => {}
            }
        }
        self.is_match_folded(folded())
    }

    /// [`TextPattern::is_match`] for text already passed through [`fold`] with this pattern's
    /// casing: a field's values are folded once for all the patterns tested against them.
    pub fn is_match_folded(&self, text: &str) -> bool {
        match &self.shape {
            Shape::Exact(p) => *text == **p,
            Shape::Prefix(p) => text.starts_with(p.as_str()),
            Shape::Suffix(p) => text.ends_with(p.as_str()),
            Shape::Contains(finder) => finder.find(text.as_bytes()).is_some(),
            Shape::Glob(pieces) => glob_match(pieces, text),
        }
    }

    /// The pattern as the body of an SQL `LIKE` with a backslash as its escape, for a case-sensitive
    /// pattern (`None` for one that ignores case: SQL's `LIKE` does not).
    pub fn sql_like(&self) -> Option<String> {
        if !self.cased {
            return None;
        }
        let escape = |text: &str| {
            text.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        };
        Some(match &self.shape {
            Shape::Exact(p) => escape(p),
            Shape::Prefix(p) => format!("{}%", escape(p)),
            Shape::Suffix(p) => format!("%{}", escape(p)),
            Shape::Contains(finder) => {
                format!("%{}%", escape(&String::from_utf8_lossy(finder.needle())))
            }
            Shape::Glob(pieces) => pieces
                .iter()
                .map(|piece| match piece {
                    Piece::Literal(l) => escape(l),
                    Piece::AnyOne => "_".to_owned(),
                    Piece::AnyMany => "%".to_owned(),
                })
                .collect(),
        })
    }

    /// The exact text this pattern requires, if it is an exact match (for rule indexing).
    pub fn exact(&self) -> Option<&str> {
        match &self.shape {
            Shape::Exact(p) => Some(p),
            _ => None,
        }
    }
}

/// Lower-cases for case-insensitive matching; borrows when nothing changes.
pub fn fold(text: &str, cased: bool) -> Cow<'_, str> {
    if cased || !text.chars().any(char::is_uppercase) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

fn split_wildcards(value: &str, cased: bool) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // Sigma: a backslash escapes a following wildcard or backslash; elsewhere it is
            // itself (so Windows paths need no doubling).
            '\\' => match chars.peek() {
                Some('*' | '?' | '\\') => {
                    if let Some(next) = chars.next() {
                        literal.push(next);
                    }
                }
                _ => literal.push('\\'),
            },
            '*' | '?' => {
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(fold(&literal, cased).into_owned()));
                    literal.clear();
                }
                let piece = if c == '*' {
                    Piece::AnyMany
                } else {
                    Piece::AnyOne
                };
                // `**` is the same as `*`.
                if !(piece == Piece::AnyMany && pieces.last() == Some(&Piece::AnyMany)) {
                    pieces.push(piece);
                }
            }
            _ => literal.push(c),
        }
    }
    if !literal.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Literal(fold(&literal, cased).into_owned()));
    }
    pieces
}

fn shape_of(pieces: Vec<Piece>) -> Shape {
    match pieces.as_slice() {
        [Piece::Literal(l)] => Shape::Exact(l.clone()),
        [Piece::Literal(l), Piece::AnyMany] => Shape::Prefix(l.clone()),
        [Piece::AnyMany, Piece::Literal(l)] => Shape::Suffix(l.clone()),
        [Piece::AnyMany, Piece::Literal(l), Piece::AnyMany] => {
            Shape::Contains(Box::new(memmem::Finder::new(l.as_bytes()).into_owned()))
        }
        [Piece::AnyMany] => Shape::Prefix(String::new()),
        _ => Shape::Glob(pieces),
    }
}

/// Glob matching with backtracking to the last `*` only, which is linear enough for rule
/// values (no pathological nesting is possible with a single kind of star).
fn glob_match(pieces: &[Piece], text: &str) -> bool {
    fn matches_at(pieces: &[Piece], text: &str) -> bool {
        let Some((first, rest)) = pieces.split_first() else {
            return text.is_empty();
        };
        match first {
            Piece::Literal(l) => text
                .strip_prefix(l.as_str())
                .is_some_and(|after| matches_at(rest, after)),
            Piece::AnyOne => {
                let mut chars = text.chars();
                chars.next().is_some() && matches_at(rest, chars.as_str())
            }
            Piece::AnyMany => {
                if rest.is_empty() {
                    return true;
                }
                // Try every position where the rest could start.
                let mut positions = text.char_indices().map(|(i, _)| i).collect::<Vec<_>>();
                positions.push(text.len());
                positions
                    .into_iter()
                    .any(|i| text.get(i..).is_some_and(|tail| matches_at(rest, tail)))
            }
        }
    }
    matches_at(pieces, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        TextPattern::sigma(pattern, false).is_match(text)
    }

    #[test]
    fn shapes() {
        assert!(m("StopLogging", "stoplogging"));
        assert!(!m("StopLogging", "StopLoggingX"));
        assert!(m("Delete*", "DeleteTrail"));
        assert!(m("*Trail", "DeleteTrail"));
        assert!(m("*lete*", "DeleteTrail"));
        assert!(m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(m("Get?ecret*", "GetSecretValue"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m(
            "arn:aws:iam::*:role/*admin*",
            "arn:aws:iam::123:role/TheAdmin"
        ));
    }

    #[test]
    fn escapes_and_case() {
        assert!(m(r"a\*b", "a*b"));
        assert!(!m(r"a\*b", "axb"));
        // `\W` is a plain backslash; `\*` escapes the star, so a trailing `\\*` is needed
        // to mean "backslash, then anything".
        assert!(m(r"C:\Windows\\*", r"c:\windows\x"));
        assert!(m(r"C:\Windows\*", r"c:\windows*"));
        assert!(m(r"a\\", r"a\"));
        assert!(!TextPattern::sigma("Root", true).is_match("root"));
        assert!(TextPattern::sigma("Root", true).is_match("Root"));
        assert!(m("ÄBC", "äbc"));
    }

    #[test]
    fn matching_in_place_agrees_with_folding() {
        let patterns = [
            "stoplogging",
            "Stop*",
            "*Logging",
            "*opLog*",
            "S?op*g",
            "ÉTÉ",
            "été*",
            "",
            "*",
        ];
        let texts = [
            "StopLogging",
            "STOPLOGGING",
            "stoplogging",
            "Stop",
            "Logging",
            "xStopLoggingx",
            "ÉTÉ",
            "été",
            "Été indien",
            "",
            "K",
        ];
        for pattern in patterns {
            for cased in [false, true] {
                let compiled = TextPattern::sigma(pattern, cased);
                for text in texts {
                    let folded = fold(text, cased);
                    assert_eq!(
                        compiled.is_match_lazily(text, || &folded),
                        compiled.is_match(text),
                        "{pattern:?} (cased: {cased}) against {text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn exact_is_reported_for_indexing() {
        assert_eq!(
            TextPattern::sigma("StopLogging", false).exact(),
            Some("stoplogging")
        );
        assert_eq!(TextPattern::sigma("Stop*", false).exact(), None);
    }
}
