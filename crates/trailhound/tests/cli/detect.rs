use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::support::{TestResult, generated, lake_run, path_str, run};

/// Planted scenario → its eventIDs, from the generator's ground truth.
fn ground_truth(dir: &Path) -> Result<HashMap<String, String>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(dir.join(".trailhound/ground-truth.jsonl"))?;
    let mut planted = HashMap::new();
    for line in text.lines() {
        let entry: serde_json::Value = serde_json::from_str(line)?;
        planted.insert(
            entry["eventID"].as_str().unwrap_or_default().to_owned(),
            entry["scenario"].as_str().unwrap_or_default().to_owned(),
        );
    }
    Ok(planted)
}

fn findings(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn hunt_finds_every_planted_technique_and_no_high_findings_on_benign_activity() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    generated(&logs, 20_000)?;
    let planted = ground_truth(&logs)?;
    let run = run(&[
        "hunt",
        &path_str(&logs),
        "--min-level",
        "informational",
        "--format",
        "jsonl",
    ])?;
    run.assert_no_panic();
    assert_eq!(run.code, 1, "findings give exit 1: {}", run.stderr);
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut benign_severe = Vec::new();
    for finding in findings(&run.stdout) {
        let ids: Vec<&str> = finding["event_ids"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let scenarios: Vec<&String> = ids.iter().filter_map(|id| planted.get(*id)).collect();
        for scenario in &scenarios {
            found.entry((*scenario).clone()).or_default().insert(
                finding["rule_title"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        let level = finding["level"].as_str().unwrap_or_default();
        if scenarios.is_empty() && matches!(level, "high" | "critical") {
            benign_severe.push(finding["summary"].to_string());
        }
    }
    let scenarios: BTreeSet<&String> = planted.values().collect();
    let missed: Vec<&&String> = scenarios
        .iter()
        .filter(|s| !found.contains_key(s.as_str()))
        .collect();
    assert!(
        missed.is_empty(),
        "missed scenarios: {missed:?}; found: {found:?}"
    );
    assert!(
        benign_severe.is_empty(),
        "high/critical findings on benign events: {benign_severe:?}"
    );
    Ok(())
}

#[test]
fn hunting_the_lake_finds_what_hunting_the_files_finds() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    generated(&logs, 5_000)?;
    let data = dir.path().join("data");
    assert_eq!(
        lake_run(&data, &["ingest", "-q", &path_str(&logs)])?.code,
        0
    );
    let key = |stdout: &str| -> BTreeSet<String> {
        findings(stdout)
            .iter()
            .map(|f| format!("{} {} {}", f["rule_id"], f["time"], f["event_ids"]))
            .collect()
    };
    let over_files = run(&["hunt", &path_str(&logs), "--format", "jsonl", "-q"])?;
    let over_lake = lake_run(&data, &["hunt", "--format", "jsonl", "-q"])?;
    assert_eq!(over_lake.code, 1, "{}", over_lake.stderr);
    assert!(!key(&over_files.stdout).is_empty());
    assert_eq!(key(&over_files.stdout), key(&over_lake.stdout));
    // A time window narrows the hunt.
    let windowed = lake_run(
        &data,
        &["hunt", "--format", "jsonl", "-q", "--since", "2030-01-01"],
    )?;
    assert_eq!(
        (windowed.code, windowed.stdout.as_str()),
        (0, ""),
        "{}",
        windowed.stderr
    );
    Ok(())
}

const USER_RULES: &str = r#"
title: Bucket deleted
id: 5b0e4a6c-0000-4000-8000-000000000001
name: bucket-deleted
level: medium
tags: [attack.impact]
detection:
  selection:
    eventSource: s3.amazonaws.com
    eventName: DeleteBucket
  condition: selection
tests:
  match:
    - {eventSource: s3.amazonaws.com, eventName: DeleteBucket}
  nomatch:
    - {eventSource: s3.amazonaws.com, eventName: CreateBucket}
---
title: Two buckets deleted by one principal
id: 5b0e4a6c-0000-4000-8000-000000000002
level: high
tags: [attack.impact]
correlation:
  type: event_count
  rules: [bucket-deleted]
  group-by: [userIdentity.arn]
  timespan: 1h
  condition:
    gte: 2
  generate: true
---
title: Console sign-in, the CloudWatch way
id: 5b0e4a6c-0000-4000-8000-000000000003
level: low
tags: [attack.initial_access]
filter: '{ ($.eventName = "ConsoleLogin") && ($.responseElements.ConsoleLogin = "Success") }'
"#;

fn record(name: &str, source: &str, minute: u32, extra: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2024-07-01T10:{minute:02}:00Z","eventSource":"{source}","eventName":"{name}","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventID":"id-{name}-{minute}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/eve"}}{extra}}}"#
    )
}

#[test]
fn user_rules_sigma_correlations_and_metric_filters_run_beside_or_instead_of_the_pack() -> TestResult
{
    let dir = tempfile::tempdir()?;
    let rules = dir.path().join("my-rules.yml");
    std::fs::write(&rules, USER_RULES)?;
    let logs = dir.path().join("events.ndjson");
    let lines = [
        record("DeleteBucket", "s3.amazonaws.com", 1, ""),
        record("DeleteBucket", "s3.amazonaws.com", 20, ""),
        record(
            "ConsoleLogin",
            "signin.amazonaws.com",
            30,
            r#","responseElements":{"ConsoleLogin":"Success"}"#,
        ),
        record("StopLogging", "cloudtrail.amazonaws.com", 40, ""),
    ];
    std::fs::write(&logs, lines.join("\n"))?;
    let titles = |stdout: &str| -> Vec<String> {
        findings(stdout)
            .iter()
            .map(|f| f["rule_title"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let only_mine = run(&[
        "hunt",
        &path_str(&logs),
        "--no-builtin",
        "--rules",
        &path_str(&rules),
        "--min-level",
        "informational",
        "--format",
        "jsonl",
    ])?;
    assert_eq!(only_mine.code, 1, "{}", only_mine.stderr);
    assert_eq!(
        titles(&only_mine.stdout),
        [
            "Bucket deleted",
            "Bucket deleted",
            "Two buckets deleted by one principal",
            "Console sign-in, the CloudWatch way"
        ]
    );
    let with_pack = run(&[
        "hunt",
        &path_str(&logs),
        "--rules",
        &path_str(&rules),
        "--format",
        "jsonl",
    ])?;
    let all = titles(&with_pack.stdout);
    assert!(
        all.contains(&"CloudTrail logging stopped".to_owned()),
        "{all:?}"
    );
    assert!(
        all.contains(&"Two buckets deleted by one principal".to_owned()),
        "{all:?}"
    );
    // --min-level drops what is below it.
    let high = run(&[
        "hunt",
        &path_str(&logs),
        "--rules",
        &path_str(&rules),
        "--min-level",
        "high",
        "--format",
        "jsonl",
    ])?;
    assert!(
        findings(&high.stdout)
            .iter()
            .all(|f| f["level"] == "high" || f["level"] == "critical")
    );
    // The user's rule tests run with `rules test`.
    let tested = run(&[
        "rules",
        "test",
        "--no-builtin",
        "--rules",
        &path_str(&rules),
    ])?;
    assert_eq!(tested.code, 0, "{}{}", tested.stdout, tested.stderr);
    Ok(())
}

#[test]
fn summary_per_principal_counts_apis_failures_and_places() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("events.ndjson");
    let lines = [
        record(
            "ListBuckets",
            "s3.amazonaws.com",
            1,
            r#","sourceIPAddress":"198.51.100.1""#,
        ),
        record(
            "ListBuckets",
            "s3.amazonaws.com",
            2,
            r#","sourceIPAddress":"198.51.100.2","errorCode":"AccessDenied""#,
        ),
        record(
            "GetUser",
            "iam.amazonaws.com",
            3,
            r#","sourceIPAddress":"198.51.100.1""#,
        ),
    ];
    std::fs::write(&logs, lines.join("\n"))?;
    let out = run(&["hunt", &path_str(&logs), "--summary", "--format", "jsonl"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = findings(&out.stdout);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["principal"], "arn:aws:iam::111122223333:user/eve");
    assert_eq!(
        (
            row["events"].as_str(),
            row["failed"].as_str(),
            row["apis"].as_str()
        ),
        (Some("3"), Some("1"), Some("2"))
    );
    assert_eq!(row["top_apis"], "s3:ListBuckets=2 iam:GetUser=1");
    assert_eq!(row["source_ips"], "198.51.100.1 198.51.100.2");
    assert_eq!(row["first_seen"], "2024-07-01T10:01:00Z");
    assert_eq!(row["last_seen"], "2024-07-01T10:03:00Z");
    Ok(())
}

#[test]
fn lint_points_at_file_line_and_column_and_bad_rules_stop_a_hunt() -> TestResult {
    let dir = tempfile::tempdir()?;
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules)?;
    std::fs::write(
        rules.join("good.yml"),
        "title: ok\ndetection:\n  s:\n    eventName: X\n  condition: s\n",
    )?;
    std::fs::write(
        rules.join("bad.yml"),
        "title: broken\ndetection:\n  s:\n    eventName|sometimes: X\n  condition: s and missing\n",
    )?;
    let lint = run(&["rules", "lint", &path_str(&rules)])?;
    assert_eq!(lint.code, 1);
    assert!(
        lint.stdout
            .contains("bad.yml:4:5: unknown modifier `sometimes`"),
        "{}",
        lint.stdout
    );
    assert!(lint.stdout.contains("bad.yml:5:14"), "{}", lint.stdout);
    assert!(!lint.stdout.contains("good.yml"), "{}", lint.stdout);
    let logs = dir.path().join("e.ndjson");
    std::fs::write(&logs, record("X", "s3.amazonaws.com", 1, ""))?;
    let hunt = run(&["hunt", &path_str(&logs), "--rules", &path_str(&rules)])?;
    assert_eq!(hunt.code, 2);
    assert!(hunt.stderr.contains("bad.yml:4:5"), "{}", hunt.stderr);
    // A broken user rule test fails `rules test`.
    std::fs::write(
        rules.join("bad.yml"),
        "title: wrong test\ndetection:\n  s:\n    eventName: X\n  condition: s\ntests:\n  match:\n    - {eventName: Y}\n  nomatch:\n    - {eventName: Z}\n",
    )?;
    let tested = run(&[
        "rules",
        "test",
        "--no-builtin",
        "--rules",
        &path_str(&rules),
    ])?;
    assert_eq!(tested.code, 1);
    assert!(
        tested.stdout.contains("FAIL wrong test")
            && tested.stdout.contains("match case 1 found nothing"),
        "{}",
        tested.stdout
    );
    Ok(())
}

#[test]
fn bad_input_is_reported_and_the_rest_is_hunted() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("a.json"),
        format!(
            "{{\"Records\":[{}]}}",
            record("StopLogging", "cloudtrail.amazonaws.com", 1, "")
        ),
    )?;
    std::fs::write(dir.path().join("b.json"), "{\"Records\":[{\"eventName\":")?;
    let out = run(&["hunt", &path_str(dir.path()), "--format", "jsonl"])?;
    out.assert_no_panic();
    assert_eq!(out.code, 2, "skipped input wins over findings");
    assert!(out.stderr.contains("b.json"), "{}", out.stderr);
    assert!(out.stdout.contains("CloudTrail logging stopped"));
    Ok(())
}

#[test]
fn the_pack_lists_tests_and_exports() -> TestResult {
    let listed = run(&["rules", "list", "--format", "jsonl"])?;
    assert_eq!(listed.code, 0);
    let rows = findings(&listed.stdout);
    assert!(rows.iter().filter(|r| r["kind"] == "metric-filter").count() >= 15);
    assert!(rows.iter().any(|r| r["kind"] == "correlation"));
    let tested = run(&["rules", "test"])?;
    assert_eq!(tested.code, 0, "{}{}", tested.stdout, tested.stderr);
    let dir = tempfile::tempdir()?;
    let exported = run(&["rules", "export", &path_str(dir.path())])?;
    assert_eq!(exported.code, 0);
    // What was exported lints clean and loads as the same rules.
    let lint = run(&["rules", "lint", &path_str(dir.path())])?;
    assert_eq!(lint.code, 0, "{}", lint.stdout);
    let again = run(&[
        "rules",
        "list",
        "--no-builtin",
        "--rules",
        &path_str(dir.path()),
        "--format",
        "jsonl",
    ])?;
    assert_eq!(findings(&again.stdout).len(), rows.len());
    Ok(())
}

#[test]
fn ingest_runs_the_rules_and_findings_are_a_sql_table_recorded_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    generated(&logs, 5_000)?;
    let planted = ground_truth(&logs)?;
    let data = dir.path().join("data");
    let first = lake_run(&data, &["ingest", &path_str(&logs)])?;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let count = |sql: &str| crate::support::scalar(&data, sql);
    let total: u64 = count("SELECT count(*) FROM findings")?.parse()?;
    assert!(total > 0);
    // What the rules found at ingest is what a hunt over the same files finds (the identity
    // index's chain signals come from the chains, which a hunt does not follow).
    let by_rules: u64 =
        count("SELECT count(*) FROM findings WHERE ruleId NOT LIKE 'trailhound-chain-%'")?
            .parse()?;
    let hunted = run(&[
        "hunt",
        &path_str(&logs),
        "--min-level",
        "informational",
        "--format",
        "jsonl",
        "-q",
    ])?;
    assert_eq!(findings(&hunted.stdout).len() as u64, by_rules);
    // Every planted scenario has a finding that points at one of its events.
    let rows = lake_run(
        &data,
        &[
            "query",
            "--format",
            "jsonl",
            "SELECT ruleTitle, eventIds FROM findings",
        ],
    )?;
    let mut found = BTreeSet::new();
    for row in findings(&rows.stdout) {
        let ids: Vec<String> = serde_json::from_str(row["eventIds"].as_str().unwrap_or("[]"))?;
        found.extend(ids.iter().filter_map(|id| planted.get(id)).cloned());
    }
    let scenarios: BTreeSet<String> = planted.values().cloned().collect();
    assert_eq!(found, scenarios);
    // Reading everything again records nothing twice.
    let again = lake_run(&data, &["ingest", "--force", &path_str(&logs)])?;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains(" 0 findings"), "{}", again.stderr);
    assert_eq!(
        count("SELECT count(*) FROM findings")?.parse::<u64>()?,
        total
    );
    // Findings join their events.
    let joined = count(
        "SELECT count(*) FROM findings f JOIN events e ON json_get_str(f.eventIds, 0) = e.eventID WHERE f.level = 'high'",
    )?;
    assert!(joined.parse::<u64>()? > 0);
    // --no-detect ingests without rules.
    let plain = dir.path().join("plain");
    assert_eq!(
        lake_run(&plain, &["ingest", "-q", "--no-detect", &path_str(&logs)])?.code,
        0
    );
    assert_eq!(
        crate::support::scalar(&plain, "SELECT count(*) FROM findings")?,
        "0"
    );
    Ok(())
}
