//! Charts as inline SVG, so that a report is one file that needs no network and no script:
//! columns for a series over days, bars for a ranking. Each chart has a title and a text
//! alternative for screen readers; the figure's table beside it holds the exact numbers.

use std::fmt::Write;

use serde_json::Value;

use crate::figure::{Chart, Figure};

/// Colours of the overlaid series (all events, then failed calls): dark enough on white for
/// the contrast WCAG asks of graphics, and distinct in greyscale print.
const SERIES: [&str; 3] = ["#4a6fa5", "#c0392b", "#2d7d46"];

/// The figure's chart as SVG, or `None` when it has no chart or no rows.
pub fn svg(figure: &Figure) -> Option<String> {
    let chart = figure.chart.as_ref()?;
    if figure.rows.is_empty() {
        return None;
    }
    match chart {
        Chart::Columns { label, values } => columns(figure, label, values),
        Chart::Bars { label, value } => bars(figure, label, value),
    }
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or(0.0)
}

fn label_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".to_owned(),
        other => other.to_string(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round maximum for the axis: 1, 2 or 5 times a power of ten.
fn axis_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * power)
        .find(|top| *top >= max)
        .unwrap_or(10.0 * power)
}

fn columns(figure: &Figure, label: &str, values: &[String]) -> Option<String> {
    let labels: Vec<String> = figure.column(label)?.map(label_text).collect();
    let series: Vec<Vec<f64>> = values
        .iter()
        .map(|v| figure.column(v).map(|c| c.map(number).collect()))
        .collect::<Option<_>>()?;
    let max = axis_max(series.iter().flatten().copied().fold(0.0, f64::max));
    let (width, height, left, bottom, top) = (720.0, 240.0, 56.0, 36.0, 12.0);
    let plot_height = height - bottom - top;
    let step = (width - left - 8.0) / labels.len().max(1) as f64;
    let bar = (step * 0.8).max(1.0);
    let mut svg = String::new();
    let description = format!(
        "{} per {}: {}",
        values.join(" and "),
        label,
        summary(&labels, &series[0])
    );
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>"#,
        id = escape(&figure.id),
        title = escape(&figure.title),
        desc = escape(&description)
    );
    for tick in 0..=4 {
        let value = max * f64::from(tick) / 4.0;
        let y = top + plot_height - plot_height * f64::from(tick) / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" font-size="10" text-anchor="end">{value}</text>"##,
            x2 = width - 8.0,
            tx = left - 4.0,
            ty = y + 3.0,
            value = compact(value)
        );
    }
    for (index, name) in labels.iter().enumerate() {
        let x = left + step * index as f64 + (step - bar) / 2.0;
        for (n, points) in series.iter().enumerate() {
            let value = points.get(index).copied().unwrap_or(0.0);
            let h = plot_height * value / max;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{fill}"><title>{name}: {value} {series}</title></rect>"#,
                y = top + plot_height - h,
                fill = SERIES[n % SERIES.len()],
                name = escape(name),
                series = escape(&values[n]),
            );
        }
        // Label every day when there is room, else about twelve of them.
        let every = labels.len().div_ceil(12).max(1);
        if index % every == 0 {
            let short = name.get(..10).unwrap_or(name);
            let _ = write!(
                svg,
                r#"<text x="{cx:.1}" y="{ly}" font-size="10" text-anchor="middle">{text}</text>"#,
                cx = x + bar / 2.0,
                ly = height - bottom + 14.0,
                text = escape(short.get(5..).unwrap_or(short))
            );
        }
    }
    let mut legend_x = left;
    for (n, name) in values.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<rect x="{legend_x}" y="{ly}" width="10" height="10" fill="{fill}"/><text x="{tx}" y="{ty}" font-size="11">{name}</text>"#,
            ly = height - 14.0,
            fill = SERIES[n % SERIES.len()],
            tx = legend_x + 14.0,
            ty = height - 5.0,
            name = escape(name)
        );
        legend_x += 24.0 + 7.0 * name.len() as f64;
    }
    svg.push_str("</svg>");
    Some(svg)
}

fn bars(figure: &Figure, label: &str, value: &str) -> Option<String> {
    let labels: Vec<String> = figure.column(label)?.map(label_text).collect();
    let values: Vec<f64> = figure.column(value)?.map(number).collect();
    let max = axis_max(values.iter().copied().fold(0.0, f64::max));
    let (width, row, left) = (720.0, 18.0, 300.0);
    let height = row * labels.len() as f64 + 8.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>"#,
        id = escape(&figure.id),
        title = escape(&figure.title),
        desc = escape(&format!(
            "{value} by {label}: {}",
            summary(&labels, &values)
        ))
    );
    for (index, (name, v)) in labels.iter().zip(&values).enumerate() {
        let y = 4.0 + row * index as f64;
        let w = (width - left - 70.0) * v / max;
        // Long ARNs keep their end, which names the principal.
        let shown = if name.chars().count() > 46 {
            let tail: String = name
                .chars()
                .rev()
                .take(45)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("…{tail}")
        } else {
            name.clone()
        };
        let _ = write!(
            svg,
            r#"<text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end">{label}</text><rect x="{left}" y="{y:.1}" width="{w:.1}" height="{bh}" fill="{fill}"><title>{full}: {v}</title></rect><text x="{vx:.1}" y="{ty:.1}" font-size="10">{v}</text>"#,
            tx = left - 6.0,
            ty = y + 11.0,
            label = escape(&shown),
            bh = row - 5.0,
            fill = SERIES[0],
            full = escape(name),
            vx = left + w + 4.0,
        );
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// The first few points in words, for the text alternative.
fn summary(labels: &[String], values: &[f64]) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .zip(values)
        .take(8)
        .map(|(l, v)| format!("{l} {v}"))
        .collect();
    if labels.len() > 8 {
        parts.push(format!("and {} more", labels.len() - 8));
    }
    parts.join(", ")
}

/// 12500 → 12.5k, for axis ticks.
fn compact(value: f64) -> String {
    if value >= 1_000_000.0 {
        format!("{}M", value / 1_000_000.0)
    } else if value >= 1_000.0 {
        format!("{}k", value / 1_000.0)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(axis_max(0.0), 1.0);
        assert_eq!(axis_max(7.0), 10.0);
        assert_eq!(axis_max(130.0), 200.0);
        assert_eq!(axis_max(4_900.0), 5_000.0);
        assert_eq!(compact(12_500.0), "12.5k");
    }

    #[test]
    fn a_chart_has_a_bar_per_value_and_a_text_alternative() {
        let figure = Figure {
            id: "activity.daily".into(),
            number: "2.2".into(),
            title: "Events <per> day".into(),
            caption: String::new(),
            sql: String::new(),
            columns: vec!["day".into(), "events".into(), "failedCalls".into()],
            rows: vec![
                vec!["2024-07-01T00:00:00Z".into(), 10.into(), 2.into()],
                vec!["2024-07-02T00:00:00Z".into(), 30.into(), 0.into()],
            ],
            chart: Some(Chart::Columns {
                label: "day".into(),
                values: vec!["events".into(), "failedCalls".into()],
            }),
            error: None,
        };
        let svg = svg(&figure).unwrap_or_default();
        assert_eq!(svg.matches("<rect x=").count(), 4 + 2, "{svg}");
        assert!(svg.contains("<title id=\"activity.daily-title\">Events &lt;per&gt; day</title>"));
        assert!(svg.contains("2024-07-01T00:00:00Z 10"));
    }
}
