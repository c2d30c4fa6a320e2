//! Telling a validation's result: as `aws cloudtrail validate-logs` prints it (the format
//! users compare with, line for line), as a short summary for the catalog, and merged over
//! several stores.

use std::io::{self, Write};

use serde::Serialize;

use crate::digest::format_time;
use crate::validate::{Counts, Outcome, Status, ValidateOptions, Validation};

/// What the catalog keeps of a validation: the chains, the counts and the first problems.
#[derive(Debug, Serialize)]
pub struct ValidationSummary<'v> {
    /// The chains found.
    pub chains: Vec<String>,
    /// The counts.
    pub counts: Counts,
    /// Earliest `digestStartTime` validated (RFC 3339).
    pub found_start: Option<String>,
    /// Latest `digestEndTime` validated (RFC 3339).
    pub found_end: Option<String>,
    /// The first [`ValidationSummary::PROBLEMS`] outcomes that are not valid.
    pub problems: Vec<&'v Outcome>,
}

impl ValidationSummary<'_> {
    /// Most problems a summary lists.
    pub const PROBLEMS: usize = 50;
}

impl Validation {
    /// Adds the result of validating another store.
    pub fn merge(&mut self, part: Validation) {
        self.chains.extend(part.chains);
        self.outcomes.extend(part.outcomes);
        let (a, b) = (&mut self.counts, part.counts);
        *a = Counts {
            valid_digests: a.valid_digests + b.valid_digests,
            invalid_digests: a.invalid_digests + b.invalid_digests,
            unsigned_digests: a.unsigned_digests + b.unsigned_digests,
            valid_logs: a.valid_logs + b.valid_logs,
            invalid_logs: a.invalid_logs + b.invalid_logs,
            bytes_read: a.bytes_read + b.bytes_read,
            bytes_hashed: a.bytes_hashed + b.bytes_hashed,
        };
        self.found_start = match (self.found_start, part.found_start) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        self.found_end = match (self.found_end, part.found_end) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        };
    }

    /// The summary the catalog keeps.
    pub fn summary(&self) -> ValidationSummary<'_> {
        ValidationSummary {
            chains: self.chains.iter().map(ToString::to_string).collect(),
            counts: self.counts,
            found_start: self.found_start.map(|t| t.to_rfc3339()),
            found_end: self.found_end.map(|t| t.to_rfc3339()),
            problems: self
                .outcomes
                .iter()
                .filter(|o| o.status != Status::Valid)
                .take(ValidationSummary::PROBLEMS)
                .collect(),
        }
    }

    /// Writes the result as `validate-logs` does: the range, problems on `err` set off by
    /// blank lines, valid files on `out` when `verbose`, then the counts. `validated` names
    /// what was validated.
    ///
    /// # Errors
    ///
    /// When writing fails.
    pub fn write_text(
        &self,
        out: &mut dyn Write,
        err: &mut dyn Write,
        validated: &str,
        options: &ValidateOptions,
        verbose: bool,
    ) -> io::Result<()> {
        let start = options
            .start
            .map_or_else(|| "the first digest".to_owned(), format_time);
        let end = options.end.map(format_time).unwrap_or_default();
        writeln!(
            out,
            "Validating log files in {validated} between {start} and {end}\n"
        )?;
        out.flush()?;
        let mut last_blank = true;
        for outcome in &self.outcomes {
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
        let counts = self.counts;
        let digests = counts.valid_digests + counts.invalid_digests + counts.unsigned_digests;
        if digests == 0 {
            return writeln!(out, "No digests found");
        }
        match (self.found_start, self.found_end) {
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
            out,
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
                out,
                counts.valid_logs,
                logs,
                "log",
                &[(counts.invalid_logs, "INVALID")],
            )?;
        }
        writeln!(out, "\n")
    }
}

fn write_ratio(
    out: &mut dyn Write,
    valid: u64,
    total: u64,
    name: &str,
    others: &[(u64, &str)],
) -> io::Result<()> {
    write!(out, "\n{valid}/{total} {name} files valid")?;
    for (count, label) in others {
        if *count > 0 {
            write!(out, ", {count}/{total} {name} files {label}")?;
        }
    }
    Ok(())
}
