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

#[test]
fn spark_reads_the_lake_with_the_printed_ddl_and_answers_the_same() -> Result<(), Error> {
    let has_spark = Command::new("python3")
        .args(["-c", "import pyspark"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_spark,
        "pyspark is not installed for python3: run scripts/setup-test-env (or `pip install pyspark` and a Java 17 runtime)"
    );
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    // Enough events for failed console sign-ins to be among them.
    let total = generated(&logs, 20_000)?;
    let data = dir.path().join("data");
    let ingested = lake_run(&data, &["ingest", "-q", &path_str(&logs)])?;
    assert_eq!(ingested.code, 0, "{}", ingested.stderr);
    let ddl = lake_run(&data, &["ddl", "--engine", "spark", "--table", "trail"])?;
    assert_eq!(ddl.code, 0, "{}", ddl.stderr);
    let ddl_file = dir.path().join("trail.sql");
    std::fs::write(&ddl_file, &ddl.stdout)?;

    let event_id = lake_run(
        &data,
        &[
            "query",
            "--format",
            "csv",
            "SELECT eventID FROM events WHERE eventName = 'CreateRole' ORDER BY eventTime LIMIT 1",
        ],
    )?
    .stdout
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
    let questions_file = dir.path().join("questions.json");
    std::fs::write(&questions_file, serde_json::to_string(&spark_questions)?)?;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spark.py");
    let spark = Command::new("python3")
        .arg(script)
        .arg(&ddl_file)
        .arg(&questions_file)
        .output()?;
    assert!(
        spark.status.success(),
        "spark: {}",
        String::from_utf8_lossy(&spark.stderr)
    );
    let answers: Vec<Vec<Vec<String>>> = serde_json::from_slice(&spark.stdout)?;

    for (at, question) in ask("events").iter().enumerate() {
        let ours = lake_run(&data, &["query", "--format", "csv", question])?;
        assert_eq!(ours.code, 0, "{question}: {}", ours.stderr);
        let ours: Vec<Vec<String>> = ours
            .stdout
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
