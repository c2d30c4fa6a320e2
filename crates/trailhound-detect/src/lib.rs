//! Detection: rules that turn CloudTrail events into findings. This is the *live rules* branch
//! of Trailhound's pipeline; `ingest` runs it on every event and `hunt` over any history.
//!
//! - **Rules** are YAML ([`parse_rules`]), in three kinds: Sigma detections (spec v2: maps,
//!   lists, keywords, wildcards, null and empty values, the modifiers `contains`,
//!   `startswith`, `endswith`, `all`, `re` with `i`/`m`/`s`, `cidr`, `base64`,
//!   `base64offset`, `exists`, `gt`/`gte`/`lt`/`lte`, `fieldref`, `cased`, and conditions with
//!   `and`/`or`/`not`/parentheses/`1 of`/`all of`); CloudWatch metric-filter patterns
//!   (`filter: '{ ($.eventName = …) }'`, so CIS's text is used verbatim); and Sigma
//!   correlations (`event_count`, `value_count`, `temporal`, `temporal_ordered`). Problems
//!   are reported with file, line and column.
//! - **Matching** ([`RuleSet`]) indexes rules by the `eventName` values they require, so an
//!   event meets only the rules that could match it; [`RuleSet::evaluate`] is pure and runs on
//!   worker threads, and [`Detector`] applies correlations in time order on one thread.
//! - **The built-in pack** ([`builtin_rules`]) is embedded from this crate's `rules/` folder;
//!   every rule there carries positive and negative test events ([`RuleSet::run_tests`]).
#![deny(missing_docs)]

mod boolean;
mod engine;
mod error;
mod field;
mod finding;
mod metric_filter;
mod pack;
mod pattern;
mod rule;
mod sigma;
mod testing;
mod yaml;

pub use engine::{Detector, EventMatch, RuleSet};
pub(crate) use error::problem;
pub use error::{DetectError, Problem};
pub use metric_filter::MetricFilter;
pub use pack::{
    Lint, RuleSources, builtin_files, builtin_rules, cis_monitoring_rules, lint, load_rules,
};
pub use rule::{Level, Logic, Rule, RuleTests, parse_rules};
pub use testing::TestOutcome;
pub use trailhound_event::{EventFacts, Finding};
pub use yaml::Position;
