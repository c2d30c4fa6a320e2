//! The overview of a stretch of the lake: totals, events per day, and the top principals,
//! APIs, errors, regions and source IPs. `trailhound stats` prints these; the dashboard draws
//! them. One definition, so both always agree.

use crate::{PRINCIPAL_SQL, QuickFilter};

/// One section of the overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    /// A stable name for machines (`top_principals`).
    pub key: &'static str,
    /// A heading for people (`Top principals`).
    pub title: &'static str,
    /// The SQL that answers it.
    pub sql: String,
}

/// The overview's queries over the events `filter` selects, with `top` rows per ranking.
pub fn stats_queries(filter: &QuickFilter, top: usize) -> Vec<StatsQuery> {
    let condition = filter.where_clause();
    let query = |key, title, sql: String| StatsQuery { key, title, sql };
    vec![
        query(
            "overview",
            "Overview",
            format!(
                "SELECT count(*) AS events, min(eventTime) AS first_event, max(eventTime) AS last_event, \
                 count(DISTINCT recipientAccountId) AS accounts, count(DISTINCT awsRegion) AS regions, \
                 sum(CASE WHEN errorCode IS NOT NULL THEN 1 ELSE 0 END) AS failed_calls \
                 FROM events WHERE {condition}"
            ),
        ),
        query(
            "events_per_day",
            "Events per day",
            format!(
                "SELECT date, count(*) AS events FROM events WHERE {condition} GROUP BY date ORDER BY date"
            ),
        ),
        query(
            "top_principals",
            "Top principals",
            format!(
                "SELECT {PRINCIPAL_SQL} AS principal, \
                 count(*) AS events FROM events WHERE {condition} \
                 GROUP BY 1 ORDER BY events DESC, principal LIMIT {top}"
            ),
        ),
        query(
            "top_apis",
            "Top APIs",
            format!(
                "SELECT eventSource, eventName, count(*) AS events FROM events WHERE {condition} \
                 GROUP BY eventSource, eventName ORDER BY events DESC, eventName LIMIT {top}"
            ),
        ),
        query(
            "top_errors",
            "Top errors",
            format!(
                "SELECT errorCode, count(*) AS events FROM events WHERE {condition} AND errorCode IS NOT NULL \
                 GROUP BY errorCode ORDER BY events DESC, errorCode LIMIT {top}"
            ),
        ),
        query(
            "regions",
            "Regions",
            format!(
                "SELECT awsRegion, count(*) AS events FROM events WHERE {condition} \
                 GROUP BY awsRegion ORDER BY events DESC, awsRegion LIMIT {top}"
            ),
        ),
        query(
            "top_source_ips",
            "Top source IPs",
            format!(
                "SELECT sourceIPAddress, count(*) AS events FROM events WHERE {condition} \
                 GROUP BY sourceIPAddress ORDER BY events DESC, sourceIPAddress LIMIT {top}"
            ),
        ),
    ]
}
