//! `trailhound report`: the report over the lake, written to a file or stdout.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use anyhow::Context;
use trailhound_lake::{Access, Lake};
use trailhound_query::QueryEngine;
use trailhound_report::{Format, Renderer, ReportRequest, Scope};

use crate::cli::{GlobalArgs, ReportArgs};
use crate::exit;

pub(crate) fn run(args: ReportArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    if let Some(format) = args.print_template {
        let text = trailhound_report::builtin_template(format)
            .with_context(|| format!("{format} reports have no template; ask for html or md"))?;
        std::io::stdout().write_all(text.as_bytes())?;
        return Ok(exit::OK);
    }
    let started = Instant::now();
    let format = args
        .format
        .or_else(|| args.output.as_deref().and_then(Format::of_path))
        .unwrap_or(Format::Html);
    if format == Format::Pdf && args.output.is_none() && std::io::stdout().is_terminal() {
        anyhow::bail!("a PDF report is not written to a terminal: give -o report.pdf");
    }
    let now = chrono::Utc::now();
    let scope = Scope {
        since: args.since.resolve(now),
        until: args.until.map_or(now, |u| u.resolve(now)),
        accounts: args.account,
    };
    let dir = global.data_dir()?;
    let lake = Lake::open(&dir, Access::Read)
        .with_context(|| format!("cannot open the lake in {}", dir.display()))?;
    let lake_name = lake.location();
    drop(lake);
    let engine = QueryEngine::open(&dir)
        .with_context(|| format!("cannot open the lake in {}", dir.display()))?;
    let request = ReportRequest {
        scope,
        sections: args.sections,
        title: args.title,
        lake: lake_name,
    };
    let report = engine.block_on(trailhound_report::build(&engine, &request))??;
    let renderer = Renderer {
        templates: args.templates,
        chromium: args.chromium,
    };
    let document = renderer.render(&report, format)?;
    match &args.output {
        // Written whole or not at all: a mail job or a web server never sees half a report.
        Some(path) => trailhound_pipeline::write_atomically(path, &document)?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&document)?;
            out.flush()?;
        }
    }
    let failed: Vec<String> = report
        .figures()
        .filter_map(|f| Some(format!("{} {}: {}", f.number, f.title, f.error.as_ref()?)))
        .collect();
    for line in &failed {
        eprintln!("warning: figure {line}");
    }
    if !global.quiet {
        eprintln!(
            "report: {} sections, {} figures over {}{} in {:.1} s",
            report.sections.len(),
            report.figures().count(),
            report.period,
            args.output
                .as_ref()
                .map(|p| format!(
                    ", {} written to {}",
                    human_size(document.len()),
                    p.display()
                ))
                .unwrap_or_default(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if failed.is_empty() {
        exit::OK
    } else {
        exit::INPUT_ERROR
    })
}

fn human_size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.0} KiB", (bytes as f64 / 1024.0).ceil())
    }
}
