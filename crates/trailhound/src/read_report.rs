//! Telling the user how a read is going: a progress line while it runs (only on a terminal),
//! each problem as it happens, and a summary at the end, all on stderr.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use trailhound_source::{ObjectStatus, ReadMessage, ReadSummary};

/// Rejected records printed per object before the rest are only counted.
const REJECTIONS_SHOWN_PER_OBJECT: u64 = 20;

pub(crate) struct ReadReporter {
    bar: ProgressBar,
    quiet: bool,
    summary: ReadSummary,
    rejections_in_object: u64,
}

impl ReadReporter {
    /// Progress shows only when both stdout and stderr are terminals: piped output is for
    /// other programs, and a progress line would only get in the way.
    pub(crate) fn new(quiet: bool) -> Self {
        let interactive = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let bar = if interactive && !quiet {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        ReadReporter {
            bar,
            quiet,
            summary: ReadSummary::default(),
            rejections_in_object: 0,
        }
    }

    /// Counts a message and reports any problem it carries.
    pub(crate) fn observe<B>(&mut self, message: &ReadMessage<B>) {
        self.summary.add(message);
        match message {
            ReadMessage::InputFailed(error) => self.error(&format!("{error}")),
            ReadMessage::RecordRejected { origin, error } => {
                self.rejections_in_object += 1;
                if self.rejections_in_object <= REJECTIONS_SHOWN_PER_OBJECT && !self.quiet {
                    self.line(&format!(
                        "warning: {}: {error}; record skipped",
                        origin.name
                    ));
                }
            }
            ReadMessage::ObjectDone(report) => {
                if self.rejections_in_object > REJECTIONS_SHOWN_PER_OBJECT && !self.quiet {
                    let more = self.rejections_in_object - REJECTIONS_SHOWN_PER_OBJECT;
                    self.line(&format!(
                        "warning: {}: {more} more records skipped",
                        report.origin.name
                    ));
                }
                self.rejections_in_object = 0;
                if let ObjectStatus::Failed(error) = &report.status {
                    self.error(&format!("{}: {error}; file skipped", report.origin.name));
                }
                self.bar.set_message(format!(
                    "{} files, {} events, {}",
                    self.summary.objects_read + self.summary.objects_failed,
                    self.summary.selected,
                    HumanBytes(self.summary.bytes)
                ));
            }
            ReadMessage::Batch(_) => {}
        }
    }

    fn error(&self, text: &str) {
        self.line(&format!("error: {text}"));
    }

    fn line(&self, text: &str) {
        self.bar.suspend(|| eprintln!("{text}"));
    }

    /// Clears the progress line, prints the summary unless quiet, and returns the totals.
    pub(crate) fn finish(self, elapsed: Duration) -> ReadSummary {
        self.bar.finish_and_clear();
        let s = self.summary;
        if !self.quiet {
            let mut text = format!(
                "read {} events from {} files ({}) in {:.2}s",
                s.selected,
                s.objects_read,
                HumanBytes(s.bytes),
                elapsed.as_secs_f64()
            );
            if s.selected != s.records {
                text.push_str(&format!(
                    "; {} of {} events matched the selection",
                    s.selected, s.records
                ));
            }
            if s.digests > 0 {
                text.push_str(&format!(
                    "; {} digest files skipped (no events by design)",
                    s.digests
                ));
            }
            if s.unchanged > 0 {
                text.push_str(&format!(
                    "; {} files unchanged since they were last read",
                    s.unchanged
                ));
            }
            if s.pruned > 0 {
                text.push_str(&format!(
                    "; {} files or folders outside the selection left unopened",
                    s.pruned
                ));
            }
            eprintln!("{text}");
            if s.failed_unchanged > 0 {
                eprintln!(
                    "note: {} files that could not be read before are unchanged and were not read again \
                     (`trailhound sources --failed` says why; `--force` reads them again)",
                    s.failed_unchanged
                );
            }
            if s.anything_skipped() {
                eprintln!(
                    "problems: {} files and {} inputs could not be read, {} records were skipped (see above)",
                    s.objects_failed, s.inputs_failed, s.rejected
                );
            }
        }
        s
    }
}
