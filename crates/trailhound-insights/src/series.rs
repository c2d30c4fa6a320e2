//! Per-minute counts of one API's calls or errors in one account and region: what Insights
//! watches.

use std::fmt;

/// The two kinds of CloudTrail Insights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InsightType {
    /// Unusual volume of calls to one API.
    ApiCallRate,
    /// Unusual volume of one API's calls failing with one error code.
    ApiErrorRate,
}

impl InsightType {
    /// The name CloudTrail writes in `insightType`.
    pub fn as_str(self) -> &'static str {
        match self {
            InsightType::ApiCallRate => "ApiCallRateInsight",
            InsightType::ApiErrorRate => "ApiErrorRateInsight",
        }
    }

    /// Parses CloudTrail's name.
    pub fn parse(text: &str) -> Option<InsightType> {
        match text {
            "ApiCallRateInsight" => Some(InsightType::ApiCallRate),
            "ApiErrorRateInsight" => Some(InsightType::ApiErrorRate),
            _ => None,
        }
    }
}

impl fmt::Display for InsightType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one series counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// `recipientAccountId`.
    pub account: String,
    /// `awsRegion`.
    pub region: String,
    /// The API's service, e.g. `secretsmanager.amazonaws.com`.
    pub event_source: String,
    /// The API, e.g. `GetSecretValue`.
    pub event_name: String,
    /// Calls or errors.
    pub insight_type: InsightType,
    /// For error series, the error code counted.
    pub error_code: Option<String>,
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let service = self.event_source.trim_end_matches(".amazonaws.com");
        write!(
            f,
            "{service}:{} in {}/{}",
            self.event_name, self.account, self.region
        )?;
        if let Some(code) = &self.error_code {
            write!(f, " failing with {code}")?;
        }
        Ok(())
    }
}

/// A minute, counted from the Unix epoch.
pub type Minute = i64;

/// Microseconds in a minute.
pub const MINUTE_US: i64 = 60_000_000;

/// One series: the minutes that had any calls, in order, with their counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// What is counted.
    pub key: SeriesKey,
    /// `(minute, count)`, ascending by minute, counts above zero.
    pub points: Vec<(Minute, u64)>,
}

impl Series {
    /// A series from points in any order; counts of the same minute are added up.
    pub fn new(key: SeriesKey, mut points: Vec<(Minute, u64)>) -> Series {
        points.sort_unstable_by_key(|(minute, _)| *minute);
        let mut merged: Vec<(Minute, u64)> = Vec::with_capacity(points.len());
        for (minute, count) in points {
            match merged.last_mut() {
                Some((last, total)) if *last == minute => *total += count,
                _ if count > 0 => merged.push((minute, count)),
                _ => {}
            }
        }
        Series {
            key,
            points: merged,
        }
    }

    /// The count in `minute` (zero when nothing was called).
    pub fn count(&self, minute: Minute) -> u64 {
        self.points
            .binary_search_by_key(&minute, |(m, _)| *m)
            .map_or(0, |at| self.points[at].1)
    }

    /// The sum of counts in `[from, to)`.
    pub fn total(&self, from: Minute, to: Minute) -> u64 {
        let start = self.points.partition_point(|(m, _)| *m < from);
        let end = self.points.partition_point(|(m, _)| *m < to);
        self.points[start..end].iter().map(|(_, c)| c).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SeriesKey {
        SeriesKey {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            event_source: "ec2.amazonaws.com".into(),
            event_name: "RunInstances".into(),
            insight_type: InsightType::ApiCallRate,
            error_code: None,
        }
    }

    #[test]
    fn points_are_sorted_and_merged() {
        let series = Series::new(key(), vec![(5, 1), (2, 3), (5, 2), (7, 0)]);
        assert_eq!(series.points, vec![(2, 3), (5, 3)]);
        assert_eq!(series.count(5), 3);
        assert_eq!(series.count(6), 0);
        assert_eq!(series.total(0, 5), 3);
        assert_eq!(series.total(0, 6), 6);
        assert_eq!(
            key().to_string(),
            "ec2:RunInstances in 111122223333/us-east-1"
        );
    }
}
