//! Running the test events rules carry (`tests: {match: […], nomatch: […]}`).

use crate::engine::{Detector, RuleSet};
use crate::rule::{Level, Logic};

/// The result of one rule's tests.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The rule's id.
    pub rule_id: String,
    /// Its title.
    pub title: String,
    /// Where it came from.
    pub origin: String,
    /// Cases run.
    pub cases: usize,
    /// What went wrong, one line per failed case.
    pub failures: Vec<String>,
}

impl RuleSet {
    /// Runs every rule's own tests.
    pub fn run_tests(&self) -> Vec<TestOutcome> {
        self.rules()
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let mut failures = Vec::new();
                let cases = &rule.tests;
                for (expected, list) in [(true, &cases.matching), (false, &cases.not_matching)] {
                    for (number, events) in list.iter().enumerate() {
                        let fired = match &rule.logic {
                            Logic::Correlation(_) => self.correlation_fires(&rule.id, events),
                            _ => events.iter().any(|e| self.rule_matches(index, e)),
                        };
                        if fired != expected {
                            let kind = if expected { "match" } else { "nomatch" };
                            let outcome = if expected { "found nothing" } else { "fired" };
                            failures.push(format!("{kind} case {} {outcome}", number + 1));
                        }
                    }
                }
                TestOutcome {
                    rule_id: rule.id.clone(),
                    title: rule.title.clone(),
                    origin: rule.origin.clone(),
                    cases: cases.matching.len() + cases.not_matching.len(),
                    failures,
                }
            })
            .collect()
    }

    fn correlation_fires(&self, rule_id: &str, events: &[String]) -> bool {
        let mut detector = Detector::new(self, Level::Informational);
        let mut findings = Vec::new();
        for raw in events {
            if let Some(matched) = self.evaluate(raw) {
                detector.feed(matched, &mut findings);
            }
        }
        detector.flush(&mut findings);
        findings.iter().any(|f| f.rule_id == rule_id)
    }
}
