//! Engines beyond one machine read the lake with the DDL `trailhound ddl` prints: Apache Spark
//! (local mode, PyPI `pyspark` on Java 17) answers the reference questions as `trailhound
//! query` does.

use std::process::Command;

use crate::support::{generated, lake_run, path_str};

type Error = Box<dyn std::error::Error>;

/// The reference questions, with `{table}` for the table's name: counts by principal,
/// `Delete*` by time, failed console logins by IP, hourly errors, one event by ID, and a
/// group-by on a field nested three deep.
const QUESTIONS: [&str; 6] = [
    "SELECT userIdentity.arn AS who, count(*) AS n FROM {table} GROUP BY userIdentity.arn ORDER BY n DESC, who NULLS LAST LIMIT 20",
    "SELECT eventID, eventName FROM {table} WHERE eventName LIKE 'Delete%' ORDER BY eventTime, eventID",
    "SELECT sourceIPAddress, count(*) AS n FROM {table} WHERE eventName = 'ConsoleLogin' AND errorMessage = 'Failed authentication' GROUP BY sourceIPAddress ORDER BY n DESC, sourceIPAddress",
    "SELECT date, date_part('hour', eventTime) AS hour, count(*) AS n FROM {table} WHERE errorCode IS NOT NULL GROUP BY date, date_part('hour', eventTime) ORDER BY date, hour",
    "SELECT eventID, eventName, eventSource, awsRegion, account FROM {table} WHERE eventID = '{event_id}'",
    "SELECT userIdentity.sessionContext.sessionIssuer.arn AS issuer, count(*) AS n FROM {table} WHERE userIdentity.sessionContext.sessionIssuer.arn IS NOT NULL GROUP BY userIdentity.sessionContext.sessionIssuer.arn ORDER BY n DESC, issuer LIMIT 20",
];

/// A cell as both engines print it: integral numbers without a fraction.
fn cell(text: &str) -> String {
    match text.parse::<f64>() {
        Ok(number) if number.fract() == 0.0 && !text.contains('-') => format!("{number:.0}"),
        _ => text.to_owned(),
    }
}

/// How the binary is run against the lake: plainly, or with an S3 server's credentials.
type Runner<'a> = &'a dyn Fn(&[&str]) -> Result<crate::support::Run, Error>;

fn spark_available() {
    let has_spark = Command::new("python3")
        .args(["-c", "import pyspark"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_spark,
        "pyspark is not installed for python3: run scripts/setup-test-env (or `pip install pyspark` and a Java 17 runtime)"
    );
}

/// Runs Spark with the DDL `trailhound ddl --engine spark` prints for the lake in `data`,
/// asks it the reference questions and the event count, and checks every answer against
/// `trailhound query`'s. `s3` is the endpoint and S3A jars for a lake on S3.
fn spark_agrees(
    run: Runner<'_>,
    data: &str,
    total: u64,
    work: &std::path::Path,
    s3: Option<(&str, &str)>,
) -> Result<(), Error> {
    let ddl = run(&[
        "--data-dir",
        data,
        "ddl",
        "--engine",
        "spark",
        "--table",
        "trail",
    ])?;
    assert_eq!(ddl.code, 0, "{}", ddl.stderr);
    let ddl_file = work.join("trail.sql");
    std::fs::write(&ddl_file, &ddl.stdout)?;
    let csv = |sql: &str| -> Result<String, Error> {
        let out = run(&["--data-dir", data, "query", "--format", "csv", sql])?;
        assert_eq!(out.code, 0, "{sql}: {}", out.stderr);
        Ok(out.stdout)
    };
    let event_id = csv(
        "SELECT eventID FROM events WHERE eventName = 'CreateRole' ORDER BY eventTime LIMIT 1",
    )?
    .lines()
    .nth(1)
    .ok_or("no CreateRole event in the generated logs")?
    .to_owned();
    let ask = |table: &str| -> Vec<String> {
        QUESTIONS
            .iter()
            .map(|q| q.replace("{table}", table).replace("{event_id}", &event_id))
            .collect()
    };
    let mut spark_questions = ask("trail");
    spark_questions.push("SELECT count(*), count(DISTINCT eventID) FROM trail".to_owned());
    let questions_file = work.join("questions.json");
    std::fs::write(&questions_file, serde_json::to_string(&spark_questions)?)?;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spark.py");
    let mut command = Command::new("python3");
    command.arg(script).arg(&ddl_file).arg(&questions_file);
    if let Some((endpoint, jars)) = s3 {
        command
            .args([endpoint, jars])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
    }
    let spark = command.output()?;
    assert!(
        spark.status.success(),
        "spark: {}",
        String::from_utf8_lossy(&spark.stderr)
    );
    let answers: Vec<Vec<Vec<String>>> = serde_json::from_slice(&spark.stdout)?;
    for (at, question) in ask("events").iter().enumerate() {
        let ours: Vec<Vec<String>> = csv(question)?
            .lines()
            .skip(1)
            .map(|line| line.split(',').map(cell).collect())
            .collect();
        let theirs: Vec<Vec<String>> = answers[at]
            .iter()
            .map(|row| row.iter().map(|v| cell(v)).collect())
            .collect();
        assert!(!ours.is_empty(), "{question} has no answer to compare");
        assert_eq!(theirs, ours, "{question}");
    }
    assert_eq!(
        answers[QUESTIONS.len()],
        vec![vec![total.to_string(), total.to_string()]],
        "Spark sees every event once"
    );
    Ok(())
}

#[test]
fn spark_reads_the_lake_with_the_printed_ddl_and_answers_the_same() -> Result<(), Error> {
    spark_available();
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    // Enough events for failed console sign-ins to be among them.
    let total = generated(&logs, 20_000)?;
    let data = path_str(&dir.path().join("data"));
    let ingested = lake_run(
        dir.path().join("data").as_path(),
        &["ingest", "-q", &path_str(&logs)],
    )?;
    assert_eq!(ingested.code, 0, "{}", ingested.stderr);
    let plain =
        |args: &[&str]| -> Result<crate::support::Run, Error> { Ok(crate::support::run(args)?) };
    spark_agrees(&plain, &data, total, dir.path(), None)
}

/// The S3 lake on a local S3-compatible server, ingested under kill -9 at random points and
/// then to the end: Spark, listing the prefix through S3A with the printed DDL, sees every
/// event once and answers as `trailhound query` does.
#[test]
fn spark_reads_the_s3_lake_written_under_kills_and_answers_the_same() -> Result<(), Error> {
    spark_available();
    let jars_dir = std::env::var_os("TRAILHOUND_S3A_JARS")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache"))
                })
                .map(|cache| cache.join("trailhound/s3a-jars"))
        })
        .ok_or("no cache folder for the S3A jars")?;
    let jars =
        ["hadoop-aws-3.3.1.jar", "aws-java-sdk-bundle-1.11.901.jar"].map(|j| jars_dir.join(j));
    assert!(
        jars.iter().all(|j| j.is_file()),
        "Hadoop's S3A jars are not in {}: run scripts/setup-test-env",
        jars_dir.display()
    );
    let jars = jars.map(|j| path_str(&j)).join(",");
    let server = crate::s3_server::S3Server::start()?;
    server.python(&["mb", "spark-lake"])?;
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let total = generated(&logs, 20_000)?;
    let data = path_str(&dir.path().join("data"));
    let logs_arg = path_str(&logs);
    let args = [
        "--data-dir",
        &data,
        "--lake",
        "s3://spark-lake/trailhound",
        "ingest",
        "-q",
        "--commit-size",
        "1MiB",
        "--no-compact",
        &logs_arg,
    ];
    let killed = crate::support::kill_at_random_points(
        || server.command(&args),
        6,
        0x5DEE_CE66_D1CE_4E5B,
        std::time::Duration::from_millis(300),
        std::time::Duration::from_millis(2000),
    )?;
    assert!(
        killed >= 2,
        "the ingest finished too fast to be interrupted ({killed} kills)"
    );
    let last = server.run(&args)?;
    assert_eq!(last.code, 0, "{}", last.stderr);
    // Only the bucket holds the files.
    std::fs::remove_dir_all(dir.path().join("data/lake/.cache"))?;
    let against_server = |args: &[&str]| -> Result<crate::support::Run, Error> { server.run(args) };
    spark_agrees(
        &against_server,
        &data,
        total,
        dir.path(),
        Some((&server.endpoint, &jars)),
    )
}
