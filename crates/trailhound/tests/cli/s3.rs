use std::path::{Path, PathBuf};

use crate::integrity::openssl_key;
use crate::s3_server::{Error, S3Server};
use crate::support::{TestResult, files_under, lake_run, path_str, run};

const BUCKET: &str = "trail-logs";

/// Four days of logs (two regions, every scenario) in a local tree and in the bucket.
fn estate(server: &S3Server, dir: &Path) -> Result<PathBuf, Error> {
    let logs = dir.join("logs");
    let out = run(&[
        "generate",
        "--start",
        "2024-07-01",
        "--days",
        "4",
        "--accounts",
        "1",
        "--regions",
        "us-east-1,eu-west-1",
        "--events",
        "1000",
        "--scenarios",
        &path_str(&logs),
    ])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    server.upload(BUCKET, &logs)?;
    Ok(logs)
}

/// "read N events from M files": M.
fn files_read(stderr: &str) -> Option<usize> {
    let line = stderr.lines().find(|l| l.starts_with("read "))?;
    let after = line.split(" from ").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

#[test]
fn cat_reads_a_bucket_downloading_only_the_days_asked_for() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = S3Server::start()?;
    let logs = estate(&server, dir.path())?;
    let window = ["--since", "2024-07-02", "--until", "2024-07-03"];

    let local = run(&[&["cat", &path_str(&logs)][..], &window].concat())?;
    assert_eq!(local.code, 0, "{}", local.stderr);
    let remote = server.run(&[&["cat", &format!("s3://{BUCKET}")][..], &window].concat())?;
    assert_eq!(remote.code, 0, "{}", remote.stderr);
    assert!(!local.event_ids().is_empty());
    // Same events, same order, byte for byte.
    assert_eq!(remote.stdout, local.stdout);

    // Only the objects the local read opened were downloaded: the other days were never
    // fetched, and their folders never even listed.
    let opened = files_read(&local.stderr).ok_or("no summary")?;
    let gets = server.object_gets(BUCKET)?;
    assert_eq!(gets, opened, "{}", remote.stderr);
    let total = files_under(&logs.join("AWSLogs")).len();
    assert!(gets * 3 < total, "{gets} of {total} objects fetched");
    let listings = server.requests()?;
    for day in ["07%2F01", "07%2F04", "07/01/", "07/04/"] {
        assert!(
            !listings
                .iter()
                .any(|r| r.contains("list-type=2") && r.contains(day)),
            "day {day} listed: {listings:?}"
        );
    }
    assert!(
        remote
            .stderr
            .contains("files or folders outside the selection left unopened"),
        "{}",
        remote.stderr
    );

    // Account and region pruning by key, and a prefix inside the bucket.
    let account = std::fs::read_dir(logs.join("AWSLogs"))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .ok_or("no account folder")?;
    let before = server.object_gets(BUCKET)?;
    let requests_before = server.requests()?.len();
    let narrow = server.run(&[
        "cat",
        &format!("s3://{BUCKET}/AWSLogs/{account}/CloudTrail"),
        "--region",
        "eu-west-1",
        "--since",
        "2024-07-02",
        "--until",
        "2024-07-03",
    ])?;
    assert_eq!(narrow.code, 0, "{}", narrow.stderr);
    let events = narrow.events();
    assert!(!events.is_empty(), "{}", narrow.stderr);
    assert!(events.iter().all(|e| e["awsRegion"] == "eu-west-1"));
    let fetched = server.object_gets(BUCKET)? - before;
    assert_eq!(Some(fetched), files_read(&narrow.stderr));
    assert!(fetched < gets, "{fetched} of {gets}");
    let new_requests = &server.requests()?[requests_before..];
    assert!(
        !new_requests.iter().any(|r| r.contains("us-east-1")),
        "the other region was listed: {new_requests:?}"
    );
    Ok(())
}

#[test]
fn ingest_from_a_bucket_is_incremental_and_hunt_finds_what_it_finds_locally() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = S3Server::start()?;
    let logs = estate(&server, dir.path())?;
    let data = dir.path().join("lake");
    let data_arg = path_str(&data);
    let url = format!("s3://{BUCKET}");

    let first = server.run(&["--data-dir", &data_arg, "ingest", &url])?;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let local = run(&["cat", &path_str(&logs)])?;
    let count = lake_run(
        &data,
        &[
            "query",
            "--format",
            "csv",
            "SELECT count(*) AS n FROM events",
        ],
    )?;
    assert_eq!(
        count.stdout.lines().nth(1),
        Some(local.event_ids().len().to_string().as_str())
    );
    let gets = server.object_gets(BUCKET)?;

    // A second ingest lists the bucket and downloads nothing: every object is unchanged.
    let second = server.run(&["--data-dir", &data_arg, "ingest", &url])?;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(server.object_gets(BUCKET)?, gets);
    assert!(
        second
            .stderr
            .contains("unchanged since they were last read"),
        "{}",
        second.stderr
    );

    // The catalog names objects by their s3:// URL.
    let sources = lake_run(&data, &["sources"])?;
    assert!(
        sources.stdout.contains(&format!("s3://{BUCKET}/AWSLogs/")),
        "{}",
        sources.stdout
    );

    // Hunting over the bucket finds exactly what hunting over the files finds.
    let hunt = |input: &str| -> Result<String, Error> {
        let out = server.run(&["hunt", input, "--format", "jsonl"])?;
        assert_eq!(out.code, 1, "{}", out.stderr);
        let mut lines: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
        lines.sort();
        Ok(lines.join("\n"))
    };
    let remote = hunt(&url)?;
    assert!(remote.contains("StopLogging"), "{remote}");
    assert_eq!(remote, hunt(&path_str(&logs))?);
    Ok(())
}

#[test]
fn pull_downloads_a_date_range_with_signatures_as_sidecars() -> TestResult {
    let dir = tempfile::tempdir()?;
    let key = openssl_key(dir.path(), "key.pem")?;
    let logs = dir.path().join("signed");
    let out = run(&[
        "generate",
        "--start",
        "2024-07-01",
        "--days",
        "3",
        "--accounts",
        "1",
        "--regions",
        "us-east-1",
        "--events",
        "1500",
        "--sign",
        &path_str(&key),
        "--bucket",
        BUCKET,
        &path_str(&logs),
    ])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let server = S3Server::start()?;
    server.upload(BUCKET, &logs)?;

    let pulled = dir.path().join("pulled");
    let pull = |extra: &[&str]| {
        server.run(
            &[
                &["pull", &format!("s3://{BUCKET}"), &path_str(&pulled)][..],
                &["--since", "2024-07-02", "--until", "2024-07-03"],
                extra,
            ]
            .concat(),
        )
    };
    let out = pull(&[])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got = files_under(&pulled);
    assert!(!got.is_empty());
    // Only day 2, and the first hour of day 3 (late deliveries of day 2).
    for path in &got {
        let text = path_str(path);
        assert!(
            text.contains("/2024/07/02/") || text.contains("/2024/07/03/"),
            "{text}"
        );
    }
    // Every pulled file is byte-identical to the original; every digest has its sidecar.
    let mut digests = 0;
    for path in &got {
        let relative = path.strip_prefix(&pulled)?;
        let original = logs.join(relative);
        assert_eq!(
            std::fs::read(path)?,
            std::fs::read(&original)?,
            "{}",
            relative.display()
        );
        if path_str(path).contains("CloudTrail-Digest") && !path_str(path).ends_with(".sig") {
            digests += 1;
            let sidecar = PathBuf::from(format!("{}.sig", path_str(path)));
            let theirs: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&sidecar)?)?;
            let ours: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
                format!("{}.sig", path_str(&original)),
            )?)?;
            assert_eq!(theirs["signature"], ours["signature"]);
        }
    }
    assert!(digests >= 20, "{digests} digests");

    // The pulled copy validates offline over the day it holds, its newest digest signed by
    // its sidecar.
    let validate = run(&[
        "validate",
        &path_str(&pulled),
        "--public-keys",
        &path_str(&logs.join(".trailhound/public-keys.json")),
        "--start-time",
        "2024-07-02T01:00:00Z",
        "--end-time",
        "2024-07-03T00:00:00Z",
    ])?;
    assert_eq!(validate.code, 0, "{}\n{}", validate.stdout, validate.stderr);

    // Validating the same day in the bucket lists and reads only around that day.
    let before = server.object_gets(BUCKET)?;
    let in_bucket = server.run(&[
        "validate",
        &format!("s3://{BUCKET}"),
        "--public-keys",
        &path_str(&logs.join(".trailhound/public-keys.json")),
        "--start-time",
        "2024-07-02T01:00:00Z",
        "--end-time",
        "2024-07-03T00:00:00Z",
    ])?;
    assert_eq!(
        in_bucket.code, 0,
        "{}\n{}",
        in_bucket.stdout, in_bucket.stderr
    );
    let read = server.object_gets(BUCKET)? - before;
    let total = files_under(&logs.join("AWSLogs"))
        .iter()
        .filter(|p| !path_str(p).ends_with(".sig"))
        .count();
    assert!(
        read * 2 < total,
        "validation read {read} of {total} objects"
    );

    // A second pull finds everything there and downloads nothing.
    let gets = server.object_gets(BUCKET)?;
    let again = pull(&[])?;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(server.object_gets(BUCKET)?, gets);
    assert!(again.stderr.contains("pulled 0 files"), "{}", again.stderr);
    Ok(())
}

#[test]
fn bad_s3_configuration_is_a_clear_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = S3Server::start()?;

    let missing = server.run(&["cat", "s3://no-such-bucket"])?;
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("s3://no-such-bucket"),
        "{}",
        missing.stderr
    );

    let unreachable = server.run(&[
        "cat",
        "s3://trail-logs",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ])?;
    assert_eq!(unreachable.code, 2, "{}", unreachable.stderr);
    assert!(
        unreachable.stderr.contains("s3://trail-logs"),
        "{}",
        unreachable.stderr
    );

    let bad_endpoint = server.run(&["cat", "s3://trail-logs", "--endpoint-url", "ftp://x"])?;
    assert_eq!(bad_endpoint.code, 2);
    assert!(
        bad_endpoint
            .stderr
            .contains("not an http:// or https:// URL"),
        "{}",
        bad_endpoint.stderr
    );

    let bad_url = server.run(&["cat", "s3:///AWSLogs"])?;
    assert_eq!(bad_url.code, 2);
    assert!(
        bad_url.stderr.contains("names no bucket"),
        "{}",
        bad_url.stderr
    );

    let config = dir.path().join("config");
    std::fs::write(&config, "[profile sso]\nsso_session = corp\n")?;
    let profile = |name: &str| {
        server
            .command(&["cat", "s3://trail-logs", "--profile", name])
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
            .output()
    };
    let out = profile("nosuch")?;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("AWS profile \"nosuch\" is in neither"),
        "{stderr}"
    );
    let out = profile("sso")?;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("aws configure export-credentials --profile sso"),
        "{stderr}"
    );

    let zero = server.run(&["cat", "s3://trail-logs", "--downloads", "0"])?;
    assert_eq!(zero.code, 2);
    Ok(())
}

#[test]
fn profiles_supply_credentials_region_and_endpoint() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = S3Server::start()?;
    let logs = estate(&server, dir.path())?;
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        "[audit]\naws_access_key_id = AKIAAUDIT\naws_secret_access_key = secret\n",
    )?;
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[profile audit]\nregion = eu-west-1\nendpoint_url = {}\n",
            server.endpoint
        ),
    )?;
    let out = server
        .command(&["cat", &format!("s3://{BUCKET}"), "--since", "2024-07-04"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_PROFILE", "audit")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let local = run(&["cat", &path_str(&logs), "--since", "2024-07-04"])?;
    assert_eq!(String::from_utf8_lossy(&out.stdout), local.stdout);

    // A profile that assumes a role with another profile's keys, through STS (moto's here).
    std::fs::write(
        &config,
        "[profile auditor]\nrole_arn = arn:aws:iam::123456789012:role/auditor\nsource_profile = audit\nregion = us-east-1\n",
    )?;
    let assume = |sts: &str| {
        server
            .command(&[
                "cat",
                &format!("s3://{BUCKET}"),
                "--since",
                "2024-07-04",
                "--profile",
                "auditor",
            ])
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env("AWS_ENDPOINT_URL_STS", sts)
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .output()
    };
    let assumed = assume(&server.endpoint)?;
    let stderr = String::from_utf8_lossy(&assumed.stderr);
    assert_eq!(assumed.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&assumed.stdout), local.stdout);
    // Without STS the role cannot be assumed, and the error says so.
    let refused = assume("http://127.0.0.1:9")?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot assume arn:aws:iam::123456789012:role/auditor"),
        "{stderr}"
    );
    Ok(())
}
