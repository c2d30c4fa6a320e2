//! Trino's functions that DataFusion names or shapes differently, rewritten into what
//! DataFusion has: one template per name and number of arguments, `$1`, `$2`… standing for
//! the arguments. Functions with no such equivalent are provided instead
//! ([`crate::functions`]: `element_at`, the JSON functions, `date_diff`, `date_add`).

use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Value,
};

use super::{parse_expr, string};

/// String functions whose arguments Athena gives as text where the lake has a timestamp
/// (`eventTime`).
pub(super) const TAKES_TEXT: [&str; 13] = [
    "substr",
    "substring",
    "split_part",
    "strpos",
    "length",
    "lower",
    "upper",
    "concat",
    "left",
    "right",
    "starts_with",
    "regexp_like",
    "split",
];

/// (name, arguments, DataFusion's form).
const TEMPLATES: &[(&str, usize, &str)] = &[
    ("date", 1, "CAST($1 AS DATE)"),
    ("from_iso8601_date", 1, "CAST($1 AS DATE)"),
    ("to_iso8601", 1, "to_char($1, '%Y-%m-%dT%H:%M:%S%.3fZ')"),
    ("to_unixtime", 1, "date_part('epoch', $1)"),
    ("day_of_week", 1, "date_part('isodow', $1)"),
    ("dow", 1, "date_part('isodow', $1)"),
    ("day_of_month", 1, "date_part('day', $1)"),
    ("day", 1, "date_part('day', $1)"),
    ("day_of_year", 1, "date_part('doy', $1)"),
    ("doy", 1, "date_part('doy', $1)"),
    ("year", 1, "date_part('year', $1)"),
    ("quarter", 1, "date_part('quarter', $1)"),
    ("month", 1, "date_part('month', $1)"),
    ("week", 1, "date_part('week', $1)"),
    ("week_of_year", 1, "date_part('week', $1)"),
    ("hour", 1, "date_part('hour', $1)"),
    ("minute", 1, "date_part('minute', $1)"),
    ("second", 1, "date_part('second', $1)"),
    ("replace", 2, "replace($1, $2, '')"),
    ("approx_percentile", 2, "approx_percentile_cont($1, $2)"),
    ("count_if", 1, "count(CASE WHEN $1 THEN 1 END)"),
    ("arbitrary", 1, "first_value($1)"),
    ("any_value", 1, "first_value($1)"),
    ("if", 2, "CASE WHEN $1 THEN $2 END"),
    ("if", 3, "CASE WHEN $1 THEN $2 ELSE $3 END"),
    ("typeof", 1, "arrow_typeof($1)"),
    ("json_array_length", 1, "json_length($1)"),
    ("json_size", 2, "json_length(json_extract($1, $2))"),
    ("json_parse", 1, "$1"),
    ("json_format", 1, "$1"),
    ("array_join", 2, "array_to_string($1, $2)"),
    ("split", 2, "string_to_array($1, $2)"),
    ("contains", 2, "array_has($1, $2)"),
    ("levenshtein_distance", 2, "levenshtein($1, $2)"),
    ("regexp_extract", 2, "regexp_match($1, '(' || $2 || ')')[1]"),
    (
        "regexp_extract",
        3,
        "regexp_match($1, '(' || $2 || ')')[$3 + 1]",
    ),
    ("codepoint", 1, "ascii($1)"),
];

/// `from_iso8601_timestamp(eventtime)` and `cardinality(resources)`: what Athena parses from
/// text or counts in arrays, the lake has as a timestamp and as JSON.
fn typed_in_the_lake(name: &str, args: &[&Expr]) -> Option<Expr> {
    match (name, args) {
        ("from_iso8601_timestamp", [value]) if super::is_event_time(value) => {
            Some((*value).clone())
        }
        ("from_iso8601_timestamp", [value]) => {
            Some(super::call("to_timestamp", vec![(*value).clone()]))
        }
        ("cardinality", [value]) if super::is_json_column(value) => {
            Some(super::call("json_length", vec![(*value).clone()]))
        }
        _ => None,
    }
}

/// Rewrites a call of a Trino function into DataFusion's form, if it is one.
pub(super) fn rewrite(expr: &mut Expr) {
    let Expr::Function(function) = &*expr else {
        return;
    };
    if function.over.is_some() || function.filter.is_some() {
        return;
    }
    let name = function.name.to_string().to_lowercase();
    let FunctionArguments::List(list) = &function.args else {
        return;
    };
    let args: Option<Vec<&Expr>> = list
        .args
        .iter()
        .map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect();
    let Some(args) = args else {
        return;
    };
    if let Some(replacement) = typed_in_the_lake(&name, &args)
        .or_else(|| time_format(&name, &args))
        .or_else(|| template(&name, &args))
    {
        *expr = replacement;
    }
}

fn template(name: &str, args: &[&Expr]) -> Option<Expr> {
    let (_, _, form) = TEMPLATES
        .iter()
        .find(|(n, arity, _)| *n == name && *arity == args.len())?;
    let mut text = (*form).to_owned();
    // Highest first, so that `$1` does not eat the start of `$10`.
    for (index, arg) in args.iter().enumerate().rev() {
        text = text.replace(&format!("${}", index + 1), &format!("({arg})"));
    }
    parse_expr(&text)
}

/// `date_format(t, '%Y-%m-%d %H:%i')` and `date_parse(s, fmt)`: MySQL's format letters
/// (Trino's) as strftime's (DataFusion's).
fn time_format(name: &str, args: &[&Expr]) -> Option<Expr> {
    let function = match name {
        "date_format" => "to_char",
        "date_parse" => "to_timestamp",
        _ => return None,
    };
    let [value, format] = args else { return None };
    let Expr::Value(literal) = format else {
        return None;
    };
    let Value::SingleQuotedString(mysql) = &literal.value else {
        return None;
    };
    // The lake's eventTime is a timestamp already, where Athena parses text.
    if function == "to_timestamp" && super::is_event_time(value) {
        return Some((*value).clone());
    }
    Some(super::call(
        function,
        vec![(*value).clone(), string(&strftime(mysql))],
    ))
}

/// MySQL format letters as strftime's.
fn strftime(mysql: &str) -> String {
    let mut out = String::with_capacity(mysql.len());
    let mut chars = mysql.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(letter) = chars.next() else {
            out.push('%');
            break;
        };
        out.push_str(match letter {
            'i' => "%M",
            's' | 'S' => "%S",
            'T' => "%H:%M:%S",
            'f' => "%6f",
            'M' => "%B",
            'W' => "%A",
            'c' => "%-m",
            'e' => "%-d",
            'h' | 'I' => "%I",
            'k' => "%-H",
            'l' => "%-I",
            'r' => "%I:%M:%S %p",
            'v' => "%V",
            'x' => "%G",
            other => {
                out.push('%');
                out.push(other);
                continue;
            }
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_formats_become_strftime() {
        assert_eq!(strftime("%Y-%m-%d %H:%i:%s"), "%Y-%m-%d %H:%M:%S");
        assert_eq!(strftime("%Y-%m-%dT%T.%fZ"), "%Y-%m-%dT%H:%M:%S.%6fZ");
        assert_eq!(strftime("%W, %M %e"), "%A, %B %-d");
        assert_eq!(strftime("100%"), "100%");
    }
}
