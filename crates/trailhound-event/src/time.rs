use chrono::{DateTime, NaiveDateTime, Utc};

/// Parses a CloudTrail `eventTime` (`2024-07-31T13:06:24Z`) into UTC.
///
/// CloudTrail writes RFC 3339 with a `Z`; some tools add fractional seconds or an offset, and a
/// few drop the zone entirely (read as UTC). Anything else is `None`, never an error: a record
/// with an unreadable time is still a record.
pub fn parse_event_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cloudtrail_and_near_variants() {
        let expected = DateTime::parse_from_rfc3339("2024-07-31T13:06:24Z").map(|t| t.to_utc());
        assert_eq!(parse_event_time("2024-07-31T13:06:24Z"), expected.ok());
        assert_eq!(parse_event_time("2024-07-31T13:06:24"), expected.ok());
        assert_eq!(parse_event_time("2024-07-31T15:06:24+02:00"), expected.ok());
        assert!(parse_event_time("2024-07-31T13:06:24.250Z").is_some());
        assert_eq!(parse_event_time("eventTime"), None);
        assert_eq!(parse_event_time(""), None);
    }
}
