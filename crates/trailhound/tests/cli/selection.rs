use std::path::Path;

use crate::support::*;

/// An AWSLogs tree with one file per day for two accounts and two regions. Files outside the
/// selection are corrupt on purpose: if pruning ever opened them, the run would fail.
fn estate(root: &Path, corrupt_outside: impl Fn(&str, &str, u32) -> bool) -> TestResult {
    for account in ["111122223333", "444455556666"] {
        for region in ["us-east-1", "eu-west-1"] {
            for day in 29..=31u32 {
                let folder = root.join(format!(
                    "AWSLogs/{account}/CloudTrail/{region}/2024/07/{day}"
                ));
                std::fs::create_dir_all(&folder)?;
                let name = format!(
                    "{account}_CloudTrail_{region}_202407{day}T1205Z_abcdef0123456789.json.gz"
                );
                let content = if corrupt_outside(account, region, day) {
                    b"\x1f\x8bcorrupt".to_vec()
                } else {
                    let record = format!(
                        r#"{{"eventTime":"2024-07-{day}T12:00:00Z","recipientAccountId":"{account}","awsRegion":"{region}","eventID":"{account}-{region}-{day}"}}"#
                    );
                    gzip(format!("{{\"Records\":[{record}]}}").as_bytes())?
                };
                std::fs::write(folder.join(name), content)?;
            }
        }
    }
    Ok(())
}

#[test]
fn since_and_until_prune_days_before_opening() -> TestResult {
    let dir = tempfile::tempdir()?;
    estate(dir.path(), |_, _, day| day != 30)?;
    let run = run(&[
        "cat",
        "--since",
        "2024-07-30",
        "--until",
        "2024-07-30T18:00:00Z",
        &path_str(dir.path()),
    ])?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.event_ids(),
        [
            "111122223333-eu-west-1-30",
            "111122223333-us-east-1-30",
            "444455556666-eu-west-1-30",
            "444455556666-us-east-1-30"
        ]
    );
    Ok(())
}

#[test]
fn account_and_region_prune_folders() -> TestResult {
    let dir = tempfile::tempdir()?;
    estate(dir.path(), |account, region, _| {
        account != "444455556666" || region != "eu-west-1"
    })?;
    let run = run(&[
        "cat",
        "--account",
        "444455556666",
        "--region",
        "eu-west-1",
        &path_str(dir.path()),
    ])?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.event_ids().len(), 3);
    Ok(())
}

#[test]
fn filters_apply_exactly_to_events_without_key_information() -> TestResult {
    let run = run(&[
        "cat",
        "--since",
        "2024-07-31T10:30:00Z",
        "--region",
        "us-east-1",
        &fixture("events.ndjson"),
    ])?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.event_ids(), ["nd-2"]);
    assert!(
        run.stderr.contains("1 of 3 events matched the selection"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn a_backwards_range_is_a_usage_error() -> TestResult {
    let run = run(&[
        "cat",
        "--since",
        "2024-08-01",
        "--until",
        "2024-07-01",
        &fixture("array.json"),
    ])?;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("must be earlier than --until"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn bad_time_values_say_what_is_accepted() -> TestResult {
    let run = run(&["cat", "--since", "last tuesday", &fixture("array.json")])?;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("24h"), "{}", run.stderr);
    Ok(())
}

#[test]
fn a_folder_whose_logs_all_fall_outside_the_selection_is_not_an_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    estate(dir.path(), |_, _, _| true)?;
    let run = run(&["cat", "--account", "999999999999", &path_str(dir.path())])?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("2 files or folders outside the selection left unopened"),
        "{}",
        run.stderr
    );
    Ok(())
}
