//! The lake on S3 (`--lake s3://bucket/prefix`), on a local S3-compatible server: the same
//! answers as a local lake, exactly once under kill -9 as seen by our queries and by an
//! engine that lists the prefix, compaction, and the mistakes a user can make.

use std::time::Duration;

use crate::s3_server::{Error, S3Server};
use crate::support::{generated, kill_at_random_points, lake_run, path_str};

const BUCKET: &str = "team-lake";
const LAKE: &str = "s3://team-lake/trailhound";

/// What `lake-ids` prints: objects under the prefix, rows in them, distinct eventIDs.
fn listed_by_an_engine(server: &S3Server) -> Result<(u64, u64, u64), Error> {
    let out = server.python_output(&["lake-ids", BUCKET, "trailhound"])?;
    let numbers: Vec<u64> = out.split('\t').map(str::parse).collect::<Result<_, _>>()?;
    match numbers[..] {
        [objects, rows, distinct] => Ok((objects, rows, distinct)),
        _ => Err(format!("lake-ids printed {out:?}").into()),
    }
}

fn answer(server: &S3Server, data: &str, sql: &str) -> Result<String, Error> {
    let out = server.run(&["--data-dir", data, "query", "--format", "csv", sql])?;
    assert_eq!(out.code, 0, "{sql}: {}", out.stderr);
    Ok(out.stdout)
}

const QUESTIONS: [&str; 3] = [
    "SELECT count(*) AS n, count(DISTINCT eventID) AS ids FROM events",
    "SELECT userIdentity.arn AS who, count(*) AS n FROM events GROUP BY 1 ORDER BY n DESC, who LIMIT 10",
    "SELECT eventName, eventTime FROM events WHERE eventName LIKE 'Delete%' ORDER BY eventTime, eventName LIMIT 20",
];

#[test]
fn an_s3_lake_answers_as_a_local_one_and_keeps_its_files_in_the_bucket() -> Result<(), Error> {
    let server = S3Server::start()?;
    server.python(&["mb", BUCKET])?;
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let total = generated(&logs, 4000)?;
    let remote = path_str(&dir.path().join("remote"));
    let local = dir.path().join("local");

    let ingested = server.run(&[
        "--data-dir",
        &remote,
        "--lake",
        LAKE,
        "ingest",
        "-q",
        &path_str(&logs),
    ])?;
    assert_eq!(ingested.code, 0, "{}", ingested.stderr);
    let local_run = lake_run(&local, &["ingest", "-q", &path_str(&logs)])?;
    assert_eq!(local_run.code, 0, "{}", local_run.stderr);

    // Later commands find the lake without --lake: the data directory remembers it.
    for sql in QUESTIONS {
        let from_s3 = answer(&server, &remote, sql)?;
        let from_disk = lake_run(&local, &["query", "--format", "csv", sql])?.stdout;
        assert_eq!(from_s3, from_disk, "{sql}");
    }
    let (objects, rows, distinct) = listed_by_an_engine(&server)?;
    assert!(objects > 0);
    assert_eq!((rows, distinct), (total, total));
    assert!(
        !dir.path().join("remote/lake/events").exists(),
        "no file of an S3 lake is in place locally"
    );
    // Queries read the bucket, not only the local copies kept for ingest.
    std::fs::remove_dir_all(dir.path().join("remote/lake/.cache"))?;
    assert_eq!(
        answer(&server, &remote, QUESTIONS[0])?,
        format!("n,ids\n{total},{total}\n")
    );

    // The DDL points other engines at the bucket.
    let ddl = server.run(&["--data-dir", &remote, "ddl", "--engine", "athena"])?;
    assert!(
        ddl.stdout.contains("s3://team-lake/trailhound/events"),
        "{}",
        ddl.stdout
    );

    // Ingesting the same logs again adds nothing, here or as the engine sees it.
    let again = server.run(&["--data-dir", &remote, "ingest", "-q", &path_str(&logs)])?;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(listed_by_an_engine(&server)?, (objects, total, total));
    Ok(())
}

/// Kill -9 the ingest into an S3 lake at many points (reading, writing, committing,
/// uploading), run it again each time: every event once, in our queries and in the listing.
#[test]
fn killing_an_ingest_into_s3_never_loses_or_duplicates_events() -> Result<(), Error> {
    let server = S3Server::start()?;
    server.python(&["mb", BUCKET])?;
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let total = generated(&logs, 30_000)?;
    let data = path_str(&dir.path().join("data"));
    let logs_arg = path_str(&logs);
    let args = [
        "--data-dir",
        &data,
        "--lake",
        LAKE,
        "ingest",
        "-q",
        "--commit-size",
        "1MiB",
        "--no-compact",
        &logs_arg,
    ];
    let killed = kill_at_random_points(
        || server.command(&args),
        12,
        0x2545_F491_4F6C_DD1D,
        Duration::from_millis(100),
        Duration::from_millis(1500),
    )?;
    assert!(
        killed >= 3,
        "the ingest finished too fast to be interrupted ({killed} kills)"
    );
    let last = server.run(&args)?;
    assert_eq!(last.code, 0, "{}", last.stderr);
    assert_eq!(
        answer(&server, &data, QUESTIONS[0])?,
        format!("n,ids\n{total},{total}\n")
    );
    let (_, rows, distinct) = listed_by_an_engine(&server)?;
    assert_eq!(
        (rows, distinct),
        (total, total),
        "as an engine listing the prefix sees it"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("data/lake/.staging"))?.count(),
        0
    );
    Ok(())
}

#[test]
fn compaction_of_an_s3_lake_retires_the_replaced_objects() -> Result<(), Error> {
    let server = S3Server::start()?;
    server.python(&["mb", BUCKET])?;
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let total = generated(&logs, 3000)?;
    let data = path_str(&dir.path().join("data"));
    let ingested = server.run(&[
        "--data-dir",
        &data,
        "--lake",
        LAKE,
        "ingest",
        "-q",
        "--no-compact",
        "--commit-size",
        "64KiB",
        &path_str(&logs),
    ])?;
    assert_eq!(ingested.code, 0, "{}", ingested.stderr);
    let (many, ..) = listed_by_an_engine(&server)?;
    let question = QUESTIONS[1];
    let before = answer(&server, &data, question)?;
    let compacted = server.run(&["--data-dir", &data, "compact"])?;
    assert_eq!(compacted.code, 0, "{}", compacted.stderr);
    let (few, rows, distinct) = listed_by_an_engine(&server)?;
    assert!(few < many / 4, "{many} -> {few} objects");
    assert_eq!((rows, distinct), (total, total));
    assert_eq!(answer(&server, &data, question)?, before);
    Ok(())
}

#[test]
fn a_lake_place_that_cannot_be_is_refused_with_the_way_out() -> Result<(), Error> {
    let server = S3Server::start()?;
    server.python(&["mb", BUCKET])?;
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    generated(&logs, 300)?;
    let data = path_str(&dir.path().join("data"));

    let not_s3 = server.run(&["--data-dir", &data, "--lake", "/var/lake", "status"])?;
    assert_eq!(not_s3.code, 2);
    assert!(
        not_s3.stderr.contains("s3://bucket/prefix"),
        "{}",
        not_s3.stderr
    );

    // A data directory whose lake is local keeps it so.
    let local = lake_run(
        &dir.path().join("data"),
        &["ingest", "-q", &path_str(&logs)],
    )?;
    assert_eq!(local.code, 0, "{}", local.stderr);
    let moved = server.run(&["--data-dir", &data, "--lake", LAKE, "query", "SELECT 1"])?;
    assert_eq!(moved.code, 2);
    assert!(
        moved.stderr.contains("is local") && moved.stderr.contains("another --data-dir"),
        "{}",
        moved.stderr
    );

    // One S3 lake per data directory.
    let other = path_str(&dir.path().join("other"));
    let first = server.run(&[
        "--data-dir",
        &other,
        "--lake",
        LAKE,
        "ingest",
        "-q",
        &path_str(&logs),
    ])?;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let elsewhere = server.run(&[
        "--data-dir",
        &other,
        "--lake",
        "s3://team-lake/elsewhere",
        "status",
    ])?;
    assert_eq!(elsewhere.code, 2);
    assert!(
        elsewhere.stderr.contains("is at s3://team-lake/trailhound"),
        "{}",
        elsewhere.stderr
    );

    // A bucket that does not exist: the ingest says so and stores nothing.
    let missing = path_str(&dir.path().join("missing"));
    let refused = server.run(&[
        "--data-dir",
        &missing,
        "--lake",
        "s3://no-such-bucket/lake",
        "ingest",
        "-q",
        &path_str(&logs),
    ])?;
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("s3://no-such-bucket/lake")
            && refused.stderr.contains("the bucket does not exist"),
        "{}",
        refused.stderr
    );
    refused.assert_no_panic();
    Ok(())
}

#[test]
fn retention_on_an_s3_lake_archives_old_days_locally_and_retires_their_objects() -> Result<(), Error>
{
    let server = S3Server::start()?;
    server.python(&["mb", BUCKET])?;
    let dir = tempfile::tempdir()?;
    let start = (chrono::Utc::now().date_naive() - chrono::Days::new(6)).to_string();
    let logs = dir.path().join("logs");
    let generated = crate::support::run(&[
        "generate",
        "--start",
        &start,
        "--days",
        "7",
        "--events",
        "2000",
        &path_str(&logs),
    ])?;
    assert_eq!(generated.code, 0, "{}", generated.stderr);
    let data = path_str(&dir.path().join("data"));
    let ingested = server.run(&[
        "--data-dir",
        &data,
        "--lake",
        LAKE,
        "ingest",
        "-q",
        "--no-detect",
        &path_str(&logs),
    ])?;
    assert_eq!(ingested.code, 0, "{}", ingested.stderr);
    let days = "SELECT date, count(*) AS n FROM events GROUP BY date ORDER BY date";
    let before: Vec<String> = answer(&server, &data, days)?
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect();
    assert_eq!(before.len(), 7, "{before:?}");
    let (_, total, _) = listed_by_an_engine(&server)?;

    let archive = dir.path().join("archive");
    let applied = server.run(&[
        "--data-dir",
        &data,
        "retention",
        "--keep",
        "3d",
        "--archive-to",
        &path_str(&archive),
        "--apply",
    ])?;
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let kept: Vec<String> = answer(&server, &data, days)?
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect();
    assert_eq!(kept, before[4..].to_vec(), "the last three days stay");
    let archived = lake_run(&archive, &["query", "--format", "csv", days])?;
    assert_eq!(
        archived.stdout.lines().skip(1).collect::<Vec<_>>(),
        before[..4].iter().map(String::as_str).collect::<Vec<_>>()
    );
    let kept_rows: u64 = kept
        .iter()
        .filter_map(|line| line.split_once(','))
        .map(|(_, n)| n.parse::<u64>().unwrap_or(0))
        .sum();
    let (_, rows, distinct) = listed_by_an_engine(&server)?;
    assert!(kept_rows < total);
    assert_eq!(
        (rows, distinct),
        (kept_rows, kept_rows),
        "the old days' objects left the prefix engines read"
    );
    Ok(())
}

/// A second machine takes over an S3 lake from a catalog backup: it answers as the first did
/// when the backup was taken, and once it ingests, the files the first machine added after
/// the backup are retired and their events stored again, once.
#[test]
fn a_second_machine_takes_over_from_a_catalog_backup() -> Result<(), Error> {
    let server = S3Server::start()?;
    server.python(&["mb", BUCKET])?;
    let dir = tempfile::tempdir()?;
    let first_logs = dir.path().join("first");
    let first_total = generated(&first_logs, 2000)?;
    let later_logs = dir.path().join("later");
    let later = crate::support::run(&[
        "generate",
        "--start",
        "2024-07-10",
        "--days",
        "1",
        "--events",
        "1500",
        // Another seed: the same one would give the same eventIDs as the first logs.
        "--seed",
        "7",
        &path_str(&later_logs),
    ])?;
    assert_eq!(later.code, 0, "{}", later.stderr);
    let a = path_str(&dir.path().join("machine-a"));
    let b = path_str(&dir.path().join("machine-b"));
    let ingest = |data: &str, logs: &std::path::Path| -> Result<(), Error> {
        let out = server.run(&[
            "--data-dir",
            data,
            "--lake",
            LAKE,
            "ingest",
            "-q",
            &path_str(logs),
        ])?;
        assert_eq!(out.code, 0, "{}", out.stderr);
        Ok(())
    };
    ingest(&a, &first_logs)?;
    let backup = server.run(&[
        "--data-dir",
        &a,
        "catalog",
        "backup",
        "s3://team-lake/backups/catalog.sqlite",
    ])?;
    assert_eq!(backup.code, 0, "{}", backup.stderr);
    // The first machine goes on after the backup, then dies.
    ingest(&a, &later_logs)?;
    let (_, rows, _) = listed_by_an_engine(&server)?;
    assert_eq!(rows, first_total + 1500);

    let restore = server.run(&[
        "--data-dir",
        &b,
        "catalog",
        "restore",
        "s3://team-lake/backups/catalog.sqlite",
    ])?;
    assert_eq!(restore.code, 0, "{}", restore.stderr);
    assert_eq!(
        answer(&server, &b, QUESTIONS[0])?,
        format!("n,ids\n{first_total},{first_total}\n"),
        "the lake as it was at the backup, read from the bucket"
    );
    ingest(&b, &first_logs)?;
    ingest(&b, &later_logs)?;
    let total = first_total + 1500;
    assert_eq!(
        answer(&server, &b, QUESTIONS[0])?,
        format!("n,ids\n{total},{total}\n")
    );
    let (_, rows, distinct) = listed_by_an_engine(&server)?;
    assert_eq!(
        (rows, distinct),
        (total, total),
        "as an engine listing the prefix sees it"
    );

    // Mistakes are refused with the way out.
    let exists = server.run(&[
        "--data-dir",
        &a,
        "catalog",
        "backup",
        "s3://team-lake/backups/catalog.sqlite",
    ])?;
    assert_eq!(exists.code, 2);
    assert!(exists.stderr.contains("exists"), "{}", exists.stderr);
    let local_backup = dir.path().join("catalog-copy.sqlite");
    let copied = server.run(&[
        "--data-dir",
        &b,
        "catalog",
        "backup",
        &path_str(&local_backup),
    ])?;
    assert_eq!(copied.code, 0, "{}", copied.stderr);
    let over = server.run(&[
        "--data-dir",
        &b,
        "catalog",
        "restore",
        &path_str(&local_backup),
    ])?;
    assert_eq!(over.code, 2);
    assert!(over.stderr.contains("--replace"), "{}", over.stderr);
    let replaced = server.run(&[
        "--data-dir",
        &b,
        "catalog",
        "restore",
        "--replace",
        &path_str(&local_backup),
    ])?;
    assert_eq!(replaced.code, 0, "{}", replaced.stderr);
    let not_a_catalog = dir.path().join("notes.txt");
    std::fs::write(&not_a_catalog, "not sqlite at all")?;
    let refused = server.run(&[
        "--data-dir",
        &b,
        "catalog",
        "restore",
        "--replace",
        &path_str(&not_a_catalog),
    ])?;
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("not a Trailhound catalog backup"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        answer(&server, &b, QUESTIONS[0])?,
        format!("n,ids\n{total},{total}\n"),
        "a refused restore changes nothing"
    );
    Ok(())
}

/// `watch` feeds an S3 lake as `ingest` does, and `serve` answers over it: the monitor and the
/// dashboard share a lake that lives in a bucket.
#[test]
fn watch_and_serve_work_over_an_s3_lake() -> Result<(), Error> {
    use crate::server::{Client, Server, token};

    let server = S3Server::start()?;
    server.python(&["mb", BUCKET])?;
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let total = generated(&logs, 2000)?;
    let data_dir = dir.path().join("data");
    let data = path_str(&data_dir);
    let watched = server.run(&[
        "--data-dir",
        &data,
        "--lake",
        LAKE,
        "--lake-endpoint-url",
        &server.endpoint,
        "watch",
        &path_str(&logs),
        "--once",
    ])?;
    assert_eq!(watched.code, 0, "{}", watched.stderr);
    assert_eq!(listed_by_an_engine(&server)?.1, total);

    let viewer = token(&data_dir, "viewer", "viewer")?;
    let serve = Server::start_with_env(
        &data_dir,
        &[],
        &[
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ],
    )?;
    // Only the bucket holds the files: no local copy answers for it.
    std::fs::remove_dir_all(data_dir.join("lake/.cache"))?;
    let client = Client::new(&serve.url)?;
    let count = client.sql(
        &viewer,
        serde_json::json!({"sql": "SELECT count(*) AS n, count(DISTINCT eventID) AS ids FROM events"}),
    )?;
    assert_eq!(count.status, 200, "{}", count.body);
    assert_eq!(count.json()["rows"][0]["n"], serde_json::json!(total));
    assert_eq!(count.json()["rows"][0]["ids"], serde_json::json!(total));
    let events = client.get("/api/v1/events?limit=5", &viewer)?;
    assert_eq!(events.status, 200, "{}", events.body);
    assert_eq!(
        events.json()["events"].as_array().map(Vec::len),
        Some(5),
        "{}",
        events.body
    );
    let status = client.get("/api/v1/status", &viewer)?;
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.json()["lake"]["events"], serde_json::json!(total));
    Ok(())
}

/// `[lake]` in trailhound.toml says what `--lake` says.
#[test]
fn the_lake_place_can_come_from_the_configuration() -> Result<(), Error> {
    let server = S3Server::start()?;
    server.python(&["mb", BUCKET])?;
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let total = generated(&logs, 500)?;
    let config = dir.path().join("trailhound.toml");
    std::fs::write(
        &config,
        format!(
            "[lake]\nlocation = \"{LAKE}\"\nendpoint_url = \"{}\"\n",
            server.endpoint
        ),
    )?;
    let data = path_str(&dir.path().join("data"));
    let config_arg = path_str(&config);
    let ingested = server.run(&[
        "--data-dir",
        &data,
        "--config",
        &config_arg,
        "ingest",
        "-q",
        &path_str(&logs),
    ])?;
    assert_eq!(ingested.code, 0, "{}", ingested.stderr);
    assert_eq!(listed_by_an_engine(&server)?.1, total);
    let status = server.run(&["--data-dir", &data, "status"])?;
    assert!(
        status.stdout.contains("lake s3://team-lake/trailhound"),
        "{}",
        status.stdout
    );
    Ok(())
}

/// `export -o s3://…` puts the OCSF files straight into the bucket, in Security Lake's layout.
#[test]
fn export_writes_ocsf_straight_into_a_bucket() -> Result<(), Error> {
    let server = S3Server::start()?;
    server.python(&["mb", "security-lake"])?;
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let total = generated(&logs, 500)?;
    let exported = server.run(&["export", &path_str(&logs), "-o", "s3://security-lake/"])?;
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    assert!(
        exported
            .stderr
            .contains(&format!("{total} OCSF API Activity events")),
        "{}",
        exported.stderr
    );
    let keys = server.python_output(&["ls", "security-lake", "ext/"])?;
    let keys: Vec<&str> = keys.lines().collect();
    assert!(!keys.is_empty());
    for key in &keys {
        let parts: Vec<&str> = key.split('/').collect();
        assert!(
            parts.len() == 6
                && parts[1] == "trailhound-cloudtrail"
                && parts[2].starts_with("region=")
                && parts[3].starts_with("accountId=")
                && parts[4].starts_with("eventDay=")
                && parts[5].ends_with(".parquet"),
            "{key}"
        );
    }
    Ok(())
}

/// `watch --ocsf-dir s3://…` uploads each lake file's OCSF once, however many polls follow.
#[test]
fn watch_writes_ocsf_into_a_bucket_once() -> Result<(), Error> {
    let server = S3Server::start()?;
    server.python(&["mb", "security-lake"])?;
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    generated(&logs, 500)?;
    let data = path_str(&dir.path().join("data"));
    let watch = || -> Result<Vec<String>, Error> {
        let polled = server.run(&[
            "--data-dir",
            &data,
            "watch",
            &path_str(&logs),
            "--once",
            "--no-detect",
            "--ocsf-dir",
            "s3://security-lake/",
        ])?;
        assert_eq!(polled.code, 0, "{}", polled.stderr);
        let keys = server.python_output(&["ls", "security-lake", "ext/"])?;
        Ok(keys.lines().map(str::to_owned).collect())
    };
    let puts = || -> Result<usize, Error> {
        Ok(server
            .requests()?
            .iter()
            .filter(|r| r.starts_with("PUT /security-lake/ext/"))
            .count())
    };
    let first = watch()?;
    assert!(!first.is_empty());
    assert!(
        first
            .iter()
            .all(|k| k.starts_with("ext/trailhound-cloudtrail/region="))
    );
    let uploaded = puts()?;
    assert_eq!(uploaded, first.len(), "one upload per file");
    assert_eq!(watch()?, first);
    assert_eq!(puts()?, uploaded, "a poll with nothing new uploads nothing");
    assert!(
        crate::support::files_under(&dir.path().join("data/.ocsf-staging")).is_empty(),
        "nothing is left behind locally"
    );
    Ok(())
}
