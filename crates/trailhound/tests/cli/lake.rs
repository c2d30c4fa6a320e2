use std::process::Command;
use std::time::Duration;

use crate::support::*;

#[test]
fn ingest_stores_every_event_once_and_re_ingest_adds_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let total = generated(&logs, 4000)?;
    let data = dir.path().join("data");
    let first = lake_run(&data, &["ingest", &path_str(&logs)])?;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains(&format!("{total} new events")),
        "{}",
        first.stderr
    );
    assert_eq!(
        scalar(&data, "SELECT count(*) FROM events")?,
        total.to_string()
    );
    assert_eq!(
        scalar(&data, "SELECT count(DISTINCT eventID) FROM events")?,
        total.to_string()
    );

    // Unchanged files are not even opened again.
    let second = lake_run(&data, &["ingest", &path_str(&logs)])?;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(second.stderr.contains("0 new events"), "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("files unchanged since they were last read"),
        "{}",
        second.stderr
    );
    // Forced, they are read, and every event is recognised as present.
    let forced = lake_run(&data, &["ingest", "--force", &path_str(&logs)])?;
    assert!(
        forced
            .stderr
            .contains(&format!("0 new events, {total} already present")),
        "{}",
        forced.stderr
    );
    assert_eq!(
        scalar(&data, "SELECT count(*) FROM events")?,
        total.to_string()
    );
    Ok(())
}

#[test]
fn the_same_event_id_delivered_twice_is_stored_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let record = |id: &str, name: &str| {
        format!(
            r#"{{"eventTime":"2024-07-01T00:00:00Z","eventName":"{name}","eventID":"{id}","awsRegion":"us-east-1","recipientAccountId":"111122223333"}}"#
        )
    };
    std::fs::write(
        dir.path().join("a.json"),
        format!(
            "{{\"Records\":[{},{}]}}",
            record("x", "A"),
            record("y", "B")
        ),
    )?;
    std::fs::write(
        dir.path().join("b.ndjson"),
        format!("{}\n{}\n", record("y", "B"), record("z", "C")),
    )?;
    let data = dir.path().join("data");
    let run = lake_run(
        &data,
        &[
            "ingest",
            &path_str(&dir.path().join("a.json")),
            &path_str(&dir.path().join("b.ndjson")),
        ],
    )?;
    assert!(
        run.stderr.contains("3 new events, 1 already present"),
        "{}",
        run.stderr
    );
    assert_eq!(
        scalar(
            &data,
            "SELECT string_agg(eventID, '|' ORDER BY eventID) FROM events"
        )?,
        "x|y|z"
    );
    Ok(())
}

#[test]
fn bad_files_are_recorded_and_listed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs)?;
    std::fs::copy(fixture("log-file.json"), logs.join("good.json"))?;
    std::fs::write(
        logs.join("truncated.json.gz"),
        &gzip(br#"{"Records":[]}"#)?[..10],
    )?;
    let data = dir.path().join("data");
    let run = lake_run(&data, &["ingest", &path_str(&logs)])?;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("truncated.json.gz: corrupt or truncated gzip"),
        "{}",
        run.stderr
    );
    assert_eq!(scalar(&data, "SELECT count(*) FROM events")?, "2");
    let failed = lake_run(&data, &["sources", "--failed", "--format", "jsonl"])?;
    assert_eq!(
        failed.code, 1,
        "listing failures is a check that found some"
    );
    let rows: Vec<serde_json::Value> = failed
        .stdout
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]["location"]
            .as_str()
            .is_some_and(|l| l.ends_with("truncated.json.gz"))
    );
    assert_eq!(rows[0]["outcome"], "failed");
    assert!(
        rows[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("gzip"))
    );
    let all = lake_run(&data, &["sources"])?;
    assert!(
        all.stdout.contains("good.json") && all.stdout.contains(" ok "),
        "{}",
        all.stdout
    );

    // Reported once: unchanged, the same bytes would fail the same way.
    let again = lake_run(&data, &["ingest", &path_str(&logs)])?;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(!again.stderr.contains("gzip"), "{}", again.stderr);
    assert!(
        again.stderr.contains(
            "note: 1 files that could not be read before are unchanged and were not read again"
        ),
        "{}",
        again.stderr
    );
    // Forced, or once changed, it is read (and reported) again.
    let forced = lake_run(&data, &["ingest", "--force", &path_str(&logs)])?;
    assert_eq!(forced.code, 2, "{}", forced.stderr);
    assert!(
        forced.stderr.contains("truncated.json.gz: corrupt"),
        "{}",
        forced.stderr
    );
    std::fs::write(
        logs.join("truncated.json.gz"),
        &gzip(br#"{"Records":[]}"#)?[..12],
    )?;
    let changed = lake_run(&data, &["ingest", &path_str(&logs)])?;
    assert_eq!(changed.code, 2, "{}", changed.stderr);
    assert!(
        changed.stderr.contains("truncated.json.gz: corrupt"),
        "{}",
        changed.stderr
    );
    Ok(())
}

/// Too large is a judgement of the run's limit, not of the file: the next run, given a larger
/// limit as the error advises, reads it.
#[test]
fn a_file_over_the_size_limit_is_read_again_by_a_run_with_a_larger_one() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs)?;
    std::fs::write(
        logs.join("large.json.gz"),
        gzip(&std::fs::read(fixture("log-file.json"))?)?,
    )?;
    let data = dir.path().join("data");
    let limited = lake_run(
        &data,
        &["ingest", "--max-inflated-size", "100", &path_str(&logs)],
    )?;
    assert_eq!(limited.code, 2, "{}", limited.stderr);
    assert!(
        limited.stderr.contains("--max-inflated-size"),
        "{}",
        limited.stderr
    );
    let run = lake_run(&data, &["ingest", &path_str(&logs)])?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(scalar(&data, "SELECT count(*) FROM events")?, "2");
    Ok(())
}

/// Kill -9 the ingest at many points (during reading, converting, writing, committing and
/// moving files), run it again each time, and check the lake holds every event exactly once.
#[test]
fn killing_ingest_at_random_points_never_loses_or_duplicates_events() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let total = generated(&logs, 12_000)?;
    let data = dir.path().join("data");
    let data_arg = path_str(&data);
    let logs_arg = path_str(&logs);
    // Small commits, so that kills land between and inside many commits.
    let args = [
        "--data-dir",
        &data_arg,
        "ingest",
        "-q",
        "--commit-size",
        "2MiB",
        "--no-compact",
        &logs_arg,
    ];
    let killed = kill_at_random_points(
        || {
            let mut command = Command::new(binary());
            command.args(args);
            command
        },
        12,
        0x9E37_79B9_7F4A_7C15,
        Duration::from_millis(30),
        Duration::from_millis(1500),
    )?;
    assert!(
        killed >= 3,
        "the ingest finished too fast to be interrupted ({killed} kills)"
    );
    let last = run(&args)?;
    assert_eq!(last.code, 0, "{}", last.stderr);
    assert_eq!(
        scalar(&data, "SELECT count(*) FROM events")?,
        total.to_string()
    );
    assert_eq!(
        scalar(&data, "SELECT count(DISTINCT eventID) FROM events")?,
        total.to_string()
    );
    // No staged leftovers: every interrupted commit was finished or discarded.
    assert_eq!(std::fs::read_dir(data.join("lake/.staging"))?.count(), 0);
    Ok(())
}

#[test]
fn compaction_merges_small_ingests_and_queries_are_unchanged() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    generated(&logs, 3000)?;
    let data = dir.path().join("data");
    // Many small commits, as continuous monitoring makes.
    let run1 = lake_run(
        &data,
        &[
            "ingest",
            "--no-compact",
            "--commit-size",
            "64KiB",
            &path_str(&logs),
        ],
    )?;
    assert_eq!(run1.code, 0, "{}", run1.stderr);
    let days: u64 = scalar(&data, "SELECT count(DISTINCT date) FROM events")?.parse()?;
    let question =
        "SELECT eventName, count(*) AS n FROM events GROUP BY eventName ORDER BY n DESC, eventName";
    let before = lake_run(&data, &["query", "--format", "csv", question])?.stdout;
    let parquet_count = |root: &std::path::Path| walk_count(&root.join("lake/events"));
    let many = parquet_count(&data);
    assert!(many > 20, "{many} files");
    let compacted = lake_run(&data, &["compact"])?;
    assert_eq!(compacted.code, 0, "{}", compacted.stderr);
    let few = parquet_count(&data);
    assert!(few < many / 4, "{many} -> {few}");
    assert!(few as u64 >= days);
    assert_eq!(
        lake_run(&data, &["query", "--format", "csv", question])?.stdout,
        before
    );
    // The replaced files wait among the retired for readers that listed them.
    let retired = walk_count(&data.join("lake/.retired/events"));
    assert!(
        retired > many - few && retired <= many,
        "{retired} of {many}"
    );
    // A data directory given relative to where the command runs reads the same.
    let relative = run_command(Command::new(binary()).current_dir(dir.path()).args([
        "--data-dir",
        "data",
        "query",
        "--format",
        "csv",
        question,
    ]))?;
    assert_eq!(relative.code, 0, "{}", relative.stderr);
    assert_eq!(relative.stdout, before);
    Ok(())
}

fn walk_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk_count(&e.path())
                    } else {
                        usize::from(e.path().extension().is_some_and(|x| x == "parquet"))
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn ingest_reads_stdin_and_honours_the_selection() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let text = std::fs::read(fixture("events.ndjson"))?;
    let data_arg = path_str(&data);
    let run = run_with_stdin(
        &[
            "--data-dir",
            &data_arg,
            "ingest",
            "--region",
            "us-east-1",
            "-",
        ],
        Some(&text),
    )?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        scalar(
            &data,
            "SELECT string_agg(eventID, '|' ORDER BY eventID) FROM events"
        )?,
        "nd-1|nd-2"
    );
    Ok(())
}
