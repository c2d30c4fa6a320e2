use std::ops::ControlFlow;
use std::time::Instant;

use anyhow::Context;
use trailhound_event::{RecordLayout, RecordWriter, Written};
use trailhound_source::{ReadMessage, Selection};

use crate::cli::{CatArgs, GlobalArgs, SelectionArgs, input_specs};
use crate::exit;
use crate::read_report::ReadReporter;

pub(crate) fn run(args: CatArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let inputs = input_specs(&args.paths)?;
    let options = args.read.options(selection(&args.selection)?);
    let layout = if args.pretty {
        RecordLayout::Pretty
    } else {
        RecordLayout::Lines
    };
    let mut writer = RecordWriter::new(std::io::stdout().lock(), layout);
    let mut reporter = ReadReporter::new(global.quiet);
    let mut write_error = None;
    trailhound_source::read(inputs, &options, |message| {
        reporter.observe(&message);
        if let ReadMessage::Batch(batch) = &message {
            for record in batch.records() {
                match writer.write(record) {
                    Ok(Written::Yes) => {}
                    Ok(Written::Closed) => return ControlFlow::Break(()),
                    Err(err) => {
                        write_error = Some(err);
                        return ControlFlow::Break(());
                    }
                }
            }
        }
        ControlFlow::Continue(())
    });
    if let Some(err) = write_error {
        return Err(err).context("writing events to stdout failed");
    }
    writer.finish().context("writing events to stdout failed")?;
    let summary = reporter.finish(started.elapsed());
    Ok(if summary.anything_skipped() {
        exit::INPUT_ERROR
    } else {
        exit::OK
    })
}

/// Resolves relative times against now and checks the range makes sense.
pub(crate) fn selection(args: &SelectionArgs) -> anyhow::Result<Selection> {
    let now = chrono::Utc::now();
    let since = args.since.map(|bound| bound.resolve(now));
    let until = args.until.map(|bound| bound.resolve(now));
    if let (Some(since), Some(until)) = (since, until) {
        anyhow::ensure!(
            since < until,
            "--since ({since}) must be earlier than --until ({until})"
        );
    }
    Ok(Selection {
        since,
        until,
        accounts: args.account.clone(),
        regions: args.region.clone(),
    })
}
