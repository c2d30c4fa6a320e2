//! What can be wrong with rules, placed where it was written.

use std::fmt;

use crate::yaml::Position;

/// One problem in a rule file, at a line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub at: Position,
    /// What is wrong, said so the author can fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Shorthand used by the parsers.
pub(crate) fn problem(at: Position, message: impl Into<String>) -> Problem {
    Problem {
        at,
        message: message.into(),
    }
}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// Rules were asked for in a way that cannot work (a path that does not exist).
    #[error("{0}")]
    Config(String),
    /// Several rule files have problems; each is listed.
    #[error(
        "{} rule file(s) have problems; fix them or leave them out (`trailhound rules lint PATH` lists them):\n{}",
        .0.len(),
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
    )]
    RuleFiles(Vec<DetectError>),
    /// A rule file has problems (the rule author's to fix).
    #[error("{}", render_problems(file, problems))]
    Rules {
        /// The file, as given.
        file: String,
        /// Its problems.
        problems: Vec<Problem>,
    },
    /// A rule folder or file could not be read.
    #[error("cannot read rules from {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Rules that refer to each other do not fit together (e.g. a correlation naming a rule
    /// that is not loaded).
    #[error("{0}")]
    RuleSet(String),
}

fn render_problems(file: &str, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{file}:{p}"))
        .collect::<Vec<_>>()
        .join("\n")
}
