//! How deeply brackets nest in a text, found without recursion: checked before anything
//! recursive reads the text (a JSON document, a pattern, a query), so that input nested
//! thousands deep is refused with a message instead of overflowing the stack.

/// The most any input may nest: far beyond CloudTrail's records (a dozen levels) and any
/// query or pattern a person writes, far below what overflows a thread's stack.
pub const MAX_NESTING: usize = 100;

/// The deepest nesting of `(`, `[` and `{` in `text`, outside double-quoted strings (with
/// JSON's backslash escapes). Unbalanced closing brackets are ignored.
pub fn max_depth(text: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for (_, byte) in outside_strings(text, 0) {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The bytes of `text` from `start` on that are not inside a double-quoted string (with
/// JSON's backslash escapes), with their indexes; the quotes themselves are left out. What
/// finding brackets in JSON-like text needs.
pub fn outside_strings(text: &[u8], start: usize) -> impl Iterator<Item = (usize, u8)> + '_ {
    let (mut in_string, mut escaped) = (false, false);
    text.iter()
        .enumerate()
        .skip(start)
        .filter_map(move |(index, &byte)| {
            if in_string {
                match (escaped, byte) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                return None;
            }
            if byte == b'"' {
                in_string = true;
                return None;
            }
            Some((index, byte))
        })
}

/// `Err` with a sentence when `text` nests deeper than [`MAX_NESTING`].
///
/// # Errors
///
/// The sentence, naming the depth.
pub fn check(text: &[u8]) -> Result<(), String> {
    let depth = max_depth(text);
    if depth > MAX_NESTING {
        Err(format!(
            "brackets nest {depth} levels deep, more than the {MAX_NESTING} anything Trailhound reads may have"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert_eq!(max_depth(br#"{"a":[1,{"b":"(((("}]}"#), 3);
        assert_eq!(max_depth(br#""\"{{{""#), 0);
        assert_eq!(max_depth(b"a = 1 and (b = 2 or (c = 3))"), 2);
        assert!(check(&[b'['; 101]).is_err());
        assert!(check(&[b'['; 100]).is_ok());
        assert!(check(b"[[[]]]").is_ok());
    }
}
