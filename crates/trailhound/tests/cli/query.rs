use crate::support::*;

/// A lake with a small generated estate in it, shared by the read-only tests of this module.
fn lake() -> Result<
    (
        tempfile::TempDir,
        std::path::PathBuf,
        std::path::PathBuf,
        u64,
    ),
    Box<dyn std::error::Error>,
> {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let total = generated(&logs, 3000)?;
    let data = dir.path().join("data");
    let run = lake_run(&data, &["ingest", "-q", &path_str(&logs)])?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    Ok((dir, logs, data, total))
}

#[test]
fn cloudtrail_names_nested_fields_json_and_partitions_work_as_written() -> TestResult {
    let (_dir, _logs, data, total) = lake()?;
    assert_eq!(
        scalar(&data, "SELECT COUNT(*) FROM events")?,
        total.to_string()
    );
    assert_eq!(
        scalar(
            &data,
            "SELECT requestParameters->>'policyArn' FROM events WHERE eventName = 'AttachUserPolicy'"
        )?,
        "arn:aws:iam::aws:policy/AdministratorAccess"
    );
    assert_eq!(
        scalar(
            &data,
            "SELECT json_get_str(requestParameters, 'userName') FROM events WHERE eventName = 'CreateAccessKey' AND userIdentity.userName = 'bob'"
        )?,
        "alice"
    );
    let roles: u64 = scalar(
        &data,
        "SELECT count(*) FROM events WHERE userIdentity.sessionContext.sessionIssuer.type = 'Role'",
    )?
    .parse()?;
    assert!(roles > 100);
    let by_partition: u64 = scalar(
        &data,
        "SELECT count(*) FROM events WHERE region = 'eu-west-1' AND date = '2024-07-01'",
    )?
    .parse()?;
    let by_column: u64 = scalar(&data, "SELECT count(*) FROM events WHERE awsRegion = 'eu-west-1' AND eventTime >= TIMESTAMP '2024-07-01T00:00:00Z' AND eventTime < TIMESTAMP '2024-07-02T00:00:00Z'")?.parse()?;
    assert_eq!(by_partition, by_column);
    assert_eq!(
        scalar(
            &data,
            "SELECT count(*) FROM events WHERE date_trunc('hour', eventTime) = TIMESTAMP '2024-07-01T15:00:00Z' AND eventTime < TIMESTAMP '2024-07-01T15:00:00Z'"
        )?,
        "0"
    );
    Ok(())
}

#[test]
fn output_formats() -> TestResult {
    let (_dir, _logs, data, _) = lake()?;
    let sql = "SELECT eventName, count(*) AS n FROM events WHERE eventName IN ('StopLogging', 'DeleteTrail') GROUP BY eventName ORDER BY eventName";
    let table = lake_run(&data, &["query", sql])?;
    assert!(
        table.stdout.contains("| eventName   | n |"),
        "{}",
        table.stdout
    );
    let json = lake_run(&data, &["query", "--format", "json", sql])?;
    let value: serde_json::Value = serde_json::from_str(&json.stdout)?;
    assert_eq!(
        value,
        serde_json::json!([{"eventName": "DeleteTrail", "n": 1}, {"eventName": "StopLogging", "n": 1}])
    );
    let lines = lake_run(&data, &["query", "--format", "jsonl", sql])?;
    assert_eq!(lines.stdout.lines().count(), 2);
    let csv = lake_run(&data, &["query", "--format", "csv", sql])?;
    assert_eq!(csv.stdout, "eventName,n\nDeleteTrail,1\nStopLogging,1\n");
    let empty = lake_run(
        &data,
        &[
            "query",
            "--format",
            "json",
            "SELECT eventName FROM events WHERE false",
        ],
    )?;
    assert_eq!(empty.stdout.trim(), "[]");
    Ok(())
}

#[test]
fn only_read_only_sql_is_allowed() -> TestResult {
    let (_dir, _logs, data, total) = lake()?;
    for sql in [
        "CREATE TABLE x AS SELECT * FROM events",
        "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
        "INSERT INTO events SELECT * FROM events",
        "DELETE FROM events",
        "DROP TABLE events",
        "COPY events TO '/tmp/out.parquet'",
        "SET datafusion.execution.batch_size = 1",
        "CREATE VIEW v AS SELECT 1",
    ] {
        let run = lake_run(&data, &["query", sql])?;
        assert_eq!(run.code, 2, "{sql} was allowed: {}", run.stdout);
        assert!(
            run.stderr.contains("only read-only queries are allowed"),
            "{sql}: {}",
            run.stderr
        );
    }
    let missing = lake_run(&data, &["query", "SELECT * FROM '/etc/passwd'"])?;
    assert_eq!(missing.code, 2, "{}", missing.stdout);
    let unknown = lake_run(&data, &["query", "SELECT nosuchcolumn FROM events"])?;
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("nosuchcolumn"),
        "{}",
        unknown.stderr
    );
    // A name in another case is CloudTrail's, as in Athena; in DataFusion's own dialect it
    // gets the right spelling, not advice about DataFusion's settings.
    assert_eq!(
        scalar(&data, "SELECT count(eventname) FROM events")?,
        total.to_string()
    );
    let cased = lake_run(
        &data,
        &[
            "query",
            "--dialect",
            "datafusion",
            "SELECT eventname FROM events",
        ],
    )?;
    assert_eq!(cased.code, 2);
    assert!(
        cased.stderr.contains("Did you mean eventName?")
            && !cased.stderr.contains("enable_ident_normalization"),
        "{}",
        cased.stderr
    );
    assert_eq!(
        scalar(&data, "SELECT count(*) FROM events")?,
        total.to_string()
    );
    Ok(())
}

#[test]
fn search_over_the_lake_and_over_files_agree() -> TestResult {
    let (_dir, logs, data, _) = lake()?;
    let filters: [&[&str]; 5] = [
        &["--event", "Delete*"],
        &["--user", "bob", "--error"],
        // An AWS service's own calls: `stats` lists the service as their principal.
        &["--user", "lambda.amazonaws.com"],
        &["--error=AccessDenied", "--region", "us-east-1"],
        &[
            "--source",
            "iam",
            "--since",
            "2024-07-01T12:00:00Z",
            "--until",
            "2024-07-02",
        ],
    ];
    for filter in filters {
        let mut lake_args = vec!["search", "--format", "jsonl", "--limit", "0"];
        lake_args.extend_from_slice(filter);
        let from_lake = lake_run(&data, &lake_args)?;
        assert_eq!(from_lake.code, 0, "{filter:?}: {}", from_lake.stderr);
        let logs_arg = path_str(&logs);
        let mut file_args = lake_args.clone();
        file_args.push(&logs_arg);
        let from_files = run(&file_args)?;
        assert_eq!(from_files.code, 0, "{filter:?}: {}", from_files.stderr);
        let mut a = from_lake.event_ids();
        let mut b = from_files.event_ids();
        a.sort();
        b.sort();
        assert!(!a.is_empty(), "{filter:?} found nothing");
        assert_eq!(a, b, "{filter:?}");
    }
    let table = lake_run(&data, &["search", "--event", "StopLogging"])?;
    assert!(
        table.stdout.contains("StopLogging") && table.stdout.contains("principal"),
        "{}",
        table.stdout
    );
    // Both name a service's own call by the service, as `stats` does.
    let service = [
        "search",
        "--format",
        "csv",
        "--user",
        "lambda.amazonaws.com",
    ];
    let logs_arg = path_str(&logs);
    let mut file_args = service.to_vec();
    file_args.push(&logs_arg);
    for shown in [lake_run(&data, &service)?, run(&file_args)?] {
        assert_eq!(shown.code, 0, "{}", shown.stderr);
        assert!(
            shown
                .stdout
                .lines()
                .any(|line| line.split(',').nth(3) == Some("lambda.amazonaws.com")),
            "{}",
            shown.stdout
        );
    }
    let stats = lake_run(&data, &["stats", "--top", "50"])?;
    assert!(
        stats.stdout.contains("| lambda.amazonaws.com "),
        "{}",
        stats.stdout
    );
    Ok(())
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() -> TestResult {
    let (_dir, _logs, data, _) = lake()?;
    let data = path_str(&data);
    // Each prints far more than a pipe holds (3,000 events), so writing fails once `head`
    // has gone: the table path, Arrow's CSV writer and the raw records.
    let commands: [&[&str]; 3] = [
        &["search", "--limit", "0"],
        &["query", "--format", "csv", "SELECT eventJson FROM events"],
        &["search", "--format", "jsonl", "--limit", "0"],
    ];
    for command in commands {
        let mut args = vec!["--data-dir", data.as_str()];
        args.extend_from_slice(command);
        let (first, run) = run_and_hang_up(&args)?;
        assert!(!first.is_empty(), "{command:?} printed nothing");
        assert_eq!(run.code, 0, "{command:?}: {}", run.stderr);
        assert!(run.stderr.is_empty(), "{command:?}: {}", run.stderr);
    }
    Ok(())
}

#[test]
fn stats_and_show() -> TestResult {
    let (_dir, _logs, data, total) = lake()?;
    let stats = lake_run(&data, &["stats", "--top", "3"])?;
    assert_eq!(stats.code, 0, "{}", stats.stderr);
    for section in [
        "Overview",
        "Events per day",
        "Top principals",
        "Top APIs",
        "Top errors",
        "Regions",
        "Top source IPs",
    ] {
        assert!(stats.stdout.contains(section), "{section} missing");
    }
    assert!(
        stats.stdout.contains(&format!("| {total} ")),
        "{}",
        stats.stdout
    );
    assert!(stats.stdout.contains("2024-07-01") && stats.stdout.contains("2024-07-02"));

    let id = scalar(
        &data,
        "SELECT eventID FROM events WHERE eventName = 'StopLogging'",
    )?;
    let shown = lake_run(&data, &["show", &id])?;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let event: serde_json::Value = serde_json::from_str(&shown.stdout)?;
    assert_eq!(event["eventID"], id.as_str());
    assert_eq!(event["eventName"], "StopLogging");
    let compact = lake_run(&data, &["show", "--compact", &id])?;
    let original = scalar(
        &data,
        &format!("SELECT eventJson FROM events WHERE eventID = '{id}'"),
    )?;
    // CSV quoting aside, the compact form is the record exactly as generated.
    assert_eq!(
        format!("\"{}\"", compact.stdout.trim().replace('"', "\"\"")),
        original
    );
    let missing = lake_run(&data, &["show", "no-such-event"])?;
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no event with eventID"),
        "{}",
        missing.stderr
    );
    Ok(())
}

#[test]
fn duckdb_reads_the_lake_with_the_printed_ddl_and_agrees() -> TestResult {
    let (_dir, _logs, data, total) = lake()?;
    let has_duckdb = std::process::Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_duckdb,
        "duckdb is not installed for python3: run scripts/setup-test-env (or `pip install duckdb`)"
    );
    let ddl = lake_run(&data, &["ddl", "--engine", "duckdb", "--table", "events"])?;
    assert_eq!(ddl.code, 0, "{}", ddl.stderr);
    let questions = [
        "SELECT count(*) FROM events",
        "SELECT count(DISTINCT eventID) FROM events",
        "SELECT count(*) FROM events WHERE errorCode = 'AccessDenied'",
        "SELECT count(*) FROM events WHERE region = 'eu-west-1' AND date = '2024-07-02'",
    ];
    let script = "import duckdb, json, sys\ncon = duckdb.connect()\ncon.execute(sys.argv[1])\nprint(json.dumps([con.execute(q).fetchone()[0] for q in json.loads(sys.argv[2])]))\n";
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            &ddl.stdout,
            &serde_json::to_string(&questions)?,
        ])
        .output()?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let duck: Vec<u64> = serde_json::from_slice(&output.stdout)?;
    let ours: Vec<u64> = questions
        .iter()
        .map(|q| scalar(&data, q).and_then(|v| Ok(v.parse::<u64>()?)))
        .collect::<Result<_, _>>()?;
    assert_eq!(duck, ours);
    assert_eq!(ours[0], total);
    // The nested userIdentity is a struct there too.
    let nested = std::process::Command::new("python3")
        .args(["-c", "import duckdb,sys\ncon=duckdb.connect()\ncon.execute(sys.argv[1])\nprint(con.execute(\"SELECT count(*) FROM events WHERE userIdentity.sessionContext.sessionIssuer.type = 'Role'\").fetchone()[0])", &ddl.stdout])
        .output()?;
    let theirs = String::from_utf8_lossy(&nested.stdout).trim().to_owned();
    assert_eq!(
        theirs,
        scalar(
            &data,
            "SELECT count(*) FROM events WHERE userIdentity.sessionContext.sessionIssuer.type = 'Role'"
        )?
    );
    Ok(())
}

#[test]
fn querying_a_missing_lake_says_how_to_make_one() -> TestResult {
    let dir = tempfile::tempdir()?;
    let run = lake_run(&dir.path().join("typo"), &["query", "SELECT 1"])?;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("there is no lake in") && run.stderr.contains("trailhound ingest"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn ddl_for_the_other_engines() -> TestResult {
    let dir = tempfile::tempdir()?;
    for engine in ["athena", "trino", "spark"] {
        let run = lake_run(
            dir.path(),
            &[
                "ddl",
                "--engine",
                engine,
                "--location",
                "s3://bucket/trailhound/lake/events",
            ],
        )?;
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stdout.contains("s3://bucket/trailhound/lake/events/"),
            "{engine}"
        );
        assert!(
            run.stdout.contains("eventJson") && run.stdout.contains("userIdentity"),
            "{engine}"
        );
    }
    Ok(())
}

#[test]
fn pasted_lake_athena_and_logs_insights_queries_run_as_written() -> TestResult {
    let (_dir, _logs, data, _) = lake()?;
    let as_datafusion = scalar(
        &data,
        "SELECT count(*) FROM events WHERE \"eventName\" = 'ConsoleLogin' AND \"additionalEventData\"->>'MFAUsed' = 'No'",
    )?;
    // CloudTrail Lake's placeholder table and element_at; Athena's table, names and JSONPath.
    for pasted in [
        "SELECT count(*) FROM $EDS_ID WHERE eventname = 'ConsoleLogin' AND element_at(additionaleventdata, 'MFAUsed') = 'No'",
        "SELECT count(*) FROM cloudtrail_logs WHERE eventname = 'ConsoleLogin' AND json_extract_scalar(additionaleventdata, '$.MFAUsed') = 'No' AND year = '2024'",
    ] {
        assert_eq!(scalar(&data, pasted)?, as_datafusion, "{pasted}");
    }
    let athena = lake_run(
        &data,
        &[
            "query",
            "--dialect",
            "athena",
            "--format",
            "csv",
            "SELECT useridentity.arn, count(*) AS n FROM cloudtrail_logs WHERE eventname = 'ConsoleLogin' GROUP BY 1 ORDER BY 2 DESC, 1",
        ],
    )?;
    assert_eq!(athena.code, 0, "{}", athena.stderr);
    assert!(athena.stdout.starts_with("arn,n\n"), "{}", athena.stdout);
    let insights = lake_run(
        &data,
        &[
            "query",
            "-l",
            "logs-insights",
            "--format",
            "csv",
            "filter eventName = \"ConsoleLogin\" | stats count(*) as n by userIdentity.arn | sort n desc, userIdentity.arn asc",
        ],
    )?;
    assert_eq!(insights.code, 0, "{}", insights.stderr);
    assert_eq!(
        insights.stdout.lines().skip(1).collect::<Vec<_>>(),
        athena.stdout.lines().skip(1).collect::<Vec<_>>()
    );
    // --explain prints what runs, and runs nothing.
    let explain = lake_run(
        &data,
        &[
            "query",
            "--explain",
            "-l",
            "logs-insights",
            "filter errorCode like /Denied/ | stats count(*) by bin(1h)",
        ],
    )?;
    assert_eq!(explain.code, 0, "{}", explain.stderr);
    assert!(
        explain
            .stdout
            .contains("regexp_like(\"errorCode\", 'Denied')"),
        "{}",
        explain.stdout
    );
    assert!(
        explain
            .stdout
            .contains("date_bin(INTERVAL '1 hours', eventTime"),
        "{}",
        explain.stdout
    );
    let explain = lake_run(
        &data,
        &[
            "query",
            "--explain",
            "SELECT useridentity.arn FROM cloudtrail_logs",
        ],
    )?;
    assert_eq!(
        explain.stdout.trim(),
        "SELECT userIdentity.arn AS \"arn\" FROM events"
    );
    Ok(())
}

#[test]
fn mistakes_in_queries_are_told_in_the_users_terms() -> TestResult {
    let (_dir, _logs, data, _) = lake()?;
    let typo = lake_run(&data, &["query", "SELECT eventnmae FROM cloudtrail_logs"])?;
    assert_eq!(typo.code, 2);
    assert!(
        typo.stderr
            .contains("unknown column eventnmae. Did you mean eventName?"),
        "{}",
        typo.stderr
    );
    let placeholder = lake_run(
        &data,
        &[
            "query",
            "SELECT * FROM $EDS_ID WHERE eventTime > '${date_filter}'",
        ],
    )?;
    assert!(
        placeholder.stderr.contains("placeholder ${date_filter}"),
        "{}",
        placeholder.stderr
    );
    let insights = lake_run(
        &data,
        &[
            "query",
            "-l",
            "logs-insights",
            "fields eventName\n| stats cout(*)",
        ],
    )?;
    assert_eq!(insights.code, 2);
    assert!(
        insights.stderr.contains("did you mean `count`"),
        "{}",
        insights.stderr
    );
    assert!(
        insights.stderr.contains("at line 2, column 9"),
        "{}",
        insights.stderr
    );
    for words in [
        "bug in DataFusion",
        "datafusion.",
        "Optimizer rule",
        "Internal error",
    ] {
        for run in [&typo, &placeholder, &insights] {
            assert!(!run.stderr.contains(words), "{}", run.stderr);
        }
    }
    Ok(())
}

#[test]
fn queries_are_saved_listed_run_and_forgotten() -> TestResult {
    let (_dir, _logs, data, _) = lake()?;
    let list = lake_run(&data, &["query", "--list"])?;
    assert_eq!(list.code, 0, "{}", list.stderr);
    for built_in in [
        "console-logins-without-mfa",
        "root-activity",
        "delete-actions",
        "errors-by-principal",
        "activity-per-user",
    ] {
        assert!(
            list.stdout.contains(built_in),
            "{built_in}: {}",
            list.stdout
        );
    }
    let root = lake_run(
        &data,
        &["query", "--run", "root-activity", "--format", "jsonl"],
    )?;
    assert_eq!(root.code, 0, "{}", root.stderr);
    assert!(
        !root.stdout.is_empty(),
        "the generated estate has root activity"
    );

    let save = lake_run(
        &data,
        &[
            "query",
            "--save",
            "logins",
            "--description",
            "console logins",
            "-l",
            "logs-insights",
            "filter eventName = \"ConsoleLogin\" | stats count(*) as n",
        ],
    )?;
    assert_eq!(save.code, 0, "{}", save.stderr);
    let saved = lake_run(&data, &["query", "--run", "logins", "--format", "csv"])?;
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert_eq!(
        saved.stdout.lines().nth(1),
        Some(
            scalar(
                &data,
                "SELECT count(*) FROM events WHERE \"eventName\" = 'ConsoleLogin'"
            )?
            .as_str()
        )
    );
    let list = lake_run(&data, &["query", "--list", "--format", "json"])?;
    let listed: serde_json::Value = serde_json::from_str(&list.stdout)?;
    let mine = listed
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == "logins"))
        .ok_or("the saved query is listed")?;
    assert_eq!(mine["kind"], "saved");
    assert_eq!(mine["language"], "logs-insights");

    // What cannot run is not saved; built-in names are taken; unknown names are told.
    let broken = lake_run(
        &data,
        &["query", "--save", "broken", "SELECT nope FROM events"],
    )?;
    assert_eq!(broken.code, 2);
    assert!(
        broken.stderr.contains("unknown column nope"),
        "{}",
        broken.stderr
    );
    let taken = lake_run(&data, &["query", "--save", "root-activity", "SELECT 1"])?;
    assert_eq!(taken.code, 2);
    assert!(taken.stderr.contains("built-in"), "{}", taken.stderr);
    let missing = lake_run(&data, &["query", "--run", "broken"])?;
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("--list"), "{}", missing.stderr);
    let forget = lake_run(&data, &["query", "--forget", "logins"])?;
    assert_eq!(forget.code, 0, "{}", forget.stderr);
    let gone = lake_run(&data, &["query", "--run", "logins"])?;
    assert_eq!(gone.code, 2);
    Ok(())
}
