//! Reports for auditors and the regular review (`trailhound report`, `[[reports]]` in
//! `watch`, `GET /api/v1/report`).
//!
//! A report is a list of [`Section`]s, each a list of figures; a figure is one SQL query over
//! the lake and the catalog's tables and its answer, so every number in a report can be
//! re-computed by running the query it cites (the appendix prints them all).
//!
//! ```text
//! ReportRequest ──sections.rs: figures' SQL over the Scope──► QueryEngine (a few at once)
//!      ──► Report (JSON as is) ──render.rs: Jinja templates──► HTML | Markdown
//!                                                  HTML ──pdf.rs: headless Chromium──► PDF
//! ```
//!
//! - [`Scope`] is the period and the accounts; it is written into each query.
//! - The CIS AWS Foundations monitoring controls (4.x) come from the built-in rule pack: their
//!   CloudWatch metric-filter patterns are translated to SQL
//!   ([`trailhound_detect::MetricFilter::to_sql`]), so the report lists exactly the events the
//!   alarms would have counted.
//! - Templates are built in and can be replaced from a folder ([`Renderer::templates`]); charts
//!   are inline SVG ([`chart`]), so a report is one file that needs no network.
#![deny(missing_docs)]

pub mod chart;
mod error;
mod figure;
mod pdf;
mod render;
mod scope;
mod sections;

use futures::StreamExt;
use serde::Serialize;
use trailhound_query::QueryEngine;

pub use error::ReportError;
pub use figure::{Chart, Figure};
pub use pdf::find_chromium;
pub use render::{Format, Renderer, builtin_template};
pub use scope::Scope;
pub use sections::Section;

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// The period and accounts.
    pub scope: Scope,
    /// The sections, in any order (reports print them in [`Section::ALL`]'s); all when empty.
    pub sections: Vec<Section>,
    /// The title; "CloudTrail report" when `None`.
    pub title: Option<String>,
    /// How the lake is named in the report (its data directory or bucket).
    pub lake: String,
}

/// A computed report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The title.
    pub title: String,
    /// Trailhound's version.
    pub version: String,
    /// When it was made (RFC 3339).
    pub generated_at: String,
    /// The period in words.
    pub period: String,
    /// The period and accounts.
    pub scope: Scope,
    /// The lake reported on.
    pub lake: String,
    /// The sections, in order.
    pub sections: Vec<SectionReport>,
}

/// A computed section.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SectionReport {
    /// Its name (`sign-ins`).
    pub id: String,
    /// Its heading.
    pub title: String,
    /// What it is for.
    pub intro: String,
    /// Its figures.
    pub figures: Vec<Figure>,
}

impl Report {
    /// Every figure, in report order.
    pub fn figures(&self) -> impl Iterator<Item = &Figure> {
        self.sections.iter().flat_map(|s| &s.figures)
    }

    /// The figure named `id`.
    pub fn figure(&self, id: &str) -> Option<&Figure> {
        self.figures().find(|f| f.id == id)
    }
}

/// How many figures are computed at once: the queries are scans of the same files, and a few
/// in flight keep both cores busy without holding many results.
const CONCURRENT_FIGURES: usize = 3;

/// Computes the report `request` asks for over the lake `engine` reads.
///
/// # Errors
///
/// [`ReportError::Request`] for a period that ends before it starts. A figure whose query
/// fails carries the error itself ([`Figure::error`]); the rest of the report is made.
pub async fn build(engine: &QueryEngine, request: &ReportRequest) -> Result<Report, ReportError> {
    let scope = &request.scope;
    if scope.until <= scope.since {
        return Err(ReportError::Request(format!(
            "the report's period ends ({}) before it starts ({}); give --since earlier than --until",
            scope.until, scope.since
        )));
    }
    let mut sections: Vec<Section> = if request.sections.is_empty() {
        Section::ALL.to_vec()
    } else {
        request.sections.clone()
    };
    sections.sort();
    sections.dedup();
    let rules = trailhound_detect::builtin_rules()?;
    let specs: Vec<(usize, figure::FigureSpec)> = sections
        .iter()
        .enumerate()
        .flat_map(|(n, section)| {
            section
                .figures(scope, &rules)
                .into_iter()
                .map(move |f| (n, f))
        })
        .collect();
    let started = std::time::Instant::now();
    let computed: Vec<(usize, Figure)> = futures::stream::iter(specs)
        .map(|(n, spec)| async move { (n, spec.compute(engine).await) })
        .buffered(CONCURRENT_FIGURES)
        .collect()
        .await;
    tracing::info!(
        figures = computed.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "report computed"
    );
    let mut reports: Vec<SectionReport> = sections
        .iter()
        .map(|s| SectionReport {
            id: s.name().to_owned(),
            title: s.title().to_owned(),
            intro: s.intro().to_owned(),
            figures: Vec::new(),
        })
        .collect();
    for (n, mut figure) in computed {
        if let Some(section) = reports.get_mut(n) {
            figure.number = format!("{}.{}", n + 1, section.figures.len() + 1);
            section.figures.push(figure);
        }
    }
    Ok(Report {
        title: request
            .title
            .clone()
            .unwrap_or_else(|| "CloudTrail report".to_owned()),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        period: scope.describe(),
        scope: scope.clone(),
        lake: request.lake.clone(),
        sections: reports,
    })
}
