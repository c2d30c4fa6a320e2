//! When a rate leaves its baseline, and when it comes back.
//!
//! The rule, for each minute `t` of a series:
//!
//! - **Baseline**: the series over the `baseline` minutes before `t` (7 days by default, fewer
//!   while the lake holds less history). Its *average* per minute (zero minutes included) is
//!   what Insights reports; its *reference rate* is the larger of that average and the average
//!   of the busiest hour in the baseline, so that a daily or weekly rhythm the baseline has
//!   already seen (afternoons, Mondays) is not mistaken for a burst.
//! - **Start**: no insight before `learning` minutes of history; then a minute starts one when
//!   its count is at least `min_count`, at least `min_ratio` times the reference rate, and so
//!   improbable under a Poisson rate equal to the reference that `P(X ≥ count) <
//!   significance`. The floor keeps calm APIs (a call a day) from firing on every call; the
//!   probability test lets busy APIs fire on a burst of a few standard deviations.
//! - **End**: the first later minute whose count is no longer surprising
//!   (`P(X ≥ count) ≥ continue_significance`, or not above the reference rate). An insight
//!   still going at the end of the data has no End yet; a later run adds it.

use crate::InsightsError;
use crate::poisson::ln_upper_tail;
use crate::series::{Minute, Series};

/// The tunable parts of the rule (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Minutes of history a baseline covers.
    pub baseline_minutes: i64,
    /// Minutes of history needed before anything can fire.
    pub learning_minutes: i64,
    /// Fewest calls (or errors) in one minute that can start an insight.
    pub min_count: u64,
    /// A starting minute's count must be at least this many times the reference rate.
    pub min_ratio: f64,
    /// How improbable a starting minute must be under the baseline.
    pub significance: f64,
    /// An insight goes on while its minutes are at least this improbable.
    pub continue_significance: f64,
    /// Count write calls only, as AWS does (reads are counted too by default).
    pub write_only: bool,
    /// History a principal, access key or account needs before its first use of something
    /// becomes a first-seen finding (see [`crate::first_seen()`]).
    pub first_seen_learning_minutes: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            baseline_minutes: 7 * 24 * 60,
            learning_minutes: 36 * 60,
            min_count: 5,
            min_ratio: 3.0,
            significance: 1e-7,
            continue_significance: 1e-2,
            write_only: false,
            first_seen_learning_minutes: 7 * 24 * 60,
        }
    }
}

impl Settings {
    /// Checks that the settings make sense together.
    pub fn validate(&self) -> Result<(), InsightsError> {
        let fail = |what: &str| Err(InsightsError::Settings(what.to_owned()));
        if self.baseline_minutes < 60 {
            return fail("the baseline must cover at least an hour");
        }
        if self.learning_minutes < 0 || self.first_seen_learning_minutes < 0 {
            return fail("a learning period cannot be negative");
        }
        if self.min_count == 0 {
            return fail("--min-count must be at least 1");
        }
        if !(self.min_ratio >= 1.0 && self.min_ratio.is_finite()) {
            return fail("--min-ratio must be a number of at least 1");
        }
        for (name, value) in [
            ("--significance", self.significance),
            ("the continue significance", self.continue_significance),
        ] {
            if !(value > 0.0 && value < 1.0) {
                return Err(InsightsError::Settings(format!(
                    "{name} must be between 0 and 1 (exclusive), not {value}"
                )));
            }
        }
        Ok(())
    }
}

/// How much history the lake holds for a series' account and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// The first minute with any event.
    pub first: Minute,
    /// The minute after the last one with any event: minutes from here on are not known yet.
    pub end: Minute,
}

/// An unusual stretch of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// The first unusual minute.
    pub start: Minute,
    /// The first minute back to normal; `None` while the data ends inside the anomaly.
    pub end: Option<Minute>,
    /// Calls (or errors) per minute in the baseline.
    pub baseline_average: f64,
    /// The rate the minutes were judged against (see the module documentation).
    pub reference_rate: f64,
    /// Minutes the baseline covered.
    pub baseline_minutes: i64,
    /// The count in the first minute.
    pub first_count: u64,
    /// The count over the whole anomaly (up to the data's end while it goes on).
    pub total: u64,
}

impl Anomaly {
    /// Minutes from start to end (or to the end of the data).
    pub fn duration(&self, coverage: Coverage) -> i64 {
        (self.end.unwrap_or(coverage.end) - self.start).max(1)
    }
}

/// Finds the anomalies of `series` that start in `[from, to)`.
pub fn detect(
    series: &Series,
    coverage: Coverage,
    from: Minute,
    to: Minute,
    settings: &Settings,
) -> Vec<Anomaly> {
    let points = &series.points;
    let hours = hourly(points);
    let ln_start = settings.significance.ln();
    let ln_continue = settings.continue_significance.ln();
    let mut window = Window::default();
    let mut found = Vec::new();
    let mut index = points.partition_point(|(m, _)| *m < from);
    while index < points.len() && points[index].0 < to {
        let (minute, count) = points[index];
        let covered = settings.baseline_minutes.min(minute - coverage.first);
        if covered < settings.learning_minutes.max(1) || count < settings.min_count {
            index += 1;
            continue;
        }
        window.slide(points, &hours, minute - covered, minute);
        let average = window.sum as f64 / covered as f64;
        let reference = average.max(window.busiest_hour() as f64 / 60.0);
        let starts = count as f64 >= settings.min_ratio * reference
            && ln_upper_tail(count, reference) < ln_start;
        if !starts {
            index += 1;
            continue;
        }
        let mut total = count;
        let mut next = minute + 1;
        let end = loop {
            if next >= coverage.end {
                break None;
            }
            let later = series.count(next);
            let unusual = later as f64 > reference && ln_upper_tail(later, reference) < ln_continue;
            if !unusual {
                break Some(next);
            }
            total += later;
            next += 1;
        };
        found.push(Anomaly {
            start: minute,
            end,
            baseline_average: average,
            reference_rate: reference,
            baseline_minutes: covered,
            first_count: count,
            total,
        });
        let resume = end.unwrap_or(coverage.end);
        index = points.partition_point(|(m, _)| *m < resume);
    }
    found
}

/// Hourly sums of a series, ascending by hour.
fn hourly(points: &[(Minute, u64)]) -> Vec<(i64, u64)> {
    let mut hours: Vec<(i64, u64)> = Vec::new();
    for (minute, count) in points {
        let hour = minute.div_euclid(60);
        match hours.last_mut() {
            Some((last, sum)) if *last == hour => *sum += count,
            _ => hours.push((hour, *count)),
        }
    }
    hours
}

/// The baseline window as it slides forward: the sum of its minutes, and the busiest whole
/// hour inside it (a deque of hours with falling sums, the usual sliding maximum).
#[derive(Default)]
struct Window {
    /// Points `[low, high)` are inside.
    low: usize,
    high: usize,
    sum: u64,
    /// Hours before `hour_high` have been considered; `busiest` holds the candidates.
    hour_high: usize,
    busiest: std::collections::VecDeque<(i64, u64)>,
}

impl Window {
    fn slide(&mut self, points: &[(Minute, u64)], hours: &[(i64, u64)], from: Minute, to: Minute) {
        while self.high < points.len() && points[self.high].0 < to {
            self.sum += points[self.high].1;
            self.high += 1;
        }
        while self.low < self.high && points[self.low].0 < from {
            self.sum -= points[self.low].1;
            self.low += 1;
        }
        // Whole hours only: the hour `to` falls in is still going on.
        let (first_hour, last_hour) = (from.div_euclid(60), to.div_euclid(60));
        while self.hour_high < hours.len() && hours[self.hour_high].0 < last_hour {
            let entry = hours[self.hour_high];
            while self.busiest.back().is_some_and(|(_, sum)| *sum <= entry.1) {
                self.busiest.pop_back();
            }
            self.busiest.push_back(entry);
            self.hour_high += 1;
        }
        while self
            .busiest
            .front()
            .is_some_and(|(hour, _)| *hour < first_hour)
        {
            self.busiest.pop_front();
        }
    }

    fn busiest_hour(&self) -> u64 {
        self.busiest.front().map_or(0, |(_, sum)| *sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::{InsightType, SeriesKey};

    const DAY: i64 = 24 * 60;

    fn series(points: Vec<(Minute, u64)>) -> Series {
        Series::new(
            SeriesKey {
                account: "111122223333".into(),
                region: "us-east-1".into(),
                event_source: "secretsmanager.amazonaws.com".into(),
                event_name: "GetSecretValue".into(),
                insight_type: InsightType::ApiCallRate,
                error_code: None,
            },
            points,
        )
    }

    /// A deterministic Poisson-like background: `rate` calls a minute on average, shaped by
    /// a daily rhythm (peaks at 15:00, nights at a third) and quieter weekends.
    fn background(days: i64, rate: f64, seed: u64) -> Vec<(Minute, u64)> {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut points = Vec::new();
        for minute in 0..days * DAY {
            let hour = (minute % DAY) as f64 / 60.0;
            let weekend = (minute / DAY) % 7 >= 5;
            let shape = (0.3 + (-((hour - 15.0).powi(2)) / 18.0).exp()) / 0.61;
            let lambda = rate * shape * if weekend { 0.45 } else { 1.0 };
            // Knuth's method: fine for the small rates of a test.
            let limit = (-lambda).exp();
            let (mut k, mut p) = (0u64, 1.0);
            loop {
                p *= next();
                if p <= limit {
                    break;
                }
                k += 1;
            }
            if k > 0 {
                points.push((minute, k));
            }
        }
        points
    }

    fn coverage(days: i64) -> Coverage {
        Coverage {
            first: 0,
            end: days * DAY,
        }
    }

    #[test]
    fn a_rhythmic_background_stays_quiet() {
        for (rate, seed) in [(0.02, 1), (0.5, 2), (3.0, 3), (20.0, 4)] {
            let s = series(background(21, rate, seed));
            let found = detect(&s, coverage(21), 0, 21 * DAY, &Settings::default());
            assert!(found.is_empty(), "rate {rate}: {found:?}");
        }
    }

    #[test]
    fn a_burst_fires_in_its_own_minute_and_ends() {
        let mut points = background(14, 0.5, 7);
        let at = 10 * DAY + 13 * 60 + 7;
        points.retain(|(m, _)| !(at..at + 3).contains(m));
        points.extend([(at, 20), (at + 1, 9)]);
        let s = series(points);
        let found = detect(&s, coverage(14), 0, 14 * DAY, &Settings::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let anomaly = &found[0];
        assert_eq!(anomaly.start, at);
        assert_eq!(anomaly.end, Some(at + 2));
        assert_eq!(anomaly.first_count, 20);
        assert_eq!(anomaly.total, 29);
        assert_eq!(anomaly.baseline_minutes, 7 * DAY);
        assert!((anomaly.baseline_average - 0.4).abs() < 0.15, "{anomaly:?}");
    }

    #[test]
    fn calm_apis_do_not_fire_on_single_calls() {
        // A call every few hours, then four calls in one minute: below the floor.
        let mut points: Vec<(Minute, u64)> = (0..14 * 8).map(|i| (i * 180, 1)).collect();
        points.push((12 * DAY + 1, 4));
        let s = series(points.clone());
        assert!(detect(&s, coverage(14), 0, 14 * DAY, &Settings::default()).is_empty());
        // Never seen before, then a burst: fires.
        points.push((13 * DAY, 6));
        let s = series(points);
        let found = detect(&s, coverage(14), 0, 14 * DAY, &Settings::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].start, 13 * DAY);
    }

    #[test]
    fn nothing_fires_while_learning() {
        let s = series(vec![(10, 50)]);
        assert!(detect(&s, coverage(3), 0, 3 * DAY, &Settings::default()).is_empty());
        let s = series(vec![(2 * DAY, 50)]);
        assert_eq!(
            detect(&s, coverage(3), 0, 3 * DAY, &Settings::default()).len(),
            1
        );
    }

    #[test]
    fn an_anomaly_at_the_end_of_the_data_is_open() {
        let s = series(vec![(3 * DAY - 2, 40), (3 * DAY - 1, 40)]);
        let found = detect(&s, coverage(3), 0, 3 * DAY, &Settings::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].end, None);
        assert_eq!(found[0].total, 80);
        assert_eq!(found[0].duration(coverage(3)), 2);
    }

    #[test]
    fn only_the_asked_range_is_reported() {
        let s = series(vec![(2 * DAY, 50), (3 * DAY, 50)]);
        let found = detect(&s, coverage(4), 3 * DAY - 5, 4 * DAY, &Settings::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].start, 3 * DAY);
    }

    #[test]
    fn settings_are_checked() {
        let bad = Settings {
            significance: 0.0,
            ..Settings::default()
        };
        assert!(bad.validate().is_err());
        assert!(Settings::default().validate().is_ok());
    }
}
