//! An insight explained: its API's rate minute by minute against the baseline, as a chart a
//! terminal can show and as the series a dashboard can draw.

use std::fmt::Write;

use crate::record::format_minute;
use crate::series::{Minute, Series};

/// One minute of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPoint {
    /// The minute.
    pub minute: Minute,
    /// Calls (or errors) in it.
    pub count: u64,
    /// Whether it lies inside the insight.
    pub inside: bool,
}

/// Every minute from `from` to `to` (exclusive), zeros included.
pub fn points(
    series: &Series,
    from: Minute,
    to: Minute,
    insight: (Minute, Minute),
) -> Vec<ChartPoint> {
    (from..to)
        .map(|minute| ChartPoint {
            minute,
            count: series.count(minute),
            inside: (insight.0..insight.1).contains(&minute),
        })
        .collect()
}

/// A bar per minute, scaled to `width` columns, with the baseline average marked.
pub fn render(points: &[ChartPoint], baseline: f64, width: usize) -> String {
    let peak = points
        .iter()
        .map(|p| p.count as f64)
        .fold(baseline, f64::max)
        .max(1.0);
    let scale = |value: f64| ((value / peak) * width as f64).round() as usize;
    let mark = scale(baseline).min(width);
    let mut out = String::new();
    for point in points {
        let bar = scale(point.count as f64).min(width);
        let mut line: Vec<char> = std::iter::repeat_n('█', bar)
            .chain(std::iter::repeat_n(' ', width - bar))
            .collect();
        if mark < width && mark >= bar {
            line[mark] = '┆';
        }
        let time = format_minute(point.minute);
        let label = time.get(11..16).unwrap_or(&time);
        let flag = if point.inside { '▶' } else { ' ' };
        let _ = writeln!(
            out,
            "{label} {flag} {} {:>6}",
            line.into_iter().collect::<String>(),
            point.count
        );
    }
    let _ = writeln!(
        out,
        "┆ baseline {} per minute   ▶ inside the insight",
        crate::record::format_average(baseline)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::{InsightType, SeriesKey};

    #[test]
    fn bars_scale_to_the_peak_and_mark_the_insight() {
        let key = SeriesKey {
            account: "1".into(),
            region: "r".into(),
            event_source: "s".into(),
            event_name: "n".into(),
            insight_type: InsightType::ApiCallRate,
            error_code: None,
        };
        let series = Series::new(key, vec![(10, 2), (11, 20)]);
        let points = points(&series, 9, 13, (11, 12));
        assert_eq!(points.len(), 4);
        let text = render(&points, 1.0, 20);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[2].contains('▶') && lines[2].ends_with("    20"));
        assert_eq!(lines[2].matches('█').count(), 20);
        assert_eq!(lines[1].matches('█').count(), 2);
        assert!(lines[0].contains('┆'));
    }
}
