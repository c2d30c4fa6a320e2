//! `trailhound watch`: follow buckets and folders, ingesting each new object once.
//!
//! ```text
//! every --interval:  S3: trail folders ──list since checkpoint──► new objects ─┐
//!                    folder: walk (unchanged files skipped by the catalog) ────┤
//!                    ──► ingest (rules live) ──► Insights for the new minutes ──► checkpoints
//!                    ──► new findings ──► alerts
//! ```
//!
//! A poll's objects are committed to the lake with their catalog rows before the checkpoints
//! move; a crash in between only makes the next poll list them again, and the catalog then
//! skips them without downloading. So a kill at any moment loses and duplicates nothing.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use trailhound_detect::RuleSet;
use trailhound_lake::{Access, CompactOptions, Lake, WriteOptions, source_location};
use trailhound_source::sqs::{SqsQueue, announced};
use trailhound_source::{InputSpec, ListedObject, S3Bucket, S3Url, Selection};

use crate::cli::{GlobalArgs, WatchArgs};
use crate::commands::cat::selection;
use crate::commands::ingest::ingest_into;
use crate::exit;
use crate::read_report::ReadReporter;

/// Something followed.
enum Followed {
    Bucket { url: S3Url, bucket: Arc<S3Bucket> },
    Folder(PathBuf),
    Queue(SqsQueue),
}

impl Followed {
    /// Checks a source at start-up, so that a monitor with a wrong bucket, endpoint or
    /// credentials fails at once instead of polling nothing forever.
    fn open(text: &str, args: &WatchArgs, selection: &Selection) -> anyhow::Result<Followed> {
        if text.starts_with("s3://") {
            let url = S3Url::parse(text)?;
            let bucket = S3Bucket::shared(&url, &args.read.s3.settings())?;
            bucket
                .trail_folders(selection)
                .with_context(|| format!("cannot follow {url}"))?;
            Ok(Followed::Bucket { url, bucket })
        } else {
            let path = PathBuf::from(text);
            anyhow::ensure!(
                path.is_dir(),
                "{text} is not a folder; watch follows folders and s3://bucket/prefix"
            );
            Ok(Followed::Folder(path))
        }
    }

    fn queue(url: &str, args: &WatchArgs) -> anyhow::Result<Followed> {
        let queue = SqsQueue::new(url, &args.read.s3.settings())?;
        queue
            .waiting()
            .with_context(|| format!("cannot follow the queue {url}"))?;
        Ok(Followed::Queue(queue))
    }
}

/// What one poll did.
#[derive(Debug, Default)]
struct Poll {
    objects: u64,
    events_new: u64,
    findings: u64,
    insights: usize,
    problems: u64,
}

pub(crate) fn run(args: WatchArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    // Everything that can be wrong with the configuration is found before the first poll.
    let alerting = crate::commands::alert::load(global)?;
    for warning in alerting.check()? {
        eprintln!("warning: {warning}");
    }
    let selection = selection(&args.selection)?;
    let rules = if args.no_detect {
        None
    } else {
        Some(crate::commands::rules::load(&args.rules)?)
    };
    let mut followed = args
        .sources
        .iter()
        .map(|text| Followed::open(text, &args, &selection))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for url in &args.sqs {
        followed.push(Followed::queue(url, &args)?);
    }
    let data_dir = global.data_dir();
    let mut lake = Lake::open(&data_dir, Access::Write)
        .with_context(|| format!("cannot open the lake in {}", data_dir.display()))?;
    alerting.begin(lake.catalog_mut()?)?;
    if !global.quiet {
        eprintln!(
            "watching {} every {}s; findings go to {}",
            args.sources
                .iter()
                .chain(&args.sqs)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            args.interval.num_seconds(),
            alerting.describe()
        );
    }
    let interval = args.interval.to_std().unwrap_or(Duration::from_secs(60));
    let wake = FolderEvents::watch(&followed);
    let mut problems = false;
    loop {
        let started = Instant::now();
        let poll = poll(&mut lake, &followed, &args, &selection, rules.as_ref())?;
        problems |= poll.problems > 0;
        let alerts = alerting.run(lake.catalog_mut()?)?;
        if !global.quiet
            && (poll.objects > 0 || poll.problems > 0 || alerts.sent > 0 || alerts.failed > 0)
        {
            eprintln!(
                "{}: {} new objects, {} new events, {} findings, {} Insights; {} alerts sent{}{}",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
                poll.objects,
                poll.events_new,
                poll.findings,
                poll.insights,
                alerts.sent,
                if alerts.pending > 0 {
                    format!(", {} waiting for their sink", alerts.pending)
                } else {
                    String::new()
                },
                if poll.problems > 0 {
                    format!("; {} problems (see above)", poll.problems)
                } else {
                    String::new()
                },
            );
        }
        if args.once {
            // One poll for cron and tests; alerts still waiting stay in the outbox for the
            // next run.
            return Ok(if problems {
                exit::INPUT_ERROR
            } else {
                exit::OK
            });
        }
        wake.wait(interval.saturating_sub(started.elapsed()));
    }
}

/// File-system events in followed folders: a file landing there starts the next poll at
/// once instead of at the end of the interval. Without folders, or where the system refuses
/// to watch (inotify limits), waiting is plain polling.
struct FolderEvents {
    _watcher: Option<notify::RecommendedWatcher>,
    /// Kept so that the channel stays open (and waiting waits) when nothing is watched.
    _sender: crossbeam_channel::Sender<()>,
    events: crossbeam_channel::Receiver<()>,
}

impl FolderEvents {
    fn watch(followed: &[Followed]) -> FolderEvents {
        let (tx, events) = crossbeam_channel::unbounded();
        let sender = tx.clone();
        let folders: Vec<&PathBuf> = followed
            .iter()
            .filter_map(|f| match f {
                Followed::Folder(path) => Some(path),
                _ => None,
            })
            .collect();
        let watcher = if folders.is_empty() {
            None
        } else {
            let made = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| e.kind.is_create() || e.kind.is_modify()) {
                    let _ = tx.send(());
                }
            });
            match made {
                Ok(mut watcher) => {
                    use notify::Watcher;
                    for folder in folders {
                        if let Err(err) = watcher.watch(folder, notify::RecursiveMode::Recursive) {
                            tracing::warn!(
                                "cannot watch {} for new files ({err}); it is polled every --interval",
                                folder.display()
                            );
                        }
                    }
                    Some(watcher)
                }
                Err(err) => {
                    tracing::warn!(
                        "cannot watch folders for new files ({err}); they are polled every --interval"
                    );
                    None
                }
            }
        };
        FolderEvents {
            _watcher: watcher,
            _sender: sender,
            events,
        }
    }

    /// Waits `timeout`, or less if files land; then a quiet half second, so that a burst of
    /// files (a sync copying a day) is taken in one poll.
    fn wait(&self, timeout: Duration) {
        if self.events.recv_timeout(timeout).is_ok() {
            while self.events.recv_timeout(Duration::from_millis(500)).is_ok() {}
        }
    }
}

/// One poll of every source.
fn poll(
    lake: &mut Lake,
    followed: &[Followed],
    args: &WatchArgs,
    selection: &Selection,
    rules: Option<&RuleSet>,
) -> anyhow::Result<Poll> {
    let mut result = Poll::default();
    let mut inputs = Vec::new();
    // (checkpoint, newest key, objects) to record once the objects are in the lake.
    let mut advances: Vec<(String, Option<String>, i64)> = Vec::new();
    // Queue messages to delete once their objects are in the lake.
    let mut handled: Vec<(&SqsQueue, Vec<String>)> = Vec::new();
    for source in followed {
        match source {
            Followed::Bucket { url, bucket } => {
                let folders = match bucket.trail_folders(selection) {
                    Ok(folders) => folders,
                    Err(err) => {
                        eprintln!("error: {err}");
                        lake.catalog_mut()?
                            .fail_checkpoint(&url.to_string(), &err.to_string())?;
                        result.problems += 1;
                        continue;
                    }
                };
                for folder in folders {
                    let name = bucket.display(&folder);
                    let position = lake.catalog().checkpoint(&name)?.and_then(|c| c.position);
                    let listed = match bucket.list_since(&folder, position.as_deref()) {
                        Ok(listed) => listed,
                        Err(err) => {
                            eprintln!("error: {err}");
                            lake.catalog_mut()?
                                .fail_checkpoint(&name, &err.to_string())?;
                            result.problems += 1;
                            continue;
                        }
                    };
                    let newest = listed.last().map(|o| o.key.clone());
                    let new = not_yet_taken(lake, bucket, listed)?;
                    advances.push((name, newest, i64::try_from(new.len()).unwrap_or(0)));
                    if !new.is_empty() {
                        inputs.push(InputSpec::S3Objects(url.clone(), new));
                    }
                }
            }
            Followed::Folder(path) => {
                inputs.push(InputSpec::Path(path.clone()));
                advances.push((source_location(&path.display().to_string()), None, 0));
            }
            Followed::Queue(queue) => match announced_objects(lake, queue, args) {
                Ok(taken) => {
                    result.problems += taken.problems;
                    let objects: usize = taken.inputs.iter().map(|(_, o)| o.len()).sum();
                    advances.push((
                        queue.url().to_owned(),
                        None,
                        i64::try_from(objects).unwrap_or(0),
                    ));
                    for (url, objects) in taken.inputs {
                        inputs.push(InputSpec::S3Objects(url, objects));
                    }
                    handled.push((queue, taken.receipts));
                }
                Err(err) => {
                    eprintln!("error: {err:#}");
                    lake.catalog_mut()?
                        .fail_checkpoint(queue.url(), &format!("{err:#}"))?;
                    result.problems += 1;
                }
            },
        }
    }
    if inputs.is_empty() {
        for (name, position, objects) in advances {
            lake.catalog_mut()?
                .advance_checkpoint(&name, position.as_deref(), objects)?;
        }
        delete_handled(&handled, &mut result);
        return Ok(result);
    }
    let mut options = args.read.options(selection.clone());
    options.skip_unchanged = Some(lake.unchanged_filter()?);
    // Quiet: the summary is this command's own line; problems are still printed.
    let mut reporter = ReadReporter::new(true);
    let ingested = ingest_into(
        lake,
        inputs,
        &options,
        WriteOptions::default(),
        rules,
        &mut reporter,
    );
    let summary = reporter.finish(Duration::ZERO);
    let report = match ingested {
        Ok(report) => report,
        Err(err) => {
            // Nothing moves: the next poll retries from the same checkpoints.
            eprintln!("error: {err:#}");
            for (name, _, _) in &advances {
                lake.catalog_mut()?
                    .fail_checkpoint(name, &format!("{err:#}"))?;
            }
            result.problems += 1;
            return Ok(result);
        }
    };
    result.objects = summary.objects_read + summary.objects_failed;
    result.problems += summary.objects_failed + summary.inputs_failed;
    result.events_new = report.events_new;
    result.findings = report.findings;
    // The events are in the lake: what follows is reported when it fails, but does not stop
    // the monitor or hold the checkpoints back.
    if let Err(err) = lake.compact(CompactOptions::automatic()) {
        eprintln!("warning: compacting the lake failed ({err}); `trailhound compact` retries");
        result.problems += 1;
    }
    if let (Some((from, to)), false) = (report.new_time_us, args.no_insights) {
        match crate::commands::insights::update(
            lake,
            Some(from),
            Some(to),
            &trailhound_insights::Settings::default(),
            false,
        ) {
            Ok(updated) => {
                result.insights = updated.computation.insights.len();
                result.findings += updated.new_findings;
            }
            Err(err) => {
                eprintln!(
                    "warning: computing Insights for the new events failed ({err:#}); `trailhound insights --since …` computes them again"
                );
                result.problems += 1;
            }
        }
    }
    delete_handled(&handled, &mut result);
    for (name, position, objects) in advances {
        // A folder's objects are counted by what was read from it this poll.
        let objects = if position.is_none() && objects == 0 {
            i64::try_from(result.objects).unwrap_or(0)
        } else {
            objects
        };
        lake.catalog_mut()?
            .advance_checkpoint(&name, position.as_deref(), objects)?;
    }
    Ok(result)
}

/// The listed objects the lake has not read completely yet (the relisted margin before the
/// checkpoint is mostly objects already taken).
fn not_yet_taken(
    lake: &Lake,
    bucket: &S3Bucket,
    listed: Vec<ListedObject>,
) -> anyhow::Result<Vec<ListedObject>> {
    let mut new = Vec::new();
    for object in listed {
        let known = lake.catalog().source(&bucket.display(&object.key))?;
        let taken = known.is_some_and(|source| {
            matches!(source.outcome.as_str(), "ok" | "digest")
                && source.size == Some(object.size)
                && source.modified_ns == Some(object.modified_ns)
        });
        if !taken {
            new.push(object);
        }
    }
    Ok(new)
}

/// What a queue's messages announced: objects to take, by bucket, and the messages to
/// delete once they are in the lake.
struct Taken {
    inputs: Vec<(S3Url, Vec<ListedObject>)>,
    receipts: Vec<String>,
    problems: u64,
}

/// Messages a poll takes from one queue at most, so that a backlog is worked through in
/// bounded steps.
const MESSAGES_PER_POLL: usize = 1000;

fn announced_objects(lake: &Lake, queue: &SqsQueue, args: &WatchArgs) -> anyhow::Result<Taken> {
    let mut taken = Taken {
        inputs: Vec::new(),
        receipts: Vec::new(),
        problems: 0,
    };
    let settings = args.read.s3.settings();
    let visibility = u64::try_from(args.sqs_visibility_timeout.num_seconds()).unwrap_or(300);
    let mut seen = std::collections::HashSet::new();
    'receiving: while taken.receipts.len() < MESSAGES_PER_POLL {
        // A one-second long poll: a short poll samples only some of SQS's servers and may
        // answer "nothing" while messages wait.
        let messages = queue.receive(1, visibility)?;
        if messages.is_empty() {
            break;
        }
        for message in messages {
            // A message seen before in this poll is back from its visibility timeout: the
            // queue has been read round.
            if !seen.insert(message.id.clone()) {
                break 'receiving;
            }
            taken.receipts.push(message.receipt);
            let Some(objects) = announced(&message.body) else {
                // Not an announcement of any shape we know: reported, and removed so that
                // it does not come back forever.
                let start: String = message.body.chars().take(120).collect();
                eprintln!(
                    "warning: {}: a message that announces no object was dropped: {start}",
                    queue.url()
                );
                taken.problems += 1;
                continue;
            };
            for object in objects {
                let key = trailhound_source::LogKey::parse(&object.key);
                if key.kind == Some(trailhound_source::LogKind::Digest) || key.foreign {
                    continue;
                }
                let url = S3Url {
                    bucket: object.bucket.clone(),
                    prefix: String::new(),
                };
                let bucket = S3Bucket::shared(&url, &settings)?;
                // CloudTrail never rewrites a log file: an object read completely before is
                // taken, whatever announces it again.
                let known = lake.catalog().source(&bucket.display(&object.key))?;
                if known.is_some_and(|s| s.outcome == "ok") {
                    continue;
                }
                // Its modification time comes with the download.
                let listed = ListedObject {
                    key: object.key,
                    size: object.size.unwrap_or(0),
                    modified_ns: 0,
                };
                match taken.inputs.iter_mut().find(|(u, _)| *u == url) {
                    Some((_, objects)) => {
                        if !objects.iter().any(|o| o.key == listed.key) {
                            objects.push(listed);
                        }
                    }
                    None => taken.inputs.push((url, vec![listed])),
                }
            }
        }
    }
    Ok(taken)
}

fn delete_handled(handled: &[(&SqsQueue, Vec<String>)], result: &mut Poll) {
    for (queue, receipts) in handled {
        if let Err(err) = queue.delete(receipts) {
            // They come back after their visibility timeout; the catalog skips them then.
            eprintln!("warning: {err}");
            result.problems += 1;
        }
    }
}
