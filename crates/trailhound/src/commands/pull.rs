//! `trailhound pull`: a date range of a trail's bucket, downloaded in CloudTrail's layout.

use std::time::Instant;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use trailhound_pipeline::{Pulled, pull};
use trailhound_source::{S3Bucket, S3Url};

use crate::cli::{GlobalArgs, PullArgs};
use crate::commands::cat::selection;
use crate::exit;

pub(crate) fn run(args: PullArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let url = S3Url::parse(&args.source)?;
    let selection = selection(&args.selection)?;
    let bucket = S3Bucket::connect(&url, &args.s3.settings())?;
    let progress = if global.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} pulling: {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    };
    let downloads = usize::from(args.s3.downloads);
    let report = pull(
        &bucket,
        selection,
        &args.dir,
        downloads,
        |key, pulled, tally| {
            if let Pulled::Failed(err) = pulled {
                progress.suspend(|| eprintln!("error: {key}: {err}"));
            }
            progress.set_message(format!(
                "{} files ({}), {} already there",
                tally.downloaded,
                HumanBytes(tally.bytes),
                tally.present
            ));
        },
    )?;
    progress.finish_and_clear();
    let tally = report.tally;
    if !global.quiet {
        let mut text = format!(
            "pulled {} files ({}) from {url} into {} in {:.2}s",
            tally.downloaded,
            HumanBytes(tally.bytes),
            args.dir.display(),
            started.elapsed().as_secs_f64()
        );
        if tally.present > 0 {
            text.push_str(&format!("; {} already there", tally.present));
        }
        if tally.pruned > 0 {
            text.push_str(&format!(
                "; {} files or folders outside the selection left unlisted",
                tally.pruned
            ));
        }
        eprintln!("{text}");
    }
    if let Some(err) = report.listing_error {
        eprintln!("error: {err}");
        return Ok(exit::INPUT_ERROR);
    }
    if tally.failed > 0 {
        eprintln!(
            "problems: {} files could not be pulled (see above)",
            tally.failed
        );
        return Ok(exit::INPUT_ERROR);
    }
    Ok(exit::OK)
}
