//! A compiled rule set and the detector that applies it.
//!
//! Matching is split in two so that it uses every core: [`RuleSet::evaluate`] is pure and
//! runs on the reader's worker threads, one event at a time; [`Detector`] keeps the state of
//! correlations and runs on one thread, fed only with the (rare) events that matched.
//!
//! Nearly every CloudTrail rule names the `eventName`s it is about, so rules are indexed by
//! the exact `eventName` values their condition requires: an event is only tested against the
//! rules for its own name plus the few rules that do not constrain the name.

use std::collections::HashMap;

use trailhound_event::{CloudTrailEvent, FieldPath, RawEvent};

use crate::error::DetectError;
use trailhound_event::{EventFacts, Finding};

use crate::finding;
use crate::pattern::fold;
use crate::rule::{Level, Logic, Rule};
use crate::sigma::correlation::{Correlation, CorrelationKind, Entry, Windows};

/// Rules compiled for matching.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    by_event_name: HashMap<String, Vec<usize>>,
    unindexed: Vec<usize>,
    correlations: Vec<CompiledCorrelation>,
    /// For each rule: the correlations it feeds, as (correlation, position in its rule list).
    feeds: Vec<Vec<(usize, usize)>>,
    /// Whether a rule's own matches are findings (rules used only by a correlation are not,
    /// unless the correlation says `generate: true`).
    reports: Vec<bool>,
}

#[derive(Debug)]
struct CompiledCorrelation {
    /// The correlation rule's index.
    rule: usize,
    spec: Correlation,
    /// Per referenced rule (by position): the field of each group-by name.
    group_fields: Vec<Vec<Option<FieldPath>>>,
}

/// What the rules found in one event, ready for the [`Detector`].
#[derive(Debug, Clone)]
pub struct EventMatch {
    /// The event's facts.
    pub facts: EventFacts,
    /// Single-event rules that matched and report on their own.
    pub rules: Vec<usize>,
    /// Inputs to correlations: (correlation, rule position, group values, counted value).
    pub correlation_inputs: Vec<(usize, usize, Vec<String>, Option<String>)>,
}

impl RuleSet {
    /// Compiles rules. A later rule with the same id replaces an earlier one (so a user's
    /// rules override the built-in pack). Correlations must name loaded rules.
    pub fn new(rules: Vec<Rule>) -> Result<RuleSet, DetectError> {
        let mut unique: Vec<Rule> = Vec::with_capacity(rules.len());
        let mut position: HashMap<String, usize> = HashMap::new();
        for rule in rules {
            match position.get(&rule.id) {
                Some(&at) => {
                    tracing::info!(
                        "rule {} from {} replaces the one from {}",
                        rule.id,
                        rule.origin,
                        unique[at].origin
                    );
                    unique[at] = rule;
                }
                None => {
                    position.insert(rule.id.clone(), unique.len());
                    unique.push(rule);
                }
            }
        }
        let rules = unique;
        let lookup = |reference: &str| -> Option<usize> {
            rules
                .iter()
                .position(|r| r.id == reference || r.name.as_deref() == Some(reference))
        };

        let mut by_event_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut unindexed = Vec::new();
        let mut correlations = Vec::new();
        let mut feeds: Vec<Vec<(usize, usize)>> = vec![Vec::new(); rules.len()];
        let mut reports = vec![true; rules.len()];
        for (index, rule) in rules.iter().enumerate() {
            let required = match &rule.logic {
                Logic::Detection(d) => d.required("eventName"),
                Logic::Filter(f) => f.required("eventName"),
                Logic::Correlation(c) => {
                    let mut group_fields = Vec::new();
                    for (at, reference) in c.rules.iter().enumerate() {
                        let target = lookup(reference).ok_or_else(|| {
                            DetectError::RuleSet(format!(
                                "{}: correlation `{}` refers to rule `{reference}`, which is not loaded",
                                rule.origin, rule.title
                            ))
                        })?;
                        if matches!(rules[target].logic, Logic::Correlation(_)) {
                            return Err(DetectError::RuleSet(format!(
                                "{}: correlation `{}` refers to the correlation `{reference}`; correlations of correlations are not supported yet",
                                rule.origin, rule.title
                            )));
                        }
                        feeds[target].push((correlations.len(), at));
                        if !c.generate {
                            reports[target] = false;
                        }
                        let mut refs = vec![reference.as_str(), rules[target].id.as_str()];
                        if let Some(name) = &rules[target].name {
                            refs.push(name);
                        }
                        group_fields
                            .push(c.group_by.iter().map(|g| c.group_field(g, &refs)).collect());
                    }
                    correlations.push(CompiledCorrelation {
                        rule: index,
                        spec: c.clone(),
                        group_fields,
                    });
                    continue;
                }
            };
            match required {
                Some(names) => {
                    let mut names = names;
                    names.sort();
                    names.dedup();
                    for name in names {
                        by_event_name.entry(name).or_default().push(index);
                    }
                }
                None => unindexed.push(index),
            }
        }
        Ok(RuleSet {
            rules,
            by_event_name,
            unindexed,
            correlations,
            feeds,
            reports,
        })
    }

    /// The rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// How many rules are not indexed by eventName (each is tried on every event).
    pub fn unindexed(&self) -> usize {
        self.unindexed.len()
    }

    /// Tests one record (its JSON text) against every rule that could match it. `None` when
    /// nothing matched: the common case, which parses no more of the record than the rules
    /// look at and allocates nothing.
    pub fn evaluate(&self, raw: &str) -> Option<EventMatch> {
        self.evaluate_raw(&RawEvent::new(raw))
    }

    /// [`RuleSet::evaluate`] for a record already parsed (as ingest does with every record):
    /// the fields rules test most are then read without searching the text.
    pub fn evaluate_event(&self, event: &CloudTrailEvent<'_>) -> Option<EventMatch> {
        self.evaluate_raw(&RawEvent::located(event))
    }

    /// The matches among a batch of parsed records, in their order: what ingest's workers
    /// hand on to be concluded into findings.
    pub fn evaluate_events(&self, events: &[CloudTrailEvent<'_>]) -> Vec<EventMatch> {
        events
            .iter()
            .filter_map(|event| self.evaluate_event(event))
            .collect()
    }

    fn evaluate_raw(&self, event: &RawEvent<'_>) -> Option<EventMatch> {
        let name = event.text("eventName");
        let indexed = name
            .as_deref()
            .and_then(|name| self.by_event_name.get(LowerName::of(name).as_str()));
        let candidates = indexed.into_iter().flatten().chain(self.unindexed.iter());
        let mut matched: Option<EventMatch> = None;
        for &index in candidates {
            let hit = match &self.rules[index].logic {
                Logic::Detection(d) => d.is_match(event),
                Logic::Filter(f) => f.is_match(event),
                Logic::Correlation(_) => false,
            };
            if !hit {
                continue;
            }
            let found = matched.get_or_insert_with(|| EventMatch {
                facts: match event.parsed() {
                    Some(parsed) => EventFacts::of(parsed),
                    None => CloudTrailEvent::parse(event.raw())
                        .map(|parsed| EventFacts::of(&parsed))
                        .unwrap_or_default(),
                },
                rules: Vec::new(),
                correlation_inputs: Vec::new(),
            });
            if self.reports[index] {
                found.rules.push(index);
            }
            for &(correlation, at) in &self.feeds[index] {
                let compiled = &self.correlations[correlation];
                let text = |path: &FieldPath| -> Option<String> {
                    event.leaves(path).and_then(|l| {
                        l.first()
                            .and_then(|v| crate::field::Leaf(v).text())
                            .map(|t| t.into_owned())
                    })
                };
                let group = compiled.group_fields[at]
                    .iter()
                    .map(|f| f.as_ref().and_then(text).unwrap_or_default())
                    .collect();
                let value = match &compiled.spec.kind {
                    CorrelationKind::ValueCount(field) => text(field),
                    _ => None,
                };
                found
                    .correlation_inputs
                    .push((correlation, at, group, value));
            }
        }
        matched
    }

    /// Whether a single-event rule matches an event's JSON text (for rule tests).
    pub fn rule_matches(&self, index: usize, raw: &str) -> bool {
        let event = RawEvent::new(raw);
        match &self.rules[index].logic {
            Logic::Detection(d) => d.is_match(&event),
            Logic::Filter(f) => f.is_match(&event),
            Logic::Correlation(_) => false,
        }
    }
}

/// Applies a [`RuleSet`] to a stream of [`EventMatch`]es and keeps correlation state.
///
/// Correlation inputs are buffered and applied in time order at [`Detector::flush`] (or when
/// the buffer is full), because events arrive in file order, not strictly in time order.
pub struct Detector<'r> {
    rules: &'r RuleSet,
    min_level: Level,
    windows: Vec<Windows<EventFacts>>,
    pending: Vec<PendingInput>,
    /// Correlations that fired and whose group keeps matching: one burst, one finding,
    /// grown (count, last time, events) until the group is quiet for the timespan.
    bursts: HashMap<(usize, Vec<String>), Burst>,
}

/// A correlation finding still growing.
struct Burst {
    /// The first events (at most [`Finding::MAX_EVENT_IDS`]).
    first: Vec<EventFacts>,
    /// The newest event.
    last: EventFacts,
    /// Events in all.
    count: usize,
    last_ms: i64,
    /// Grown since it was last handed out.
    dirty: bool,
}

/// A correlation input waiting to be applied in time order.
struct PendingInput {
    time_ms: i64,
    correlation: usize,
    rule_position: usize,
    group: Vec<String>,
    value: Option<String>,
    facts: EventFacts,
}

/// Correlation inputs held before they are applied in time order.
const PENDING_LIMIT: usize = 50_000;

impl<'r> Detector<'r> {
    /// A detector reporting findings at `min_level` or above.
    pub fn new(rules: &'r RuleSet, min_level: Level) -> Detector<'r> {
        Detector {
            rules,
            min_level,
            windows: (0..rules.correlations.len())
                .map(|_| Windows::default())
                .collect(),
            pending: Vec::new(),
            bursts: HashMap::new(),
        }
    }

    /// Takes one event's matches; single-event findings go to `out` at once.
    pub fn feed(&mut self, matched: EventMatch, out: &mut Vec<Finding>) {
        for &index in &matched.rules {
            let rule = &self.rules.rules[index];
            if rule.level >= self.min_level {
                out.push(finding::single(rule, &matched.facts));
            }
        }
        for (correlation, at, group, value) in matched.correlation_inputs {
            self.pending.push(PendingInput {
                time_ms: matched.facts.time_ms,
                correlation,
                rule_position: at,
                group,
                value,
                facts: matched.facts.clone(),
            });
        }
        if self.pending.len() >= PENDING_LIMIT {
            self.flush(out);
        }
    }

    /// Applies buffered correlation inputs in time order.
    ///
    /// CloudTrail's `eventTime` has whole seconds, so many inputs share a time. Ties are
    /// broken by `eventID`: the findings must not depend on the order in which files were
    /// read (files in parallel, the lake's files in catalog order).
    pub fn flush(&mut self, out: &mut Vec<Finding>) {
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_unstable_by(|a, b| {
            a.time_ms
                .cmp(&b.time_ms)
                .then_with(|| a.facts.event_id.cmp(&b.facts.event_id))
                .then_with(|| a.correlation.cmp(&b.correlation))
                .then_with(|| a.rule_position.cmp(&b.rule_position))
        });
        for input in pending {
            let PendingInput {
                time_ms,
                correlation,
                rule_position,
                group,
                value,
                facts,
            } = input;
            let compiled = &self.rules.correlations[correlation];
            let key = (correlation, group);
            if let Some(burst) = self.bursts.get_mut(&key) {
                if time_ms <= burst.last_ms.saturating_add(compiled.spec.timespan_ms) {
                    // Still the same burst: it grows, no new finding.
                    if burst.first.len() < Finding::MAX_EVENT_IDS {
                        burst.first.push(facts.clone());
                    }
                    burst.last = facts;
                    burst.count += 1;
                    burst.last_ms = burst.last_ms.max(time_ms);
                    burst.dirty = true;
                    continue;
                }
                // Quiet for the timespan: the burst is over; this event starts afresh.
                if let Some(over) = self.bursts.remove(&key)
                    && over.dirty
                {
                    self.hand_out(&key, &over, out);
                }
            }
            let entry = Entry {
                time_ms,
                rule: rule_position,
                value,
                payload: facts,
            };
            let Some(entries) =
                self.windows[correlation].push(&compiled.spec, key.1.clone(), entry)
            else {
                continue;
            };
            let events: Vec<EventFacts> = entries.into_iter().map(|e| e.payload).collect();
            let Some(last) = events.last().cloned() else {
                continue;
            };
            self.bursts.insert(
                key,
                Burst {
                    count: events.len(),
                    first: events.into_iter().take(Finding::MAX_EVENT_IDS).collect(),
                    last,
                    last_ms: time_ms,
                    dirty: true,
                },
            );
        }
        // Each burst that fired or grew is handed out once per flush, as it stands; a later
        // flush that grows it again hands out the same finding, grown (same rule, first event
        // and first time: the catalog updates it in place).
        let mut keys: Vec<(usize, Vec<String>)> = self
            .bursts
            .iter()
            .filter(|(_, burst)| burst.dirty)
            .map(|(key, _)| key.clone())
            .collect();
        keys.sort();
        for key in keys {
            if let Some(burst) = self.bursts.get_mut(&key) {
                burst.dirty = false;
            }
            if let Some(burst) = self.bursts.get(&key) {
                self.hand_out(&key, burst, out);
            }
        }
    }

    /// The finding of a burst, if its rule's level is reported.
    fn hand_out(&self, key: &(usize, Vec<String>), burst: &Burst, out: &mut Vec<Finding>) {
        let compiled = &self.rules.correlations[key.0];
        let rule = &self.rules.rules[compiled.rule];
        if rule.level < self.min_level {
            return;
        }
        let mut events = burst.first.clone();
        if burst.count > events.len() {
            events.push(burst.last.clone());
        }
        let summary = correlation_summary(rule, &compiled.spec, &key.1, burst.count);
        let mut finding = finding::from_events(rule, &events, summary);
        finding.event_count = burst.count as u64;
        out.push(finding);
    }
}

fn correlation_summary(rule: &Rule, spec: &Correlation, group: &[String], count: usize) -> String {
    let grouping: Vec<String> = spec
        .group_by
        .iter()
        .zip(group)
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let scope = if grouping.is_empty() {
        String::new()
    } else {
        format!(" for {}", grouping.join(", "))
    };
    let what = match &spec.kind {
        CorrelationKind::EventCount => format!("{count} matching events"),
        CorrelationKind::ValueCount(field) => format!(
            "{} distinct {field} values over {count} events",
            spec.condition.describe(),
        ),
        CorrelationKind::Temporal => format!("{count} related events"),
        CorrelationKind::TemporalOrdered => format!("{count} events in the expected order"),
    };
    let more = if count > Finding::MAX_EVENT_IDS {
        " (first 100 listed)"
    } else {
        ""
    };
    format!(
        "{}: {what} within {}{scope}{more}",
        rule.title,
        describe_span(spec.timespan_ms)
    )
}

fn describe_span(ms: i64) -> String {
    match ms {
        ms if ms % 86_400_000 == 0 => format!("{}d", ms / 86_400_000),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms => format!("{}s", ms / 1000),
    }
}

/// An eventName lower-cased for the rule index without allocating: names are short ASCII, and
/// this runs once for every event. Longer or non-ASCII names take the general path.
enum LowerName<'a> {
    Inline([u8; LowerName::INLINE], usize),
    Folded(std::borrow::Cow<'a, str>),
}

impl<'a> LowerName<'a> {
    const INLINE: usize = 64;

    fn of(name: &'a str) -> LowerName<'a> {
        if name.len() <= Self::INLINE && name.is_ascii() {
            let mut bytes = [0; Self::INLINE];
            for (to, from) in bytes.iter_mut().zip(name.bytes()) {
                *to = from.to_ascii_lowercase();
            }
            LowerName::Inline(bytes, name.len())
        } else {
            LowerName::Folded(fold(name, false))
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // ASCII in, ASCII out.
            LowerName::Inline(bytes, len) => std::str::from_utf8(&bytes[..*len]).unwrap_or(""),
            LowerName::Folded(text) => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::parse_rules;

    const RULES: &str = "title: Bucket deleted
id: 00000000-0000-4000-8000-000000000001
name: bucket-deleted
level: informational
detection:
  selection:
    eventName: DeleteBucket
  condition: selection
---
title: Two buckets deleted
id: 00000000-0000-4000-8000-000000000002
level: high
correlation:
  type: event_count
  rules: [bucket-deleted]
  group-by: [userIdentity.arn]
  timespan: 1h
  condition:
    gte: 2
";

    fn deletion(id: &str) -> String {
        format!(
            r#"{{"eventID":"{id}","eventTime":"2024-07-01T10:00:00Z","eventName":"DeleteBucket","userIdentity":{{"arn":"arn:aws:iam::111122223333:user/mallory"}}}}"#
        )
    }

    fn correlated_ids(rules: &RuleSet, ids: &[&str]) -> Vec<Vec<String>> {
        let mut detector = Detector::new(rules, Level::Informational);
        let mut findings = Vec::new();
        for id in ids {
            if let Some(matched) = rules.evaluate(&deletion(id)) {
                detector.feed(matched, &mut findings);
            }
        }
        detector.flush(&mut findings);
        findings
            .into_iter()
            .filter(|f| f.event_count > 1)
            .map(|f| f.event_ids)
            .collect()
    }

    #[test]
    fn a_burst_is_one_finding_that_grows_until_the_group_is_quiet() -> Result<(), DetectError> {
        let rules = RuleSet::new(parse_rules(RULES, "test")?)?;
        let event = |id: &str, time: &str| {
            format!(
                r#"{{"eventID":"{id}","eventTime":"{time}","eventName":"DeleteBucket","userIdentity":{{"arn":"arn:aws:iam::111122223333:user/mallory"}}}}"#
            )
        };
        let mut detector = Detector::new(&rules, Level::Informational);
        let mut findings = Vec::new();
        // Eight deletions a minute apart: one burst (the rule wants 2 within 1h).
        for n in 0..8 {
            let record = event(&format!("e{n}"), &format!("2024-07-01T10:0{n}:00Z"));
            if let Some(matched) = rules.evaluate(&record) {
                detector.feed(matched, &mut findings);
            }
            // Flushed after each event, as a live monitor's polls do: the same finding is
            // handed out grown, never a second one.
            detector.flush(&mut findings);
        }
        // Two hours later the group has been quiet for the timespan: a new burst.
        for n in 0..2 {
            let record = event(&format!("late{n}"), &format!("2024-07-01T12:30:0{n}Z"));
            if let Some(matched) = rules.evaluate(&record) {
                detector.feed(matched, &mut findings);
            }
        }
        detector.flush(&mut findings);
        let bursts: Vec<&Finding> = findings.iter().filter(|f| f.event_count > 1).collect();
        let firsts: std::collections::BTreeSet<(Option<String>, String)> = bursts
            .iter()
            .map(|f| (f.first_time.clone(), f.event_ids[0].clone()))
            .collect();
        assert_eq!(firsts.len(), 2, "two bursts: {bursts:#?}");
        let first = bursts
            .iter()
            .filter(|f| f.event_ids[0] == "e0")
            .max_by_key(|f| f.event_count);
        assert_eq!(first.map(|f| f.event_count), Some(8));
        assert_eq!(
            first.and_then(|f| f.time.clone()).as_deref(),
            Some("2024-07-01T10:07:00Z")
        );
        Ok(())
    }

    #[test]
    fn correlations_do_not_depend_on_the_order_events_arrive_in() -> Result<(), DetectError> {
        let rules = RuleSet::new(parse_rules(RULES, "test")?)?;
        // All three share one second; whichever order they are read in, the same two form
        // the finding and the third grows it (one burst, one finding).
        let forward = correlated_ids(&rules, &["a", "b", "c"]);
        assert_eq!(
            forward,
            vec![vec!["a".to_string(), "b".to_string(), "c".to_string()]]
        );
        assert_eq!(correlated_ids(&rules, &["c", "b", "a"]), forward);
        assert_eq!(correlated_ids(&rules, &["b", "c", "a"]), forward);
        Ok(())
    }
}
