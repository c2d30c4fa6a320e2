//! A figure of a report: a question, the SQL that answers it, and the answer as rows. The
//! SQL is kept with the answer so that an auditor can re-run it (`trailhound query`) and get
//! the same rows.

use arrow::array::RecordBatch;
use serde::Serialize;
use trailhound_query::QueryEngine;

use crate::ReportError;

/// How a figure is drawn besides its table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Chart {
    /// One column of bars per row (a time series): `label` under each, a bar per value column.
    Columns {
        /// The column naming each row.
        label: String,
        /// The columns drawn, overlaid: the first is the largest (events, then failed calls).
        values: Vec<String>,
    },
    /// One bar per row (a ranking), `label` beside it.
    Bars {
        /// The column naming each row.
        label: String,
        /// The column drawn.
        value: String,
    },
}

/// A figure before it is computed.
#[derive(Debug, Clone)]
pub(crate) struct FigureSpec {
    pub(crate) id: &'static str,
    pub(crate) title: String,
    pub(crate) caption: String,
    pub(crate) sql: String,
    pub(crate) chart: Option<Chart>,
}

impl FigureSpec {
    pub(crate) fn new(id: &'static str, title: &str, caption: &str, sql: String) -> FigureSpec {
        FigureSpec {
            id,
            title: title.to_owned(),
            caption: caption.to_owned(),
            sql,
            chart: None,
        }
    }

    pub(crate) fn chart(mut self, chart: Chart) -> FigureSpec {
        self.chart = Some(chart);
        self
    }

    /// Asks the engine; a failing query is kept as the figure's error, not the report's: a
    /// report with one unanswerable figure still says everything else.
    pub(crate) async fn compute(self, engine: &QueryEngine) -> Figure {
        let started = std::time::Instant::now();
        let (columns, rows, error) = match engine.sql_async(&self.sql).await {
            Ok(batches) => match rows_of(&batches) {
                Ok((columns, rows)) => (columns, rows, None),
                Err(err) => (Vec::new(), Vec::new(), Some(err.to_string())),
            },
            Err(err) => (Vec::new(), Vec::new(), Some(err.to_string())),
        };
        tracing::debug!(
            figure = self.id,
            elapsed_ms = started.elapsed().as_millis() as u64,
            rows = rows.len(),
            "report figure computed"
        );
        if let Some(error) = &error {
            tracing::warn!(figure = self.id, %error, "a report figure could not be computed");
        }
        Figure {
            id: self.id.to_owned(),
            number: String::new(),
            title: self.title,
            caption: self.caption,
            sql: self.sql,
            columns,
            rows,
            chart: self.chart,
            error,
        }
    }
}

/// A computed figure.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Figure {
    /// Stable name (`activity.daily`), for templates and tooling.
    pub id: String,
    /// Its number in the report (`3.2`: section 3, second figure).
    pub number: String,
    /// What it shows.
    pub title: String,
    /// How to read it.
    pub caption: String,
    /// The query whose answer [`Figure::rows`] is, as `trailhound query` runs it.
    pub sql: String,
    /// The answer's column names.
    pub columns: Vec<String>,
    /// The answer: one array per row, in column order, as `trailhound query --format json`
    /// writes each value.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// How it is drawn, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
    /// Why there is no answer, when the query failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Figure {
    /// The values of column `name`, in row order.
    pub fn column(&self, name: &str) -> Option<impl Iterator<Item = &serde_json::Value>> {
        let at = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().filter_map(move |row| row.get(at)))
    }
}

/// Batches as column names and rows of JSON values, through the JSON writer the query
/// command uses, so that a figure's values are exactly what re-running its SQL prints.
fn rows_of(
    batches: &[RecordBatch],
) -> Result<(Vec<String>, Vec<Vec<serde_json::Value>>), ReportError> {
    let Some(first) = batches.first() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let columns: Vec<String> = first
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut text = Vec::new();
    trailhound_query::write_batches(batches, trailhound_query::Format::Jsonl, &mut text)?;
    let mut rows = Vec::new();
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(line)
            .map_err(|err| ReportError::Internal(format!("a result row is not JSON: {err}")))?;
        rows.push(
            columns
                .iter()
                .map(|c| object.get(c).cloned().unwrap_or(serde_json::Value::Null))
                .collect(),
        );
    }
    Ok((columns, rows))
}
