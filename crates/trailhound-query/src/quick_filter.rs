//! `search`-style filters: flags that become SQL over the lake, or a predicate over events
//! read straight from files. Both readings of a filter must agree; the tests check that.

use chrono::{DateTime, Utc};
use trailhound_event::CloudTrailEvent;
use trailhound_source::Selection;

use crate::{PRINCIPAL_SQL, sql_string};

/// A glob: `*` is any run of characters, `?` one character; matching ignores case. Anything
/// else, `[` included, stands for itself, as in the SQL `ILIKE` the same pattern becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    glob: String,
    compiled: glob::Pattern,
}

impl Pattern {
    /// A pattern from its text.
    pub fn new(glob: &str) -> Pattern {
        // Brackets are character classes to the glob crate, and `**` a path wildcard; here
        // the one is text and the other the same as `*`.
        let mut escaped = String::with_capacity(glob.len());
        for c in glob.chars() {
            match c {
                '[' => escaped.push_str("[[]"),
                ']' => escaped.push_str("[]]"),
                '*' if escaped.ends_with('*') => {}
                c => escaped.push(c),
            }
        }
        Pattern {
            glob: glob.to_owned(),
            // With brackets escaped and no `**`, every text is a valid pattern.
            compiled: glob::Pattern::new(&escaped).unwrap_or_default(),
        }
    }

    /// The same pattern matching anywhere in the text, unless it has wildcards already.
    pub fn contains(glob: &str) -> Pattern {
        if glob.contains(['*', '?']) {
            Pattern::new(glob)
        } else {
            Pattern::new(&format!("*{glob}*"))
        }
    }

    /// Whether `text` matches, ignoring case.
    pub fn matches(&self, text: &str) -> bool {
        const IGNORING_CASE: glob::MatchOptions = glob::MatchOptions {
            case_sensitive: false,
            require_literal_separator: false,
            require_literal_leading_dot: false,
        };
        self.compiled.matches_with(text, IGNORING_CASE)
    }

    /// An SQL `ILIKE` operand, quoted.
    fn like(&self) -> String {
        let mut like = String::new();
        for c in self.glob.chars() {
            match c {
                '*' => like.push('%'),
                '?' => like.push('_'),
                '%' | '_' | '\\' => {
                    like.push('\\');
                    like.push(c);
                }
                '\'' => like.push_str("''"),
                c => like.push(c),
            }
        }
        format!("'{like}'")
    }
}

/// Which failures `--error` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorFilter {
    /// Any failed call.
    Any,
    /// Failed calls whose `errorCode` matches.
    Code(Pattern),
}

impl ErrorFilter {
    /// `*` for any failure, else a glob over `errorCode`.
    pub fn parse(glob: &str) -> ErrorFilter {
        if glob == "*" {
            ErrorFilter::Any
        } else {
            ErrorFilter::Code(Pattern::new(glob))
        }
    }
}

/// The quick filters of `trailhound search`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuickFilter {
    /// `eventName`.
    pub event: Option<Pattern>,
    /// The principal: `userIdentity.arn`, `userName`, `principalId`, `invokedBy` (the AWS
    /// service `stats` lists for a service's own calls) or the session issuer's name.
    pub user: Option<Pattern>,
    /// `eventSource` (`iam`, `s3.amazonaws.com`, …).
    pub source: Option<Pattern>,
    /// `sourceIPAddress`.
    pub ip: Option<Pattern>,
    /// Failed calls.
    pub error: Option<ErrorFilter>,
    /// Regions (`awsRegion`), any of.
    pub regions: Vec<String>,
    /// Accounts (`recipientAccountId`), any of.
    pub accounts: Vec<String>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
}

/// The names of the columns of an event's row in a listing.
pub const LISTING_COLUMNS: [&str; 9] = [
    "eventTime",
    "eventName",
    "eventSource",
    "principal",
    "sourceIPAddress",
    "errorCode",
    "awsRegion",
    "recipientAccountId",
    "eventID",
];

/// An event's row in a listing, read from the record itself: what [`search_columns`] selects
/// from the lake, for events searched in files.
pub fn listing_row(event: &CloudTrailEvent<'_>) -> Vec<String> {
    [
        event.event_time_text(),
        event.event_name(),
        event.event_source(),
        event.user_identity().and_then(|u| u.principal()),
        event.source_ip_address(),
        event.error_code(),
        event.aws_region(),
        event.recipient_account_id(),
        event.event_id(),
    ]
    .map(|value| value.unwrap_or_default().to_owned())
    .to_vec()
}

/// The columns of an event's row in a listing ([`LISTING_COLUMNS`]): `search` over the lake,
/// the API's search and a finding's events.
pub fn search_columns() -> String {
    format!(
        "eventTime, eventName, eventSource, {PRINCIPAL_SQL} AS principal, sourceIPAddress, \
         errorCode, awsRegion, recipientAccountId, eventID"
    )
}

impl QuickFilter {
    /// The SQL `WHERE` condition (`TRUE` when nothing is filtered).
    pub fn where_clause(&self) -> String {
        let mut terms = Vec::new();
        if let Some(p) = &self.event {
            terms.push(format!("eventName ILIKE {} ESCAPE '\\'", p.like()));
        }
        if let Some(p) = &self.source {
            terms.push(format!("eventSource ILIKE {} ESCAPE '\\'", p.like()));
        }
        if let Some(p) = &self.ip {
            terms.push(format!("sourceIPAddress ILIKE {} ESCAPE '\\'", p.like()));
        }
        if let Some(p) = &self.user {
            let like = p.like();
            terms.push(format!(
                "(userIdentity.arn ILIKE {like} ESCAPE '\\' OR userIdentity.userName ILIKE {like} ESCAPE '\\' \
                 OR userIdentity.principalId ILIKE {like} ESCAPE '\\' \
                 OR userIdentity.invokedBy ILIKE {like} ESCAPE '\\' \
                 OR userIdentity.sessionContext.sessionIssuer.userName ILIKE {like} ESCAPE '\\')"
            ));
        }
        match &self.error {
            Some(ErrorFilter::Any) => terms.push("errorCode IS NOT NULL".to_owned()),
            Some(ErrorFilter::Code(p)) => {
                terms.push(format!("errorCode ILIKE {} ESCAPE '\\'", p.like()))
            }
            None => {}
        }
        let list = |values: &[String]| {
            values
                .iter()
                .map(|v| sql_string(v))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // The `events` table skips the folders of other regions, accounts and days by itself
        // (events_table.rs).
        if !self.regions.is_empty() {
            terms.push(format!("awsRegion IN ({})", list(&self.regions)));
        }
        if !self.accounts.is_empty() {
            terms.push(format!("recipientAccountId IN ({})", list(&self.accounts)));
        }
        if let Some(since) = self.since {
            terms.push(format!(
                "eventTime >= TIMESTAMP '{}'",
                since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            ));
        }
        if let Some(until) = self.until {
            terms.push(format!(
                "eventTime < TIMESTAMP '{}'",
                until.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            ));
        }
        if terms.is_empty() {
            "TRUE".to_owned()
        } else {
            terms.join(" AND ")
        }
    }

    /// The whole `search` query over the lake: the listing's columns.
    pub fn search_sql(&self, limit: Option<usize>) -> String {
        self.select(&search_columns(), limit)
    }

    /// The matching events' original records (`eventJson`), in time order.
    pub fn records_sql(&self, limit: Option<usize>) -> String {
        self.select("eventJson", limit)
    }

    fn select(&self, columns: &str, limit: Option<usize>) -> String {
        let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
        format!(
            "SELECT {columns} FROM events WHERE {} ORDER BY eventTime{limit}",
            self.where_clause()
        )
    }

    /// Whether an event read from a file matches.
    pub fn matches(&self, event: &CloudTrailEvent<'_>) -> bool {
        let test = |pattern: &Option<Pattern>, value: Option<&str>| {
            pattern
                .as_ref()
                .is_none_or(|p| value.is_some_and(|v| p.matches(v)))
        };
        if !test(&self.event, event.event_name())
            || !test(&self.source, event.event_source())
            || !test(&self.ip, event.source_ip_address())
        {
            return false;
        }
        if let Some(pattern) = &self.user {
            let identity = event.user_identity();
            let candidates = [
                identity.and_then(|u| u.arn()),
                identity.and_then(|u| u.user_name()),
                identity.and_then(|u| u.principal_id()),
                identity.and_then(|u| u.invoked_by()),
                identity
                    .and_then(|u| u.session_issuer())
                    .and_then(|i| i.user_name()),
            ];
            if !candidates.iter().flatten().any(|c| pattern.matches(c)) {
                return false;
            }
        }
        match &self.error {
            Some(ErrorFilter::Any) if event.error_code().is_none() => return false,
            Some(ErrorFilter::Code(p)) if !event.error_code().is_some_and(|c| p.matches(c)) => {
                return false;
            }
            _ => {}
        }
        if !Selection::lists(&self.regions, event.aws_region())
            || !Selection::lists(&self.accounts, event.recipient_account_id())
        {
            return false;
        }
        if self.since.is_some() || self.until.is_some() {
            let Some(time) = event.event_time() else {
                return false;
            };
            if self.since.is_some_and(|s| time < s) || self.until.is_some_and(|u| time >= u) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_ignoring_case() {
        let delete = Pattern::new("Delete*");
        assert!(delete.matches("DeleteTrail"));
        assert!(delete.matches("deletebucket"));
        assert!(!delete.matches("BatchDeleteImage"));
        assert!(Pattern::new("*Delete*").matches("BatchDeleteImage"));
        assert!(Pattern::new("Get?bject").matches("GetObject"));
        assert!(Pattern::contains("alice").matches("arn:aws:iam::1:user/alice"));
        assert!(!Pattern::new("a*b").matches("ac"));
        assert!(
            Pattern::new("[x]**y").matches("[X]abY"),
            "brackets are text, ** is *"
        );
    }

    #[test]
    fn like_escapes_sql_and_like_metacharacters() {
        assert_eq!(Pattern::new("it's_100%*").like(), r"'it''s\_100\%%'");
    }

    #[test]
    fn sql_and_matching_agree_on_a_sample() -> Result<(), trailhound_event::EventError> {
        let filter = QuickFilter {
            event: Some(Pattern::new("Delete*")),
            user: Some(Pattern::contains("alice")),
            error: Some(ErrorFilter::Any),
            ..QuickFilter::default()
        };
        let hit = CloudTrailEvent::parse(
            r#"{"eventName":"DeleteTrail","errorCode":"AccessDenied","userIdentity":{"arn":"arn:aws:iam::1:user/alice"}}"#,
        )?;
        let miss = CloudTrailEvent::parse(
            r#"{"eventName":"DeleteTrail","userIdentity":{"arn":"arn:aws:iam::1:user/alice"}}"#,
        )?;
        assert!(filter.matches(&hit));
        assert!(!filter.matches(&miss));
        let sql = filter.where_clause();
        assert!(sql.contains("eventName ILIKE 'Delete%'"), "{sql}");
        assert!(sql.contains("errorCode IS NOT NULL"), "{sql}");
        Ok(())
    }
}
