use crate::support::*;

#[test]
fn records_file_pretty_printed() -> TestResult {
    let run = run(&["cat", &fixture("log-file.json")])?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events = run.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["eventName"], "StartInstances");
    assert_eq!(events[0]["eventVersion"], "1.0");
    assert_eq!(events[1]["eventName"], "StopLogging");
    // Pretty-printed records are compacted onto one line each.
    assert_eq!(run.stdout.lines().count(), 2);
    assert!(
        run.stderr.contains("read 2 events from 1 files"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn gzipped_and_multi_member_gzip_by_content_not_name() -> TestResult {
    let dir = tempfile::tempdir()?;
    let text = std::fs::read(fixture("log-file.json"))?;
    // A gzipped file with a misleading name, and a file of two gzip members.
    std::fs::write(dir.path().join("named-plain.json"), gzip(&text)?)?;
    let mut members = gzip(br#"{"Records":[{"eventID":"m-1"}]}"#)?;
    members.extend(gzip(b"\n{\"Records\":[{\"eventID\":\"m-2\"}]}\n")?);
    std::fs::write(dir.path().join("two-members.json.gz"), members)?;
    let run = run(&["cat", &path_str(dir.path())])?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.event_ids(),
        ["?", "10163ed2-2253-469d-a5ee-cbc6651f8934", "m-1", "m-2"]
    );
    Ok(())
}

#[test]
fn compact_records_are_printed_byte_exact() -> TestResult {
    let dir = tempfile::tempdir()?;
    let record = r#"{"eventVersion":"1.11","eventName":"GetObject","requestParameters":{"key":"a\/b \u00e9","size":1.50e3},"eventID":"x"}"#;
    let file = dir.path().join("one.json.gz");
    std::fs::write(
        &file,
        gzip(format!("{{\"Records\":[{record}]}}").as_bytes())?,
    )?;
    let run = run(&["cat", &path_str(&file)])?;
    assert_eq!(run.stdout, format!("{record}\n"));
    Ok(())
}

#[test]
fn single_event_object_with_old_sign_in_spelling() -> TestResult {
    let run = run(&["cat", &fixture("console-sign-in.json")])?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.event_ids(), ["3fcfb182-98f8-4744-bd45-10a395ab61cb"]);
    assert_eq!(run.events()[0]["eventType"], "AwsConsoleSignin");
    Ok(())
}

#[test]
fn ndjson_array_lookup_events_and_eventbridge() -> TestResult {
    let run = run(&[
        "cat",
        &fixture("events.ndjson"),
        &fixture("array.json"),
        &fixture("lookup-events.json"),
        &fixture("eventbridge.ndjson"),
    ])?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.event_ids(),
        [
            "nd-1", "nd-2", "nd-3", "arr-1", "arr-2", "lk-1", "lk-2", "eb-1", "eb-2"
        ]
    );
    // lookup-events records are unescaped out of their JSON strings.
    assert_eq!(run.events()[5]["userAgent"], "aws-cli/2.13.25 \"quoted\"");
    Ok(())
}

#[test]
fn digests_give_no_events_and_insights_are_events() -> TestResult {
    let run = run(&["cat", &fixture("digest.json"), &fixture("insight.json")])?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.event_ids(), ["in-1"]);
    assert!(
        run.stderr.contains("1 digest files skipped"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn stdin_plain_and_gzipped() -> TestResult {
    let text = std::fs::read(fixture("events.ndjson"))?;
    let plain = run_with_stdin(&["cat", "-"], Some(&text))?;
    assert_eq!(plain.event_ids(), ["nd-1", "nd-2", "nd-3"]);
    let zipped = run_with_stdin(&["cat", "-"], Some(&gzip(&text)?))?;
    assert_eq!(zipped.event_ids(), ["nd-1", "nd-2", "nd-3"]);
    Ok(())
}

#[test]
fn folders_recursively_and_globs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let nested = dir.path().join("a/b");
    std::fs::create_dir_all(&nested)?;
    std::fs::copy(fixture("events.ndjson"), nested.join("x.ndjson"))?;
    std::fs::copy(fixture("array.json"), dir.path().join("y.json"))?;
    std::fs::write(dir.path().join(".hidden.json"), "not read")?;
    let folder = run(&["cat", &path_str(dir.path())])?;
    assert_eq!(
        folder.event_ids(),
        ["nd-1", "nd-2", "nd-3", "arr-1", "arr-2"]
    );
    let pattern = format!("{}/**/*.ndjson", dir.path().display());
    let globbed = run(&["cat", &pattern])?;
    assert_eq!(globbed.code, 0, "{}", globbed.stderr);
    assert_eq!(globbed.event_ids(), ["nd-1", "nd-2", "nd-3"]);
    Ok(())
}

#[test]
fn pretty_output_keeps_content_and_order() -> TestResult {
    let run = run(&["cat", "--pretty", &fixture("array.json")])?;
    let expected = "{\n  \"eventVersion\": \"1.09\",\n  \"eventSource\": \"s3.amazonaws.com\",\n  \"eventName\": \"PutBucketPolicy\",\n  \"eventID\": \"arr-1\"\n}\n";
    assert!(run.stdout.starts_with(expected), "{}", run.stdout);
    Ok(())
}

#[test]
fn a_closed_pipe_ends_quietly() -> TestResult {
    let dir = tempfile::tempdir()?;
    let lines: String = (0..200_000)
        .map(|i| format!("{{\"eventID\":\"{i}\"}}\n"))
        .collect();
    let file = dir.path().join("many.ndjson");
    std::fs::write(&file, lines)?;
    let (first, run) = run_and_hang_up(&["cat", &path_str(&file)])?;
    assert!(first.contains("\"0\""), "{first}");
    assert!(!run.stderr.contains("error"), "{}", run.stderr);
    Ok(())
}

#[test]
fn lookup_events_items_and_log_platform_exports_a_line_each() -> TestResult {
    let dir = tempfile::tempdir()?;
    let record = |n: u32| {
        format!(
            r#"{{"eventVersion":"1.08","eventID":"e-{n}","eventTime":"2024-07-01T00:00:0{n}Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","recipientAccountId":"111122223333"}}"#
        )
    };
    let quoted = |n: u32| serde_json::to_string(&record(n)).unwrap_or_default();
    // What `aws cloudtrail lookup-events | jq -c '.Events[]'` writes.
    let items: String = (1..=3)
        .map(|n| {
            format!(
                "{{\"EventId\":\"e-{n}\",\"EventName\":\"ListUsers\",\"CloudTrailEvent\":{}}}\n",
                quoted(n)
            )
        })
        .collect();
    // Cribl and Splunk's JSON lines, Splunk's export API, and an array of exported events.
    let cribl: String = (1..=3)
        .map(|n| format!("{{\"_time\":1719792000,\"_raw\":{}}}\n", quoted(n)))
        .collect();
    let splunk: String = (1..=3)
        .map(|n| format!("{{\"preview\":false,\"offset\":{n},\"result\":{{\"_raw\":{},\"sourcetype\":\"aws:cloudtrail\"}}}}\n", quoted(n)))
        .collect();
    let array = format!(
        "[{}]",
        (1..=3)
            .map(|n| format!("{{\"_raw\":{},\"_time\":\"t\"}}", quoted(n)))
            .collect::<Vec<_>>()
            .join(",")
    );
    for (name, text) in [
        ("items.jsonl", items),
        ("cribl.jsonl", cribl),
        ("splunk.json", splunk),
        ("export.json", array),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text)?;
        let run = run(&["cat", &path_str(&path)])?;
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let events = run.events();
        assert_eq!(events.len(), 3, "{name}");
        assert_eq!(events[2]["eventID"], "e-3", "{name}");
        // The record comes out as AWS wrote it, not as the export escaped it.
        assert_eq!(
            run.stdout.lines().next(),
            Some(record(1).as_str()),
            "{name}"
        );
    }
    Ok(())
}

#[test]
fn a_delivery_notification_says_how_to_read_what_it_names() -> TestResult {
    let dir = tempfile::tempdir()?;
    let notification = r#"{"s3Bucket":"trail-logs","s3ObjectKey":["AWSLogs/111122223333/CloudTrail/us-east-1/2024/07/01/x.json.gz"]}"#;
    let envelope = serde_json::json!({
        "Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:111122223333:trail",
        "Message": notification, "Timestamp": "2024-07-01T00:05:00Z"
    });
    for (name, text) in [
        ("notification.json", notification.to_owned()),
        ("sns.json", envelope.to_string()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text)?;
        let run = run(&["cat", &path_str(&path)])?;
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stderr.contains("watch --sqs"), "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains("s3://trail-logs/"),
            "{name}: {}",
            run.stderr
        );
    }
    Ok(())
}
