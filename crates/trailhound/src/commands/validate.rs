//! `trailhound validate`: digest chains, signatures and log hashes, reported as
//! `aws cloudtrail validate-logs` reports them.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::Utc;
use trailhound_integrity::{
    Counts, LocalTree, PublicKeySet, S3Tree, Status, TrailStore, ValidateOptions, Validation,
    format_time, validate,
};

use crate::cli::{GlobalArgs, ValidateArgs, ValidateFormat};
use crate::exit;

pub(crate) fn run(args: ValidateArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let now = Utc::now();
    let mut keys = PublicKeySet::new();
    for path in &args.public_keys {
        keys.load_file(path)?;
    }
    let options = ValidateOptions {
        start: args.start_time.map(|t| t.resolve(now)),
        end: Some(args.end_time.map_or(now, |t| t.resolve(now))),
        account: args.account.clone(),
        region: args.region.clone(),
        keys,
    };
    if let (Some(start), Some(end)) = (options.start, options.end)
        && start > end
    {
        anyhow::bail!("invalid time range: --start-time must come before --end-time");
    }
    let mut total = Validation::default();
    for path in &args.paths {
        let store: Box<dyn TrailStore> = if path.starts_with("s3://") {
            let url = trailhound_source::S3Url::parse(path)?;
            Box::new(S3Tree::new(&url, &args.s3.settings())?)
        } else {
            Box::new(LocalTree::new(Path::new(path))?)
        };
        let validation = validate(store.as_ref(), &options)
            .with_context(|| format!("cannot validate {path}"))?;
        record(global, path, &validation);
        merge(&mut total, validation);
    }
    match args.format {
        ValidateFormat::Json => {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &total)?;
            writeln!(out)?;
        }
        ValidateFormat::Text => print_text(&args, &options, &total, global.verbose > 0)?,
    }
    if total.chains.is_empty() && !global.quiet {
        eprintln!(
            "no digest files found under {}: is log file validation enabled on the trail, and were the CloudTrail-Digest/ folders downloaded?",
            args.paths.join(", ")
        );
    }
    Ok(if total.has_invalid() {
        exit::FOUND
    } else {
        exit::OK
    })
}

/// Keeps the result in the lake's catalog, when there is a lake, for `serve`'s integrity page.
/// A lake is not needed to validate, so failing to record only warns.
fn record(global: &GlobalArgs, location: &str, validation: &Validation) {
    let data_dir = global.data_dir();
    if !data_dir.join("catalog.sqlite").is_file() {
        return;
    }
    let problems: Vec<&trailhound_integrity::Outcome> = validation
        .outcomes
        .iter()
        .filter(|o| o.status != trailhound_integrity::Status::Valid)
        .take(50)
        .collect();
    let report = serde_json::json!({
        "chains": validation.chains.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "counts": validation.counts,
        "found_start": validation.found_start.map(|t| t.to_rfc3339()),
        "found_end": validation.found_end.map(|t| t.to_rfc3339()),
        "problems": problems,
    });
    let recorded =
        trailhound_lake::Lake::open(&data_dir, trailhound_lake::Access::Read).and_then(|lake| {
            lake.catalog().record_integrity_check(
                location,
                !validation.has_invalid(),
                &report.to_string(),
            )
        });
    if let Err(err) = recorded {
        tracing::warn!(
            "the result was not recorded in {}: {err}",
            data_dir.display()
        );
    }
}

fn merge(total: &mut Validation, part: Validation) {
    total.chains.extend(part.chains);
    total.outcomes.extend(part.outcomes);
    let (a, b) = (&mut total.counts, part.counts);
    *a = Counts {
        valid_digests: a.valid_digests + b.valid_digests,
        invalid_digests: a.invalid_digests + b.invalid_digests,
        unsigned_digests: a.unsigned_digests + b.unsigned_digests,
        valid_logs: a.valid_logs + b.valid_logs,
        invalid_logs: a.invalid_logs + b.invalid_logs,
        bytes_read: a.bytes_read + b.bytes_read,
        bytes_hashed: a.bytes_hashed + b.bytes_hashed,
    };
    total.found_start = match (total.found_start, part.found_start) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    total.found_end = match (total.found_end, part.found_end) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
}

fn print_text(
    args: &ValidateArgs,
    options: &ValidateOptions,
    validation: &Validation,
    verbose: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let start = options
        .start
        .map_or_else(|| "the first digest".to_owned(), format_time);
    let end = options.end.map(format_time).unwrap_or_default();
    writeln!(
        out,
        "Validating log files in {} between {start} and {end}\n",
        args.paths.join(", ")
    )?;
    out.flush()?;
    // As validate-logs: problems on stderr set off by blank lines, valid files on stdout.
    let mut last_blank = true;
    for outcome in &validation.outcomes {
        let line = outcome.line();
        match outcome.status {
            Status::Valid => {
                if verbose {
                    writeln!(out, "{line}")?;
                    last_blank = false;
                }
            }
            Status::Invalid | Status::Unsigned | Status::Notice => {
                out.flush()?;
                if last_blank {
                    writeln!(err, "{line}\n")?;
                } else {
                    writeln!(err, "\n{line}\n")?;
                }
                last_blank = true;
            }
        }
    }
    if !last_blank {
        writeln!(out)?;
    }
    writeln!(out, "Results requested for {start} to {end}")?;
    let counts = validation.counts;
    let digests = counts.valid_digests + counts.invalid_digests + counts.unsigned_digests;
    if digests == 0 {
        writeln!(out, "No digests found")?;
        return Ok(());
    }
    match (validation.found_start, validation.found_end) {
        (Some(from), Some(to)) => {
            let to = options.end.map_or(to, |end| to.min(end));
            let from = options.start.map_or(from, |start| from.max(start));
            writeln!(
                out,
                "Results found for {} to {}:",
                format_time(from),
                format_time(to)
            )?;
        }
        _ => writeln!(out, "No valid digests found in range")?,
    }
    write_ratio(
        &mut out,
        counts.valid_digests,
        digests,
        "digest",
        &[
            (counts.invalid_digests, "INVALID"),
            (counts.unsigned_digests, "UNSIGNED"),
        ],
    )?;
    let logs = counts.valid_logs + counts.invalid_logs;
    if logs > 0 {
        write_ratio(
            &mut out,
            counts.valid_logs,
            logs,
            "log",
            &[(counts.invalid_logs, "INVALID")],
        )?;
    }
    writeln!(out, "\n")?;
    Ok(())
}

fn write_ratio(
    out: &mut impl Write,
    valid: u64,
    total: u64,
    name: &str,
    others: &[(u64, &str)],
) -> std::io::Result<()> {
    write!(out, "\n{valid}/{total} {name} files valid")?;
    for (count, label) in others {
        if *count > 0 {
            write!(out, ", {count}/{total} {name} files {label}")?;
        }
    }
    Ok(())
}
