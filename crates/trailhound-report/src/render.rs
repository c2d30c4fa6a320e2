//! Rendering a report: JSON as it is, HTML and Markdown through Jinja templates (built in,
//! or the user's from a folder), PDF by printing the HTML with a headless Chromium.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use minijinja::{AutoEscape, Environment, Value};

use crate::{Report, ReportError};

/// What a report is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One self-contained page: inline SVG charts, a print stylesheet.
    Html,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// The figures with their SQL and rows, for tooling.
    Json,
    /// The HTML printed by a headless Chromium.
    Pdf,
}

impl Format {
    /// The file extension (`html`).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Markdown => "md",
            Format::Json => "json",
            Format::Pdf => "pdf",
        }
    }

    /// The MIME type, for HTTP and email attachments.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Json => "application/json",
            Format::Pdf => "application/pdf",
        }
    }

    /// The format a file name's extension asks for.
    pub fn of_path(path: &Path) -> Option<Format> {
        path.extension()?.to_str()?.parse().ok()
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Format, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "html" | "htm" => Ok(Format::Html),
            "md" | "markdown" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            "pdf" => Ok(Format::Pdf),
            _ => Err(format!(
                "there is no report format {text:?}; the formats are html, pdf, md and json"
            )),
        }
    }
}

/// Built-in templates, by name.
const BUILT_IN: [(&str, &str); 2] = [
    ("report.html", include_str!("../templates/report.html")),
    ("report.md", include_str!("../templates/report.md")),
];

/// The built-in template of `format` (html or md), to start one's own from.
pub fn builtin_template(format: Format) -> Option<&'static str> {
    let name = match format {
        Format::Html => "report.html",
        Format::Markdown => "report.md",
        Format::Json | Format::Pdf => return None,
    };
    BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// How a report is turned into a document.
#[derive(Debug, Clone, Default)]
pub struct Renderer {
    /// A folder whose `report.html` / `report.md` replace the built-in ones.
    pub templates: Option<PathBuf>,
    /// The Chromium used for PDF (found on PATH when `None`).
    pub chromium: Option<PathBuf>,
}

impl Renderer {
    /// `report` as `format`.
    ///
    /// # Errors
    ///
    /// [`ReportError::Template`] for a template that does not parse or render,
    /// [`ReportError::Pdf`] when PDF cannot be made.
    pub fn render(&self, report: &Report, format: Format) -> Result<Vec<u8>, ReportError> {
        match format {
            Format::Json => serde_json::to_vec_pretty(report)
                .map_err(|err| ReportError::Internal(format!("report as JSON: {err}"))),
            Format::Html => Ok(self.template(report, "report.html")?.into_bytes()),
            Format::Markdown => Ok(self.template(report, "report.md")?.into_bytes()),
            Format::Pdf => {
                let html = self.template(report, "report.html")?;
                crate::pdf::print(&html, self.chromium.as_deref())
            }
        }
    }

    fn template(&self, report: &Report, name: &str) -> Result<String, ReportError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.add_filter("cell", markdown_cell);
        let fail = |name: &str, err: minijinja::Error| ReportError::Template {
            name: name.to_owned(),
            reason: describe(&err),
        };
        for (builtin, text) in BUILT_IN {
            env.add_template_owned(format!("builtin/{builtin}"), text)
                .map_err(|e| fail(builtin, e))?;
            let own = self.templates.as_ref().map(|dir| dir.join(builtin));
            let text = match own.filter(|p| p.is_file()) {
                Some(path) => std::fs::read_to_string(&path)
                    .map_err(|source| ReportError::Io { path, source })?,
                None => text.to_owned(),
            };
            env.add_template_owned(builtin, text)
                .map_err(|e| fail(builtin, e))?;
        }
        let charts: BTreeMap<&str, String> = report
            .sections
            .iter()
            .flat_map(|s| &s.figures)
            .filter_map(|f| Some((f.id.as_str(), crate::chart::svg(f)?)))
            .collect();
        let template = env.get_template(name).map_err(|e| fail(name, e))?;
        template
            .render(minijinja::context! {
                report => Value::from_serialize(report),
                charts => Value::from_serialize(&charts),
            })
            .map_err(|e| fail(name, e))
    }
}

/// A template error with its line, and the cause when there is one.
fn describe(err: &minijinja::Error) -> String {
    let mut text = err.to_string();
    if let Some(line) = err.line() {
        text.push_str(&format!(" (line {line})"));
    }
    text
}

/// A value as a Markdown table cell: no line breaks, `|` escaped, nothing for null.
fn markdown_cell(value: Value) -> String {
    if value.is_none() || value.is_undefined() {
        return String::new();
    }
    let text = match value.as_str() {
        Some(s) => s.to_owned(),
        None => value.to_string(),
    };
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}
