use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::receiver::Receiver;
use crate::s3_server::{Error, S3Server};
use crate::support::{TestResult, files_under, fixture, lake_run, path_str, run, scalar};

const BUCKET: &str = "watched-trail";

/// Two days of logs with every scenario, and the same tree split into its two days.
struct Estate {
    all: PathBuf,
    days: [PathBuf; 2],
}

fn estate(dir: &Path) -> Result<Estate, Error> {
    let all = dir.join("all");
    let out = run(&[
        "generate",
        "--start",
        "2024-07-01",
        "--days",
        "2",
        "--accounts",
        "1",
        "--regions",
        "us-east-1,eu-west-1",
        "--events",
        "800",
        "--scenarios",
        &path_str(&all),
    ])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let days = [dir.join("day1"), dir.join("day2")];
    for file in files_under(&all.join("AWSLogs")) {
        let relative = file.strip_prefix(&all)?;
        let day = if path_str(relative).contains("/2024/07/01/") {
            0
        } else {
            1
        };
        let target = days[day].join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&file, &target)?;
    }
    Ok(Estate { all, days })
}

fn events_in(path: &Path) -> Result<usize, Error> {
    let out = run(&["cat", &path_str(path)])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    Ok(out.stdout.lines().count())
}

fn count(data: &Path, sql: &str) -> Result<usize, Error> {
    Ok(scalar(data, sql)?.parse()?)
}

#[test]
fn watch_follows_a_bucket_and_downloads_each_new_object_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let estate = estate(dir.path())?;
    let server = S3Server::start()?;
    server.upload(BUCKET, &estate.days[0])?;
    let data = dir.path().join("lake");
    let url = format!("s3://{BUCKET}");
    let watch = || server.run(&["--data-dir", &path_str(&data), "watch", &url, "--once"]);

    let first = watch()?;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(
        count(&data, "SELECT count(*) FROM events")?,
        events_in(&estate.days[0])?
    );
    let gets = server.object_gets(BUCKET)?;
    assert_eq!(gets, files_under(&estate.days[0].join("AWSLogs")).len());

    // The second day lands; the next poll takes exactly its objects.
    server.upload(BUCKET, &estate.days[1])?;
    let second = watch()?;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        count(&data, "SELECT count(*) FROM events")?,
        events_in(&estate.all)?
    );
    assert_eq!(
        server.object_gets(BUCKET)? - gets,
        files_under(&estate.days[1].join("AWSLogs")).len()
    );
    // Nothing new: nothing downloaded.
    let gets = server.object_gets(BUCKET)?;
    let third = watch()?;
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(server.object_gets(BUCKET)?, gets);

    // One checkpoint per trail folder (account × region, planted regions included), each at
    // its newest key.
    let status = lake_run(&data, &["status", "--format", "json"])?;
    assert_eq!(status.code, 0, "{}", status.stdout);
    let report: serde_json::Value = serde_json::from_str(&status.stdout)?;
    assert_eq!(report["healthy"], true);
    let followed = report["followed"].as_array().ok_or("no followed")?;
    let account = std::fs::read_dir(estate.all.join("AWSLogs"))?
        .flatten()
        .next()
        .ok_or("no account")?
        .path();
    let regions = std::fs::read_dir(account.join("CloudTrail"))?.count();
    assert_eq!(followed.len(), regions, "{}", status.stdout);
    for source in followed {
        let position = source["position"].as_str().ok_or("no position")?;
        assert!(!position.contains("/2024/07/01/"), "{position}");
        assert!(source["lag_seconds"].as_i64().is_some_and(|lag| lag > 0));
        assert!(source["error"].is_null());
    }
    Ok(())
}

#[test]
fn watch_killed_at_random_moments_loses_and_duplicates_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let estate = estate(dir.path())?;
    let server = S3Server::start()?;
    server.upload(BUCKET, &estate.all)?;
    let data = dir.path().join("lake");
    let url = format!("s3://{BUCKET}");
    let mut seed = 0x9e37_79b9_u64;
    for _ in 0..6 {
        let mut child = server
            .command(&[
                "--data-dir",
                &path_str(&data),
                "watch",
                &url,
                "--interval",
                "1s",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        std::thread::sleep(Duration::from_millis(200 + (seed >> 33) % 2500));
        child.kill()?; // SIGKILL
        child.wait()?;
    }
    let last = server.run(&["--data-dir", &path_str(&data), "watch", &url, "--once"])?;
    assert_eq!(last.code, 0, "{}", last.stderr);
    let total = events_in(&estate.all)?;
    assert_eq!(count(&data, "SELECT count(*) FROM events")?, total);
    assert_eq!(
        count(&data, "SELECT count(DISTINCT eventID) FROM events")?,
        total
    );
    Ok(())
}

#[test]
fn watch_follows_a_local_folder() -> TestResult {
    let dir = tempfile::tempdir()?;
    let estate = estate(dir.path())?;
    let followed = dir.path().join("followed");
    std::fs::create_dir(&followed)?;
    let data = dir.path().join("lake");
    let watch = || lake_run(&data, &["watch", &path_str(&followed), "--once"]);
    copy_tree(&estate.days[0], &followed)?;
    assert_eq!(watch()?.code, 0);
    assert_eq!(
        count(&data, "SELECT count(*) FROM events")?,
        events_in(&estate.days[0])?
    );
    copy_tree(&estate.days[1], &followed)?;
    assert_eq!(watch()?.code, 0);
    assert_eq!(
        count(&data, "SELECT count(*) FROM events")?,
        events_in(&estate.all)?
    );
    let sources = lake_run(&data, &["sources", "--format", "json"])?;
    let sources: serde_json::Value = serde_json::from_str(&sources.stdout)?;
    assert_eq!(
        sources.as_array().map(Vec::len),
        Some(files_under(&estate.all.join("AWSLogs")).len())
    );

    // A corrupt file is reported by the poll that finds it, not by every poll after.
    std::fs::write(followed.join("corrupt.json"), "{\"Records\": [")?;
    let found = watch()?;
    assert_eq!(found.code, 2, "{}", found.stderr);
    assert!(
        found.stderr.contains("corrupt.json: invalid JSON"),
        "{}",
        found.stderr
    );
    let next = watch()?;
    assert_eq!(next.code, 0, "{}", next.stderr);
    assert!(!next.stderr.contains("corrupt.json"), "{}", next.stderr);
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    for file in files_under(from) {
        let target = to.join(file.strip_prefix(from)?);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&file, &target)?;
    }
    Ok(())
}

fn config(dir: &Path, text: &str) -> Result<PathBuf, Error> {
    let path = dir.join("trailhound.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

fn sinks(receiver: &Receiver, extra: &str) -> String {
    format!(
        r#"
        [alerts]
        retry_max = "1s"
        {extra}

        [[sinks]]
        name = "hook"
        type = "webhook"
        url = "{}"
        secret = "${{TRAILHOUND_TEST_SECRET}}"

        [[sinks]]
        name = "slack"
        type = "slack"
        url = "{}"

        [[sinks]]
        name = "splunk"
        type = "splunk"
        url = "{}"
        token = "hec-token"
        index = "security"

        [[routes]]
        sinks = ["hook", "slack", "splunk"]
        min_level = "high"
        "#,
        receiver.url("/hook"),
        receiver.url("/slack"),
        receiver.url("/services/collector/event"),
    )
}

/// `trailhound` with the lake, the configuration and the webhook secret.
fn alerting_run(data: &Path, config: &Path, args: &[&str]) -> Result<crate::support::Run, Error> {
    let mut command = std::process::Command::new(crate::support::binary());
    command
        .args(["--data-dir", &path_str(data), "--config", &path_str(config)])
        .args(args)
        .env("TRAILHOUND_TEST_SECRET", "s3cret")
        .stdin(Stdio::null());
    Ok(crate::support::run_command(&mut command)?)
}

fn history(data: &Path, config: &Path) -> Result<Vec<serde_json::Value>, Error> {
    let out = alerting_run(
        data,
        config,
        &["alert", "history", "--limit", "1000", "--format", "json"],
    )?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    Ok(serde_json::from_str::<Vec<serde_json::Value>>(&out.stdout)?)
}

#[test]
fn findings_become_signed_webhook_slack_and_splunk_alerts_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let estate = estate(dir.path())?;
    let receiver = Receiver::start()?;
    let config = config(dir.path(), &sinks(&receiver, ""))?;
    let data = dir.path().join("lake");

    let out = alerting_run(
        &data,
        &config,
        &["watch", &path_str(&estate.all), "--once", "--alert-history"],
    )?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let received = receiver.received();
    let of = |path: &str| {
        received
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect::<Vec<_>>()
    };
    let hooks = of("/hook");
    assert!(!hooks.is_empty(), "no webhook deliveries: {}", out.stderr);
    let mut titles = std::collections::BTreeSet::new();
    for hook in &hooks {
        // Signed: HMAC-SHA256 of the exact body under the shared secret.
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret");
        let expected = format!("sha256={}", hex::encode(ring::hmac::sign(&key, &hook.body)));
        assert_eq!(
            hook.header("X-Trailhound-Signature"),
            Some(expected.as_str())
        );
        let body = hook.json();
        assert_eq!(
            Some(body["delivery"].to_string().as_str()),
            hook.header("X-Trailhound-Delivery")
        );
        let level = body["level"].as_str().unwrap_or_default();
        assert!(level == "high" || level == "critical", "{body}");
        for finding in body["findings"].as_array().ok_or("no findings")? {
            titles.insert(
                finding["rule_title"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
            assert!(
                finding["event_ids"]
                    .as_array()
                    .is_some_and(|ids| !ids.is_empty())
            );
        }
    }
    // The planted defense evasion is among them.
    assert!(
        titles.iter().any(|t| t.contains("CloudTrail")),
        "{titles:?}"
    );
    let slack = of("/slack");
    assert_eq!(slack.len(), hooks.len());
    for message in &slack {
        let body = message.json();
        let text = body["text"].as_str().unwrap_or_default();
        assert!(
            text.starts_with("[HIGH]") || text.starts_with("[CRITICAL]"),
            "{body}"
        );
        assert_eq!(body["blocks"][0]["type"], "header");
    }
    let splunk = of("/services/collector/event");
    assert_eq!(splunk.len(), hooks.len());
    for event in &splunk {
        assert_eq!(event.header("Authorization"), Some("Splunk hec-token"));
        let body = event.json();
        assert_eq!(body["sourcetype"], "trailhound:alert");
        assert_eq!(body["index"], "security");
        assert!(body["time"].as_f64().is_some_and(|t| t > 1.7e9));
        assert!(body["event"]["findings"].is_array());
    }

    // Every alert recorded as sent, and nothing sent twice.
    let recorded = history(&data, &config)?;
    let sent = recorded.iter().filter(|a| a["state"] == "sent").count();
    assert_eq!(sent, received.len());
    let again = alerting_run(
        &data,
        &config,
        &["watch", &path_str(&estate.all), "--once", "--alert-history"],
    )?;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(receiver.received().len(), received.len());
    Ok(())
}

#[test]
fn a_sink_that_is_down_gets_every_alert_exactly_once_when_it_is_back() -> TestResult {
    let dir = tempfile::tempdir()?;
    let estate = estate(dir.path())?;
    let mut receiver = Receiver::down_at_first()?;
    let config = config(dir.path(), &sinks(&receiver, ""))?;
    let data = dir.path().join("lake");

    let out = alerting_run(
        &data,
        &config,
        &["watch", &path_str(&estate.all), "--once", "--alert-history"],
    )?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("waiting for their sink"),
        "{}",
        out.stderr
    );
    let waiting = history(&data, &config)?
        .iter()
        .filter(|a| a["state"] == "pending")
        .count();
    assert!(waiting > 0);
    let status = alerting_run(&data, &config, &["status"])?;
    assert_eq!(status.code, 1, "{}", status.stdout);
    assert!(
        status.stdout.contains("sink hook failing"),
        "{}",
        status.stdout
    );

    // Still down: a retry fails again, and nothing is lost.
    std::thread::sleep(Duration::from_millis(1100));
    let retry = alerting_run(&data, &config, &["alert", "send"])?;
    assert_eq!(retry.code, 1, "{}", retry.stderr);

    receiver.up()?;
    std::thread::sleep(Duration::from_millis(1100));
    let send = alerting_run(&data, &config, &["alert", "send"])?;
    assert_eq!(send.code, 0, "{}", send.stderr);
    let received = receiver.received();
    assert_eq!(received.len(), waiting);
    let deliveries: std::collections::BTreeSet<String> = received
        .iter()
        .filter(|r| r.path == "/hook")
        .filter_map(|r| r.header("X-Trailhound-Delivery").map(str::to_owned))
        .collect();
    assert_eq!(
        deliveries.len(),
        received.iter().filter(|r| r.path == "/hook").count()
    );
    let again = alerting_run(&data, &config, &["alert", "send"])?;
    assert_eq!(again.code, 0);
    assert_eq!(receiver.received().len(), waiting);
    let status = alerting_run(&data, &config, &["status"])?;
    assert_eq!(status.code, 0, "{}", status.stdout);
    Ok(())
}

#[test]
fn bad_configuration_stops_the_monitor_at_start_up() -> TestResult {
    let dir = tempfile::tempdir()?;
    let folder = dir.path().join("logs");
    std::fs::create_dir(&folder)?;
    let data = dir.path().join("lake");
    let refused = |text: &str, expected: &str| -> TestResult {
        let config = config(dir.path(), text)?;
        let out = alerting_run(&data, &config, &["watch", &path_str(&folder), "--once"])?;
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr.contains(expected),
            "{expected:?} not in {}",
            out.stderr
        );
        assert!(!data.join("catalog.sqlite").exists(), "the monitor started");
        Ok(())
    };
    refused("[[sinks]]\nname = \"x\"\ntype = \"pigeon\"\n", "pigeon")?;
    refused(
        "[[sinks]]\nname = \"x\"\ntype = \"webhook\"\nurl = \"not a url\"\n",
        "bad url",
    )?;
    refused(
        "[[sinks]]\nname = \"x\"\ntype = \"stdout\"\n[[routes]]\nsinks = [\"pager\"]\n",
        "no sink has that name",
    )?;
    refused(
        "[[sinks]]\nname = \"x\"\ntype = \"splunk\"\nurl = \"http://127.0.0.1:9/\"\ntoken = \"${NOT_SET_ANYWHERE}\"\n",
        "NOT_SET_ANYWHERE",
    )?;

    // An unreachable endpoint or bucket is found before the first poll too.
    let server = S3Server::start()?;
    let out = server.run(&[
        "--data-dir",
        &path_str(&data),
        "watch",
        "s3://missing-bucket",
        "--once",
    ])?;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot follow s3://missing-bucket"),
        "{}",
        out.stderr
    );
    let out = server.run(&[
        "--data-dir",
        &path_str(&data),
        "watch",
        "s3://b",
        "--once",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ])?;
    assert_eq!(out.code, 2, "{}", out.stderr);

    // Keys the store does not know.
    let checking = S3Server::start_checking_keys(Some(1))?;
    checking.python(&["upload", "guarded", &path_str(&folder)])?;
    let out = checking.run(&[
        "--data-dir",
        &path_str(&data),
        "watch",
        "s3://guarded",
        "--once",
    ])?;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("InvalidAccessKeyId"), "{}", out.stderr);
    assert!(
        out.stderr.contains("the credentials were refused"),
        "{}",
        out.stderr
    );
    assert!(!data.join("catalog.sqlite").exists(), "the monitor started");

    // `alert test` names the problem with one sink.
    let receiver = Receiver::down_at_first()?;
    let config = config(dir.path(), &sinks(&receiver, ""))?;
    let test = alerting_run(&data, &config, &["alert", "test", "hook"])?;
    assert_eq!(test.code, 2, "{}", test.stderr);
    assert!(
        test.stderr
            .contains(&format!("127.0.0.1:{}", receiver.port)),
        "{}",
        test.stderr
    );
    let unknown = alerting_run(&data, &config, &["alert", "test", "pager"])?;
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("no sink is named \"pager\""),
        "{}",
        unknown.stderr
    );
    Ok(())
}

#[test]
fn watch_takes_what_queue_notifications_announce_and_deletes_them_after() -> TestResult {
    let dir = tempfile::tempdir()?;
    let estate = estate(dir.path())?;
    let server = S3Server::start()?;
    // The bucket sends its ObjectCreated notifications to the queue, as one would set up.
    let queue = server.python_output(&["notify", BUCKET, "trail-objects"])?;
    assert!(queue.starts_with("http://127.0.0.1:"), "{queue}");
    server.upload(BUCKET, &estate.days[0])?;
    let data = dir.path().join("lake");
    let watch = || {
        server.run(&[
            "--data-dir",
            &path_str(&data),
            "watch",
            "--sqs",
            &queue,
            "--once",
        ])
    };
    let first = watch()?;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(
        count(&data, "SELECT count(*) FROM events")?,
        events_in(&estate.days[0])?
    );
    assert_eq!(
        server.object_gets(BUCKET)?,
        files_under(&estate.days[0].join("AWSLogs")).len()
    );

    // The second day, announced as it lands; and one object of the first day announced again
    // in CloudTrail's own SNS notification shape, which must not be taken twice.
    server.upload(BUCKET, &estate.days[1])?;
    let again = files_under(&estate.days[0].join("AWSLogs"))
        .into_iter()
        .next()
        .ok_or("no file")?;
    let key = path_str(again.strip_prefix(&estate.days[0])?);
    let body = serde_json::json!({
        "Type": "Notification",
        "Message": serde_json::json!({"s3Bucket": BUCKET, "s3ObjectKey": [key]}).to_string(),
    });
    server.python(&["send", &queue, &body.to_string()])?;
    server.python(&["send", &queue, "{\"unrelated\": true}"])?;
    let gets = server.object_gets(BUCKET)?;
    let second = watch()?;
    // The unrelated message is reported (exit 2) and dropped; the rest is taken.
    assert_eq!(second.code, 2, "{}", second.stderr);
    assert!(
        second.stderr.contains("announces no object"),
        "{}",
        second.stderr
    );
    assert_eq!(
        count(&data, "SELECT count(*) FROM events")?,
        events_in(&estate.all)?
    );
    assert_eq!(
        server.object_gets(BUCKET)? - gets,
        files_under(&estate.days[1].join("AWSLogs")).len()
    );
    // Every message was deleted: nothing is left to take.
    let gets = server.object_gets(BUCKET)?;
    let third = watch()?;
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(server.object_gets(BUCKET)?, gets);
    Ok(())
}

#[test]
fn a_queue_watch_killed_mid_way_loses_and_duplicates_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let estate = estate(dir.path())?;
    let server = S3Server::start()?;
    let queue = server.python_output(&["notify", BUCKET, "trail-objects"])?;
    server.upload(BUCKET, &estate.days[0])?;
    let data = dir.path().join("lake");
    let args = |once: bool| {
        let mut args = vec![
            "--data-dir".to_owned(),
            path_str(&data),
            "watch".to_owned(),
            "--sqs".to_owned(),
            queue.clone(),
            // Messages of a killed monitor come back quickly.
            "--sqs-visibility-timeout".to_owned(),
            "5s".to_owned(),
        ];
        if once {
            args.push("--once".to_owned());
        } else {
            args.extend(["--interval".to_owned(), "1s".to_owned()]);
        }
        args
    };
    let mut seed = 0x2545_f491_u64;
    for _ in 0..4 {
        let owned = args(false);
        let argv: Vec<&str> = owned.iter().map(String::as_str).collect();
        let mut child = server
            .command(&argv)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        std::thread::sleep(Duration::from_millis(300 + (seed >> 33) % 2000));
        child.kill()?;
        child.wait()?;
    }
    // Messages the killed monitors had received come back after their visibility timeout;
    // a monitor polling again takes them then.
    let total = events_in(&estate.days[0])?;
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(2000));
        let owned = args(true);
        let argv: Vec<&str> = owned.iter().map(String::as_str).collect();
        let last = server.run(&argv)?;
        assert_eq!(last.code, 0, "{}", last.stderr);
        if count(&data, "SELECT count(*) FROM events")? >= total {
            break;
        }
    }
    assert_eq!(count(&data, "SELECT count(*) FROM events")?, total);
    assert_eq!(
        count(&data, "SELECT count(DISTINCT eventID) FROM events")?,
        total
    );
    Ok(())
}

#[test]
fn alerts_are_published_to_an_sns_topic() -> TestResult {
    let dir = tempfile::tempdir()?;
    let estate = estate(dir.path())?;
    let server = S3Server::start()?;
    let created = server.python_output(&["topic", "trailhound-alerts", "alert-copies"])?;
    let (topic, queue) = created.split_once('\n').ok_or("no topic")?;
    let config = config(
        dir.path(),
        &format!(
            "[[sinks]]\nname = \"sns\"\ntype = \"sns\"\ntopic_arn = \"{topic}\"\n\
             [[routes]]\nsinks = [\"sns\"]\nmin_level = \"high\"\n"
        ),
    )?;
    let data = dir.path().join("lake");
    let out = server
        .command(&[
            "--data-dir",
            &path_str(&data),
            "--config",
            &path_str(&config),
            "watch",
            &path_str(&estate.all),
            "--once",
            "--alert-history",
        ])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let sent = history(&data, &config)?
        .iter()
        .filter(|a| a["state"] == "sent")
        .count();
    assert!(sent > 0, "{stderr}");
    // What the topic's subscriber received: SNS envelopes around our alert.
    let bodies = server.python_output(&["receive", queue])?;
    let mut published = 0;
    for line in bodies.lines() {
        let body: String = serde_json::from_str(line)?;
        let envelope: serde_json::Value = serde_json::from_str(&body)?;
        assert_eq!(envelope["TopicArn"], topic);
        let subject = envelope["Subject"].as_str().unwrap_or_default();
        assert!(
            subject.starts_with("[HIGH]") || subject.starts_with("[CRITICAL]"),
            "{subject}"
        );
        let alert: serde_json::Value =
            serde_json::from_str(envelope["Message"].as_str().unwrap_or_default())?;
        assert!(alert["findings"].as_array().is_some_and(|f| !f.is_empty()));
        published += 1;
    }
    assert_eq!(published, sent);
    Ok(())
}

#[test]
fn alerts_are_mailed_over_starttls_with_authentication() -> TestResult {
    let dir = tempfile::tempdir()?;
    let estate = estate(dir.path())?;
    let tls = crate::smtp_server::SmtpTls::make(dir.path())?;
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox)?;
    let server = crate::smtp_server::SmtpServer::start(&inbox, Some((&tls, "alerts", "hunter2")))?;
    let mail = |password: &str| {
        format!(
            "[[sinks]]\nname = \"mail\"\ntype = \"email\"\nhost = \"127.0.0.1\"\nport = {}\n\
             security = \"starttls\"\nusername = \"alerts\"\npassword = \"{password}\"\n\
             from = \"Trailhound <trailhound@example.com>\"\nto = [\"secops@example.com\", \"oncall@example.com\"]\n\
             ca_file = \"{}\"\n[[routes]]\nsinks = [\"mail\"]\nmin_level = \"high\"\n",
            server.port,
            path_str(&tls.ca)
        )
    };
    let data = dir.path().join("lake");

    // Wrong credentials: `alert test` says so.
    let wrong = config(dir.path(), &mail("wrong"))?;
    let test = alerting_run(&data, &wrong, &["alert", "test", "mail"])?;
    assert_eq!(test.code, 2, "{}", test.stderr);
    assert!(test.stderr.contains("mail: SMTP"), "{}", test.stderr);
    // And a monitor with it does not start.
    let refused = alerting_run(
        &data,
        &wrong,
        &["watch", &path_str(&estate.all), "--once", "--alert-history"],
    )?;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("sink \"mail\": SMTP"),
        "{}",
        refused.stderr
    );
    assert!(!data.join("catalog.sqlite").exists(), "the monitor started");
    assert!(server.messages()?.is_empty());

    let right = config(dir.path(), &mail("hunter2"))?;
    let test = alerting_run(&data, &right, &["alert", "test", "mail"])?;
    assert_eq!(test.code, 0, "{}", test.stderr);
    let out = alerting_run(
        &data,
        &right,
        &["watch", &path_str(&estate.all), "--once", "--alert-history"],
    )?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let messages = server.messages()?;
    let sent = history(&data, &right)?
        .iter()
        .filter(|a| a["state"] == "sent")
        .count();
    assert!(sent > 0);
    // The test message, then one per alert.
    assert_eq!(messages.len(), sent + 1);
    assert!(
        messages[0].0.contains("Subject: Trailhound test alert")
            || messages[0].0.contains("Test alert")
    );
    for (message, recipients) in &messages[1..] {
        assert!(
            message.contains("Subject: [HIGH]") || message.contains("Subject: [CRITICAL]"),
            "{message}"
        );
        assert!(
            message.contains("From: Trailhound <trailhound@example.com>"),
            "{message}"
        );
        assert_eq!(recipients, "secops@example.com\noncall@example.com");
        assert!(message.contains("Trailhound alert "), "{message}");
    }
    Ok(())
}

#[test]
fn files_landing_in_a_followed_folder_are_taken_at_once_and_alerted_to_a_jsonl_file() -> TestResult
{
    let dir = tempfile::tempdir()?;
    let estate = estate(dir.path())?;
    let followed = dir.path().join("followed");
    std::fs::create_dir(&followed)?;
    let alerts = dir.path().join("alerts.jsonl");
    let config = config(
        dir.path(),
        &format!(
            "[[sinks]]\nname = \"file\"\ntype = \"jsonl\"\npath = \"{}\"\n",
            path_str(&alerts)
        ),
    )?;
    let data = dir.path().join("lake");
    // An hour between polls: only the file-system events can start the second one.
    let mut child = std::process::Command::new(crate::support::binary())
        .args([
            "--data-dir",
            &path_str(&data),
            "--config",
            &path_str(&config),
        ])
        .args(["watch", &path_str(&followed), "--interval", "1h"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // The first (empty) poll creates the lake.
    let started = std::time::Instant::now();
    while !data.join("catalog.sqlite").exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    copy_tree(&estate.all, &followed)?;
    let total = events_in(&estate.all)?;
    let mut taken = 0;
    let waited = std::time::Instant::now();
    while waited.elapsed() < Duration::from_secs(90) {
        std::thread::sleep(Duration::from_millis(500));
        if let Ok(n) = scalar(&data, "SELECT count(*) FROM events").map(|n| n.parse().unwrap_or(0))
        {
            taken = n;
            if taken == total {
                break;
            }
        }
    }
    // Alerts follow the poll that found them.
    let mut lines = String::new();
    while waited.elapsed() < Duration::from_secs(120) && lines.is_empty() {
        std::thread::sleep(Duration::from_millis(200));
        lines = std::fs::read_to_string(&alerts).unwrap_or_default();
    }
    child.kill()?;
    child.wait()?;
    assert_eq!(taken, total);
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().ok_or("no alert")?)?;
    assert!(
        first["findings"].as_array().is_some_and(|f| !f.is_empty()),
        "{first}"
    );
    Ok(())
}

#[test]
fn the_backlog_of_a_new_lake_is_history_not_alerts() -> TestResult {
    let dir = tempfile::tempdir()?;
    let estate = estate(dir.path())?;
    let alerts = dir.path().join("alerts.jsonl");
    let sink_config = config(
        dir.path(),
        &format!(
            "[[sinks]]\nname = \"file\"\ntype = \"jsonl\"\npath = {:?}\n\n[[routes]]\nsinks = [\"file\"]\nmin_level = \"informational\"\n",
            path_str(&alerts)
        ),
    )?;
    let sent = || -> Result<usize, Error> {
        Ok(std::fs::read_to_string(&alerts).map_or(0, |text| text.lines().count()))
    };
    let followed = dir.path().join("followed");
    std::fs::create_dir_all(&followed)?;
    let copy_in = |from: &Path| -> TestResult {
        let out = std::process::Command::new("cp")
            .arg("-r")
            .arg(from)
            .arg(&followed)
            .status()?;
        assert!(out.success());
        Ok(())
    };
    copy_in(&estate.days[0])?;
    let data = dir.path().join("lake");
    let watch = |extra: &[&str]| {
        let mut args = vec!["watch", "--once"];
        args.extend_from_slice(extra);
        let folder = path_str(&followed);
        args.push(&folder);
        alerting_run(&data, &sink_config, &args)
    };

    // The first poll takes in ten days' backlog (here one): its findings, first-seen ones
    // included, are recorded and not alerted.
    let first = watch(&[])?;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(count(&data, "SELECT count(*) FROM findings")? > 0);
    assert_eq!(
        sent()?,
        0,
        "history was alerted: {}",
        std::fs::read_to_string(&alerts).unwrap_or_default()
    );

    // What arrives after is alerted.
    std::fs::copy(
        fixture("bad-account.json"),
        followed.join("bad-account.json"),
    )?;
    let second = watch(&[])?;
    assert_eq!(second.code, 0, "{}", second.stderr);
    let after = sent()?;
    assert!(after > 0, "{}", second.stderr);
    let text = std::fs::read_to_string(&alerts)?;
    assert!(text.contains("StopLogging"), "{text}");
    // Only the new file's findings (its account is not the generated estate's).
    for line in text.lines() {
        let alert: serde_json::Value = serde_json::from_str(line)?;
        for finding in alert["findings"].as_array().ok_or("no findings")? {
            assert_eq!(
                finding["account"], "123456789012",
                "a finding of the backlog was alerted: {finding}"
            );
        }
    }

    // Findings an ingest recorded before the first watch are history too; with
    // --alert-history they are all sent on purpose.
    let other = dir.path().join("other-lake");
    let ingest = lake_run(&other, &["ingest", "-q", &path_str(&estate.days[0])])?;
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let other_alerts = dir.path().join("other.jsonl");
    std::fs::create_dir_all(dir.path().join("other-config"))?;
    let other_config = config(
        &dir.path().join("other-config"),
        &format!(
            "[[sinks]]\nname = \"file\"\ntype = \"jsonl\"\npath = {:?}\n\n[[routes]]\nsinks = [\"file\"]\nmin_level = \"informational\"\n",
            path_str(&other_alerts)
        ),
    )?;
    let history = alerting_run(
        &other,
        &other_config,
        &["watch", "--once", "--alert-history", &path_str(&followed)],
    )?;
    assert_eq!(history.code, 0, "{}", history.stderr);
    let recorded = count(&other, "SELECT count(*) FROM findings")?;
    let alerted = std::fs::read_to_string(&other_alerts)?;
    assert!(
        alerted.lines().count() > 0 && alerted.contains("2024-07-01T"),
        "{recorded} findings, alerts: {alerted}"
    );
    Ok(())
}

#[test]
fn an_alert_refused_for_good_is_a_dead_letter_and_the_queue_goes_on() -> TestResult {
    let dir = tempfile::tempdir()?;
    let estate = estate(dir.path())?;
    let receiver = Receiver::start()?;
    let config = config(
        dir.path(),
        &format!(
            "[alerts]\nretry_max = \"1s\"\nretry_give_up = \"2s\"\nmax_per_hour = 1000\n\n\
             [[sinks]]\nname = \"refusing\"\ntype = \"webhook\"\nurl = {:?}\n\n\
             [[sinks]]\nname = \"busy\"\ntype = \"webhook\"\nurl = {:?}\n\n\
             [[sinks]]\nname = \"good\"\ntype = \"webhook\"\nurl = {:?}\n\n\
             [[routes]]\nsinks = [\"refusing\", \"busy\", \"good\"]\nmin_level = \"informational\"\n",
            receiver.url("/status/400"),
            receiver.url("/status/503"),
            receiver.url("/hook"),
        ),
    )?;
    let data = dir.path().join("lake");
    let out = alerting_run(
        &data,
        &config,
        &["watch", &path_str(&estate.all), "--once", "--alert-history"],
    )?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let by_sink = |sink: &str, state: &str| -> Result<usize, Error> {
        Ok(history(&data, &config)?
            .iter()
            .filter(|a| a["sink"] == sink && a["state"] == state)
            .count())
    };
    let alerts = by_sink("good", "sent")?;
    assert!(alerts > 1, "{}", out.stderr);
    // A 400 is final: every alert is tried once, set aside, and the next one goes.
    assert_eq!(by_sink("refusing", "dead")?, alerts);
    let refused = receiver
        .received()
        .iter()
        .filter(|r| r.path == "/status/400")
        .count();
    assert_eq!(refused, alerts, "each refused alert was tried exactly once");
    // A 503 may pass: the first waits (holding those after it), until the give-up time.
    assert_eq!(by_sink("busy", "pending")?, alerts);
    let status = alerting_run(&data, &config, &["status"])?;
    assert!(
        status.stdout.contains(&format!("{alerts} dead")),
        "{}",
        status.stdout
    );
    std::thread::sleep(Duration::from_millis(2100));
    let send = alerting_run(&data, &config, &["alert", "send"])?;
    assert!(send.stderr.contains("dead letters"), "{}", send.stderr);
    assert_eq!(
        by_sink("busy", "dead")?,
        alerts,
        "given up on after retry_give_up"
    );

    // `alert retry ID` sends a dead letter again: the sink still refuses, so it is dead again.
    let dead = history(&data, &config)?
        .into_iter()
        .find(|a| a["sink"] == "refusing" && a["state"] == "dead")
        .ok_or("no dead letter")?;
    let id = match &dead["id"] {
        serde_json::Value::String(id) => id.clone(),
        other => other.to_string(),
    };
    let retry = alerting_run(&data, &config, &["alert", "retry", &id])?;
    assert_eq!(retry.code, 1, "{}", retry.stderr);
    let tried = receiver
        .received()
        .iter()
        .filter(|r| r.path == "/status/400")
        .count();
    assert_eq!(tried, refused + 1);
    let wrong = alerting_run(&data, &config, &["alert", "retry", "999999"])?;
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("not a dead letter"),
        "{}",
        wrong.stderr
    );
    Ok(())
}
