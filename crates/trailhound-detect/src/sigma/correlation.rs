//! Sigma correlation rules: `event_count`, `value_count`, `temporal` and `temporal_ordered`
//! over the matches of other rules, grouped by fields within a timespan.

use std::collections::{HashMap, VecDeque};

use trailhound_event::FieldPath;

use crate::error::{Problem, problem};
use crate::yaml::{Node, Value};

/// The kind of correlation.
#[derive(Debug, Clone, PartialEq)]
pub enum CorrelationKind {
    /// Count matching events.
    EventCount,
    /// Count distinct values of a field among matching events.
    ValueCount(FieldPath),
    /// All referenced rules match within the timespan, in any order.
    Temporal,
    /// All referenced rules match within the timespan, in the order listed.
    TemporalOrdered,
}

/// A count condition: every comparison must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CountCondition {
    comparisons: Vec<(String, u64)>,
}

impl CountCondition {
    /// Whether `count` satisfies every comparison.
    pub fn holds(&self, count: u64) -> bool {
        self.comparisons.iter().all(|(op, n)| match op.as_str() {
            "gt" => count > *n,
            "gte" => count >= *n,
            "lt" => count < *n,
            "lte" => count <= *n,
            "eq" => count == *n,
            "neq" => count != *n,
            _ => false,
        })
    }

    /// The condition as written, e.g. `gte 10`.
    pub fn describe(&self) -> String {
        self.comparisons
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

/// A parsed `correlation` section.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// What is counted.
    pub kind: CorrelationKind,
    /// Referenced rules, by id or name as written.
    pub rules: Vec<String>,
    /// Group-by field names (or alias names).
    pub group_by: Vec<String>,
    /// `aliases`: alias → (rule reference → field).
    pub aliases: HashMap<String, HashMap<String, FieldPath>>,
    /// The window, in milliseconds.
    pub timespan_ms: i64,
    /// When it matches (for temporal kinds, empty means "all referenced rules").
    pub condition: CountCondition,
    /// `generate: true`: the referenced rules also report their own matches.
    pub generate: bool,
}

impl Correlation {
    /// Parses a `correlation` mapping.
    pub fn parse(node: &Node, problems: &mut Vec<Problem>) -> Option<Correlation> {
        let before = problems.len();
        if !matches!(node.value, Value::Map(_)) {
            problems.push(problem(node.at, "`correlation` must be a mapping"));
            return None;
        }
        let kind_text = node.get("type").and_then(Node::as_str).unwrap_or_default();
        let rules: Vec<String> = match node.get("rules") {
            Some(Node {
                value: Value::Seq(items),
                ..
            }) => items.iter().filter_map(Node::scalar_text).collect(),
            Some(
                n @ Node {
                    value: Value::Str(_),
                    ..
                },
            ) => n.scalar_text().into_iter().collect(),
            _ => {
                problems.push(problem(
                    node.at,
                    "`correlation.rules` must list the rules (ids or names) it correlates",
                ));
                Vec::new()
            }
        };
        let group_by: Vec<String> = match node.get("group-by") {
            Some(Node {
                value: Value::Seq(items),
                ..
            }) => items.iter().filter_map(Node::scalar_text).collect(),
            Some(
                n @ Node {
                    value: Value::Str(_),
                    ..
                },
            ) => n.scalar_text().into_iter().collect(),
            None => Vec::new(),
            Some(n) => {
                problems.push(problem(n.at, "`group-by` must be a list of fields"));
                Vec::new()
            }
        };
        let timespan_ms = match node.get("timespan") {
            Some(n) => match n.scalar_text().as_deref().and_then(parse_timespan) {
                Some(ms) => ms,
                None => {
                    problems.push(problem(
                        n.at,
                        "`timespan` is a number and a unit: 30s, 5m, 1h, 7d",
                    ));
                    0
                }
            },
            None => {
                problems.push(problem(
                    node.at,
                    "`correlation.timespan` is required (e.g. 5m)",
                ));
                0
            }
        };
        let mut aliases: HashMap<String, HashMap<String, FieldPath>> = HashMap::new();
        if let Some(Node {
            value: Value::Map(entries),
            ..
        }) = node.get("aliases")
        {
            for (alias, mapping) in entries {
                let alias = alias.scalar_text().unwrap_or_default();
                if let Value::Map(per_rule) = &mapping.value {
                    for (rule, field) in per_rule {
                        match field.scalar_text().map(|f| FieldPath::parse(&f)) {
                            Some(Ok(path)) => {
                                aliases
                                    .entry(alias.clone())
                                    .or_default()
                                    .insert(rule.scalar_text().unwrap_or_default(), path);
                            }
                            _ => problems
                                .push(problem(field.at, "an alias maps each rule to a field name")),
                        }
                    }
                }
            }
        }
        let mut condition = CountCondition::default();
        let mut value_field = None;
        match node.get("condition") {
            Some(Node {
                value: Value::Map(entries),
                ..
            }) => {
                for (key, value) in entries {
                    let key = key.scalar_text().unwrap_or_default();
                    match (key.as_str(), &value.value) {
                        ("field", _) => match value.scalar_text().map(|f| FieldPath::parse(&f)) {
                            Some(Ok(path)) => value_field = Some(path),
                            _ => problems.push(problem(value.at, "`condition.field` must be a field name")),
                        },
                        ("gt" | "gte" | "lt" | "lte" | "eq" | "neq", Value::Int(n)) if *n >= 0 => {
                            condition.comparisons.push((key, *n as u64));
                        }
                        _ => problems.push(problem(
                            value.at,
                            format!("`condition.{key}`: a condition is gt, gte, lt, lte, eq or neq with a whole number"),
                        )),
                    }
                }
            }
            Some(n) => problems.push(problem(
                n.at,
                "`correlation.condition` must be a mapping like `gte: 10`",
            )),
            None => {}
        }
        let kind = match kind_text {
            "event_count" => CorrelationKind::EventCount,
            "value_count" => match value_field {
                Some(field) => CorrelationKind::ValueCount(field),
                None => {
                    problems.push(problem(
                        node.at,
                        "a value_count correlation needs `condition.field`",
                    ));
                    CorrelationKind::EventCount
                }
            },
            "temporal" => CorrelationKind::Temporal,
            "temporal_ordered" => CorrelationKind::TemporalOrdered,
            "value_sum" | "value_avg" | "value_percentile" => {
                problems.push(problem(
                    node.at,
                    format!("the `{kind_text}` correlation is not supported"),
                ));
                CorrelationKind::EventCount
            }
            other => {
                problems.push(problem(
                    node.at,
                    format!("unknown correlation type `{other}` (use event_count, value_count, temporal or temporal_ordered)"),
                ));
                CorrelationKind::EventCount
            }
        };
        if matches!(
            kind,
            CorrelationKind::EventCount | CorrelationKind::ValueCount(_)
        ) && condition.comparisons.is_empty()
        {
            problems.push(problem(
                node.at,
                "event_count and value_count correlations need a `condition` such as `gte: 10`",
            ));
        }
        let generate = matches!(
            node.get("generate").map(|n| &n.value),
            Some(Value::Bool(true))
        );
        (problems.len() == before).then_some(Correlation {
            kind,
            rules,
            group_by,
            aliases,
            timespan_ms,
            condition,
            generate,
        })
    }

    /// The field to read for group `name` in events of the rule referred to as `rule_refs`.
    pub fn group_field(&self, name: &str, rule_refs: &[&str]) -> Option<FieldPath> {
        if let Some(per_rule) = self.aliases.get(name) {
            return rule_refs.iter().find_map(|r| per_rule.get(*r).cloned());
        }
        FieldPath::parse(name).ok()
    }
}

fn parse_timespan(text: &str) -> Option<i64> {
    let span = trailhound_event::quantity::parse_span(text).ok()?;
    let ms = i64::try_from(span.as_millis()).ok()?;
    (ms > 0).then_some(ms)
}

/// One matching event fed into a correlation, with what the caller keeps of it (`P`).
#[derive(Debug, Clone)]
pub struct Entry<P> {
    /// Event time, ms since the epoch.
    pub time_ms: i64,
    /// Which referenced rule matched (index into [`Correlation::rules`]).
    pub rule: usize,
    /// The counted field's value (value_count).
    pub value: Option<String>,
    /// What the caller keeps of the event.
    pub payload: P,
}

/// The moving windows of one correlation, one per group.
#[derive(Debug)]
pub struct Windows<P> {
    groups: HashMap<Vec<String>, Window<P>>,
}

impl<P> Default for Windows<P> {
    fn default() -> Self {
        Windows {
            groups: HashMap::new(),
        }
    }
}

impl<P> Windows<P> {
    /// Adds an entry for `group`; returns the window's entries if the correlation now
    /// matches (and starts that group afresh, so one burst gives one finding).
    pub fn push(
        &mut self,
        correlation: &Correlation,
        group: Vec<String>,
        entry: Entry<P>,
    ) -> Option<Vec<Entry<P>>> {
        let window = self.groups.entry(group.clone()).or_default();
        window.insert(entry);
        let latest = window.entries.back().map_or(i64::MIN, |e| e.time_ms);
        while window
            .entries
            .front()
            .is_some_and(|e| e.time_ms < latest - correlation.timespan_ms)
        {
            window.pop_front();
        }
        if window.matches(correlation) {
            let entries: Vec<Entry<P>> = window.entries.drain(..).collect();
            self.groups.remove(&group);
            return Some(entries);
        }
        None
    }
}

/// One group's entries within the timespan, sorted by time, with running counts of distinct
/// values and rules: a burst of thousands of entries must not be rescanned on every push.
#[derive(Debug)]
struct Window<P> {
    entries: VecDeque<Entry<P>>,
    /// Entries per value (`value_count`).
    values: HashMap<String, usize>,
    /// Entries per rule (`temporal`).
    rules: HashMap<usize, usize>,
}

impl<P> Default for Window<P> {
    fn default() -> Self {
        Window {
            entries: VecDeque::new(),
            values: HashMap::new(),
            rules: HashMap::new(),
        }
    }
}

impl<P> Window<P> {
    fn insert(&mut self, entry: Entry<P>) {
        if let Some(value) = &entry.value {
            *self.values.entry(value.clone()).or_default() += 1;
        }
        *self.rules.entry(entry.rule).or_default() += 1;
        // Entries arrive almost in time order; keep the window sorted.
        let at = self
            .entries
            .iter()
            .rposition(|e| e.time_ms <= entry.time_ms)
            .map_or(0, |i| i + 1);
        self.entries.insert(at, entry);
    }

    fn pop_front(&mut self) {
        let Some(entry) = self.entries.pop_front() else {
            return;
        };
        if let Some(value) = &entry.value {
            forget(&mut self.values, value.as_str());
        }
        forget(&mut self.rules, &entry.rule);
    }

    fn matches(&self, correlation: &Correlation) -> bool {
        match &correlation.kind {
            CorrelationKind::EventCount => correlation.condition.holds(self.entries.len() as u64),
            CorrelationKind::ValueCount(_) => correlation.condition.holds(self.values.len() as u64),
            CorrelationKind::Temporal => temporal_count_holds(correlation, self.rules.len()),
            CorrelationKind::TemporalOrdered => {
                // The longest prefix of the rule list found in order within the window.
                let mut next = 0;
                for entry in &self.entries {
                    if entry.rule == next {
                        next += 1;
                        if next == correlation.rules.len() {
                            break;
                        }
                    }
                }
                temporal_count_holds(correlation, next)
            }
        }
    }
}

/// Counts one entry fewer for `key`, dropping keys no entry has any more.
fn forget<K, Q>(counts: &mut HashMap<K, usize>, key: &Q)
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(count) = counts.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            counts.remove(key);
        }
    }
}

fn temporal_count_holds(correlation: &Correlation, count: usize) -> bool {
    if correlation.condition.comparisons.is_empty() {
        count == correlation.rules.len()
    } else {
        correlation.condition.holds(count as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_documents;

    fn correlation(yaml: &str) -> Result<Correlation, String> {
        let docs = parse_documents(yaml).map_err(|e| e.message)?;
        let mut problems = Vec::new();
        let node = docs
            .first()
            .and_then(|d| d.get("correlation"))
            .ok_or("none")?;
        Correlation::parse(node, &mut problems).ok_or_else(|| {
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn entry(time_s: i64, rule: usize, value: &str) -> Entry<()> {
        Entry {
            time_ms: time_s * 1000,
            rule,
            value: Some(value.into()),
            payload: (),
        }
    }

    #[test]
    fn event_count_fires_once_per_burst_inside_the_window() -> Result<(), String> {
        let c = correlation(
            "correlation:\n  type: event_count\n  rules: [denied]\n  group-by: [sourceIPAddress]\n  timespan: 1m\n  condition:\n    gte: 3\n",
        )?;
        let mut w = Windows::<()>::default();
        let g = || vec!["198.51.100.7".to_string()];
        assert!(w.push(&c, g(), entry(0, 0, "")).is_none());
        assert!(w.push(&c, g(), entry(10, 0, "")).is_none());
        // A different group does not count.
        assert!(w.push(&c, vec!["other".into()], entry(11, 0, "")).is_none());
        assert_eq!(w.push(&c, g(), entry(20, 0, "")).map(|e| e.len()), Some(3));
        // Outside the window the old ones no longer count.
        assert!(w.push(&c, g(), entry(100, 0, "")).is_none());
        assert!(w.push(&c, g(), entry(170, 0, "")).is_none());
        assert!(w.push(&c, g(), entry(175, 0, "")).is_none());
        Ok(())
    }

    #[test]
    fn value_count_counts_distinct_values() -> Result<(), String> {
        let c = correlation(
            "correlation:\n  type: value_count\n  rules: [r]\n  group-by: [ip]\n  timespan: 1h\n  condition:\n    field: userIdentity.userName\n    gte: 3\n",
        )?;
        let mut w = Windows::<()>::default();
        assert!(w.push(&c, vec![], entry(0, 0, "a")).is_none());
        assert!(w.push(&c, vec![], entry(1, 0, "a")).is_none());
        assert!(w.push(&c, vec![], entry(2, 0, "b")).is_none());
        assert!(w.push(&c, vec![], entry(3, 0, "c")).is_some());
        Ok(())
    }

    #[test]
    fn values_leaving_the_window_stop_counting() -> Result<(), String> {
        let c = correlation(
            "correlation:\n  type: value_count\n  rules: [r]\n  group-by: [ip]\n  timespan: 1m\n  condition:\n    field: userIdentity.userName\n    gte: 3\n",
        )?;
        let mut w = Windows::<()>::default();
        assert!(w.push(&c, vec![], entry(0, 0, "a")).is_none());
        assert!(w.push(&c, vec![], entry(10, 0, "b")).is_none());
        assert!(w.push(&c, vec![], entry(20, 0, "b")).is_none());
        // "a" (at 0 s) has left the minute; "b" is still there twice.
        assert!(w.push(&c, vec![], entry(70, 0, "c")).is_none());
        // One "b" leaves, the other keeps it counted: b, c, d.
        let fired = w.push(&c, vec![], entry(75, 0, "d"));
        assert_eq!(fired.map(|entries| entries.len()), Some(3));
        // A group that fired starts afresh.
        assert!(w.push(&c, vec![], entry(76, 0, "e")).is_none());
        Ok(())
    }

    #[test]
    fn temporal_and_ordered() -> Result<(), String> {
        let t = correlation(
            "correlation:\n  type: temporal\n  rules: [a, b]\n  group-by: [user]\n  timespan: 5m\n",
        )?;
        let mut w = Windows::<()>::default();
        assert!(w.push(&t, vec![], entry(0, 1, "")).is_none());
        assert!(w.push(&t, vec![], entry(10, 0, "")).is_some());
        let o = correlation(
            "correlation:\n  type: temporal_ordered\n  rules: [a, b]\n  group-by: [user]\n  timespan: 5m\n",
        )?;
        let mut w = Windows::<()>::default();
        assert!(w.push(&o, vec![], entry(0, 1, "")).is_none());
        assert!(
            w.push(&o, vec![], entry(10, 0, "")).is_none(),
            "b before a is the wrong order"
        );
        assert!(w.push(&o, vec![], entry(20, 1, "")).is_some());
        Ok(())
    }

    #[test]
    fn out_of_order_entries_are_placed_by_time() -> Result<(), String> {
        let c = correlation(
            "correlation:\n  type: event_count\n  rules: [r]\n  group-by: [x]\n  timespan: 10s\n  condition:\n    gte: 3\n",
        )?;
        let mut w = Windows::<()>::default();
        assert!(w.push(&c, vec![], entry(100, 0, "")).is_none());
        assert!(w.push(&c, vec![], entry(95, 0, "")).is_none());
        assert!(
            w.push(&c, vec![], entry(50, 0, "")).is_none(),
            "far older than the window"
        );
        assert!(w.push(&c, vec![], entry(99, 0, "")).is_some());
        Ok(())
    }

    #[test]
    fn problems() {
        let err = |y: &str| correlation(y).err().unwrap_or_default();
        assert!(err("correlation:\n  type: event_count\n  rules: [r]\n  timespan: 5x\n  condition:\n    gte: 1\n").contains("timespan"));
        assert!(
            err("correlation:\n  type: event_count\n  rules: [r]\n  timespan: 5m\n")
                .contains("need a `condition`")
        );
        assert!(err("correlation:\n  type: value_count\n  rules: [r]\n  timespan: 5m\n  condition:\n    gte: 2\n").contains("condition.field"));
        assert!(
            err("correlation:\n  type: value_sum\n  rules: [r]\n  timespan: 5m\n")
                .contains("not supported")
        );
    }
}
