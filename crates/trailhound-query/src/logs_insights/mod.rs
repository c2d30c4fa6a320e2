//! CloudWatch Logs Insights queries over the lake, translated into SQL for the same engine:
//!
//! ```text
//! fields eventTime, eventName | filter errorCode like /AccessDenied/
//!   | stats count(*) by bin(1h), userIdentity.arn | sort … | limit 20
//! ```
//!
//! The commands are `fields`, `filter`, `stats`, `sort`, `limit`, `dedup`, `display` and
//! `parse` (glob and regex forms), with the functions AWS lists for them. Fields are
//! CloudTrail's, as Logs Insights names them in a trail's log group (`userIdentity.arn`,
//! `requestParameters.bucketName`, `resources.0.ARN`); `@timestamp` is `eventTime`, `@message`
//! the whole record and `@logStream` the stream CloudTrail would have written it to
//! (`<account>_CloudTrail_<region>`). As in the console, a query without `stats` shows the
//! newest events first.
//!
//! The SQL is written in [`crate::Dialect::Auto`], so that names resolve as in any pasted
//! query; [`to_sql`] is pure text to text, which is what `--explain` shows.

mod lexer;
mod parser;
mod translate;

use std::fmt;
use std::ops::Range;

/// A mistake in a Logs Insights query, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsightsError {
    /// What is wrong.
    pub message: String,
    /// The bytes of the query it concerns.
    pub span: Range<usize>,
    /// The line of the query with the place marked, once known.
    context: String,
}

impl InsightsError {
    pub(crate) fn new(message: impl Into<String>, span: Range<usize>) -> InsightsError {
        InsightsError {
            message: message.into(),
            span,
            context: String::new(),
        }
    }

    /// Marks the place in `query`: its line, and `^` under the part concerned.
    fn placed_in(mut self, query: &str) -> InsightsError {
        let start = self.span.start.min(query.len());
        let line_start = query[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = query[start..].find('\n').map_or(query.len(), |i| start + i);
        let line = &query[line_start..line_end];
        let line_number = query[..start].matches('\n').count() + 1;
        let column = query[line_start..start].chars().count();
        let width = query
            .get(start..self.span.end.min(line_end).max(start))
            .map_or(1, |part| part.chars().count().max(1));
        self.context = format!(
            "  at line {line_number}, column {}:\n    {line}\n    {}{}",
            column + 1,
            " ".repeat(column),
            "^".repeat(width)
        );
        self
    }
}

impl fmt::Display for InsightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "in the Logs Insights query: {}", self.message)?;
        if !self.context.is_empty() {
            write!(f, "\n{}", self.context)?;
        }
        Ok(())
    }
}

impl std::error::Error for InsightsError {}

/// The SQL (in [`crate::Dialect::Auto`]) that answers the Logs Insights `query`.
///
/// # Errors
///
/// [`InsightsError`] for a query that is not Logs Insights or asks what the lake cannot
/// answer, with its place.
pub fn to_sql(query: &str) -> Result<String, InsightsError> {
    trailhound_event::nesting::check(query.as_bytes())
        .map_err(|message| InsightsError::new(message, 0..query.len()).placed_in(query))?;
    parser::parse(query)
        .and_then(|steps| translate::translate(&steps))
        .map_err(|err| err.placed_in(query))
}

#[cfg(test)]
mod tests;
