//! What each command becomes, as SQL text. The rows they give are checked over a lake by the
//! query corpus (tests/corpus).

use super::to_sql;

fn sql(query: &str) -> String {
    to_sql(query).unwrap_or_else(|err| format!("error: {err}"))
}

#[test]
fn a_bare_filter_shows_the_newest_records_first() {
    assert_eq!(
        sql("filter eventName = 'StopLogging'"),
        "SELECT eventTime AS \"@timestamp\", eventJson AS \"@message\" FROM events \
         WHERE (\"eventName\" = 'StopLogging') ORDER BY eventTime DESC"
    );
}

#[test]
fn fields_paths_positions_and_aliases() {
    assert_eq!(
        sql(
            "fields @timestamp, userIdentity.arn as who, resources.0.ARN | filter ispresent(who) | limit 3"
        ),
        "SELECT eventTime AS \"@timestamp\", \"userIdentity\".\"arn\" AS \"who\", \"resources\"[1].\"ARN\" AS \"resources.0.ARN\" \
         FROM events WHERE ((\"userIdentity\".\"arn\") IS NOT NULL) ORDER BY eventTime DESC LIMIT 3"
    );
}

#[test]
fn like_with_a_string_finds_it_anywhere_and_with_a_pattern_matches() {
    assert_eq!(
        sql("filter errorCode like 'Denied' and eventName not like /^Get/ | fields eventName"),
        "SELECT \"eventName\" AS \"eventName\" FROM events WHERE ((strpos(\"errorCode\", 'Denied') > 0) \
         AND (NOT regexp_like(\"eventName\", '^Get'))) ORDER BY eventTime DESC"
    );
}

#[test]
fn stats_group_by_bins_and_fields_and_sort_by_what_stats_gives() {
    assert_eq!(
        sql("stats count(*) as calls by bin(1h), eventSource | sort calls desc | limit 5"),
        "SELECT date_bin(INTERVAL '1 hours', eventTime, TIMESTAMP '1970-01-01T00:00:00Z') AS \"bin(1h)\", \
         \"eventSource\" AS \"eventSource\", count(*) AS \"calls\" FROM events \
         GROUP BY date_bin(INTERVAL '1 hours', eventTime, TIMESTAMP '1970-01-01T00:00:00Z'), \"eventSource\" \
         ORDER BY \"calls\" DESC LIMIT 5"
    );
}

#[test]
fn a_filter_after_stats_reads_its_results() {
    assert_eq!(
        sql("stats count(*) as n by eventName | filter n > 1"),
        "SELECT * FROM (SELECT \"eventName\" AS \"eventName\", count(*) AS \"n\" FROM events \
         GROUP BY \"eventName\") AS stage1 WHERE (\"n\" > 1)"
    );
    assert!(sql("stats count(*) as n by eventName | sort eventSource").contains("after stats"));
    assert!(
        sql("stats count(*) as n by eventName | filter eventSource = 'x'").contains("not among")
    );
}

#[test]
fn parse_makes_fields_from_globs_and_named_groups() {
    let glob = sql("parse userAgent '*/* *' as tool, version, rest | stats count(*) by tool");
    assert!(
        glob.contains("regexp_match(\"userAgent\", '(.*?)/(.*?) (.*)')[1]"),
        "{glob}"
    );
    let regex = sql("parse @message /\"sourceIPAddress\":\"(?<ip>[^\"]+)\"/ | display ip");
    assert!(
        regex.contains("regexp_match(eventJson, '\"sourceIPAddress\":\"(?<ip>[^\"]+)\"')[1]"),
        "{regex}"
    );
}

#[test]
fn dedup_keeps_the_first_row_in_the_sort_order() {
    let text =
        sql("fields eventName, sourceIPAddress | sort @timestamp asc | dedup sourceIPAddress");
    assert!(
        text.contains(
            "row_number() OVER (PARTITION BY \"sourceIPAddress\" ORDER BY eventTime ASC)"
        ),
        "{text}"
    );
    assert!(text.contains("WHERE \"dedup rank\" = 1"), "{text}");
}

#[test]
fn mistakes_name_their_place_in_the_query() {
    let message = sql("fields eventName\n| stats cout(*) by eventName");
    assert!(message.contains("did you mean `count`"), "{message}");
    assert!(message.contains("at line 2, column 9"), "{message}");
    assert!(
        message.contains("\n            ^^^^^^^\n") || message.ends_with("\n            ^^^^^^^"),
        "{message}"
    );
    assert!(sql("fields count(*)").contains("stats function"));
    assert!(sql("stats count(*) by bin(5parsecs)").contains("unknown time unit"));
    assert!(sql("fields @ingestionTime").contains("CloudWatch Logs' storage"));
    assert!(sql("parse @message 'a=* b=*' as one").contains("captures 2"));
    assert!(sql("filter a in 'x'").contains("takes a list"));
}
