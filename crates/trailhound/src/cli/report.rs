//! `trailhound report`'s arguments.

use std::path::PathBuf;

use clap::Args;
use trailhound_query::{TimeBound, parse_time_bound};
use trailhound_report::{Format, Section};

/// `trailhound report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Start of the period: an age (30d, 2w, 24h), a date (2024-07-01, midnight UTC) or an
    /// RFC 3339 time.
    #[arg(long, value_parser = parse_time_bound, default_value = "30d", value_name = "TIME")]
    pub(crate) since: TimeBound,
    /// End of the period, excluded (same forms; now by default).
    #[arg(long, value_parser = parse_time_bound, value_name = "TIME")]
    pub(crate) until: Option<TimeBound>,
    /// Only these accounts (recipientAccountId); repeat or separate with commas.
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub(crate) account: Vec<String>,
    /// html (one self-contained page), pdf (printed by a headless Chromium), md or json
    /// (every figure with its SQL and rows). By default the extension of -o, else html.
    #[arg(long, value_parser = parse_format, value_name = "FORMAT")]
    pub(crate) format: Option<Format>,
    /// Where to write the report; stdout when absent (not for pdf on a terminal).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Only these sections, in report order: coverage, activity, root, sign-ins, changes,
    /// findings, insights, integrity, posture, principals (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_parser = parse_section, value_name = "NAME")]
    pub(crate) sections: Vec<Section>,
    /// A folder whose report.html and report.md replace the built-in templates (Jinja
    /// syntax; `trailhound report --print-template html` prints the built-in one to start from).
    #[arg(long, value_name = "DIR")]
    pub(crate) templates: Option<PathBuf>,
    /// The Chromium or Chrome executable that prints PDF (found on PATH by default).
    #[arg(long, value_name = "PATH")]
    pub(crate) chromium: Option<PathBuf>,
    /// The report's title.
    #[arg(long, value_name = "TEXT")]
    pub(crate) title: Option<String>,
    /// Print a built-in template (html or md) and exit, to copy into --templates DIR.
    #[arg(long, value_parser = parse_format, value_name = "FORMAT", exclusive = true)]
    pub(crate) print_template: Option<Format>,
}

fn parse_format(text: &str) -> Result<Format, String> {
    text.parse()
}

fn parse_section(text: &str) -> Result<Section, String> {
    text.parse()
}
