//! Re-laying out a record's JSON text without touching its content.
//!
//! Output must stay faithful to what AWS wrote: key order, number spelling and string escapes
//! are kept exactly; only whitespace between tokens changes. Going through a parsed value would
//! reorder keys or respell numbers, so this works on the text directly.

/// Appends `raw` with all whitespace between tokens removed: one line, ready for NDJSON.
pub fn write_compact(raw: &str, out: &mut Vec<u8>) {
    let mut in_string = false;
    let mut escaped = false;
    for &byte in raw.as_bytes() {
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if !byte.is_ascii_whitespace() {
            in_string = byte == b'"';
            out.push(byte);
        }
    }
}

/// Appends `raw` indented by two spaces per level, with `": "` after keys, as `jq` prints.
pub fn write_pretty(raw: &str, out: &mut Vec<u8>) {
    let mut compact = Vec::with_capacity(raw.len());
    write_compact(raw, &mut compact);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth * 2));
    };
    let mut bytes = compact.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                out.push(byte);
            }
            b'{' | b'[' => {
                out.push(byte);
                if matches!(bytes.peek(), Some(b'}' | b']')) {
                    if let Some(close) = bytes.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(out, depth);
                out.push(byte);
            }
            b',' => {
                out.push(byte);
                newline(out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(byte),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compact(raw: &str) -> String {
        let mut out = Vec::new();
        write_compact(raw, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn pretty(raw: &str) -> String {
        let mut out = Vec::new();
        write_pretty(raw, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn compact_keeps_strings_numbers_and_order() {
        let raw = "{\n  \"b\" : \"a \\\" b\\\\\",\n  \"a\": [ 1.50 , {} ],\n \"c\":\"x y\"\n}";
        assert_eq!(compact(raw), r#"{"b":"a \" b\\","a":[1.50,{}],"c":"x y"}"#);
    }

    #[test]
    fn pretty_indents_like_jq() {
        assert_eq!(
            pretty(r#"{"a":[1,{}],"b":{"c":"d, e: {f}"},"g":[]}"#),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {\n    \"c\": \"d, e: {f}\"\n  },\n  \"g\": []\n}"
        );
    }
}
