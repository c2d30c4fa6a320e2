//! Quantities as people write them in flags, configuration and rules: lengths of time (`90s`,
//! `15m`, `36h`, `7d`, `2w`, `1h30m`) and sizes (`64MiB`, `2G`). Every crate reads them here,
//! so that `--interval`, `dedup_window` and a Sigma `timespan` accept the same spellings.

use std::time::Duration;

/// Parses a length of time: numbers with units (`s`, `m` or `min`, `h`, `d`, `w`, and the
/// longer names `seconds`, `minutes`, `hours`, `days`, `weeks`), several in a row if
/// wanted (`1h30m`). Months and years are refused: their length varies, and `M` next to `m`
/// is an easy slip.
///
/// # Errors
///
/// A message saying what is wrong and how to write it.
pub fn parse_span(text: &str) -> Result<Duration, String> {
    let wrong = |why: &str| {
        format!(
            "{text:?} is not a length of time ({why}): write a number and s, m, h, d, w or y (90s, 36h, 7d, 2y)"
        )
    };
    let units = text
        .split(|c: char| c.is_ascii_digit() || c.is_whitespace())
        .filter(|unit| !unit.is_empty());
    for unit in units {
        if !SPAN_UNITS.contains(&unit) {
            return Err(wrong(&format!("unknown unit {unit:?}")));
        }
    }
    humantime::parse_duration(text.trim()).map_err(|err| wrong(&err.to_string()))
}

/// The units [`parse_span`] takes.
const SPAN_UNITS: [&str; 23] = [
    "s", "sec", "secs", "second", "seconds", "m", "min", "mins", "minute", "minutes", "h", "hr",
    "hrs", "hour", "hours", "d", "day", "days", "w", "weeks", "y", "year", "years",
];

/// Parses a byte size: `1048576`, `64MiB`, `512M`, `2GiB`, `1.5G` (binary units either way;
/// CloudTrail tooling rarely means powers of ten).
///
/// # Errors
///
/// A message saying what is wrong and how to write it.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number.parse().map_err(|_| {
        format!("{text:?} is not a size; use a number with an optional unit such as 64MiB or 2GiB")
    })?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit {other:?}; use B, KiB, MiB, GiB or TiB"
            ));
        }
    };
    let bytes = number * multiplier as f64;
    if !(1.0..=u64::MAX as f64).contains(&bytes) {
        return Err(format!("{text:?} is out of range; give at least one byte"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_units() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn reads_spans_in_every_spelling_the_configuration_uses() {
        let minutes = |m: u64| Ok(Duration::from_secs(m * 60));
        assert_eq!(parse_span("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_span("15m"), minutes(15));
        assert_eq!(parse_span("15min"), minutes(15));
        assert_eq!(parse_span(" 36h"), minutes(36 * 60));
        assert_eq!(parse_span("7d"), minutes(7 * 24 * 60));
        assert_eq!(parse_span("2w"), minutes(14 * 24 * 60));
        assert_eq!(parse_span("1h30m"), minutes(90));
        // A year as humantime counts it, 365.25 days: 2y is 730 whole days.
        assert_eq!(parse_span("2y").map(|d| d.as_secs() / 86_400), Ok(730));
        for wrong in ["", "10", "yesterday", "7 parsecs", "-1h", "2M", "1.5h"] {
            assert!(parse_span(wrong).is_err(), "{wrong:?}");
        }
    }
}
