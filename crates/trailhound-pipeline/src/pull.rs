//! `pull`: a date range of a trail's bucket downloaded in CloudTrail's own layout, with each
//! digest's signature saved beside it, so that a copy can be read and validated offline.
//!
//! One thread walks the bucket (pruning folders outside the selection before listing them)
//! while `downloads` threads fetch what it finds. An object already there at its listed size
//! is not fetched again, so an interrupted pull resumes.

use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use trailhound_integrity::{sidecar_content, sidecar_path};
use trailhound_source::{Listed, ListedObject, LogKey, LogKind, S3Bucket, Selection, SourceError};

use crate::PipelineError;

/// What a pull did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PullTally {
    /// Objects downloaded.
    pub downloaded: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Objects already there in full.
    pub present: u64,
    /// Objects or folders outside the selection, never listed or fetched.
    pub pruned: u64,
    /// Objects that could not be pulled.
    pub failed: u64,
}

/// One object's fate, as it happens.
pub enum Pulled<'a> {
    /// Downloaded, with its size.
    Downloaded(u64),
    /// Already there in full.
    Present,
    /// Could not be pulled, and why; the rest goes on.
    Failed(&'a PipelineError),
}

/// What a pull did.
#[derive(Debug, Default)]
pub struct PullReport {
    /// The counts.
    pub tally: PullTally,
    /// Why listing the bucket stopped early, if it did.
    pub listing_error: Option<SourceError>,
}

/// Downloads the objects of `bucket` that `selection` may need into `dir`, keys keeping their
/// path below it, `downloads` at a time. `progress` hears of each object (its key, its fate
/// and the tally so far) from the thread that pulled it.
///
/// # Errors
///
/// When `dir` cannot be made. An object that cannot be pulled is reported through `progress`
/// and counted; a listing that fails stops the walk and is in the report.
pub fn pull(
    bucket: &S3Bucket,
    selection: Selection,
    dir: &Path,
    downloads: usize,
    progress: impl Fn(&str, Pulled<'_>, &PullTally) + Sync,
) -> Result<PullReport, PipelineError> {
    std::fs::create_dir_all(dir).map_err(PipelineError::io(dir))?;
    let tally = Mutex::new(PullTally::default());
    let mut listing_error = None;
    let downloads = downloads.max(1);
    std::thread::scope(|scope| {
        let (tx, rx) = crossbeam_channel::bounded::<ListedObject>(downloads * 2);
        for _ in 0..downloads {
            let rx = rx.clone();
            let (tally, progress) = (&tally, &progress);
            scope.spawn(move || {
                for object in rx {
                    let outcome = pull_object(bucket, &object, dir);
                    let Ok(mut tally) = tally.lock() else { return };
                    let pulled = match &outcome {
                        Ok(Some(bytes)) => {
                            tally.downloaded += 1;
                            tally.bytes += bytes;
                            Pulled::Downloaded(*bytes)
                        }
                        Ok(None) => {
                            tally.present += 1;
                            Pulled::Present
                        }
                        Err(err) => {
                            tally.failed += 1;
                            Pulled::Failed(err)
                        }
                    };
                    progress(&bucket.display(&object.key), pulled, &tally);
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
    let tally = tally
        .into_inner()
        .map_err(|_| PipelineError::Internal("a download thread panicked".to_owned()))?;
    Ok(PullReport {
        tally,
        listing_error,
    })
}

/// Downloads one object unless a complete copy is already there (`None`). A digest's
/// signature goes to its `.sig` sidecar, where `trailhound validate` looks for it.
fn pull_object(
    bucket: &S3Bucket,
    object: &ListedObject,
    dir: &Path,
) -> Result<Option<u64>, PipelineError> {
    let target = local_path(dir, &object.key)?;
    let is_digest = LogKey::parse(&object.key).kind == Some(LogKind::Digest);
    let sidecar = sidecar_path(&target);
    let complete = std::fs::metadata(&target).is_ok_and(|m| m.len() == object.size)
        && (!is_digest || sidecar.exists());
    if complete {
        return Ok(None);
    }
    let fetched = bucket.fetch(&object.key)?.ok_or_else(|| {
        PipelineError::Config("the object was deleted after it was listed".to_owned())
    })?;
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(PipelineError::io(parent))?;
    }
    if is_digest && let Some(signature) = fetched.metadata("signature") {
        crate::write_atomically(&sidecar, sidecar_content(signature).as_bytes())?;
    }
    // The object last: its presence at the right size is what marks the pull of it complete.
    crate::write_atomically(&target, &fetched.bytes)?;
    Ok(Some(fetched.bytes.len() as u64))
}

/// Where a key goes under `dir`; keys that would leave it (`..`, absolute) are refused.
fn local_path(dir: &Path, key: &str) -> Result<PathBuf, PipelineError> {
    let relative = Path::new(key);
    let safe = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if !safe || key.is_empty() {
        return Err(PipelineError::Config(format!(
            "the key {key:?} would be written outside {}; not pulled",
            dir.display()
        )));
    }
    Ok(dir.join(relative))
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
