//! What the rewrite makes of each construct, as SQL text. Whether the results are right is
//! the business of the query corpus over a lake (tests/dialects.rs).

use super::*;

fn names() -> Names {
    Names::of(&[trailhound_lake::file_schema()])
}

fn rewritten(sql: &str) -> String {
    translate(sql, Dialect::Auto, &names()).unwrap_or_else(|err| format!("error: {err}"))
}

#[test]
fn placeholders_and_other_table_names_are_the_events_table() {
    for sql in [
        "SELECT * FROM $EDS_ID",
        "SELECT * FROM <event_data_store_id>",
        "SELECT * FROM <EDS ID> WHERE eventName = 'x'",
        "SELECT * FROM 4d1b2ac4-3e6f-4c9b-9a8e-0123456789ab",
        "SELECT * FROM cloudtrail_logs_my_bucket",
        "SELECT * FROM \"default\".\"cloudtrail_logs\"",
        "SELECT * FROM events",
    ] {
        assert!(
            rewritten(sql).starts_with("SELECT * FROM events"),
            "{sql}: {}",
            rewritten(sql)
        );
    }
    // A CTE of that name is the query's own.
    assert!(
        rewritten("WITH cloudtrail_logs AS (SELECT 1) SELECT * FROM cloudtrail_logs")
            .ends_with("FROM cloudtrail_logs")
    );
}

#[test]
fn names_in_any_case_become_cloudtrails_and_keep_the_written_header() {
    assert_eq!(
        rewritten("SELECT useridentity.principalid, eventname FROM events WHERE eventsource = 'x'"),
        "SELECT userIdentity.principalId AS \"principalid\", eventName AS \"eventname\" FROM events WHERE eventSource = 'x'"
    );
    // Two paths ending alike keep their whole names.
    assert_eq!(
        rewritten(
            "SELECT useridentity.arn, useridentity.sessioncontext.sessionissuer.arn FROM events"
        ),
        "SELECT userIdentity.arn AS \"useridentity.arn\", userIdentity.sessionContext.sessionIssuer.arn AS \"useridentity.sessioncontext.sessionissuer.arn\" FROM events"
    );
    // Aliases and qualifiers are the query's own.
    assert_eq!(
        rewritten("SELECT e.eventname AS n FROM events e ORDER BY n"),
        "SELECT e.eventName AS n FROM events e ORDER BY n"
    );
}

#[test]
fn dotted_paths_and_subscripts_into_json_read_the_json() {
    assert_eq!(
        rewritten("SELECT eventTime FROM events WHERE requestparameters.bucketName = 'b'"),
        "SELECT eventTime AS \"eventTime\" FROM events WHERE json_field(requestParameters, 'bucketName') = 'b'"
    );
    assert_eq!(
        rewritten("SELECT resources[1].arn FROM events"),
        "SELECT json_field(resources, 0, 'arn') AS \"arn\" FROM events"
    );
    assert_eq!(
        rewritten("SELECT addendum.reason FROM events"),
        "SELECT json_field(eventJson, 'addendum', 'reason') AS \"reason\" FROM events"
    );
}

#[test]
fn athenas_partitions_text_times_and_text_booleans() {
    assert_eq!(
        rewritten(
            "SELECT count(*) FROM cloudtrail_logs WHERE year = '2024' AND \"timestamp\" >= '2024/07/01'"
        ),
        "SELECT count(*) AS \"count(*)\" FROM events WHERE SUBSTR(date, 1, 4) = '2024' AND replace(date, '-', '/') >= '2024/07/01'"
    );
    assert_eq!(
        rewritten(
            "SELECT count(*) FROM events WHERE eventtime LIKE '2024-07-%' AND readonly = 'false'"
        ),
        "SELECT count(*) AS \"count(*)\" FROM events WHERE to_char(eventTime, '%Y-%m-%dT%H:%M:%SZ') LIKE '2024-07-%' AND readOnly = false"
    );
    assert_eq!(
        rewritten(
            "SELECT substr(eventtime, 1, 10) AS day, count(*) AS \"count(*)\" FROM events GROUP BY day"
        ),
        "SELECT SUBSTR(to_char(eventTime, '%Y-%m-%dT%H:%M:%SZ'), 1, 10) AS day, count(*) AS \"count(*)\" FROM events GROUP BY day"
    );
}

#[test]
fn json_operators_bind_tighter_than_comparisons() {
    assert_eq!(
        rewritten(
            "SELECT 1 FROM events WHERE responseElements->>'ConsoleLogin' = 'Failure' AND eventName = 'x'"
        ),
        "SELECT 1 AS \"1\" FROM events WHERE responseElements ->> 'ConsoleLogin' = 'Failure' AND eventName = 'x'"
    );
    let tree = prepare(
        "SELECT 1 FROM events WHERE a ->> 'k' LIKE '%x%'",
        Dialect::DataFusion,
        &names(),
    );
    assert!(
        tree.is_ok_and(|t| format!("{t:?}").contains("Like")),
        "LIKE applies to the extracted value"
    );
}

#[test]
fn trino_functions_become_datafusions() {
    assert_eq!(
        rewritten(
            "SELECT day_of_week(eventtime) AS d, count_if(errorcode IS NOT NULL) AS f, replace(eventname, 'Get') AS r FROM events"
        ),
        "SELECT date_part('isodow', (eventTime)) AS d, count(CASE WHEN (errorCode IS NOT NULL) THEN 1 END) AS f, replace((eventName), ('Get'), '') AS r FROM events"
    );
    assert_eq!(
        rewritten("SELECT date_format(eventtime, '%Y-%m-%d %H:%i') AS t FROM events"),
        "SELECT to_char(eventTime, '%Y-%m-%d %H:%M') AS t FROM events"
    );
}

#[test]
fn datafusion_sql_is_left_as_written() {
    let sql = "SELECT useridentity.arn FROM cloudtrail_logs WHERE year = '2024'";
    assert_eq!(
        translate(sql, Dialect::DataFusion, &names())
            .ok()
            .as_deref(),
        Some(sql)
    );
}

#[test]
fn the_querys_own_names_match_in_any_case() {
    assert_eq!(
        rewritten(
            "SELECT count(*) AS eventCount FROM events E WHERE e.eventname = 'x' ORDER BY EventCount"
        ),
        "SELECT count(*) AS eventCount FROM events E WHERE E.eventName = 'x' ORDER BY eventCount"
    );
    assert_eq!(
        rewritten("WITH Recent AS (SELECT 1 AS n) SELECT N FROM recent"),
        "WITH Recent AS (SELECT 1 AS n) SELECT n AS \"N\" FROM Recent"
    );
}

#[test]
fn fields_of_json_a_function_gave() {
    assert_eq!(
        rewritten("SELECT element_at(resources, 1).arn AS a FROM events"),
        "SELECT json_field(element_at(resources, 1), 'arn') AS a FROM events"
    );
}

#[test]
fn a_column_named_like_an_output_is_the_column() {
    assert_eq!(
        rewritten("SELECT awsregion AS AWSRegion FROM events ORDER BY awsRegion"),
        "SELECT awsRegion AS AWSRegion FROM events ORDER BY awsRegion"
    );
}

#[test]
fn value_placeholders_left_in_are_named() {
    let message = rewritten("SELECT * FROM $EDS_ID WHERE eventTime >= '${date_filter}'");
    assert!(message.contains("placeholder ${date_filter}"), "{message}");
    let message = rewritten("SELECT * FROM <EDS ID> WHERE recipientAccountId = '<accountid>'");
    assert!(message.contains("placeholder <accountid>"), "{message}");
}

#[test]
fn unnest_of_a_json_column_reads_its_elements() {
    assert_eq!(
        rewritten(
            "SELECT unnested.resources_entry.ARN AS a FROM cloudtrail_logs t CROSS JOIN UNNEST(t.resources) unnested (resources_entry) WHERE eventname = 'x'"
        ),
        "SELECT json_field(t.resources_entry, 'ARN') AS a FROM (SELECT *, unnest(json_elements(resources)) AS \"resources_entry\" FROM events t) AS t WHERE eventName = 'x'"
    );
    let rows = rewritten("SELECT r.arn FROM events, UNNEST(resources) AS r(arn, account, kind)");
    assert!(
        rows.contains("json_field(\"resources element\", 'ARN') AS \"arn\""),
        "{rows}"
    );
    assert!(
        rows.contains("json_field(\"resources element\", 'accountId') AS \"account\""),
        "{rows}"
    );
}

#[test]
fn explain_rewrites_what_it_explains() {
    assert_eq!(
        rewritten("EXPLAIN ANALYZE SELECT count(*) FROM cloudtrail_logs WHERE year = '2024'"),
        "EXPLAIN ANALYZE SELECT count(*) AS \"count(*)\" FROM events WHERE SUBSTR(date, 1, 4) = '2024'"
    );
}
