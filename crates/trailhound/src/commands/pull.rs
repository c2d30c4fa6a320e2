//! `trailhound pull`: a date range of a trail's bucket, downloaded in CloudTrail's layout.

use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context;
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use trailhound_integrity::{sidecar_content, sidecar_path};
use trailhound_source::{Listed, ListedObject, LogKey, LogKind, S3Bucket, S3Url};

use crate::cli::{GlobalArgs, PullArgs};
use crate::commands::cat::selection;
use crate::exit;

/// What happened to the objects, for the closing summary.
#[derive(Debug, Default)]
struct Tally {
    downloaded: u64,
    bytes: u64,
    present: u64,
    pruned: u64,
    failed: u64,
}

pub(crate) fn run(args: PullArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let url = S3Url::parse(&args.source)?;
    let selection = selection(&args.selection)?;
    let bucket = S3Bucket::connect(&url, &args.s3.settings())?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
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
    let tally = Mutex::new(Tally::default());
    let mut listing_error = None;
    let downloads = usize::from(args.s3.downloads);
    std::thread::scope(|scope| {
        let (tx, rx) = crossbeam_channel::bounded::<ListedObject>(downloads * 2);
        for _ in 0..downloads {
            let rx = rx.clone();
            let (bucket, tally, progress, dir) = (&bucket, &tally, &progress, &args.dir);
            scope.spawn(move || {
                for object in rx {
                    let outcome = pull_object(bucket, &object, dir);
                    let Ok(mut tally) = tally.lock() else { return };
                    match outcome {
                        Ok(Pulled::Downloaded(bytes)) => {
                            tally.downloaded += 1;
                            tally.bytes += bytes;
                        }
                        Ok(Pulled::Present) => tally.present += 1,
                        Err(err) => {
                            tally.failed += 1;
                            progress.suspend(|| {
                                eprintln!("error: {}: {err:#}", bucket.display(&object.key));
                            });
                        }
                    }
                    progress.set_message(format!(
                        "{} files ({}), {} already there",
                        tally.downloaded,
                        HumanBytes(tally.bytes),
                        tally.present
                    ));
                }
            });
        }
        drop(rx);
        for listed in bucket.walk_selected(selection) {
            match listed {
                Ok(Listed::Object(object)) => {
                    if tx.send(object).is_err() {
                        break;
                    }
                }
                Ok(Listed::Pruned(_)) => {
                    if let Ok(mut tally) = tally.lock() {
                        tally.pruned += 1;
                    }
                }
                Err(err) => listing_error = Some(err),
            }
        }
    });
    progress.finish_and_clear();
    let tally = tally
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a download thread failed"))?;
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
    if let Some(err) = listing_error {
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

enum Pulled {
    Downloaded(u64),
    Present,
}

/// Downloads one object unless a complete copy is already there. A digest's signature goes to
/// its `.sig` sidecar, where `trailhound validate` looks for it.
fn pull_object(bucket: &S3Bucket, object: &ListedObject, dir: &Path) -> anyhow::Result<Pulled> {
    let target = local_path(dir, &object.key)?;
    let is_digest = LogKey::parse(&object.key).kind == Some(LogKind::Digest);
    let sidecar = sidecar_path(&target);
    let complete = std::fs::metadata(&target).is_ok_and(|m| m.len() == object.size)
        && (!is_digest || sidecar.exists());
    if complete {
        return Ok(Pulled::Present);
    }
    let fetched = bucket
        .fetch(&object.key)?
        .ok_or_else(|| anyhow::anyhow!("the object was deleted after it was listed"))?;
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    if is_digest && let Some(signature) = fetched.metadata("signature") {
        write_atomically(&sidecar, sidecar_content(signature).as_bytes())?;
    }
    // The object last: its presence at the right size is what marks the pull of it complete.
    write_atomically(&target, &fetched.bytes)?;
    Ok(Pulled::Downloaded(fetched.bytes.len() as u64))
}

/// Where a key goes under `dir`; keys that would leave it (`..`, absolute) are refused.
fn local_path(dir: &Path, key: &str) -> anyhow::Result<PathBuf> {
    let relative = Path::new(key);
    let safe = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    anyhow::ensure!(
        safe && !key.is_empty(),
        "the key {key:?} would be written outside {}; not pulled",
        dir.display()
    );
    Ok(dir.join(relative))
}

/// Writes through a temporary file and a rename, so that an interrupted pull never leaves a
/// truncated file that a later pull (or a read) would take for complete.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    // Hidden, so that no reader takes a leftover for a log file.
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.part"));
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot move {} into place", temporary.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_the_target_folder() {
        let dir = Path::new("/tmp/pulled");
        assert!(local_path(dir, "AWSLogs/111122223333/CloudTrail/x.json.gz").is_ok());
        assert!(local_path(dir, "AWSLogs/../../etc/passwd").is_err());
        assert!(local_path(dir, "/etc/passwd").is_err());
        assert!(local_path(dir, "").is_err());
    }
}
