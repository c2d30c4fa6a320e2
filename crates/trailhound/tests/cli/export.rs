//! `trailhound export`: CloudTrail as OCSF, in Security Lake's layout or as JSON lines.
//! (The mapping itself is validated against OCSF's schema in trailhound-ocsf's tests.)

use crate::support::{fixture, generated, path_str, run};

type Error = Box<dyn std::error::Error>;

#[test]
fn export_writes_security_lake_s_layout_and_json_lines() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let total = generated(&logs, 1500)?;
    let out = dir.path().join("security-lake");
    let exported = run(&[
        "export",
        &path_str(&logs),
        "-o",
        &path_str(&out),
        "--source-name",
        "cloudtrail-mgmt",
    ])?;
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    assert!(
        exported
            .stderr
            .contains(&format!("{total} OCSF API Activity events")),
        "{}",
        exported.stderr
    );
    let files = crate::support::files_under(&out.join("ext/cloudtrail-mgmt"));
    assert!(!files.is_empty());
    for file in &files {
        let relative = file.strip_prefix(&out)?.to_string_lossy().into_owned();
        let parts: Vec<&str> = relative.split('/').collect();
        assert!(
            parts.len() == 6
                && parts[2].starts_with("region=")
                && parts[3].starts_with("accountId=")
                && parts[4].starts_with("eventDay=")
                && parts[5].ends_with(".parquet"),
            "{relative}"
        );
    }

    let lines = run(&["export", "--format", "ocsf-json", &fixture("log-file.json")])?;
    assert_eq!(lines.code, 0, "{}", lines.stderr);
    let events: Vec<serde_json::Value> = lines
        .stdout
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| e["class_uid"] == 6003));

    let no_dir = run(&["export", &fixture("log-file.json")])?;
    assert_eq!(no_dir.code, 2);
    assert!(no_dir.stderr.contains("-o DIR"), "{}", no_dir.stderr);
    Ok(())
}

/// What the Security Lake folder holds, read by DuckDB: (events, distinct eventIDs).
fn security_lake_counts(root: &std::path::Path) -> Result<(u64, u64), Error> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import duckdb,sys; r=duckdb.sql(f\"SELECT count(*), count(DISTINCT metadata.uid) FROM read_parquet('{sys.argv[1]}/**/*.parquet')\").fetchall()[0]; print(r[0], r[1])",
        ])
        .arg(root)
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut numbers = text.split_whitespace().map(str::parse::<u64>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(rows)), Some(Ok(distinct))) => Ok((rows, distinct)),
        _ => Err(format!("duckdb printed {text:?}").into()),
    }
}

/// `watch --ocsf-dir` writes every new event once: across polls, across a compaction that
/// merges exported files, and when a crash left files written but not marked.
#[test]
fn watch_writes_every_new_event_as_ocsf_once() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let total = generated(&logs, 2000)?;
    let mut files = crate::support::files_under(&logs.join("AWSLogs"));
    files.sort();
    let followed = dir.path().join("followed");
    let copy = |files: &[std::path::PathBuf]| -> Result<(), Error> {
        for file in files {
            let target = followed.join(file.strip_prefix(&logs)?);
            std::fs::create_dir_all(target.parent().ok_or("no parent")?)?;
            std::fs::copy(file, &target)?;
        }
        Ok(())
    };
    let data = dir.path().join("data");
    let out = dir.path().join("security-lake");
    let watch = || -> Result<(), Error> {
        let polled = crate::support::lake_run(
            &data,
            &[
                "watch",
                &path_str(&followed),
                "--once",
                "--no-detect",
                "--ocsf-dir",
                &path_str(&out),
            ],
        )?;
        assert_eq!(polled.code, 0, "{}", polled.stderr);
        Ok(())
    };
    // Two polls over the same days: the second adds small files beside the first's.
    let (early, late) = files.split_at(files.len() / 2);
    copy(early)?;
    watch()?;
    let (first_rows, _) = security_lake_counts(&out)?;
    assert!(first_rows > 0 && first_rows < total);
    copy(late)?;
    watch()?;
    assert_eq!(security_lake_counts(&out)?, (total, total));

    // A crash after the files were written and before the catalog marked them: a
    // compaction leaves the unmarked files alone, and the next poll writes them again under
    // the same names, replacing them.
    assert!(mark_all_unexported(&data.join("catalog.sqlite"))? > 0);
    let compacted = crate::support::lake_run(&data, &["compact"])?;
    assert_eq!(compacted.code, 0, "{}", compacted.stderr);
    assert!(
        compacted.stderr.contains("compacted 0 files"),
        "{}",
        compacted.stderr
    );
    watch()?;
    assert_eq!(security_lake_counts(&out)?, (total, total));

    // Merging exported files makes a file that is exported too.
    let compacted = crate::support::lake_run(&data, &["compact"])?;
    assert_eq!(compacted.code, 0, "{}", compacted.stderr);
    assert!(
        !compacted.stderr.contains("compacted 0 files"),
        "the test needs a compaction that merges: {}",
        compacted.stderr
    );
    watch()?;
    assert_eq!(security_lake_counts(&out)?, (total, total));
    Ok(())
}

/// Marks every lake file as not exported (with Python's sqlite3, as an operator would);
/// returns how many there are.
fn mark_all_unexported(catalog: &std::path::Path) -> Result<u64, Error> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); n=c.execute('UPDATE lake_files SET exported = 0').rowcount; c.commit(); print(n)",
        ])
        .arg(catalog)
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}
