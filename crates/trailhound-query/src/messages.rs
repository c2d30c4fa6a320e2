//! DataFusion's messages in the user's terms: what is wrong with the query, in the words of
//! CloudTrail and of the dialect it was written in, without DataFusion's settings, optimizer
//! rule names or requests to report a bug in DataFusion.

use std::sync::LazyLock;

use regex::Regex;

/// Columns of CloudTrail Lake's event data stores that the lake has no equivalent for, and
/// what to use instead.
const LAKE_ONLY_COLUMNS: [(&str, &str); 1] = [(
    "eventJsonChecksum",
    "CloudTrail Lake's checksum of the stored event; the lake keeps the record itself \
     (eventJson), and `trailhound validate` proves the trail's files unchanged",
)];

/// Functions of Trino that neither DataFusion nor Trailhound has, and how to say the same.
const TRINO_INSTEAD: [(&str, &str); 6] = [
    ("url_extract_host", "regexp_match(url, '://([^/:]+)')[1]"),
    (
        "format_datetime",
        "date_format(time, '%Y-%m-%d %H:%i:%s') or to_char(time, '%Y-%m-%d')",
    ),
    (
        "parse_datetime",
        "date_parse(text, '%Y-%m-%d %H:%i:%s') or to_timestamp(text)",
    ),
    (
        "regexp_extract_all",
        "regexp_match(text, pattern) for the first match, regexp_count to count them",
    ),
    (
        "json_array_contains",
        "json_contains(json, key) for a key, or strpos(json, value) > 0",
    ),
    ("map_keys", "json_object_keys(json)"),
];

/// `message` without DataFusion's wording.
pub(crate) fn plain(message: &str) -> String {
    let mut text = message.trim().to_owned();
    // The chain of wrappers: the cause is what the user needs.
    if let Some(cause) = text
        .rsplit("caused by\n")
        .next()
        .filter(|_| text.contains("caused by\n"))
    {
        text = cause.trim().to_owned();
    }
    loop {
        let before = text.len();
        for prefix in [
            "Error during planning: ",
            "Schema error: ",
            "This feature is not implemented: ",
            "SQL error: ",
            "sql parser error: ",
            "SQL error: ",
            "Arrow error: ",
            "Parser error: ",
            "External error: ",
            "Execution error: ",
            "Internal error: ",
        ] {
            if let Some(rest) = text.strip_prefix(prefix) {
                text = rest.to_owned();
            }
        }
        if text.len() == before {
            break;
        }
    }
    // sqlparser's errors come as their Debug form: `ParserError("Expected: …")`.
    for wrapper in ["ParserError(\"", "TokenizerError(\""] {
        if let Some(rest) = text.strip_prefix(wrapper) {
            text = rest
                .strip_suffix("\")")
                .unwrap_or(rest)
                .replace("\\\"", "\"");
        }
    }
    for tail in [
        "This issue was likely caused by a bug",
        "\nValid fields are",
        "Valid fields are",
    ] {
        if let Some(at) = text.find(tail) {
            text.truncate(at);
        }
    }
    text = without_settings_advice(text.trim_end());
    text = qualified_names(&text);
    // DataFusion names its plan's expressions here; the rule is what the user needs.
    if text.starts_with("Column in SELECT must be in GROUP BY") {
        return "every column the query selects must be in its GROUP BY or inside an aggregate \
                (count, max, array_agg, …)"
            .to_owned();
    }
    if let Some(rewritten) = unknown_table(&text)
        .or_else(|| lake_store_refused(&text))
        .or_else(|| unknown_column(&text))
        .or_else(|| unknown_function(&text))
        .or_else(|| unreadable_time(&text))
        .or_else(|| mismatched_types(&text))
    {
        return rewritten;
    }
    text
}

/// A lake on S3 that the credentials cannot read: none found (object_store then tries the
/// instance metadata endpoint), or ones the bucket refuses.
fn lake_store_refused(text: &str) -> Option<String> {
    let no_credentials = text.contains("169.254.169.254") || text.contains("latest/api/token");
    let refused = text.contains("AccessDenied")
        || text.contains("InvalidAccessKeyId")
        || text.contains("SignatureDoesNotMatch")
        || text.contains("ExpiredToken");
    let advice = if no_credentials {
        "no AWS credentials were found to read the lake's files on S3: set AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --lake-profile"
    } else if refused {
        "the lake's bucket refused the credentials: they need s3:GetObject on the lake's prefix \
         (check AWS_PROFILE or --lake-profile)"
    } else {
        return None;
    };
    Some(format!(
        "{advice} ({})",
        text.lines().next().unwrap_or(text)
    ))
}

/// "Cannot infer common argument type for comparison operation Boolean > Utf8": which kinds
/// of value were compared, in the user's words.
fn mismatched_types(text: &str) -> Option<String> {
    static COMPARISON: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"Cannot infer common argument type for comparison operation (\w+)(?:\([^)]*\))? (\S+) (\w+)").ok()
    });
    let captures = COMPARISON.as_ref()?.captures(text)?;
    fn kind(name: &str) -> &str {
        match name {
            "Boolean" => "true/false value",
            "Utf8" | "Utf8View" | "LargeUtf8" => "text",
            "Timestamp" => "time",
            "Null" => "NULL",
            n if n.starts_with("Int")
                || n.starts_with("UInt")
                || n.starts_with("Float")
                || n.starts_with("Decimal") =>
            {
                "number"
            }
            other => other,
        }
    }
    let (left, op, right) = (
        captures.get(1)?.as_str(),
        captures.get(2)?.as_str(),
        captures.get(3)?.as_str(),
    );
    Some(format!(
        "cannot compare a {} with a {} ({op}): compare like with like, e.g. readOnly = true, \
         eventTime > TIMESTAMP '2024-07-01', errorCode = 'AccessDenied'",
        kind(left),
        kind(right)
    ))
}

/// `events."eventJson"` as the user writes it: `eventJson`.
fn qualified_names(text: &str) -> String {
    static QUALIFIED: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r#"'?\b\w+\."([^"]+)"'?"#).ok());
    match QUALIFIED.as_ref() {
        Some(qualified) => qualified.replace_all(text, "$1").into_owned(),
        None => text.to_owned(),
    }
}

fn unknown_table(text: &str) -> Option<String> {
    static TABLE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"table '(?:[^'.]+\.)*([^'.]+)' not found").ok());
    let name = TABLE.as_ref()?.captures(text)?.get(1)?.as_str();
    Some(format!(
        "unknown table {name}: the tables are events, findings, insights and computed_insights. \
         A query pasted from CloudTrail Lake or Athena may name the events table as it did there \
         ($EDS_ID, <event data store ID>, the store's ID or ARN, cloudtrail_logs…)"
    ))
}

fn unknown_column(text: &str) -> Option<String> {
    static COLUMN: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r#"No field named "?([^".\s]+(?:\.[^".\s]+)*)"?\."#).ok());
    let name = COLUMN.as_ref()?.captures(text)?.get(1)?.as_str();
    if let Some((_, instead)) = LAKE_ONLY_COLUMNS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        return Some(format!("unknown column {name}: it is {instead}"));
    }
    let suggestion = text
        .split_once("Did you mean ")
        .map(|(_, rest)| format!(" Did you mean {}", rest.trim()))
        .unwrap_or_default();
    Some(format!(
        "unknown column {name}.{suggestion} The columns are CloudTrail's (eventName, \
         userIdentity.arn, requestParameters.bucketName, …) and the partitions account, region \
         and date"
    ))
}

fn unknown_function(text: &str) -> Option<String> {
    static FUNCTION: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"Invalid function '([^']+)'").ok());
    let name = FUNCTION.as_ref()?.captures(text)?.get(1)?.as_str();
    if let Some((_, instead)) = TRINO_INSTEAD
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        return Some(format!("unknown function {name}: write {instead}"));
    }
    let suggestion = text
        .split_once("Did you mean ")
        .map(|(_, rest)| format!(" Did you mean {}", rest.trim()))
        .unwrap_or_default();
    Some(format!("unknown function {name}.{suggestion}"))
}

fn unreadable_time(text: &str) -> Option<String> {
    static TIME: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"Error parsing timestamp from '([^']*)'(?::\s*(.*))?").ok());
    let found = TIME.as_ref()?.captures(text)?;
    let value = found.get(1)?.as_str();
    Some(format!(
        "cannot read '{value}' as a time: write '2024-07-01T12:00:00Z', '2024-07-01 12:00:00' or \
         '2024-07-01'{}",
        if value.contains("${") || value.starts_with('<') {
            " (the query still holds a placeholder to fill in)"
        } else {
            ""
        }
    ))
}

/// DataFusion follows a wrongly cased column name with advice to quote it or to switch off
/// `datafusion.sql_parser.enable_ident_normalization`: advice for a DataFusion user. Here
/// names match in any case, and settings cannot be changed (`SET` is refused).
fn without_settings_advice(message: &str) -> String {
    const ADVICE_STARTS: &str = "Column names are case sensitive.";
    const ADVICE_ENDS: &str = "enable_ident_normalization configuration.";
    let Some(start) = message.find(ADVICE_STARTS) else {
        return message.to_owned();
    };
    let Some(end) = message[start..].find(ADVICE_ENDS) else {
        return message.to_owned();
    };
    format!(
        "{}{}",
        &message[..start],
        &message[start + end + ADVICE_ENDS.len()..]
    )
}

/// A syntax error of `sql` with its place shown: sqlparser's `Expected: X, found: Y at Line:
/// 3, Column: 7` as the line with a mark under the place.
pub(crate) fn syntax_error(message: &str, sql: &str) -> String {
    static PLACE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"\s*at Line: (\d+), Column: (\d+)").ok());
    let text = plain(message);
    let Some(found) = PLACE.as_ref().and_then(|place| place.captures(&text)) else {
        return format!("syntax error: {text}");
    };
    let number = |i: usize| found.get(i).and_then(|m| m.as_str().parse::<usize>().ok());
    let (Some(line_number), Some(column), Some(whole)) = (number(1), number(2), found.get(0))
    else {
        return format!("syntax error: {text}");
    };
    let what = text[..whole.start()]
        .replace("Expected: ", "expected ")
        .replace(", found: ", ", found ");
    let Some(line) = sql.lines().nth(line_number.saturating_sub(1)) else {
        return format!("syntax error: {what}");
    };
    format!(
        "syntax error: {what}\n  at line {line_number}, column {column}:\n    {line}\n    {}^",
        " ".repeat(column.saturating_sub(1))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datafusions_words_go_and_the_users_stay() {
        assert_eq!(
            plain("Error during planning: table 'datafusion.public.cloudtrial' not found"),
            unknown_table("table 'x.cloudtrial' not found").unwrap_or_default()
        );
        assert!(
            plain("Error during planning: table 'datafusion.public.cloudtrial' not found")
                .starts_with("unknown table cloudtrial:")
        );
        let column = plain(
            "Schema error: No field named eventnmae. Did you mean 'events.\"eventName\"'?.\nValid fields are events.\"eventVersion\", events.account.",
        );
        assert!(
            column.starts_with("unknown column eventnmae. Did you mean eventName?"),
            "{column}"
        );
        assert!(!column.contains("Valid fields"), "{column}");
        assert!(
            plain("Schema error: No field named \"eventJsonChecksum\". Valid fields are x.")
                .contains("CloudTrail Lake's checksum")
        );
        assert_eq!(
            plain(
                "Error during planning: Invalid function 'json_extract_scalarx'.\nDid you mean 'json_extract_scalar'?"
            ),
            "unknown function json_extract_scalarx. Did you mean 'json_extract_scalar'?"
        );
        assert!(plain("Invalid function 'url_extract_host'").contains("regexp_match"));
        let time = plain(
            "Optimizer rule 'simplify_expressions' failed\ncaused by\nArrow error: Parser error: Error parsing timestamp from '${date_filter}': error parsing date",
        );
        assert!(
            time.starts_with("cannot read '${date_filter}' as a time"),
            "{time}"
        );
        assert!(time.contains("placeholder"), "{time}");
        let internal = plain(
            "Internal error: Physical input schema should be the same. This issue was likely caused by a bug in DataFusion's code. Please help us to resolve this",
        );
        assert_eq!(internal, "Physical input schema should be the same.");
    }

    #[test]
    fn a_lake_on_s3_without_credentials_says_how_to_give_them() {
        let text = plain(
            "External error: Object Store error: Generic S3 error: Error performing PUT http://169.254.169.254/latest/api/token in 1.6ms - Server returned non-2xx status code: 403 Forbidden",
        );
        assert!(text.starts_with("no AWS credentials were found"), "{text}");
        let denied = plain("Object Store error: Generic S3 error: AccessDenied: Access Denied");
        assert!(denied.contains("s3:GetObject"), "{denied}");
    }

    #[test]
    fn syntax_errors_show_their_place() {
        let sql = "SELECT eventName\nFROM events\nGROUP\n    BY errorMessageORDER BY n";
        let message = syntax_error(
            "SQL error: ParserError(\"Expected: end of statement, found: BY at Line: 4, Column: 25\")",
            sql,
        );
        assert_eq!(
            message,
            "syntax error: expected end of statement, found BY\n  at line 4, column 25:\n        BY errorMessageORDER BY n\n                            ^"
        );
    }
}
