//! Times as people write them on a command line or in a URL: absolute (RFC 3339, a date) or
//! an age relative to now (`24h`, `7d`), shared by the CLI's flags and the HTTP API.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

/// A time bound as the user wrote it: absolute, or an age relative to when the command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    /// An instant.
    At(DateTime<Utc>),
    /// This long before now.
    Ago(Duration),
}

impl TimeBound {
    /// The instant, taking ages back from `now`.
    pub fn resolve(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            TimeBound::At(time) => time,
            TimeBound::Ago(age) => now - age,
        }
    }
}

/// Parses a length of time such as `90m`, `36h` or `7d` (the age forms of
/// [`parse_time_bound`]).
pub fn parse_age(text: &str) -> Result<Duration, String> {
    match parse_time_bound(text) {
        Ok(TimeBound::Ago(age)) if age > Duration::zero() => Ok(age),
        _ => Err(format!(
            "'{text}' is not a length of time: write a number and s, m, h, d, w or y (36h, 7d, 2y)"
        )),
    }
}

/// Parses `2024-07-31T13:00:00Z`, `2024-07-31T13:00` (UTC), `2024-07-31` (midnight UTC), or
/// an age: a number and one of `s`, `m`, `h`, `d`, `w` (`90m`, `24h`, `7d`).
pub fn parse_time_bound(text: &str) -> Result<TimeBound, String> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(TimeBound::At(time.to_utc()));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(TimeBound::At(time.and_utc()));
        }
    }
    if let Some(midnight) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
    {
        return Ok(TimeBound::At(midnight.and_utc()));
    }
    let age = trailhound_event::quantity::parse_span(text)
        .ok()
        .and_then(|span| Duration::from_std(span).ok())
        .ok_or_else(|| usage(text))?;
    Ok(TimeBound::Ago(age))
}

fn usage(text: &str) -> String {
    format!(
        "{text:?} is not a time; use RFC 3339 (2024-07-31T13:00:00Z), a date (2024-07-31) \
         or an age such as 90m, 24h, 7d, 2w"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_absolute_and_relative_times() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| TimeBound::At(t.to_utc()))
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            parse_time_bound("2024-07-31T13:00:00Z"),
            at("2024-07-31T13:00:00Z")
        );
        assert_eq!(
            parse_time_bound("2024-07-31T13:00"),
            at("2024-07-31T13:00:00Z")
        );
        assert_eq!(parse_time_bound("2024-07-31"), at("2024-07-31T00:00:00Z"));
        assert_eq!(
            parse_time_bound("24h"),
            Ok(TimeBound::Ago(Duration::hours(24)))
        );
        assert_eq!(
            parse_time_bound("7d"),
            Ok(TimeBound::Ago(Duration::days(7)))
        );
        assert!(parse_time_bound("yesterday").is_err());
        assert!(parse_time_bound("5q").is_err());
    }
}
