//! Hunting: the rules over any history, files or the lake, as a timeline of findings, or a
//! summary of each principal's activity.
//!
//! Rules are evaluated on worker threads (the reader's, or one per core over lake files);
//! only events that matched, and per-batch activity tallies, reach the calling thread, which
//! applies correlations in time order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};

use trailhound_detect::{Detector, EventMatch, Level, RuleSet};
use trailhound_event::{CloudTrailEvent, Finding};
use trailhound_lake::{Lake, for_each_record};
use trailhound_source::{EventBatch, InputSpec, ReadMessage, ReadOptions, Selection};

use crate::PipelineError;

/// What to hunt for.
#[derive(Clone, Copy)]
pub struct HuntSettings<'r> {
    /// The rules.
    pub rules: &'r RuleSet,
    /// Findings below this level are left out.
    pub min_level: Level,
    /// Tally each principal's activity instead of running the rules.
    pub summary: bool,
}

/// What a hunt found.
#[derive(Debug, Default)]
pub struct HuntOutcome {
    /// Findings in time order (then by rule title).
    pub findings: Vec<Finding>,
    /// With [`HuntSettings::summary`]: each principal's activity, busiest first.
    pub activity: Vec<(String, Activity)>,
}

/// What the workers hand over for one batch of events.
#[derive(Default)]
pub struct HuntBatch {
    matches: Vec<EventMatch>,
    activity: HashMap<String, Activity>,
}

/// One principal's activity. Sets are capped at [`Activity::SET_CAP`] values so that one
/// principal with millions of distinct values cannot exhaust memory; the counts stay exact.
#[derive(Debug, Default)]
pub struct Activity {
    /// Events.
    pub events: u64,
    /// Failed calls (with an `errorCode`).
    pub failed: u64,
    /// Calls per `service:API`.
    pub apis: BTreeMap<String, u64>,
    /// Regions acted in.
    pub regions: BTreeSet<String>,
    /// Source IP addresses.
    pub source_ips: BTreeSet<String>,
    /// User agents.
    pub user_agents: BTreeSet<String>,
    /// Access keys used.
    pub access_keys: BTreeSet<String>,
    /// The earliest `eventTime`.
    pub first_seen: Option<String>,
    /// The latest `eventTime`.
    pub last_seen: Option<String>,
}

impl Activity {
    /// Most distinct values kept in each set.
    pub const SET_CAP: usize = 1000;

    /// The busiest APIs, most calls first.
    pub fn top_apis(&self, n: usize) -> Vec<(&str, u64)> {
        let mut apis: Vec<(&str, u64)> = self.apis.iter().map(|(a, n)| (a.as_str(), *n)).collect();
        apis.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        apis.truncate(n);
        apis
    }

    fn add(&mut self, event: &CloudTrailEvent<'_>) {
        self.events += 1;
        if event.error_code().is_some() {
            self.failed += 1;
        }
        let api = format!(
            "{}:{}",
            event
                .event_source()
                .map_or("?", |s| s.trim_end_matches(".amazonaws.com")),
            event.event_name().unwrap_or("?")
        );
        self.count_api(api, 1);
        capped_insert(&mut self.regions, event.aws_region());
        capped_insert(&mut self.source_ips, event.source_ip_address());
        capped_insert(&mut self.user_agents, event.user_agent());
        capped_insert(
            &mut self.access_keys,
            event.user_identity().and_then(|i| i.access_key_id()),
        );
        if let Some(time) = event.event_time_text() {
            self.seen_at(time);
        }
    }

    fn count_api(&mut self, api: String, calls: u64) {
        if self.apis.len() < Self::SET_CAP || self.apis.contains_key(&api) {
            *self.apis.entry(api).or_default() += calls;
        }
    }

    /// Widens the first and last seen times to include `time` (RFC 3339 UTC text sorts in
    /// time order).
    fn seen_at(&mut self, time: &str) {
        if self.first_seen.as_deref().is_none_or(|f| time < f) {
            self.first_seen = Some(time.to_owned());
        }
        if self.last_seen.as_deref().is_none_or(|l| time > l) {
            self.last_seen = Some(time.to_owned());
        }
    }

    fn merge(&mut self, other: Activity) {
        self.events += other.events;
        self.failed += other.failed;
        for (api, n) in other.apis {
            self.count_api(api, n);
        }
        for (mine, theirs) in [
            (&mut self.regions, other.regions),
            (&mut self.source_ips, other.source_ips),
            (&mut self.user_agents, other.user_agents),
            (&mut self.access_keys, other.access_keys),
        ] {
            for value in theirs {
                capped_insert(mine, Some(&value));
            }
        }
        for time in other.first_seen.iter().chain(&other.last_seen) {
            self.seen_at(time);
        }
    }
}

fn capped_insert(set: &mut BTreeSet<String>, value: Option<&str>) {
    if let Some(value) = value
        && (set.len() < Activity::SET_CAP || set.contains(value))
    {
        set.insert(value.to_owned());
    }
}

/// Rules (or tallies) over one record, into `batch`.
fn hunt_record(
    batch: &mut HuntBatch,
    settings: &HuntSettings<'_>,
    selection: &Selection,
    record: &str,
) {
    // Parsing every field is only needed to filter by time here or to tally: the rules
    // alone read just the fields they test, which costs less than a whole parse
    // (docs/benchmarks.md). Once parsed, the rules use it.
    if settings.summary || !selection.is_everything() {
        let Ok(event) = CloudTrailEvent::parse(record) else {
            return;
        };
        if !selection.is_everything() && !selection.admits_event(&event) {
            return;
        }
        if settings.summary {
            let principal = event
                .user_identity()
                .and_then(|i| i.principal())
                .unwrap_or("(no identity)")
                .to_owned();
            batch.activity.entry(principal).or_default().add(&event);
            return;
        }
        if let Some(found) = settings.rules.evaluate_event(&event) {
            batch.matches.push(found);
        }
        return;
    }
    if let Some(found) = settings.rules.evaluate(record) {
        batch.matches.push(found);
    }
}

/// Gathers the workers' batches on the calling thread.
struct Gatherer<'r> {
    detector: Detector<'r>,
    outcome: HuntOutcome,
    activity: HashMap<String, Activity>,
}

impl<'r> Gatherer<'r> {
    fn new(settings: &HuntSettings<'r>) -> Self {
        Gatherer {
            detector: Detector::new(settings.rules, settings.min_level),
            outcome: HuntOutcome::default(),
            activity: HashMap::new(),
        }
    }

    fn take(&mut self, batch: HuntBatch) {
        for found in batch.matches {
            self.detector.feed(found, &mut self.outcome.findings);
        }
        for (principal, seen) in batch.activity {
            self.activity.entry(principal).or_default().merge(seen);
        }
    }

    fn finish(mut self) -> HuntOutcome {
        self.detector.flush(&mut self.outcome.findings);
        self.outcome.findings.sort_by(|a, b| {
            a.time
                .cmp(&b.time)
                .then_with(|| a.rule_title.cmp(&b.rule_title))
        });
        let mut activity: Vec<(String, Activity)> = self.activity.into_iter().collect();
        activity.sort_by(|a, b| b.1.events.cmp(&a.1.events).then_with(|| a.0.cmp(&b.0)));
        self.outcome.activity = activity;
        self.outcome
    }
}

/// Hunts over files, folders or S3 as the reader finds them; `observe` sees every message of
/// the read (for progress and for reporting what could not be read).
pub fn hunt_files(
    settings: &HuntSettings<'_>,
    inputs: Vec<InputSpec>,
    read: &ReadOptions,
    mut observe: impl FnMut(&ReadMessage<HuntBatch>),
) -> HuntOutcome {
    let mut gatherer = Gatherer::new(settings);
    // The reader applies the selection itself.
    let everything = Selection::default();
    let work = |events: EventBatch| {
        let mut batch = HuntBatch::default();
        for record in events.records() {
            hunt_record(&mut batch, settings, &everything, record);
        }
        batch
    };
    trailhound_source::read_map(inputs, read, &work, |message| {
        observe(&message);
        if let ReadMessage::Batch(batch) = message {
            gatherer.take(batch);
        }
        ControlFlow::Continue(())
    });
    gatherer.finish()
}

/// Hunts over the lake's files that may hold events `selection` selects, oldest first, one
/// worker per core.
///
/// # Errors
///
/// When the catalog or a lake file cannot be read.
pub fn hunt_lake(
    settings: &HuntSettings<'_>,
    lake: &Lake,
    selection: &Selection,
) -> Result<HuntOutcome, PipelineError> {
    let files = lake.event_files(selection)?;
    let listing = lake.listing();
    let threads = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .max(1);
    let next = AtomicUsize::new(0);
    let mut gatherer = Gatherer::new(settings);
    let (tx, rx) = crossbeam_channel::bounded::<Result<HuntBatch, PipelineError>>(threads * 2);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (files, next, listing) = (&files, &next, &listing);
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(index) else { break };
                    let mut batch = HuntBatch::default();
                    let result = for_each_record(listing, path, |record| {
                        hunt_record(&mut batch, settings, selection, record);
                    });
                    if tx.send(result.map(|()| batch).map_err(Into::into)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for batch in rx {
            gatherer.take(batch?);
        }
        Ok::<(), PipelineError>(())
    })?;
    Ok(gatherer.finish())
}
