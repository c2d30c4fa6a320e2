use std::collections::HashMap;
use std::path::Path;

use crate::support::*;

fn generate(dir: &Path, extra: &[&str]) -> std::io::Result<Run> {
    let mut args = vec![
        "generate",
        "--start",
        "2024-07-01",
        "--days",
        "2",
        "--events",
        "3000",
    ];
    args.extend_from_slice(extra);
    let dir = path_str(dir);
    args.push(&dir);
    run(&args)
}

fn tree(dir: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in walk(dir)? {
        let relative = entry.strip_prefix(dir).map(path_str).unwrap_or_default();
        files.push((relative, std::fs::read(&entry)?));
    }
    files.sort();
    Ok(files)
}

fn walk(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(walk(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

#[test]
fn writes_the_exact_cloudtrail_layout_and_reads_back_every_event() -> TestResult {
    let dir = tempfile::tempdir()?;
    let made = generate(dir.path(), &[])?;
    assert_eq!(made.code, 0, "{}", made.stderr);
    let files = tree(dir.path())?;
    assert!(files.len() > 100);
    for (path, bytes) in &files {
        let parts: Vec<&str> = path.split('/').collect();
        assert_eq!(parts.len(), 8, "{path}");
        assert_eq!((parts[0], parts[2]), ("AWSLogs", "CloudTrail"), "{path}");
        assert!(
            parts[1].len() == 12 && parts[1].bytes().all(|b| b.is_ascii_digit()),
            "{path}"
        );
        let name = parts[7];
        let expected_prefix = format!(
            "{}_CloudTrail_{}_{}{}{}T",
            parts[1], parts[3], parts[4], parts[5], parts[6]
        );
        assert!(name.starts_with(&expected_prefix), "{path}");
        assert!(
            name.ends_with(".json.gz")
                && name.len() == expected_prefix.len() + "HHmmZ_".len() + 16 + ".json.gz".len(),
            "{path}"
        );
        assert_eq!(&bytes[..2], b"\x1f\x8b", "{path} is not gzip");
    }
    let read = run(&["cat", &path_str(dir.path())])?;
    assert_eq!(read.code, 0, "{}", read.stderr);
    let events = read.events();
    assert_eq!(events.len(), 3000);
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for event in &events {
        for field in [
            "eventVersion",
            "eventTime",
            "eventSource",
            "eventName",
            "awsRegion",
            "eventID",
            "eventType",
            "recipientAccountId",
            "userIdentity",
        ] {
            assert!(!event[field].is_null(), "{field} missing in {event}");
        }
        *kinds
            .entry(
                event["userIdentity"]["type"]
                    .as_str()
                    .unwrap_or("?")
                    .to_owned(),
            )
            .or_default() += 1;
        *kinds
            .entry(event["eventCategory"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
        if event["errorCode"].is_string() {
            *kinds.entry("error".to_owned()).or_default() += 1;
        }
        if event["eventType"] == "AwsConsoleSignIn" {
            *kinds.entry("sign-in".to_owned()).or_default() += 1;
        }
        // The reference query "all Delete* events by time" must have rows to find.
        if event["eventName"]
            .as_str()
            .is_some_and(|name| name.starts_with("Delete"))
        {
            *kinds.entry("Delete*".to_owned()).or_default() += 1;
        }
    }
    for kind in [
        "IAMUser",
        "AssumedRole",
        "AWSService",
        "Management",
        "Data",
        "error",
        "sign-in",
        "Delete*",
    ] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} events: {kinds:?}"
        );
    }
    Ok(())
}

#[test]
fn the_same_seed_writes_the_same_bytes() -> TestResult {
    let (a, b, c) = (
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    );
    generate(a.path(), &["--seed", "7", "--scenarios"])?;
    generate(b.path(), &["--seed", "7", "--scenarios"])?;
    generate(c.path(), &["--seed", "8", "--scenarios"])?;
    assert!(
        tree(a.path())? == tree(b.path())?,
        "same seed, different output"
    );
    assert!(
        tree(a.path())? != tree(c.path())?,
        "different seeds, same output"
    );
    Ok(())
}

#[test]
fn scenarios_are_planted_with_ground_truth() -> TestResult {
    let dir = tempfile::tempdir()?;
    let made = generate(dir.path(), &["--scenarios", "--org", "o-a1b2c3d4e5"])?;
    assert_eq!(made.code, 0, "{}", made.stderr);
    assert!(dir.path().join("AWSLogs/o-a1b2c3d4e5").is_dir());
    let truth = std::fs::read_to_string(dir.path().join(".trailhound/ground-truth.jsonl"))?;
    let labels: Vec<serde_json::Value> = truth
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let read = run(&["cat", &path_str(dir.path())])?;
    assert_eq!(read.code, 0, "{}", read.stderr);
    let events = read.events();
    assert_eq!(events.len(), 3000 + labels.len());
    let by_id: HashMap<&str, &serde_json::Value> = events
        .iter()
        .filter_map(|e| Some((e["eventID"].as_str()?, e)))
        .collect();
    assert_eq!(by_id.len(), events.len(), "eventIDs are not unique");
    let mut scenarios = std::collections::BTreeSet::new();
    for label in &labels {
        let id = label["eventID"].as_str().unwrap_or_default();
        let event = by_id
            .get(id)
            .unwrap_or_else(|| panic!("planted {id} not in the logs"));
        assert_eq!(event["eventName"], label["eventName"]);
        assert_eq!(event["eventTime"], label["eventTime"]);
        scenarios.insert(label["scenario"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(scenarios.len(), 12, "{scenarios:?}");
    let find = |name: &str| labels.iter().filter(|l| l["eventName"] == name).count();
    assert_eq!(find("StopLogging"), 1);
    assert_eq!(find("DeleteDetector"), 1);
    assert_eq!(find("ScheduleKeyDeletion"), 1);
    assert!(find("GetSecretValue") >= 20);
    let denied = labels
        .iter()
        .filter(|l| l["scenario"] == "access-denied-recon")
        .count();
    assert!(denied >= 30);
    let admin = events
        .iter()
        .find(|e| e["eventName"] == "AttachUserPolicy")
        .map(|e| e["requestParameters"]["policyArn"].clone());
    assert_eq!(
        admin,
        Some(serde_json::json!(
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ))
    );
    let unusual: Vec<&str> = events
        .iter()
        .filter(|e| {
            e["eventName"] == "RunInstances"
                && e["requestParameters"]["instanceType"] == "p3.16xlarge"
        })
        .filter_map(|e| e["awsRegion"].as_str())
        .collect();
    assert!(
        unusual
            .iter()
            .all(|r| !["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"].contains(r)),
        "{unusual:?}"
    );
    Ok(())
}

#[test]
fn unknown_scenarios_and_bad_settings_are_usage_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let run1 = generate(dir.path(), &["--scenarios=teleport"])?;
    assert_eq!(run1.code, 2);
    assert!(run1.stderr.contains("--scenarios=list"), "{}", run1.stderr);
    let run2 = generate(dir.path(), &["--regions", "Mars"])?;
    assert_eq!(run2.code, 2);
    assert!(run2.stderr.contains("not a region name"), "{}", run2.stderr);
    let listed = run(&["generate", "--scenarios=list", &path_str(dir.path())])?;
    assert!(listed.stdout.contains("stop-logging") && listed.stdout.contains("T1562.008"));
    Ok(())
}
