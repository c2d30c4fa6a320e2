use crate::support::*;

/// One good file beside each bad one: the bad one is named with its reason, the good one is
/// still read, and the exit code is 2.
fn check_reported(name: &str, content: &[u8], reason: &str) -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::copy(fixture("events.ndjson"), dir.path().join("a-good.ndjson"))?;
    std::fs::write(dir.path().join(name), content)?;
    let run = run(&["cat", &path_str(dir.path())])?;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.event_ids(), ["nd-1", "nd-2", "nd-3"], "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("{name} not named in: {}", run.stderr));
    assert!(line.contains(reason), "want {reason:?} in {line:?}");
    assert!(run.stderr.contains("problems:"), "{}", run.stderr);
    Ok(())
}

#[test]
fn truncated_gzip() -> TestResult {
    let data = gzip(&std::fs::read(fixture("log-file.json"))?)?;
    check_reported(
        "cut.json.gz",
        &data[..data.len() / 2],
        "corrupt or truncated gzip",
    )
}

#[test]
fn corrupt_gzip() -> TestResult {
    let mut data = gzip(&std::fs::read(fixture("log-file.json"))?)?;
    for byte in data.iter_mut().skip(12).take(40) {
        *byte ^= 0x5a;
    }
    check_reported("mangled.json.gz", &data, "corrupt or truncated gzip")
}

#[test]
fn invalid_json_names_line_and_column() -> TestResult {
    check_reported(
        "broken.json",
        b"{\n  \"Records\": [\n    {\"eventName\": tru}\n  ]\n}\n",
        "invalid JSON: Invalid literal",
    )?;
    check_reported(
        "broken.json",
        b"{\n  \"Records\": [\n    {\"eventName\": tru}\n  ]\n}\n",
        "line 3",
    )
}

#[test]
fn invalid_utf8_gives_the_offset() -> TestResult {
    check_reported(
        "latin1.json",
        b"{\"Records\":[{\"userName\":\"Jos\xe9\"}]}",
        "invalid UTF-8 at byte offset 28",
    )
}

#[test]
fn not_json_and_foreign_json() -> TestResult {
    check_reported("notes.txt", b"these are my notes\n", "not JSON")?;
    check_reported(
        "config.json",
        br#"{"name": "x", "size": 3}"#,
        "top-level keys: name, size",
    )
}

#[test]
fn empty_and_blank_files() -> TestResult {
    check_reported("empty.json", b"", "the file is empty")?;
    check_reported("blank.json", b"\n  \n", "the file is empty")
}

#[test]
fn records_that_are_not_objects_are_skipped_alone() -> TestResult {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("mixed.json");
    std::fs::write(
        &file,
        br#"{"Records":[{"eventID":"ok-1"}, 42, "text", {"eventID":"ok-2"}]}"#,
    )?;
    let run = run(&["cat", &path_str(&file)])?;
    assert_eq!(run.code, 2);
    assert_eq!(run.event_ids(), ["ok-1", "ok-2"]);
    assert!(
        run.stderr
            .contains("record 2: record is a number, not a JSON object"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("record 3: record is a string"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn bad_ndjson_lines_are_skipped_alone() -> TestResult {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("lines.ndjson");
    std::fs::write(
        &file,
        b"{\"eventID\":\"l-1\"}\n{\"eventID\": \n[1]\n{\"eventID\":\"l-4\"}\n\xff\xfe\n",
    )?;
    let run = run(&["cat", &path_str(&file)])?;
    assert_eq!(run.code, 2);
    assert_eq!(run.event_ids(), ["l-1", "l-4"]);
    assert!(
        run.stderr.contains("line 2: invalid JSON"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("line 3, record 1: record is a number"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("line 5: invalid UTF-8"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn a_200_mb_record_is_refused_by_default_and_read_when_allowed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("huge.json");
    let padding = "a".repeat(200 << 20);
    let body = format!(
        r#"{{"Records":[{{"eventID":"big","requestParameters":{{"blob":"{padding}"}}}},{{"eventID":"small"}}]}}"#
    );
    drop(padding);
    std::fs::write(&file, body)?;
    let refused = run(&["cat", &path_str(&file)])?;
    assert_eq!(refused.code, 2);
    assert_eq!(refused.event_ids(), ["small"]);
    assert!(
        refused.stderr.contains("record 1: record is 209715"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--max-record-size"),
        "{}",
        refused.stderr
    );
    let allowed = run(&["cat", "--max-record-size", "256MiB", &path_str(&file)])?;
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert_eq!(allowed.event_ids(), ["big", "small"]);
    Ok(())
}

#[test]
fn gzip_bomb_stops_at_the_default_cap() -> TestResult {
    // 17 gzip members of 64 MiB of zeros each: about 1 MiB on disk, 1.06 GiB inflated.
    let member = gzip(&vec![0u8; 64 << 20])?;
    let bomb: Vec<u8> = member
        .iter()
        .copied()
        .cycle()
        .take(member.len() * 17)
        .collect();
    assert!(bomb.len() < 2 << 20);
    check_reported(
        "bomb.json.gz",
        &bomb,
        "inflates to more than 1073741824 bytes",
    )
}

#[test]
fn gzip_bomb_cap_is_configurable() -> TestResult {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("bomb.gz");
    std::fs::write(&file, gzip(&vec![b' '; 8 << 20])?)?;
    let run = run(&["cat", "--max-inflated-size", "1MiB", &path_str(&file)])?;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("inflates to more than 1048576 bytes"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn missing_paths_and_folders_without_logs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let empty = dir.path().join("nothing-here");
    std::fs::create_dir(&empty)?;
    let missing = dir.path().join("missing.json");
    let run = run(&[
        "cat",
        &path_str(&missing),
        &path_str(&empty),
        &fixture("array.json"),
    ])?;
    assert_eq!(run.code, 2);
    assert_eq!(run.event_ids(), ["arr-1", "arr-2"]);
    assert!(
        run.stderr
            .contains("missing.json: no such file or directory"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("nothing-here: no CloudTrail log files found"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn a_cut_off_paste_is_salvaged_record_by_record() -> TestResult {
    let dir = tempfile::tempdir()?;
    let record = |n: u32| {
        format!(
            r#"{{"eventVersion":"1.08","eventID":"p-{n}","eventTime":"2024-07-01T00:00:0{n}Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","requestParameters":{{"bucketName":"b","key":"a}}b"}}}}"#
        )
    };
    let log = format!(
        r#"{{"Records":[{},{},{},{},{}]}}"#,
        record(1),
        record(2),
        record(3),
        record(4),
        record(5)
    );
    let ndjson: String = (1..=5).map(|n| record(n) + "\n").collect();
    // A terminal paste of each: cut inside the first record and inside the last.
    for (name, whole) in [("paste.json", log), ("paste.ndjson", ndjson)] {
        let cut = &whole[50..whole.len() - 40];
        let path = dir.path().join(name);
        std::fs::write(&path, cut)?;
        let plain = run(&["cat", &path_str(&path)])?;
        assert_eq!(plain.code, 2, "{name}");
        assert!(plain.events().len() < 3, "{name}: {}", plain.stdout);
        let salvaged = run(&["cat", "--salvage", &path_str(&path)])?;
        assert_eq!(
            salvaged.code, 2,
            "skipped bytes still make the exit code say so: {}",
            salvaged.stderr
        );
        let ids: Vec<String> = salvaged
            .events()
            .iter()
            .map(|e| e["eventID"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ids, ["p-2", "p-3", "p-4"], "{name}: {}", salvaged.stderr);
        assert!(
            salvaged.stderr.contains("bytes 0-"),
            "{name}: {}",
            salvaged.stderr
        );
        assert!(
            salvaged.stderr.contains("--salvage"),
            "{name}: {}",
            salvaged.stderr
        );
    }
    Ok(())
}

#[test]
fn a_url_as_data_directory_is_refused_with_the_way_to_read_s3() -> TestResult {
    let dir = tempfile::tempdir()?;
    for url in [
        "s3://bucket/lake",
        "https://example.com/lake",
        "file:///srv/lake",
    ] {
        let mut command = std::process::Command::new(binary());
        command
            .current_dir(dir.path())
            .args(["--data-dir", url, "stats"]);
        let run = run_command(&mut command)?;
        assert_eq!(run.code, 2, "{url}: {}", run.stderr);
        assert!(run.stderr.contains("is a URL"), "{url}: {}", run.stderr);
        assert!(
            std::fs::read_dir(dir.path())?.next().is_none(),
            "{url}: a folder was made"
        );
    }
    Ok(())
}
