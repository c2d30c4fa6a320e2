//! `posture`, `setup` and `retention s3-lifecycle` against moto_server: a deliberately bad
//! account fails exactly the expected checks; `setup --apply` on an empty account makes
//! every check moto can answer pass, and a second `setup` plans nothing.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::s3_server::{Error, S3Server};

/// Each check's verdicts, by check ID.
fn verdicts(json: &str) -> Result<BTreeMap<String, Vec<String>>, Error> {
    let document: Value = serde_json::from_str(json)?;
    let mut by_check: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for outcome in document["outcomes"].as_array().ok_or("no outcomes")? {
        by_check
            .entry(outcome["id"].as_str().unwrap_or_default().to_owned())
            .or_default()
            .push(outcome["verdict"].as_str().unwrap_or_default().to_owned());
    }
    Ok(by_check)
}

fn failing(by_check: &BTreeMap<String, Vec<String>>) -> Vec<&str> {
    by_check
        .iter()
        .filter(|(_, v)| v.iter().any(|v| v == "fail"))
        .map(|(id, _)| id.as_str())
        .collect()
}

#[test]
fn a_bad_account_fails_exactly_the_expected_checks() -> Result<(), Error> {
    let server = S3Server::start()?;
    server.script("account.py", &["bad"])?;
    let data = tempfile::tempdir()?;
    let data_dir = crate::support::path_str(data.path());
    let run = server.run(&["--data-dir", &data_dir, "posture", "--format", "json"])?;
    assert_eq!(run.code, 1, "a failing high check exits 1: {}", run.stderr);
    let by_check = verdicts(&run.stdout)?;
    let mut expected = vec![
        "TH-CT-01",
        "TH-CT-02",
        "TH-CT-04",
        "TH-CT-05",
        "TH-CT-06",
        "TH-CW-01",
        "TH-SNS-01",
        "TH-S3-01",
        "TH-S3-02",
        "TH-S3-03",
        "TH-S3-04",
        "TH-S3-06",
        "TH-S3-07",
        "TH-S3-08",
        "TH-DE-01",
        "TH-DE-02",
        "TH-IN-01",
    ];
    let monitoring: Vec<String> = (1..=15).map(|n| format!("TH-MON-4-{n}")).collect();
    expected.extend(monitoring.iter().map(String::as_str));
    expected.sort_unstable();
    assert_eq!(failing(&by_check), expected);
    // What the bad account does right passes, and what is not asked for does not apply.
    assert_eq!(by_check["TH-CT-03"], ["pass"]);
    assert_eq!(by_check["TH-S3-05"], ["not-applicable"]);
    let document: Value = serde_json::from_str(&run.stdout)?;
    let public = document["outcomes"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["id"] == "TH-S3-01"))
        .ok_or("no TH-S3-01")?;
    assert_eq!(public["resource"], "arn:aws:s3:::bad-trail-bucket");
    assert!(
        public["cis"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "CIS v1.2 2.3"))
    );
    assert!(
        public["fix"]
            .as_str()
            .is_some_and(|f| f.contains("put-bucket-policy")),
        "{public}"
    );
    // The table says the same, with the fixes.
    let table = server.run(&["posture", "--fail-on", "never"])?;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table
            .stdout
            .contains("aws cloudtrail start-logging --name bad-trail"),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains(" failed, 0 unknown"),
        "{}",
        table.stdout
    );
    Ok(())
}

#[test]
fn setup_on_an_empty_account_makes_posture_pass_and_a_second_run_plans_nothing() -> Result<(), Error>
{
    let server = S3Server::start()?;
    let args = [
        "setup",
        "--name",
        "org-trail",
        "--create-kms-key",
        "--archive-after",
        "90d",
        "--expire-after",
        "365d",
        "--access-log-bucket",
        "org-trail-access-logs",
        "--cloudwatch-logs",
        "--sns-topic",
        "trail-alerts",
        "--notify-email",
        "security@example.com",
        "--cis-alarms",
        "--s3-data-events",
        "--insights",
        "--tag",
        "team=security",
    ];
    // The plan changes nothing.
    let planned = server.run(&args)?;
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    assert!(
        planned.stdout.contains("cloudtrail:CreateTrail"),
        "{}",
        planned.stdout
    );
    assert!(
        server
            .run(&["posture", "--format", "json"])?
            .stdout
            .contains("\"trails\": []")
    );

    let mut apply = args.to_vec();
    apply.push("--apply");
    let applied = server.run(&apply)?;
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);

    let run = server.run(&[
        "posture",
        "--format",
        "json",
        "--fail-on",
        "low",
        "--required-tag",
        "team",
        "--name-pattern",
        "org-*",
    ])?;
    let by_check = verdicts(&run.stdout)?;
    assert_eq!(failing(&by_check), Vec::<&str>::new(), "{}", run.stdout);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let passed = by_check.values().flatten().filter(|v| *v == "pass").count();
    assert!(passed >= 33, "{by_check:?}");

    let again = server.run(&args)?;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
    Ok(())
}

#[test]
fn setup_never_weakens_and_keeps_the_bucket_rules_it_finds() -> Result<(), Error> {
    let server = S3Server::start()?;
    server.script("account.py", &["rule", "kept-bucket"])?;
    // The lifecycle subcommand puts ours beside theirs.
    let put = server.run(&[
        "retention",
        "s3-lifecycle",
        "--bucket",
        "kept-bucket",
        "--archive-after",
        "60d",
        "--expire-after",
        "2y",
        "--apply",
    ])?;
    assert_eq!(put.code, 0, "{}", put.stderr);
    let rules: Value =
        serde_json::from_str(&server.script("account.py", &["lifecycle", "kept-bucket"])?)?;
    let ids: Vec<&str> = rules
        .as_array()
        .ok_or("rules")?
        .iter()
        .filter_map(|r| r["ID"].as_str())
        .collect();
    assert_eq!(ids, ["theirs", "trailhound-archive"]);
    let ours = &rules[1];
    assert_eq!(ours["Transitions"][0]["Days"], 60);
    assert_eq!(ours["Expiration"]["Days"], 730);

    // Without --apply it prints the JSON the AWS CLI takes.
    let printed = server.run(&[
        "retention",
        "s3-lifecycle",
        "--archive-after",
        "90d",
        "--expire-after",
        "365d",
    ])?;
    let json: Value = serde_json::from_str(&printed.stdout)?;
    assert_eq!(
        json["Rules"][0]["Transitions"][0]["StorageClass"],
        "GLACIER"
    );
    // A rule that expires before it archives is refused.
    let wrong = server.run(&[
        "retention",
        "s3-lifecycle",
        "--archive-after",
        "90d",
        "--expire-after",
        "30d",
    ])?;
    assert_eq!(wrong.code, 2);
    assert!(wrong.stderr.contains("expire later"), "{}", wrong.stderr);

    // setup on that bucket keeps the lifecycle rules there and plans no second one.
    let plan = server.run(&[
        "setup",
        "--name",
        "kept",
        "--bucket",
        "kept-bucket",
        "--archive-after",
        "90d",
        "--expire-after",
        "365d",
    ])?;
    assert!(
        plan.stdout.contains("already has a lifecycle rule"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("PutBucketLifecycleConfiguration"),
        "{}",
        plan.stdout
    );
    Ok(())
}

#[test]
fn an_unreachable_endpoint_is_a_clear_error() -> Result<(), Error> {
    let server = S3Server::start()?;
    let mut command = server.command(&["posture"]);
    command.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let run = crate::support::run_command(&mut command)?;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("127.0.0.1:9"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    Ok(())
}

/// Each (check, resource) and its verdict.
fn by_resource(json: &str) -> Result<BTreeMap<(String, String), String>, Error> {
    let document: Value = serde_json::from_str(json)?;
    Ok(document["outcomes"]
        .as_array()
        .ok_or("no outcomes")?
        .iter()
        .map(|o| {
            (
                (
                    o["id"].as_str().unwrap_or_default().to_owned(),
                    o["resource"].as_str().unwrap_or_default().to_owned(),
                ),
                o["verdict"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

#[test]
fn posture_from_the_lake_agrees_with_the_live_checks() -> Result<(), Error> {
    // The same bad account, once live on the server, once as its own CloudTrail events.
    let server = S3Server::start()?;
    server.script("account.py", &["bad"])?;
    let live = by_resource(&server.run(&["posture", "--format", "json"])?.stdout)?;

    let data = tempfile::tempdir()?;
    let ingest = crate::support::lake_run(
        data.path(),
        &["ingest", &crate::support::fixture("bad-account.json")],
    )?;
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let run =
        crate::support::lake_run(data.path(), &["posture", "--from-lake", "--format", "json"])?;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let document: Value = serde_json::from_str(&run.stdout)?;
    assert_eq!(document["facts"]["origin"], "lake");
    let from_lake = by_resource(&run.stdout)?;

    let mut compared = 0;
    for (key, verdict) in &from_lake {
        if verdict == "unknown" {
            continue;
        }
        assert_eq!(live.get(key), Some(verdict), "{key:?}");
        compared += 1;
    }
    assert!(
        compared >= 19,
        "only {compared} verdicts could be compared: {from_lake:?}"
    );
    // The trail and its bucket were configured inside the logs: all of that is known.
    // Account-wide facts are not: other trails may predate the logs.
    for ((id, resource), verdict) in &from_lake {
        if resource.starts_with("arn:") {
            assert_ne!(verdict, "unknown", "{id} {resource}");
        } else {
            assert_eq!(verdict, "unknown", "{id} {resource}");
        }
    }
    // A stopped trail delivers nothing, whichever source says so.
    assert_eq!(
        from_lake[&(
            "TH-CT-06".to_owned(),
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/bad-trail".to_owned()
        )],
        "fail"
    );
    let table = crate::support::lake_run(
        data.path(),
        &["posture", "--from-lake", "--fail-on", "never"],
    )?;
    assert!(
        table
            .stdout
            .contains("reconstructed from the trail's events in the lake"),
        "{}",
        table.stdout
    );
    Ok(())
}
