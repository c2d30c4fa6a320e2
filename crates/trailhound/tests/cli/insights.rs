use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::support::{TestResult, lake_run, path_str, run, scalar};

/// Two weeks of a two-account estate with every scenario planted: enough history for a
/// 7-day baseline before the bursts (planted at evenly spread times, the recon and bulk
/// secret reads in the second week), with the generator's daily and weekend rhythm.
fn two_weeks(dir: &Path) -> TestResult {
    let out = run(&[
        "generate",
        "--start",
        "2024-07-01",
        "--days",
        "14",
        "--accounts",
        "2",
        "--regions",
        "us-east-1,eu-west-1",
        "--events",
        "120000",
        "--seed",
        "11",
        "--scenarios",
        &path_str(dir),
    ])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    Ok(())
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn planted(dir: &Path) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(dir.join(".trailhound/ground-truth.jsonl"))?;
    Ok(lines(&text))
}

fn minute(time: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time).map_or(0, |t| t.timestamp() / 60)
}

#[test]
fn insights_find_the_planted_bursts_and_nothing_in_the_background() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let data = dir.path().join("data");
    two_weeks(&logs)?;
    let truth = planted(&logs)?;

    // Live: the first ten days, then the rest, each ingest computing its own insights.
    let first = lake_run(
        &data,
        &["ingest", "-q", &path_str(&logs), "--until", "2024-07-11"],
    )?;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let rest = lake_run(&data, &["ingest", "-q", "--force", &path_str(&logs)])?;
    assert_eq!(rest.code, 0, "{}", rest.stderr);
    let live = lines(&lake_run(&data, &["insights", "list", "--format", "jsonl"])?.stdout);
    assert!(!live.is_empty(), "no insights at all");

    // Every insight is explained by planted activity: same account and API, starting
    // within two minutes of a planted event. The background, rhythm and all, fires none.
    for insight in &live {
        let api = insight["api"].as_str().unwrap_or_default();
        let start = minute(insight["start"].as_str().unwrap_or_default());
        let explained = truth.iter().any(|event| {
            let service = event["eventSource"]
                .as_str()
                .unwrap_or_default()
                .trim_end_matches(".amazonaws.com");
            let event_api = format!(
                "{service}:{}",
                event["eventName"].as_str().unwrap_or_default()
            );
            event_api == api
                && event["recipientAccountId"] == insight["account"]
                && (minute(event["eventTime"].as_str().unwrap_or_default()) - start).abs() <= 2
        });
        assert!(
            explained,
            "an insight not explained by any planted event: {insight}"
        );
        assert_eq!(insight["origin"], "trailhound");
    }

    // The bulk secret reads: a call-rate insight on GetSecretValue, attributed to the role
    // that made them.
    let secrets: Vec<&Value> = truth
        .iter()
        .filter(|e| e["eventName"] == "GetSecretValue")
        .collect();
    let reader = scalar(
        &data,
        &format!(
            "SELECT userIdentity.arn FROM events WHERE eventID = '{}'",
            secrets[0]["eventID"].as_str().unwrap_or_default()
        ),
    )?;
    let burst = live
        .iter()
        .find(|i| i["api"] == "secretsmanager:GetSecretValue")
        .ok_or("no insight on the bulk secret reads")?;
    assert_eq!(burst["insightType"], "ApiCallRateInsight");
    assert_eq!(burst["top_principal"].as_str(), Some(reader.as_str()));
    let rate: f64 = burst["insight_per_min"].as_str().unwrap_or("0").parse()?;
    let baseline: f64 = burst["baseline_per_min"].as_str().unwrap_or("9").parse()?;
    assert!(rate >= 5.0 && baseline < 1.0, "{burst}");

    // The AccessDenied recon: error-rate insights with the error code on the probed APIs.
    let denied: BTreeSet<&str> = live
        .iter()
        .filter(|i| i["insightType"] == "ApiErrorRateInsight" && i["errorCode"] == "AccessDenied")
        .filter_map(|i| i["api"].as_str())
        .collect();
    for api in [
        "iam:ListUsers",
        "iam:ListRoles",
        "ec2:DescribeInstances",
        "s3:ListBuckets",
    ] {
        assert!(
            denied.contains(api),
            "no AccessDenied insight on {api}: {denied:?}"
        );
    }

    // First-seen findings: the planted unusual regions and the stolen role's new network,
    // and nothing at low level or above that planted activity does not explain.
    let planted_ids: BTreeSet<&str> = truth.iter().filter_map(|e| e["eventID"].as_str()).collect();
    let first_seen = lines(
        &lake_run(
            &data,
            &[
                "query",
                "--format",
                "jsonl",
                "SELECT ruleId, level, summary, eventIds FROM findings WHERE ruleId LIKE 'trailhound-first-seen%'",
            ],
        )?
        .stdout,
    );
    let rules: BTreeSet<&str> = first_seen
        .iter()
        .filter_map(|f| f["ruleId"].as_str())
        .collect();
    for rule in [
        "trailhound-first-seen-region",
        "trailhound-first-seen-network",
    ] {
        assert!(rules.contains(rule), "no {rule} finding: {first_seen:?}");
    }
    for finding in &first_seen {
        let ids: Vec<String> = serde_json::from_str(finding["eventIds"].as_str().unwrap_or("[]"))?;
        let explained = ids.iter().all(|id| planted_ids.contains(id.as_str()));
        if finding["level"] != "informational" {
            assert!(
                explained,
                "first-seen finding on benign activity: {finding}"
            );
        }
    }
    let region = first_seen
        .iter()
        .find(|f| f["ruleId"] == "trailhound-first-seen-region")
        .and_then(|f| f["summary"].as_str())
        .unwrap_or_default();
    assert!(
        region.contains("user/bob acted in region")
            && region.contains("(ec2:RunInstances) for the first time in 13 days"),
        "{region}"
    );

    // A backfill over the whole lake finds exactly the same insights and stores none twice.
    let backfill = lake_run(&data, &["insights", "--format", "jsonl"])?;
    assert_eq!(backfill.code, 0, "{}", backfill.stderr);
    let ids = |list: &[Value]| -> BTreeSet<String> {
        list.iter()
            .map(|i| i["sharedEventID"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(ids(&lines(&backfill.stdout)), ids(&live));
    // It reads every event again for first-seen too, and finds nothing the two ingests had
    // not found, though the second read only its own files and remembered the rest.
    assert!(backfill.stderr.contains("(0 new;"), "{}", backfill.stderr);
    let recorded = scalar(
        &data,
        "SELECT count(*) FROM findings WHERE ruleId LIKE 'trailhound-first-seen%'",
    )?;
    assert_eq!(recorded, first_seen.len().to_string());
    let stored = scalar(&data, "SELECT count(*) FROM insights WHERE state = 'Start'")?;
    assert_eq!(stored, live.len().to_string());
    let ended = scalar(&data, "SELECT count(*) FROM insights WHERE state = 'End'")?;
    assert_eq!(
        ended,
        live.len().to_string(),
        "every burst is over by the end"
    );

    // Explained: the chart's peak is the burst, the series is there for dashboards.
    let id = burst["sharedEventID"].as_str().unwrap_or_default();
    let shown = lake_run(&data, &["insights", "show", &id[..8]])?;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.contains("secretsmanager:GetSecretValue"),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains('▶') && shown.stdout.contains('█'),
        "{}",
        shown.stdout
    );
    let json: Value = serde_json::from_str(
        &lake_run(&data, &["insights", "show", id, "--format", "json"])?.stdout,
    )?;
    let series = json["series"].as_array().ok_or("no series")?;
    let inside: u64 = series
        .iter()
        .filter(|p| p["insight"] == true)
        .map(|p| p["count"].as_u64().unwrap_or(0))
        .sum();
    assert!(inside as usize >= secrets.len() - 2, "{json}");
    assert_eq!(json["records"].as_array().map(Vec::len), Some(2));
    let unknown = lake_run(&data, &["insights", "show", "no-such-id"])?;
    assert_ne!(unknown.code, 0);
    assert!(
        unknown.stderr.contains("insights list"),
        "{}",
        unknown.stderr
    );

    // Exported as CloudTrail delivers Insights, and read back as CloudTrail's own.
    let exported = dir.path().join("exported");
    let export = lake_run(&data, &["insights", "export", &path_str(&exported)])?;
    assert_eq!(export.code, 0, "{}", export.stderr);
    let other = dir.path().join("other");
    let ingest = lake_run(&other, &["ingest", "-q", &path_str(&exported)])?;
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let read_back = lines(&lake_run(&other, &["insights", "list", "--format", "jsonl"])?.stdout);
    assert_eq!(ids(&read_back), ids(&live));
    assert!(read_back.iter().all(|i| i["origin"] == "cloudtrail"));
    let same = scalar(
        &other,
        &format!(
            "SELECT insightType || ' ' || CAST(insightDuration AS VARCHAR) FROM insights WHERE sharedEventID = '{id}' AND state = 'End'"
        ),
    )?;
    assert_eq!(
        same,
        format!(
            "ApiCallRateInsight {}",
            burst["minutes"].as_str().unwrap_or("?")
        )
    );
    Ok(())
}

#[test]
fn insight_settings_are_checked() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    crate::support::generated(&logs, 2_000)?;
    let data = dir.path().join("data");
    assert_eq!(
        lake_run(&data, &["ingest", "-q", "--no-insights", &path_str(&logs)])?.code,
        0
    );
    assert_eq!(scalar(&data, "SELECT count(*) FROM insights")?, "0");
    let bad = lake_run(&data, &["insights", "--significance", "2"])?;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("significance"), "{}", bad.stderr);
    let missing = lake_run(&dir.path().join("typo"), &["insights"])?;
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("there is no lake in"),
        "{}",
        missing.stderr
    );
    assert!(
        !dir.path().join("typo").exists(),
        "a missing lake was created"
    );
    let bad = lake_run(&data, &["insights", "--baseline", "yesterday"])?;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("length of time"), "{}", bad.stderr);
    Ok(())
}
