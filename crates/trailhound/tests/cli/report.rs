//! `trailhound report`: a fixture lake with known contents (a signed day with one hour of
//! logs and one digest removed, and hand-written events of every kind the report names);
//! every number of the JSON report is what its cited SQL answers and what the test counts
//! in the input itself; the HTML in a real browser; the PDF through poppler; templates and
//! wrong requests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::integrity::{openssl_key, signed_day};
use crate::support::{TestResult, files_under, lake_run, path_str, run};

type Error = Box<dyn std::error::Error>;

/// Where the report's screenshot is kept after a run (a test artifact).
fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-artifacts")
}

/// Events planted at 14:00–14:30 on 2024-07-01 in `account`'s us-east-1, each kind of thing
/// the report lists: root use, sign-ins with and without MFA, failed sign-ins from one
/// address, a CIS 4.10 and a 4.5 change.
fn planted(account: &str) -> Value {
    let user = |name: &str| {
        json!({"type": "IAMUser", "arn": format!("arn:aws:iam::{account}:user/{name}"),
               "accountId": account, "userName": name, "principalId": format!("AIDA{name}")})
    };
    let root = json!({"type": "Root", "arn": format!("arn:aws:iam::{account}:root"),
                      "accountId": account, "principalId": account});
    let event = |n: u32, identity: &Value, source: &str, name: &str, ip: &str, extra: Value| {
        let mut e = json!({
            "eventVersion": "1.09", "userIdentity": identity,
            "eventTime": format!("2024-07-01T14:{n:02}:00Z"), "eventSource": source,
            "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": ip,
            "userAgent": "Mozilla/5.0", "eventID": format!("planted-{n:04}"),
            "eventType": "AwsApiCall", "managementEvent": true, "readOnly": false,
            "recipientAccountId": account, "eventCategory": "Management"
        });
        if let (Some(e), Some(extra)) = (e.as_object_mut(), extra.as_object()) {
            e.extend(extra.clone());
        }
        e
    };
    let sign_in = |n, identity: &Value, ip: &str, ok: bool, mfa: &str| {
        let mut extra = json!({
            "eventType": "AwsConsoleSignIn", "eventSource": "signin.amazonaws.com",
            "responseElements": {"ConsoleLogin": if ok { "Success" } else { "Failure" }},
            "additionalEventData": {"MFAUsed": mfa, "LoginTo": "https://console.aws.amazon.com/"}
        });
        if !ok {
            extra["errorMessage"] = "Failed authentication".into();
        }
        event(
            n,
            identity,
            "signin.amazonaws.com",
            "ConsoleLogin",
            ip,
            extra,
        )
    };
    json!({"Records": [
        sign_in(1, &root, "198.51.100.1", true, "Yes"),
        event(2, &root, "iam.amazonaws.com", "CreateAccessKey", "198.51.100.1", json!({})),
        sign_in(3, &user("alice"), "198.51.100.2", true, "No"),
        sign_in(4, &user("bob"), "203.0.113.9", false, "No"),
        sign_in(5, &user("bob"), "203.0.113.9", false, "No"),
        sign_in(6, &user("carol"), "203.0.113.9", false, "No"),
        event(7, &user("mallory"), "ec2.amazonaws.com", "CreateSecurityGroup", "198.51.100.7",
              json!({"requestParameters": {"groupName": "open", "groupDescription": "x"}})),
        event(8, &user("mallory"), "cloudtrail.amazonaws.com", "StopLogging", "198.51.100.7",
              json!({"requestParameters": {"name": "management-events"}})),
    ]})
}

/// The fixture: a signed day of one account in us-east-1 with hour 10's events and the
/// digest ending 06:40:38 deleted, plus [`planted`]; validated (recorded in the lake's
/// catalog) and ingested. Returns the data directory, the logs and the account.
fn fixture_lake(dir: &Path) -> Result<(PathBuf, PathBuf, String), Error> {
    let key = openssl_key(dir, "key.pem")?;
    let logs = dir.join("logs");
    signed_day(&logs, &key, &[])?;
    let account = std::fs::read_dir(logs.join("AWSLogs"))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.chars().all(|c| c.is_ascii_digit()))
        .ok_or("no account folder")?;
    let mut removed_logs = 0;
    let mut removed_digest = false;
    for file in files_under(&logs) {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A log file is named after its delivery: hour 10's events are in the files of
        // hours 10 and 11.
        if name.contains("_CloudTrail_us-east-1_20240701T10")
            || name.contains("_CloudTrail_us-east-1_20240701T11")
        {
            std::fs::remove_file(&file)?;
            removed_logs += 1;
        } else if name.contains("CloudTrail-Digest") && name.contains("_20240701T064038Z") {
            std::fs::remove_file(&file)?;
            removed_digest = true;
        }
    }
    assert!(removed_logs >= 10 && removed_digest, "the planted gaps");
    let known = dir.join("known.json");
    std::fs::write(&known, serde_json::to_vec(&planted(&account))?)?;
    let data = dir.join("data");
    let ingest = lake_run(&data, &["ingest", &path_str(&logs), &path_str(&known)])?;
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let keys = path_str(&logs.join(".trailhound/public-keys.json"));
    let validate = lake_run(
        &data,
        &["validate", &path_str(&logs), "--public-keys", &keys],
    )?;
    assert_eq!(
        validate.code, 1,
        "a deleted digest is invalid: {}",
        validate.stderr
    );
    Ok((data, logs, account))
}

/// `report` over the fixture's day, with `extra` arguments.
fn report_of_the_day(data: &Path, extra: &[&str]) -> std::io::Result<crate::support::Run> {
    let mut args = vec!["report", "--since", "2024-07-01", "--until", "2024-07-02"];
    args.extend_from_slice(extra);
    lake_run(data, &args)
}

fn report_json(data: &Path, extra: &[&str]) -> Result<Value, Error> {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let out = report_of_the_day(data, &args)?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    Ok(serde_json::from_str(&out.stdout)?)
}

fn figure<'r>(report: &'r Value, id: &str) -> &'r Value {
    report["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["figures"].as_array().into_iter().flatten())
        .find(|f| f["id"] == id)
        .unwrap_or(&Value::Null)
}

/// The figure's rows as objects keyed by column, as `trailhound query --format json` prints.
fn objects(figure: &Value) -> Vec<Value> {
    let columns: Vec<&str> = figure["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    figure["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            let mut object = serde_json::Map::new();
            for (column, value) in columns.iter().zip(row.as_array().into_iter().flatten()) {
                if !value.is_null() {
                    object.insert((*column).to_owned(), value.clone());
                }
            }
            Value::Object(object)
        })
        .collect()
}

/// What the test counts in the input itself, record by record (through `cat`, not SQL).
struct Counted {
    events: usize,
    failed: usize,
    root_calls: usize,
    security_group_changes: usize,
}

fn count_input(logs: &Path, known: &Path) -> Result<Counted, Error> {
    let out = run(&["cat", &path_str(logs), &path_str(known)])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let events = out.events();
    let of = |f: &dyn Fn(&Value) -> bool| events.iter().filter(|e| f(e)).count();
    Ok(Counted {
        events: events.len(),
        failed: of(&|e| e.get("errorCode").is_some()),
        root_calls: of(&|e| {
            e["userIdentity"]["type"] == "Root"
                && e["userIdentity"].get("invokedBy").is_none()
                && e["eventType"] != "AwsServiceEvent"
        }),
        security_group_changes: of(&|e| {
            [
                "AuthorizeSecurityGroupIngress",
                "AuthorizeSecurityGroupEgress",
                "RevokeSecurityGroupIngress",
                "RevokeSecurityGroupEgress",
                "CreateSecurityGroup",
                "DeleteSecurityGroup",
            ]
            .iter()
            .any(|n| e["eventName"] == *n)
        }),
    })
}

#[test]
fn every_number_is_the_answer_of_the_sql_it_cites_and_of_the_input() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (data, logs, account) = fixture_lake(dir.path())?;
    let report = report_json(&data, &[])?;
    let figures: Vec<&Value> = report["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["figures"].as_array().into_iter().flatten())
        .collect();
    assert!(figures.len() >= 25, "{} figures", figures.len());
    // Each figure's rows are what its SQL gives when an auditor re-runs it.
    for figure in &figures {
        assert!(
            figure.get("error").is_none(),
            "{}: {}",
            figure["id"],
            figure["error"]
        );
        let sql = figure["sql"].as_str().ok_or("no sql")?;
        let out = lake_run(&data, &["query", "--format", "json", sql])?;
        assert_eq!(out.code, 0, "{}: {}", figure["id"], out.stderr);
        let answer: Value = serde_json::from_str(if out.stdout.trim().is_empty() {
            "[]"
        } else {
            &out.stdout
        })?;
        assert_eq!(
            Value::Array(objects(figure)),
            answer,
            "{} differs from its SQL's answer",
            figure["id"]
        );
    }
    // And the numbers are what the input holds.
    let counted = count_input(&logs, &dir.path().join("known.json"))?;
    let totals = &figure(&report, "activity.totals")["rows"][0];
    assert_eq!(totals[0], counted.events, "events");
    assert_eq!(totals[1], counted.failed, "failed calls");
    assert_eq!(totals[3], 1, "one account");
    let root = &figure(&report, "root.accounts")["rows"][0];
    assert_eq!(root[0], account.as_str());
    assert_eq!(root[1], counted.root_calls, "root calls");
    assert!(counted.root_calls >= 2, "the planted root calls");
    let failures = objects(figure(&report, "signIns.failures"));
    let planted_ip = failures
        .iter()
        .find(|r| r["sourceIPAddress"] == "203.0.113.9")
        .ok_or("the planted failed sign-ins")?;
    assert_eq!(planted_ip["failures"], 3);
    assert_eq!(planted_ip["principals"], 2);
    let without_mfa = objects(figure(&report, "signIns.withoutMfa"));
    assert!(
        without_mfa
            .iter()
            .any(|r| r["principal"] == format!("arn:aws:iam::{account}:user/alice")),
        "{without_mfa:?}"
    );
    let controls = objects(figure(&report, "changes.controls"));
    assert_eq!(controls.len(), 15, "every CIS control, with 0 when none");
    let control = |n: &str| {
        controls
            .iter()
            .find(|c| c["control"] == n)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(control("4.10")["events"], counted.security_group_changes);
    assert!(control("4.5")["events"].as_u64() >= Some(1), "StopLogging");
    let behind = objects(figure(&report, "changes.events"));
    assert!(behind.iter().any(|e| e["control"] == "4.5"
        && e["eventName"] == "StopLogging"
        && e["principal"] == format!("arn:aws:iam::{account}:user/mallory")
        && e["eventTime"] == "2024-07-01T14:08:00Z"));
    // The planted gaps: hour 10 of us-east-1, and the deleted digest.
    let gaps = objects(figure(&report, "coverage.gaps"));
    assert!(
        gaps.contains(&json!({"account": account, "region": "us-east-1",
            "gapStart": "2024-07-01T10:00:00Z", "gapEnd": "2024-07-01T11:00:00Z", "hours": 1})),
        "{gaps:?}"
    );
    let digests = objects(figure(&report, "coverage.digests"));
    assert_eq!(digests.len(), 1, "{digests:?}");
    assert_eq!(digests[0]["digestEndTime"], "2024-07-01T06:40:38Z");
    assert_eq!(digests[0]["day"], "2024-07-01T00:00:00Z");
    let checks = objects(figure(&report, "integrity.checks"));
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0]["valid"], false);
    // Findings of the rules that ran at ingest, by level.
    let findings: u64 = objects(figure(&report, "findings.levels"))
        .iter()
        .filter_map(|r| r["findings"].as_u64())
        .sum();
    assert!(findings >= 2, "StopLogging and the security group at least");
    // --sections and --account narrow it.
    let narrow = report_json(
        &data,
        &["--sections", "root,coverage", "--account", "000000000000"],
    )?;
    let names: Vec<&str> = narrow["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(names, ["coverage", "root"], "in report order");
    assert_eq!(
        objects(figure(&narrow, "root.accounts")),
        Vec::<Value>::new()
    );
    Ok(())
}

#[test]
fn the_html_renders_in_chromium_and_the_pdf_paginates() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (data, _logs, _account) = fixture_lake(dir.path())?;
    let html = dir.path().join("report.html");
    let out = report_of_the_day(&data, &["-o", &path_str(&html)])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("written to"), "{}", out.stderr);
    let text = std::fs::read_to_string(&html)?;
    assert!(
        !text.contains("http://") && !text.contains("https://console"),
        "no link or fetch outside the file"
    );
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let artifacts = artifacts();
    std::fs::create_dir_all(&artifacts)?;
    let shot = artifacts.join("report.png");
    let browser = Command::new("node")
        .arg(e2e.join("report.mjs"))
        .env("REPORT", &html)
        .env("SCREENSHOT", &shot)
        .output()?;
    let stdout = String::from_utf8_lossy(&browser.stdout);
    assert!(
        browser.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&browser.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim())?;
    assert_eq!(seen["problems"], json!([]), "console errors: {seen}");
    assert_eq!(
        seen["otherRequests"],
        json!([]),
        "the report fetched something: {seen}"
    );
    assert_eq!(seen["lang"], "en");
    assert_eq!(seen["h1"], json!(["CloudTrail report"]));
    let h2: Vec<&str> = seen["h2"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for heading in [
        "1. Coverage",
        "2. Activity",
        "3. Root user activity",
        "4. Console sign-ins",
        "5. Monitored changes (CIS AWS Foundations 4.x)",
        "6. Findings",
        "10. Top talkers and first seen",
        "Appendix: the SQL behind each figure",
    ] {
        assert!(h2.contains(&heading), "{heading} in {h2:?}");
    }
    // Per day, busiest services, identity types, top talkers.
    assert_eq!(seen["charts"], 4, "{seen}");
    assert_eq!(seen["chartsWithoutTitle"], 0);
    assert_eq!(seen["tablesWithoutCaption"], 0);
    assert_eq!(seen["headerCellsWithoutScope"], 0);
    assert_eq!(seen["sectionsBreakInPrint"], true);
    let png = std::fs::read(&shot)?;
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 50_000,
        "screenshot"
    );
    // The same page printed: a sane number of pages, and its text.
    let pdf = artifacts.join("report.pdf");
    let out = report_of_the_day(&data, &["-o", &path_str(&pdf)])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let info = Command::new("pdfinfo").arg(&pdf).output()?;
    let info = String::from_utf8_lossy(&info.stdout);
    let pages: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("pdfinfo: {info}"))?;
    assert!(
        (11..=60).contains(&pages),
        "{pages} pages: a page per section at least, not one per row"
    );
    let text = Command::new("pdftotext")
        .arg("-layout")
        .arg(&pdf)
        .arg("-")
        .output()?;
    let text = String::from_utf8_lossy(&text.stdout);
    for expected in [
        "CloudTrail report",
        "Hours with no delivered logs",
        "Digest files missing from a chain",
        "management console authentication failures",
        "Appendix: the SQL behind each figure",
        "203.0.113.9",
    ] {
        assert!(text.contains(expected), "{expected} not in the PDF's text");
    }
    Ok(())
}

#[test]
fn templates_can_be_replaced_and_wrong_requests_say_what_to_do() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let logs = dir.path().join("logs");
    crate::support::generated(&logs, 500)?;
    let ingest = lake_run(&data, &["ingest", &path_str(&logs)])?;
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let period = ["--since", "2024-07-01", "--until", "2024-07-03"];
    // A template of one's own, extending the built-in one.
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(&templates)?;
    std::fs::write(
        templates.join("report.md"),
        "Sections: {{ report.sections | length }}\n{% for s in report.sections %}- {{ s.title }}: {{ s.figures | length }}\n{% endfor %}",
    )?;
    std::fs::write(
        templates.join("report.html"),
        "{% extends \"builtin/report.html\" %}{% block header %}<h1>ACME quarterly review</h1>{% endblock %}",
    )?;
    let mut args = vec![
        "report",
        "--format",
        "md",
        "--sections",
        "root,activity",
        "--templates",
        "T",
    ];
    args.extend_from_slice(&period);
    let templates_arg = path_str(&templates);
    args[6] = &templates_arg;
    let out = lake_run(&data, &args)?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "Sections: 2\n- Activity: 5\n- Root user activity: 2\n"
    );
    args[2] = "html";
    let out = lake_run(&data, &args)?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("<h1>ACME quarterly review</h1>") && out.stdout.contains("Appendix")
    );
    // The built-in Markdown: tables and the SQL appendix.
    let out = lake_run(
        &data,
        &[
            "report",
            "--format",
            "md",
            "--sections",
            "activity",
            "--since",
            "2024-07-01",
            "--until",
            "2024-07-03",
        ],
    )?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("| day | events | failedCalls |"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("```sql\nSELECT date_trunc('day', eventTime) AS day")
    );
    // A broken template names itself and its line.
    std::fs::write(templates.join("report.md"), "line one\n{% for x in %}\n")?;
    args[2] = "md";
    let out = lake_run(&data, &args)?;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("template report.md") && out.stderr.contains("line 2"),
        "{}",
        out.stderr
    );
    // Wrong requests.
    let wrong: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        (
            "there is no report section \"rooot\"",
            vec!["report", "--sections", "rooot"],
        ),
        (
            "there is no report format \"docx\"",
            vec!["report", "--format", "docx"],
        ),
        (
            "before it starts",
            vec!["report", "--since", "2024-07-03", "--until", "2024-07-01"],
        ),
        (
            "--chromium /nowhere/chrome: no such file",
            vec![
                "report",
                "--format",
                "pdf",
                "-o",
                "/tmp/never.pdf",
                "--chromium",
                "/nowhere/chrome",
            ],
        ),
    ]);
    for (message, args) in wrong {
        let out = lake_run(&data, &args)?;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
    }
    // No Chromium on PATH: how to get PDF.
    let out = Command::new(crate::support::binary())
        .args(["--data-dir", &path_str(&data), "report", "-o"])
        .arg(dir.path().join("r.pdf"))
        .env("PATH", "/nonexistent")
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("apt install chromium") && stderr.contains("--format html"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn watch_makes_scheduled_reports_once_per_period_by_email_into_a_bucket_and_a_folder() -> TestResult
{
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    crate::support::generated(&logs, 400)?;
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox)?;
    let smtp = crate::smtp_server::SmtpServer::start(&inbox, None)?;
    let s3 = crate::s3_server::S3Server::start()?;
    s3.python(&["mb", "audit"])?;
    let folder = dir.path().join("reports");
    let config = dir.path().join("trailhound.toml");
    let write_config = |reports: &str| {
        std::fs::write(
            &config,
            format!(
                "[[sinks]]\nname = \"mail\"\ntype = \"email\"\nhost = \"127.0.0.1\"\nport = {}\n\
                 security = \"none\"\nfrom = \"trailhound@example.com\"\nto = [\"audit@example.com\"]\n\
                 [[sinks]]\nname = \"out\"\ntype = \"stdout\"\n{reports}",
                smtp.port
            ),
        )
    };
    write_config(&format!(
        "[[reports]]\nname = \"weekly\"\nevery = \"7d\"\nperiod = \"1000d\"\nformat = \"md\"\n\
         sections = [\"activity\", \"changes\"]\nemail = \"mail\"\ndir = \"s3://audit/trailhound\"\n\
         [[reports]]\nname = \"daily\"\nevery = \"1d\"\nperiod = \"1000d\"\nformat = \"json\"\ndir = \"{}\"\n",
        path_str(&folder)
    ))?;
    let data = dir.path().join("data");
    let watch = |extra: &[&str]| {
        let mut args = vec![
            "--data-dir".to_owned(),
            path_str(&data),
            "--config".to_owned(),
            path_str(&config),
            "watch".to_owned(),
            path_str(&logs),
            "--once".to_owned(),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        s3.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let first = watch(&[])?;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains("report \"weekly\": md over the last 1000d every 7d, to email through \"mail\" and s3://audit/trailhound"),
        "{}",
        first.stderr
    );
    // The mail: the report attached, its name telling the period's end.
    let messages = smtp.messages()?;
    assert_eq!(messages.len(), 1, "one report mailed");
    let (message, recipients) = &messages[0];
    assert_eq!(recipients, "audit@example.com");
    assert!(message.contains("Subject: CloudTrail report"), "{message}");
    assert!(
        message.contains("Content-Disposition: attachment; filename=\"weekly-"),
        "{message}"
    );
    assert!(message.contains("text/markdown"), "{message}");
    // The bucket and the folder.
    let keys = s3.python_output(&["ls", "audit", "trailhound/"])?;
    let key = keys
        .lines()
        .find(|k| k.starts_with("trailhound/weekly-") && k.ends_with(".md"));
    assert!(key.is_some(), "{keys}");
    let files: Vec<PathBuf> = files_under(&folder);
    assert_eq!(files.len(), 1, "{files:?}");
    let daily: Value = serde_json::from_slice(&std::fs::read(&files[0])?)?;
    assert!(daily["sections"].as_array().is_some_and(|s| s.len() == 10));
    let events = &figure(&daily, "activity.totals")["rows"][0][0];
    assert!(events.as_u64() >= Some(400), "{events}");
    // The next poll: nothing is due, nothing is sent again.
    let second = watch(&[])?;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(smtp.messages()?.len(), 1, "a report once per period");
    assert_eq!(files_under(&folder).len(), 1);
    // Wrong schedules stop the monitor before it starts.
    for (reports, message) in [
        (
            "[[reports]]\nname = \"w\"\nevery = \"7d\"\nemail = \"nobody\"\n",
            "email = \"nobody\", but no [[sinks]] is named so",
        ),
        (
            "[[reports]]\nname = \"w\"\nevery = \"7d\"\nemail = \"out\"\n",
            "is not an email sink",
        ),
        (
            "[[reports]]\nname = \"w\"\nevery = \"7d\"\n",
            "say where it goes",
        ),
        (
            "[[reports]]\nname = \"w\"\nevery = \"7d\"\ndir = \"/tmp\"\nformat = \"docx\"\n",
            "there is no report format \"docx\"",
        ),
        (
            "[[reports]]\nname = \"w\"\nevery = \"7d\"\ndir = \"/tmp\"\nsections = [\"rooot\"]\n",
            "there is no report section \"rooot\"",
        ),
    ] {
        write_config(reports)?;
        let out = watch(&[])?;
        assert_eq!(out.code, 2, "{reports}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{reports}: {}", out.stderr);
    }
    Ok(())
}
