//! A poll killed at every step boundary, then a restarted monitor polling again: every event
//! is in the lake once, every queue message deleted, every checkpoint at the newest object,
//! and every finding routed and delivered once, exactly as a poll never interrupted leaves
//! them. The bucket and the queue are fakes over generated files, so that the interruption
//! can fall precisely on each boundary; the moto_server tests of the CLI cover real S3 and
//! SQS.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use trailhound_alert::{AlertConfig, Alerting};
use trailhound_event::CloudTrailEvent;
use trailhound_lake::{Access, Lake, for_each_record, source_location};
use trailhound_source::sqs::QueueMessage;
use trailhound_source::{InputSpec, ListedObject, ReadOptions, Selection, SourceError};

use super::*;

type Outcome<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Files under a folder, keyed by their path below it, as a bucket keys its objects.
#[derive(Clone)]
struct FakePlace {
    root: PathBuf,
}

impl FakePlace {
    fn keys_under(&self, prefix: &str) -> Vec<String> {
        let mut keys: Vec<String> = walk(&self.root.join(prefix))
            .into_iter()
            .filter_map(|path| {
                let key = path.strip_prefix(&self.root).ok()?;
                Some(key.to_string_lossy().into_owned())
            })
            .collect();
        keys.sort();
        keys
    }

    fn listed(&self, key: &str) -> Option<ListedObject> {
        let meta = std::fs::metadata(self.root.join(key)).ok()?;
        let modified = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        Some(ListedObject {
            key: key.to_owned(),
            size: meta.len(),
            modified_ns: i64::try_from(modified.as_nanos()).ok()?,
        })
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

impl ObjectPlace for FakePlace {
    fn location(&self, key: &str) -> String {
        source_location(&self.root.join(key).display().to_string())
    }

    fn inputs(&self, objects: Vec<ListedObject>) -> Vec<InputSpec> {
        objects
            .into_iter()
            .map(|o| InputSpec::Path(self.root.join(o.key)))
            .collect()
    }
}

/// A bucket whose trail folders are the folders given; a listing starts at the position
/// itself, so that what was taken is always listed again and must be skipped by the
/// catalog, as the real listing's margin makes it.
struct FakeBucket {
    place: FakePlace,
    folders: Vec<String>,
}

impl ObjectPlace for FakeBucket {
    fn location(&self, key: &str) -> String {
        self.place.location(key)
    }

    fn inputs(&self, objects: Vec<ListedObject>) -> Vec<InputSpec> {
        self.place.inputs(objects)
    }
}

impl TrailBucket for FakeBucket {
    fn name(&self) -> String {
        "fake://bucket".to_owned()
    }

    fn trail_folders(&self) -> Result<Vec<String>, SourceError> {
        Ok(self.folders.clone())
    }

    fn folder_name(&self, folder: &str) -> String {
        format!("fake://bucket/{folder}")
    }

    fn list_since(
        &self,
        folder: &str,
        position: Option<&str>,
    ) -> Result<Vec<ListedObject>, SourceError> {
        Ok(self
            .place
            .keys_under(folder)
            .into_iter()
            .filter(|key| position.is_none_or(|p| key.as_str() >= p))
            .filter_map(|key| self.place.listed(&key))
            .collect())
    }
}

/// One message of the fake queue.
struct Waiting {
    id: String,
    body: String,
    /// Received and not deleted: hidden until its visibility timeout runs out.
    hidden: bool,
}

/// A queue shared with the test, which can let hidden messages come back (their visibility
/// timeout running out while the monitor was dead).
#[derive(Clone)]
struct FakeQueue {
    messages: Arc<Mutex<Vec<Waiting>>>,
    place: FakePlace,
}

impl FakeQueue {
    fn announcing(place: &FakePlace, keys: &[String]) -> FakeQueue {
        let messages = keys
            .iter()
            .enumerate()
            .map(|(i, key)| Waiting {
                id: format!("m{i}"),
                body: serde_json::json!({"Records": [{
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": "fake"}, "object": {"key": key}},
                }]})
                .to_string(),
                hidden: false,
            })
            .collect();
        FakeQueue {
            messages: Arc::new(Mutex::new(messages)),
            place: place.clone(),
        }
    }

    fn visibility_timeout_passes(&self) -> Outcome {
        for message in self.messages.lock().map_err(|e| e.to_string())?.iter_mut() {
            message.hidden = false;
        }
        Ok(())
    }

    fn left(&self) -> Outcome<usize> {
        Ok(self.messages.lock().map_err(|e| e.to_string())?.len())
    }
}

fn poisoned<T>(_: T) -> SourceError {
    SourceError::Internal("the fake queue's lock is poisoned".to_owned())
}

impl NotificationQueue for FakeQueue {
    fn url(&self) -> &str {
        "fake://queue"
    }

    fn receive(&self, _visibility_seconds: u64) -> Result<Vec<QueueMessage>, SourceError> {
        let mut messages = self.messages.lock().map_err(poisoned)?;
        // Ten at a time, as SQS gives them.
        Ok(messages
            .iter_mut()
            .filter(|m| !m.hidden)
            .take(10)
            .map(|m| {
                m.hidden = true;
                QueueMessage {
                    id: m.id.clone(),
                    receipt: format!("receipt-{}", m.id),
                    body: m.body.clone(),
                }
            })
            .collect())
    }

    fn delete(&self, receipts: &[String]) -> Result<(), SourceError> {
        let mut messages = self.messages.lock().map_err(poisoned)?;
        messages.retain(|m| !receipts.contains(&format!("receipt-{}", m.id)));
        Ok(())
    }

    fn place(&self, bucket: &str) -> Result<Arc<dyn ObjectPlace>, SourceError> {
        assert_eq!(bucket, "fake");
        Ok(Arc::new(self.place.clone()))
    }
}

/// Two accounts of generated CloudTrail with planted attacks: the bucket delivers the
/// first's, the queue announces the second's.
struct Estate {
    _dir: tempfile::TempDir,
    place: FakePlace,
    bucket_folders: Vec<String>,
    queued: Vec<String>,
    /// Every eventID in the files.
    event_ids: BTreeSet<String>,
}

fn estate() -> Outcome<Estate> {
    let dir = tempfile::tempdir()?;
    let config = trailhound_generate::GeneratorConfig {
        dir: dir.path().to_path_buf(),
        events: 1500,
        accounts: 2,
        regions: vec!["us-east-1".to_owned(), "eu-west-1".to_owned()],
        days: 2,
        start: chrono::NaiveDate::from_ymd_opt(2024, 7, 1).ok_or("date")?,
        seed: 11,
        scenarios: trailhound_generate::Scenario::ALL.to_vec(),
        org_id: None,
        compression_level: 1,
        signing: None,
    };
    trailhound_generate::generate(&config)?;
    let place = FakePlace {
        root: dir.path().to_path_buf(),
    };
    let accounts: Vec<String> = std::fs::read_dir(dir.path().join("AWSLogs"))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let [first, second] = accounts.as_slice() else {
        return Err(format!("expected two accounts, found {accounts:?}").into());
    };
    let mut bucket_folders = Vec::new();
    for region in std::fs::read_dir(dir.path().join(format!("AWSLogs/{first}/CloudTrail")))? {
        let region = region?.file_name().to_string_lossy().into_owned();
        bucket_folders.push(format!("AWSLogs/{first}/CloudTrail/{region}/"));
    }
    bucket_folders.sort();
    let queued = place.keys_under(&format!("AWSLogs/{second}"));
    let mut event_ids = BTreeSet::new();
    trailhound_source::read(
        vec![InputSpec::Path(dir.path().join("AWSLogs"))],
        &ReadOptions::default(),
        |message| {
            if let trailhound_source::ReadMessage::Batch(batch) = &message {
                for event in batch.events().flatten() {
                    event_ids.extend(event.event_id().map(str::to_owned));
                }
            }
            ControlFlow::Continue(())
        },
    );
    Ok(Estate {
        _dir: dir,
        place,
        bucket_folders,
        queued,
        event_ids,
    })
}

/// A data folder and the alert sink's file.
struct Run {
    dir: tempfile::TempDir,
    queue: FakeQueue,
}

impl Run {
    fn new(estate: &Estate) -> Outcome<Run> {
        Ok(Run {
            dir: tempfile::tempdir()?,
            queue: FakeQueue::announcing(&estate.place, &estate.queued),
        })
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn sink(&self) -> PathBuf {
        self.dir.path().join("alerts.jsonl")
    }

    /// A monitor as `watch` starts one: a fresh process over the same data folder.
    fn monitor(&self, estate: &Estate) -> Outcome<Monitor> {
        let lake = Lake::open(&self.data(), Access::Write)?;
        let bucket = FakeBucket {
            place: estate.place.clone(),
            folders: estate.bucket_folders.clone(),
        };
        let followed: Vec<Box<dyn Followed>> = vec![
            Box::new(FollowedBucket(bucket)),
            Box::new(FollowedQueue::new(self.queue.clone(), 300)),
        ];
        let config = AlertConfig::parse(
            &format!(
                "[alerts]\nmax_per_hour = 100000\ndedup_window = \"1s\"\n\n\
                 [[sinks]]\nname = \"file\"\ntype = \"jsonl\"\npath = {:?}\n\n\
                 [[routes]]\nsinks = [\"file\"]\nmin_level = \"informational\"\n",
                self.sink().display().to_string()
            ),
            "test",
        )?;
        let settings = MonitorSettings {
            read: ReadOptions::default(),
            rules: Some(trailhound_detect::RuleSet::new(
                trailhound_detect::builtin_rules()?,
            )?),
            insights: Some(trailhound_insights::Settings::default()),
            posture: None,
            retention: None,
            // These tests count every finding's alert; which findings are history is tested
            // on its own.
            alert_history: true,
            ocsf: None,
            reports: Vec::new(),
        };
        Ok(Monitor::new(
            lake,
            followed,
            Alerting::new(config)?,
            settings,
        )?)
    }

    /// What the run left, for comparing with a run never interrupted.
    fn outcome(&self, estate: &Estate) -> Outcome<Left> {
        let lake = Lake::open(&self.data(), Access::Read)?;
        let listing = lake.listing();
        let mut stored: BTreeMap<String, usize> = BTreeMap::new();
        for file in lake.event_files(&Selection::default())? {
            for_each_record(&listing, &file, |record| {
                if let Some(id) = CloudTrailEvent::parse(record)
                    .ok()
                    .and_then(|e| e.event_id().map(str::to_owned))
                {
                    *stored.entry(id).or_default() += 1;
                }
            })?;
        }
        let twice: Vec<&String> = stored
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(id, _)| id)
            .collect();
        assert!(twice.is_empty(), "stored more than once: {twice:?}");
        let catalog = lake.catalog();
        let findings: BTreeSet<(String, Option<String>, Option<String>)> = catalog
            .findings()?
            .into_iter()
            .map(|f| {
                (
                    f.finding.rule_id,
                    f.finding.event_ids.first().cloned(),
                    f.finding.time,
                )
            })
            .collect();
        // Every finding routed once: in exactly one alert of the outbox.
        let mut routed: BTreeMap<i64, usize> = BTreeMap::new();
        for alert in catalog.alerts(usize::MAX)? {
            for id in alert.finding_ids {
                *routed.entry(id).or_default() += 1;
            }
        }
        assert!(routed.values().all(|n| *n == 1), "a finding routed twice");
        assert_eq!(routed.len(), findings.len(), "every finding is routed");
        // Every alert delivered once, by its delivery number.
        let text = std::fs::read_to_string(self.sink()).unwrap_or_default();
        let mut delivered: BTreeMap<i64, usize> = BTreeMap::new();
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line)?;
            let delivery = value["delivery"].as_i64().ok_or("no delivery number")?;
            *delivered.entry(delivery).or_default() += 1;
        }
        assert!(
            delivered.values().all(|n| *n == 1),
            "an alert delivered twice"
        );
        assert_eq!(catalog.outbox_counts()?.pending, 0, "alerts left waiting");
        let checkpoints: BTreeMap<String, Option<String>> = catalog
            .checkpoints()?
            .into_iter()
            .map(|c| {
                assert_eq!(c.error, None, "{}", c.source);
                (c.source, c.position)
            })
            .collect();
        for folder in &estate.bucket_folders {
            let newest = estate.place.keys_under(folder).pop();
            assert_eq!(
                checkpoints.get(&format!("fake://bucket/{folder}")),
                Some(&newest),
                "{folder}"
            );
        }
        Ok(Left {
            events: stored.into_keys().collect(),
            findings,
            delivered: delivered.len(),
            queue_left: self.queue.left()?,
            insights: catalog.insights()?.len(),
        })
    }
}

/// What a run leaves behind.
#[derive(Debug)]
struct Left {
    events: BTreeSet<String>,
    findings: BTreeSet<(String, Option<String>, Option<String>)>,
    delivered: usize,
    queue_left: usize,
    insights: usize,
}

/// Takes notes as the CLI prints.
#[derive(Default)]
struct Notes {
    problems: Vec<Problem>,
}

impl PollObserver for Notes {
    fn problem(&mut self, problem: &Problem) {
        self.problems.push(problem.clone());
    }
}

#[test]
fn a_poll_killed_at_any_step_boundary_loses_and_repeats_nothing() -> Outcome {
    let estate = estate()?;
    assert!(estate.bucket_folders.len() >= 2 && !estate.queued.is_empty());

    let reference = Run::new(&estate)?;
    let mut notes = Notes::default();
    let first = reference.monitor(&estate)?.poll(&mut notes)?;
    assert!(notes.problems.is_empty(), "{:?}", notes.problems);
    assert!(first.objects > 0 && first.findings > 0 && first.alerts.sent > 0);
    let expected = reference.outcome(&estate)?;
    assert_eq!(
        expected.events, estate.event_ids,
        "every event is in the lake"
    );
    assert_eq!(expected.queue_left, 0);
    assert!(expected.insights > 0, "the planted bursts make Insights");

    for boundary in Step::ALL {
        let run = Run::new(&estate)?;
        let mut notes = Notes::default();
        run.monitor(&estate)?.poll_until(&mut notes, &mut |step| {
            if step == boundary {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        // The process is gone; its hidden messages come back in time.
        run.queue.visibility_timeout_passes()?;
        let mut restarted = run.monitor(&estate)?;
        restarted.poll(&mut notes)?;
        // And a poll after that finds nothing to do.
        let again = restarted.poll(&mut notes)?;
        assert_eq!(
            (
                again.objects,
                again.events_new,
                again.findings,
                again.alerts.queued
            ),
            (0, 0, 0, 0),
            "killed after {boundary:?}"
        );
        assert!(
            notes.problems.is_empty(),
            "{boundary:?}: {:?}",
            notes.problems
        );
        drop(restarted);
        let left = run.outcome(&estate)?;
        let missing: Vec<&String> = expected.events.difference(&left.events).take(3).collect();
        assert!(
            missing.is_empty(),
            "killed after {boundary:?}: {} events lost, e.g. {missing:?}",
            expected.events.len() - left.events.len().min(expected.events.len())
        );
        let findings: Vec<_> = expected
            .findings
            .symmetric_difference(&left.findings)
            .take(3)
            .collect();
        assert!(
            findings.is_empty(),
            "killed after {boundary:?}: findings differ, e.g. {findings:?}"
        );
        assert_eq!(
            (left.delivered, left.queue_left, left.insights),
            (expected.delivered, expected.queue_left, expected.insights),
            "killed after {boundary:?}: (alerts delivered, messages left, Insights records)"
        );
    }
    Ok(())
}
