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
