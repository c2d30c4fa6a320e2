//! What a monitor follows, and how each kind says what is new: a trail's bucket (listed after
//! a checkpoint), a local folder (walked, unchanged files skipped by the catalog) and a queue
//! of notifications (received, deleted once their objects are in the lake).
//!
//! The stores behind them are traits ([`TrailBucket`], [`NotificationQueue`],
//! [`ObjectPlace`]) so that the poll's exactly-once ordering is tested against stores that
//! fail and restart on cue; [`S3Trail`] and [`SqsQueue`] are the real ones.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use trailhound_lake::{Catalog, source_location};
use trailhound_source::sqs::{QueueMessage, SqsQueue, announced};
use trailhound_source::{
    InputSpec, ListedObject, LogKey, LogKind, S3Bucket, S3Settings, S3Url, Selection, SourceError,
};

use crate::PipelineError;

/// A source a monitor follows.
pub trait Followed: Send {
    /// Its name in messages.
    fn name(&self) -> String;

    /// What is new since what the catalog records as taken. A failure of one part of the
    /// source (a folder that cannot be listed) is a problem in the answer, not an error: the
    /// rest of the poll goes on.
    ///
    /// # Errors
    ///
    /// Only when the catalog cannot be read.
    fn collect(&mut self, catalog: &Catalog) -> Result<Collected, PipelineError>;

    /// Called once the collected objects are committed to the lake, to forget them at the
    /// source (delete queue messages). A failure is a problem to report, never a loss: the
    /// messages come back and the catalog knows their objects.
    fn settle(&mut self, collected: &Collected) -> Result<(), String> {
        let _ = collected;
        Ok(())
    }

    /// A local folder whose new files should start a poll at once.
    fn folder(&self) -> Option<&Path> {
        None
    }
}

/// What one source has that is new.
#[derive(Debug, Default)]
pub struct Collected {
    /// The objects to ingest.
    pub inputs: Vec<InputSpec>,
    /// Checkpoints to move once those objects are in the lake.
    pub advances: Vec<Advance>,
    /// Queue messages to delete once those objects are in the lake.
    pub receipts: Vec<String>,
    /// Parts of the source that could not be read this poll: (checkpoint, why). Their
    /// checkpoints are marked failed and stay where they are.
    pub failures: Vec<(String, String)>,
    /// Other problems, reported and counted (a message that announces nothing).
    pub warnings: Vec<String>,
}

/// A checkpoint to move after a poll's commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance {
    /// The checkpoint's name: a trail folder's URL, a local folder, a queue URL.
    pub checkpoint: String,
    /// The key of the newest object listed, for sources whose keys sort by delivery.
    pub position: Option<String>,
    /// Objects taken, or `None` for those the poll's read counts (a folder's).
    pub objects: Option<i64>,
}

/// Where objects live, as a catalog names them and a read reaches them.
pub trait ObjectPlace: Send + Sync {
    /// How the catalog names the object at `key` (what ingest records as its location).
    fn location(&self, key: &str) -> String;
    /// The inputs that read `objects`, in their order.
    fn inputs(&self, objects: Vec<ListedObject>) -> Vec<InputSpec>;
}

/// A bucket CloudTrail delivers to, followed folder by folder.
pub trait TrailBucket: ObjectPlace {
    /// Its name in messages (`s3://bucket/prefix`).
    fn name(&self) -> String;
    /// The trail folders (one account's region each) to follow.
    ///
    /// # Errors
    ///
    /// When the bucket cannot be listed.
    fn trail_folders(&self) -> Result<Vec<String>, SourceError>;
    /// The checkpoint name of `folder`.
    fn folder_name(&self, folder: &str) -> String;
    /// The objects of `folder` from a margin before `position` (the newest key taken) on,
    /// in key order.
    ///
    /// # Errors
    ///
    /// When the folder cannot be listed.
    fn list_since(
        &self,
        folder: &str,
        position: Option<&str>,
    ) -> Result<Vec<ListedObject>, SourceError>;
}

/// A queue of notifications announcing new objects.
pub trait NotificationQueue: Send {
    /// Its URL, which is also its checkpoint's name.
    fn url(&self) -> &str;
    /// Some waiting messages (none when the queue is empty), each hidden from other
    /// receivers for `visibility_seconds` once received.
    ///
    /// # Errors
    ///
    /// When the queue cannot be reached.
    fn receive(&self, visibility_seconds: u64) -> Result<Vec<QueueMessage>, SourceError>;
    /// Deletes the messages received with these receipts.
    ///
    /// # Errors
    ///
    /// When the queue cannot be reached.
    fn delete(&self, receipts: &[String]) -> Result<(), SourceError>;
    /// Where the objects of `bucket` (as a notification names it) are read from.
    ///
    /// # Errors
    ///
    /// When the bucket cannot be reached with the monitor's settings.
    fn place(&self, bucket: &str) -> Result<Arc<dyn ObjectPlace>, SourceError>;
}

/// A trail's bucket on S3 (or an S3-compatible store), pruned by a selection.
pub struct S3Trail {
    bucket: Arc<S3Bucket>,
    selection: Selection,
}

impl S3Trail {
    /// Connects to the bucket at `url` and lists its trail folders once, so that a monitor
    /// with a wrong bucket, endpoint or credentials fails at start-up instead of polling
    /// nothing forever.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Config`] naming the bucket and what is wrong.
    pub fn open(
        url: &S3Url,
        settings: &S3Settings,
        selection: &Selection,
    ) -> Result<S3Trail, PipelineError> {
        let cannot =
            |err: SourceError| PipelineError::Config(format!("cannot follow {url}: {err}"));
        let bucket = S3Bucket::shared(url, settings).map_err(cannot)?;
        let trail = S3Trail {
            bucket,
            selection: selection.clone(),
        };
        trail.trail_folders().map_err(cannot)?;
        Ok(trail)
    }
}

impl ObjectPlace for S3Trail {
    fn location(&self, key: &str) -> String {
        self.bucket.display(key)
    }

    fn inputs(&self, objects: Vec<ListedObject>) -> Vec<InputSpec> {
        vec![InputSpec::S3Objects(self.bucket.url().clone(), objects)]
    }
}

impl TrailBucket for S3Trail {
    fn name(&self) -> String {
        self.bucket.url().to_string()
    }

    fn trail_folders(&self) -> Result<Vec<String>, SourceError> {
        self.bucket.trail_folders(&self.selection)
    }

    fn folder_name(&self, folder: &str) -> String {
        self.bucket.display(folder)
    }

    fn list_since(
        &self,
        folder: &str,
        position: Option<&str>,
    ) -> Result<Vec<ListedObject>, SourceError> {
        self.bucket.list_since(folder, position)
    }
}

/// Following a bucket: one listing per trail folder after its checkpoint.
pub struct FollowedBucket<B>(pub B);

impl<B: TrailBucket> Followed for FollowedBucket<B> {
    fn name(&self) -> String {
        self.0.name()
    }

    fn collect(&mut self, catalog: &Catalog) -> Result<Collected, PipelineError> {
        let bucket = &self.0;
        let mut collected = Collected::default();
        let folders = match bucket.trail_folders() {
            Ok(folders) => folders,
            Err(err) => {
                collected.failures.push((bucket.name(), err.to_string()));
                return Ok(collected);
            }
        };
        for folder in folders {
            let name = bucket.folder_name(&folder);
            let position = catalog.checkpoint(&name)?.and_then(|c| c.position);
            let listed = match bucket.list_since(&folder, position.as_deref()) {
                Ok(listed) => listed,
                Err(err) => {
                    collected.failures.push((name, err.to_string()));
                    continue;
                }
            };
            let newest = listed.last().map(|o| o.key.clone());
            let new = not_yet_taken(catalog, bucket, listed)?;
            collected.advances.push(Advance {
                checkpoint: name,
                position: newest,
                objects: Some(i64::try_from(new.len()).unwrap_or(i64::MAX)),
            });
            if !new.is_empty() {
                collected.inputs.extend(bucket.inputs(new));
            }
        }
        Ok(collected)
    }
}

/// The listed objects the lake has not read completely yet (the relisted margin before the
/// checkpoint is mostly objects already taken, and these are skipped without downloading).
fn not_yet_taken(
    catalog: &Catalog,
    place: &dyn ObjectPlace,
    listed: Vec<ListedObject>,
) -> Result<Vec<ListedObject>, PipelineError> {
    let mut new = Vec::new();
    for object in listed {
        let known = catalog.source(&place.location(&object.key))?;
        let taken = known.is_some_and(|source| {
            source.outcome.is_taken()
                && source.size == Some(object.size)
                && source.modified_ns == Some(object.modified_ns)
        });
        if !taken {
            new.push(object);
        }
    }
    Ok(new)
}

/// Following a local folder that something else fills: walked at each poll, files the
/// catalog knows unchanged skipped by the reader.
pub struct FollowedFolder(PathBuf);

impl FollowedFolder {
    /// Follows `path`.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Config`] when it is not a folder.
    pub fn open(path: &Path) -> Result<FollowedFolder, PipelineError> {
        if !path.is_dir() {
            return Err(PipelineError::Config(format!(
                "{} is not a folder; watch follows folders and s3://bucket/prefix",
                path.display()
            )));
        }
        Ok(FollowedFolder(path.to_path_buf()))
    }
}

impl Followed for FollowedFolder {
    fn name(&self) -> String {
        self.0.display().to_string()
    }

    fn collect(&mut self, _: &Catalog) -> Result<Collected, PipelineError> {
        Ok(Collected {
            inputs: vec![InputSpec::Path(self.0.clone())],
            advances: vec![Advance {
                checkpoint: source_location(&self.0.display().to_string()),
                position: None,
                objects: None,
            }],
            ..Collected::default()
        })
    }

    fn folder(&self) -> Option<&Path> {
        Some(&self.0)
    }
}

/// Messages a poll takes from one queue at most, so that a backlog is worked through in
/// bounded steps.
const MESSAGES_PER_POLL: usize = 1000;

/// Following a queue of notifications.
pub struct FollowedQueue<Q> {
    queue: Q,
    visibility_seconds: u64,
}

impl<Q: NotificationQueue> FollowedQueue<Q> {
    /// Follows `queue`, hiding each received message for `visibility_seconds` while its
    /// objects are ingested.
    pub fn new(queue: Q, visibility_seconds: u64) -> Self {
        FollowedQueue {
            queue,
            visibility_seconds,
        }
    }

    /// The announced objects not yet taken, grouped by where they are read from.
    fn take(&self, catalog: &Catalog, collected: &mut Collected) -> Result<usize, PipelineError> {
        let mut places: Vec<(String, Arc<dyn ObjectPlace>, Vec<ListedObject>)> = Vec::new();
        let mut seen = HashSet::new();
        'receiving: while collected.receipts.len() < MESSAGES_PER_POLL {
            let messages = self.queue.receive(self.visibility_seconds)?;
            if messages.is_empty() {
                break;
            }
            for message in messages {
                // A message seen before in this poll is back from its visibility timeout: the
                // queue has been read round.
                if !seen.insert(message.id.clone()) {
                    break 'receiving;
                }
                collected.receipts.push(message.receipt);
                let Some(objects) = announced(&message.body) else {
                    // Not an announcement of any shape we know: reported, and removed so
                    // that it does not come back forever.
                    let start: String = message.body.chars().take(120).collect();
                    collected.warnings.push(format!(
                        "{}: a message that announces no object was dropped: {start}",
                        self.queue.url()
                    ));
                    continue;
                };
                for object in objects {
                    let key = LogKey::parse(&object.key);
                    if key.kind == Some(LogKind::Digest) || key.foreign {
                        continue;
                    }
                    let index = match places.iter().position(|(b, _, _)| *b == object.bucket) {
                        Some(index) => index,
                        None => {
                            let place = self.queue.place(&object.bucket)?;
                            places.push((object.bucket.clone(), place, Vec::new()));
                            places.len() - 1
                        }
                    };
                    let (_, place, objects) = &mut places[index];
                    // CloudTrail never rewrites a log file: an object read completely before
                    // is taken, whatever announces it again.
                    let known = catalog.source(&place.location(&object.key))?;
                    if known.is_some_and(|s| s.outcome.is_taken())
                        || objects.iter().any(|o| o.key == object.key)
                    {
                        continue;
                    }
                    // Its modification time comes with the download.
                    objects.push(ListedObject {
                        key: object.key,
                        size: object.size.unwrap_or(0),
                        modified_ns: 0,
                    });
                }
            }
        }
        let mut taken = 0;
        for (_, place, objects) in places {
            taken += objects.len();
            if !objects.is_empty() {
                collected.inputs.extend(place.inputs(objects));
            }
        }
        Ok(taken)
    }
}

impl<Q: NotificationQueue> Followed for FollowedQueue<Q> {
    fn name(&self) -> String {
        self.queue.url().to_owned()
    }

    fn collect(&mut self, catalog: &Catalog) -> Result<Collected, PipelineError> {
        let mut collected = Collected::default();
        match self.take(catalog, &mut collected) {
            Ok(taken) => collected.advances.push(Advance {
                checkpoint: self.queue.url().to_owned(),
                position: None,
                objects: Some(i64::try_from(taken).unwrap_or(i64::MAX)),
            }),
            Err(PipelineError::Lake(err)) => return Err(PipelineError::Lake(err)),
            Err(err) => {
                // Nothing is taken: what was received comes back after its visibility
                // timeout.
                collected = Collected::default();
                collected
                    .failures
                    .push((self.queue.url().to_owned(), err.to_string()));
            }
        }
        Ok(collected)
    }

    fn settle(&mut self, collected: &Collected) -> Result<(), String> {
        if collected.receipts.is_empty() {
            return Ok(());
        }
        self.queue
            .delete(&collected.receipts)
            .map_err(|err| err.to_string())
    }
}

/// An SQS queue, with the settings its announced buckets are reached with.
pub struct Sqs {
    queue: SqsQueue,
    settings: S3Settings,
}

impl Sqs {
    /// Connects to the queue at `url` and asks how many messages wait, so that a wrong URL or
    /// credentials fail at start-up.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Config`] naming the queue and what is wrong.
    pub fn open(url: &str, settings: &S3Settings) -> Result<Sqs, PipelineError> {
        let cannot = |err: SourceError| {
            PipelineError::Config(format!("cannot follow the queue {url}: {err}"))
        };
        let queue = SqsQueue::new(url, settings).map_err(cannot)?;
        queue.waiting().map_err(cannot)?;
        Ok(Sqs {
            queue,
            settings: settings.clone(),
        })
    }
}

/// Objects of a bucket a notification names.
struct S3Place(Arc<S3Bucket>);

impl ObjectPlace for S3Place {
    fn location(&self, key: &str) -> String {
        self.0.display(key)
    }

    fn inputs(&self, objects: Vec<ListedObject>) -> Vec<InputSpec> {
        vec![InputSpec::S3Objects(self.0.url().clone(), objects)]
    }
}

impl NotificationQueue for Sqs {
    fn url(&self) -> &str {
        self.queue.url()
    }

    fn receive(&self, visibility_seconds: u64) -> Result<Vec<QueueMessage>, SourceError> {
        // A one-second long poll: a short poll samples only some of SQS's servers and may
        // answer "nothing" while messages wait.
        self.queue.receive(1, visibility_seconds)
    }

    fn delete(&self, receipts: &[String]) -> Result<(), SourceError> {
        self.queue.delete(receipts)
    }

    fn place(&self, bucket: &str) -> Result<Arc<dyn ObjectPlace>, SourceError> {
        let url = S3Url {
            bucket: bucket.to_owned(),
            prefix: String::new(),
        };
        Ok(Arc::new(S3Place(S3Bucket::shared(&url, &self.settings)?)))
    }
}
