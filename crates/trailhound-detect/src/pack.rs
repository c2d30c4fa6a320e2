//! Where rules come from: the built-in pack embedded in the binary, and rule files or folders
//! a user names.

use std::path::Path;

use crate::engine::RuleSet;
use crate::error::DetectError;
use crate::metric_filter::MetricFilter;
use crate::rule::{Logic, Rule, parse_rules};

include!(concat!(env!("OUT_DIR"), "/pack.rs"));

/// The built-in rules: CIS AWS Foundations monitoring controls and attack techniques.
pub fn builtin_rules() -> Result<Vec<Rule>, DetectError> {
    let mut rules = Vec::new();
    for (path, text) in PACK {
        rules.extend(parse_rules(text, &format!("builtin:{path}"))?);
    }
    Ok(rules)
}

/// The CIS AWS Foundations monitoring controls (4.x) among `rules`, in their order: each
/// control's number (`4.1`), title (without the number) and metric-filter pattern, and the rule.
pub fn cis_monitoring_rules(rules: &[Rule]) -> Vec<(&str, &str, &MetricFilter, &Rule)> {
    let mut found: Vec<_> = rules
        .iter()
        .filter_map(|rule| {
            let number = rule
                .tags
                .iter()
                .find_map(|t| t.strip_prefix("cis."))
                .filter(|n| n.starts_with("4."))?;
            let Logic::Filter(filter) = &rule.logic else {
                return None;
            };
            let title = rule
                .title
                .split_once(": ")
                .map_or(rule.title.as_str(), |(_, t)| t);
            Some((number, title, filter, rule))
        })
        .collect();
    // 4.2 before 4.10.
    found.sort_by_key(|(number, ..)| {
        number
            .split('.')
            .map(|part| part.parse::<u32>().unwrap_or(u32::MAX))
            .collect::<Vec<_>>()
    });
    found
}

/// The built-in pack's files (path under `rules/`, YAML text), e.g. to write them out.
pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
    PACK
}

/// Rules from a file or a folder (searched recursively for `.yml` and `.yaml`). Every file
/// is read; the rules that load are returned with an error for each file that did not.
pub fn load_rules(path: &Path) -> (Vec<Rule>, Vec<DetectError>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    let files: Vec<std::path::PathBuf> = if path.is_dir() {
        let mut files: Vec<_> = walkdir::WalkDir::new(path)
            .sort_by_file_name()
            .into_iter()
            .filter_map(|entry| match entry {
                Ok(entry) => Some(entry.into_path()),
                Err(err) => {
                    errors.push(DetectError::Io {
                        path: err.path().map_or_else(
                            || path.display().to_string(),
                            |p| p.display().to_string(),
                        ),
                        source: err.into(),
                    });
                    None
                }
            })
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    for file in files {
        let name = file.display().to_string();
        match std::fs::read_to_string(&file) {
            Ok(text) => match parse_rules(&text, &name) {
                Ok(loaded) => rules.extend(loaded),
                Err(err) => errors.push(err),
            },
            Err(source) => errors.push(DetectError::Io { path: name, source }),
        }
    }
    (rules, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RuleSet;
    use crate::rule::{Level, Logic};

    #[test]
    fn the_pack_loads_and_every_rule_passes_its_own_tests() -> Result<(), DetectError> {
        let rules = RuleSet::new(builtin_rules()?)?;
        let mut failures = Vec::new();
        for outcome in rules.run_tests() {
            for failure in &outcome.failures {
                failures.push(format!("{} ({}): {failure}", outcome.title, outcome.origin));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        Ok(())
    }

    #[test]
    fn every_reported_rule_has_tests_tags_and_a_level() -> Result<(), DetectError> {
        let rules = builtin_rules()?;
        let mut cis = std::collections::BTreeSet::new();
        let mut attack_rules = 0;
        for rule in &rules {
            // Base rules that only feed a correlation are informational and tested through it.
            if rule.level == Level::Informational {
                assert!(
                    rule.name.is_some(),
                    "{}: informational rules are correlation inputs",
                    rule.origin
                );
                continue;
            }
            let t = &rule.tests;
            assert!(
                !t.matching.is_empty() && !t.not_matching.is_empty(),
                "{} lacks tests",
                rule.origin
            );
            assert!(
                rule.tags.iter().any(|t| t.starts_with("attack.")),
                "{} lacks ATT&CK tags",
                rule.origin
            );
            if let Some(control) = rule.tags.iter().find_map(|t| t.strip_prefix("cis.")) {
                assert!(
                    matches!(rule.logic, Logic::Filter(_)),
                    "{}: CIS rules use the benchmark's filter",
                    rule.origin
                );
                cis.insert(control.to_owned());
            } else {
                attack_rules += 1;
            }
        }
        let expected: std::collections::BTreeSet<String> =
            (1..=15).map(|n| format!("4.{n}")).collect();
        assert_eq!(cis, expected, "CIS AWS Foundations 4.1-4.15");
        assert!(attack_rules >= 40, "{attack_rules} attack-technique rules");
        Ok(())
    }
}

/// Which rules a command runs: the built-in pack (unless left out) and the user's files.
#[derive(Debug, Clone, Default)]
pub struct RuleSources {
    /// Rule files or folders, added to the pack; a rule with a pack rule's id replaces it.
    pub paths: Vec<std::path::PathBuf>,
    /// Leave the built-in pack out.
    pub no_builtin: bool,
}

impl RuleSources {
    /// Loads the rules. Any rule file with problems stops the load, with every problem
    /// listed: running with half the rules a user asked for would hide the other half.
    ///
    /// # Errors
    ///
    /// [`DetectError::Config`] for a missing path or no rules at all;
    /// [`DetectError::RuleFiles`] listing every file's problems; [`DetectError::RuleSet`]
    /// when rules do not fit together.
    pub fn load(&self) -> Result<RuleSet, DetectError> {
        let mut rules: Vec<Rule> = if self.no_builtin {
            Vec::new()
        } else {
            builtin_rules()?
        };
        let mut errors: Vec<DetectError> = Vec::new();
        for path in &self.paths {
            if !path.exists() {
                return Err(DetectError::Config(format!(
                    "no rules at {}: give a rule file or folder",
                    path.display()
                )));
            }
            let (loaded, problems) = load_rules(path);
            rules.extend(loaded);
            errors.extend(problems);
        }
        if !errors.is_empty() {
            return Err(DetectError::RuleFiles(errors));
        }
        if rules.is_empty() {
            return Err(DetectError::Config(
                "no rules to run: --no-builtin needs --rules PATH".to_owned(),
            ));
        }
        RuleSet::new(rules)
    }
}

/// What linting rule files found: how many rules load, and every problem, one per line as
/// `file:line:column: what is wrong` (and problems between rules, such as a correlation
/// naming a rule that is not there).
#[derive(Debug, Default)]
pub struct Lint {
    /// Rules that load.
    pub loaded: usize,
    /// The problems.
    pub problems: Vec<String>,
}

/// Checks rule files and folders, on their own and as one set.
///
/// # Errors
///
/// [`DetectError::Config`] for a path that does not exist.
pub fn lint(paths: &[std::path::PathBuf]) -> Result<Lint, DetectError> {
    let mut rules = Vec::new();
    let mut lint = Lint::default();
    for path in paths {
        if !path.exists() {
            return Err(DetectError::Config(format!(
                "no rules at {}: give a rule file or folder",
                path.display()
            )));
        }
        let (loaded, errors) = load_rules(path);
        rules.extend(loaded);
        lint.problems.extend(errors.iter().map(ToString::to_string));
    }
    lint.loaded = rules.len();
    // References between rules (correlations) are checked on the set as a whole.
    if let Err(err) = RuleSet::new(rules) {
        lint.problems.push(err.to_string());
    }
    Ok(lint)
}
