//! A rule as loaded from YAML: Sigma's metadata, and one of three kinds of logic — a Sigma
//! `detection`, a CloudWatch metric-filter pattern (`filter:`), or a Sigma `correlation`.
//! Rules may carry their own test events (`tests:`), which `trailhound rules test` runs.

pub use trailhound_event::Level;

use crate::error::{DetectError, Problem, problem};
use crate::metric_filter::MetricFilter;
use crate::sigma::correlation::Correlation;
use crate::sigma::detection::Detection;
use crate::yaml::{self, Node, Position, Value};

/// A rule's logic.
#[derive(Debug, Clone)]
pub enum Logic {
    /// A Sigma detection, one event at a time.
    Detection(Detection),
    /// A CloudWatch metric-filter pattern, one event at a time.
    Filter(MetricFilter),
    /// A Sigma correlation over other rules' matches.
    Correlation(Correlation),
}

impl Logic {
    /// The kind of rule, as `rules list` names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Logic::Detection(_) => "sigma",
            Logic::Filter(_) => "metric-filter",
            Logic::Correlation(_) => "correlation",
        }
    }
}

/// Test events a rule ships with: each case is one event for single-event rules, or a
/// sequence of events for correlations.
#[derive(Debug, Clone, Default)]
pub struct RuleTests {
    /// Cases that must produce a finding.
    pub matching: Vec<Vec<String>>,
    /// Cases that must not.
    pub not_matching: Vec<Vec<String>>,
}

/// A loaded rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `id` (a UUID in Sigma; required for rules a correlation refers to).
    pub id: String,
    /// `name`, an optional handle correlations may use instead of the id.
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `level` (Sigma's default is medium).
    pub level: Level,
    /// `status` (stable, test, experimental, …).
    pub status: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `tags` (`attack.t1562.008`, `cis.4.5`, …).
    pub tags: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `author`.
    pub author: Option<String>,
    /// Where the rule came from (file path, or `builtin:…`).
    pub origin: String,
    /// Where in the file it starts.
    pub at: Position,
    /// What it matches.
    pub logic: Logic,
    /// Its own test events.
    pub tests: RuleTests,
}

/// Parses every rule in a YAML file (a file may hold several documents, e.g. a correlation
/// and the rules it uses). `origin` names the file in errors.
pub fn parse_rules(text: &str, origin: &str) -> Result<Vec<Rule>, DetectError> {
    let fail = |problems: Vec<Problem>| DetectError::Rules {
        file: origin.to_owned(),
        problems,
    };
    let documents = yaml::parse_documents(text).map_err(|e| {
        fail(vec![problem(
            e.at,
            format!("not valid YAML: {}", e.message),
        )])
    })?;
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    // Sigma "action: global" documents hold fields shared by the documents that follow.
    for document in documents.iter().filter(|d| !matches!(d.value, Value::Null)) {
        if document.get("action").is_some() {
            problems.push(problem(
                document.at,
                "collection actions (`action: global/reset/repeat`) are not supported; write each rule in full",
            ));
            continue;
        }
        if let Some(rule) = parse_rule(document, origin, &mut problems) {
            rules.push(rule);
        }
    }
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(fail(problems))
    }
}

fn parse_rule(doc: &Node, origin: &str, problems: &mut Vec<Problem>) -> Option<Rule> {
    if !matches!(doc.value, Value::Map(_)) {
        problems.push(problem(
            doc.at,
            format!("a rule is a mapping, not {}", doc.kind()),
        ));
        return None;
    }
    let before = problems.len();
    let text = |key: &str, problems: &mut Vec<Problem>| -> Option<String> {
        let node = doc.get(key)?;
        match node.scalar_text() {
            Some(t) => Some(t),
            None => {
                problems.push(problem(
                    node.at,
                    format!("`{key}` must be text, not {}", node.kind()),
                ));
                None
            }
        }
    };
    let title = text("title", problems);
    if title.is_none() && doc.get("title").is_none() {
        problems.push(problem(doc.at, "the rule has no `title`"));
    }
    let id = text("id", problems);
    let name = text("name", problems);
    let level = match doc.get("level") {
        None => Level::Medium,
        Some(node) => match node.as_str().and_then(Level::parse) {
            Some(level) => level,
            None => {
                problems.push(problem(
                    node.at,
                    "`level` must be one of informational, low, medium, high, critical",
                ));
                Level::Medium
            }
        },
    };
    let list = |key: &str, problems: &mut Vec<Problem>| -> Vec<String> {
        match doc.get(key) {
            None => Vec::new(),
            Some(Node {
                value: Value::Seq(items),
                ..
            }) => items.iter().filter_map(Node::scalar_text).collect(),
            Some(
                node @ Node {
                    value: Value::Str(_),
                    ..
                },
            ) => node.scalar_text().into_iter().collect(),
            Some(Node {
                value: Value::Null, ..
            }) => Vec::new(),
            Some(node) => {
                problems.push(problem(
                    node.at,
                    format!("`{key}` must be a list, not {}", node.kind()),
                ));
                Vec::new()
            }
        }
    };
    let tags = list("tags", problems);
    let falsepositives = list("falsepositives", problems);
    let references = list("references", problems);

    let logic = match (
        doc.get("detection"),
        doc.get("filter"),
        doc.get("correlation"),
    ) {
        (Some(detection), None, None) => {
            Detection::parse(detection, problems).map(Logic::Detection)
        }
        (None, Some(filter), None) => match filter.as_str().map(MetricFilter::parse) {
            Some(Ok(f)) => Some(Logic::Filter(f)),
            Some(Err(message)) => {
                problems.push(problem(filter.at, format!("metric filter: {message}")));
                None
            }
            None => {
                problems.push(problem(
                    filter.at,
                    "`filter` must be a CloudWatch pattern in quotes",
                ));
                None
            }
        },
        (None, None, Some(correlation)) => {
            Correlation::parse(correlation, problems).map(Logic::Correlation)
        }
        (None, None, None) => {
            problems.push(problem(
                doc.at,
                "the rule has no `detection`, `filter` or `correlation`",
            ));
            None
        }
        _ => {
            problems.push(problem(
                doc.at,
                "a rule has exactly one of `detection`, `filter` or `correlation`",
            ));
            None
        }
    };
    let tests = parse_tests(
        doc.get("tests"),
        matches!(logic, Some(Logic::Correlation(_))),
        problems,
    );
    if problems.len() > before {
        return None;
    }
    let logic = logic?;
    let id = match id {
        Some(id) => id,
        // Rules without an id still work; they get a stable one from their origin and title.
        None => format!("{origin}#{}", title.clone().unwrap_or_default()),
    };
    Some(Rule {
        id,
        name,
        title: title.unwrap_or_default(),
        level,
        status: text("status", problems),
        description: text("description", problems),
        tags,
        falsepositives,
        references,
        author: text("author", problems),
        origin: origin.to_owned(),
        at: doc.at,
        logic,
        tests,
    })
}

/// `tests: {match: [...], nomatch: [...]}`: events for single-event rules, lists of events
/// for correlations.
fn parse_tests(node: Option<&Node>, sequences: bool, problems: &mut Vec<Problem>) -> RuleTests {
    let mut tests = RuleTests::default();
    let Some(node) = node else { return tests };
    if !matches!(node.value, Value::Map(_)) {
        problems.push(problem(
            node.at,
            "`tests` is a mapping with `match` and `nomatch` lists",
        ));
        return tests;
    }
    for (key, target) in [
        ("match", &mut tests.matching),
        ("nomatch", &mut tests.not_matching),
    ] {
        let Some(list) = node.get(key) else { continue };
        let Value::Seq(cases) = &list.value else {
            problems.push(problem(list.at, format!("`tests.{key}` must be a list")));
            continue;
        };
        for case in cases {
            let events: Vec<&Node> = match (&case.value, sequences) {
                (Value::Map(_), false) => vec![case],
                (Value::Seq(events), true)
                    if events.iter().all(|e| matches!(e.value, Value::Map(_))) =>
                {
                    events.iter().collect()
                }
                (_, false) => {
                    problems.push(problem(
                        case.at,
                        "each test case of a rule is one event (a mapping)",
                    ));
                    continue;
                }
                (_, true) => {
                    problems.push(problem(
                        case.at,
                        "each test case of a correlation is a list of events",
                    ));
                    continue;
                }
            };
            target.push(
                events
                    .into_iter()
                    .map(|e| e.to_json().to_string())
                    .collect(),
            );
        }
    }
    tests
}
