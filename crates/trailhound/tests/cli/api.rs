use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::server::{Client, Server, token};
use crate::support::{TestResult, fixture, lake_run, path_str, scalar};

type Error = Box<dyn std::error::Error>;

/// A lake with findings (every scenario planted), a CloudTrail Insights record, a corrupt
/// source and a recorded integrity check; returns (data dir, logs dir).
pub fn served_lake(dir: &Path) -> Result<(PathBuf, PathBuf), Error> {
    let logs = dir.join("logs");
    let data = dir.join("data");
    let key = crate::integrity::openssl_key(dir, "signing.pem")?;
    crate::integrity::signed_day(&logs, &key, &["--scenarios"])?;
    let corrupt = dir.join("corrupt.json.gz");
    std::fs::write(&corrupt, b"\x1f\x8bnot really gzip")?;
    let ingest = lake_run(
        &data,
        &[
            "ingest",
            "-q",
            &path_str(&logs),
            &fixture("insight.json"),
            &path_str(&corrupt),
        ],
    )?;
    assert_eq!(
        ingest.code, 2,
        "the corrupt file is reported: {}",
        ingest.stderr
    );
    let keys = path_str(&logs.join(".trailhound/public-keys.json"));
    let validate = lake_run(
        &data,
        &["validate", &path_str(&logs), "--public-keys", &keys],
    )?;
    assert_eq!(validate.code, 0, "{}", validate.stderr);
    Ok((data, logs))
}

/// Every route of the API with its path parameters filled in.
fn routes(event_id: &str, finding: i64) -> Vec<(&'static str, String)> {
    vec![
        ("GET", "/api/v1/me".to_owned()),
        ("GET", "/api/v1/events".to_owned()),
        ("GET", format!("/api/v1/events/{event_id}")),
        ("POST", "/api/v1/query".to_owned()),
        ("POST", "/api/v1/sql".to_owned()),
        ("GET", "/api/v1/stats".to_owned()),
        ("GET", "/api/v1/timeline".to_owned()),
        ("GET", "/api/v1/findings".to_owned()),
        ("GET", "/api/v1/findings/summary".to_owned()),
        ("GET", format!("/api/v1/findings/{finding}")),
        ("POST", format!("/api/v1/findings/{finding}/triage")),
        ("GET", "/api/v1/insights".to_owned()),
        ("GET", "/api/v1/insights/sh-1".to_owned()),
        ("GET", "/api/v1/sources".to_owned()),
        ("GET", "/api/v1/status".to_owned()),
        ("GET", "/api/v1/integrity".to_owned()),
        ("GET", "/api/v1/posture".to_owned()),
        (
            "GET",
            "/api/v1/report?since=all&format=json&sections=activity".to_owned(),
        ),
        ("GET", "/api/v1/tokens".to_owned()),
        ("POST", "/api/v1/tokens".to_owned()),
        ("DELETE", "/api/v1/tokens/1".to_owned()),
        ("GET", "/api/v1/openapi.json".to_owned()),
        ("GET", "/metrics".to_owned()),
    ]
}

fn first_finding(client: &Client, viewer: &str) -> Result<Value, Error> {
    let list = client.get("/api/v1/findings?status=open&min_level=high", viewer)?;
    assert_eq!(list.status, 200, "{}", list.body);
    Ok(list.json()["findings"][0].clone())
}

#[test]
fn every_endpoint_answers_and_refuses_by_role() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (data, _logs) = served_lake(dir.path())?;
    let admin = token(&data, "alice", "admin")?;
    let viewer = token(&data, "victor", "viewer")?;
    let server = Server::start(&data, &[])?;
    let client = Client::new(&server.url)?;
    let events: u64 = scalar(&data, "SELECT count(*) FROM events")?.parse()?;
    let event_id = scalar(
        &data,
        "SELECT eventID FROM events WHERE eventName LIKE 'Delete%' LIMIT 1",
    )?;
    let finding = first_finding(&client, &viewer)?;
    let finding_id = finding["id"].as_i64().ok_or("no high finding")?;

    // Anonymous and unknown callers get 401 everywhere but /health and the login page.
    for (method, path) in routes(&event_id, finding_id) {
        for headers in [vec![], vec![("authorization", "Bearer th_not-a-token")]] {
            let answer = client.call(method, &path, &headers, Some("{}".to_owned()))?;
            assert_eq!(answer.status, 401, "{method} {path}: {}", answer.body);
            if path.starts_with("/api/") {
                assert_eq!(answer.json()["error"], "unauthorized", "{method} {path}");
                assert!(answer.header("www-authenticate").is_some());
            }
        }
    }
    let health = client.call("GET", "/health", &[], None)?;
    assert_eq!(
        (health.status, health.json()["lake"].clone()),
        (200, json!(true))
    );
    let login_page = client.call("GET", "/login", &[], None)?;
    assert!(
        login_page.status == 200 && login_page.body.contains("<form"),
        "{}",
        login_page.body
    );
    let index = client.call("GET", "/", &[], None)?;
    assert_eq!(
        (index.status, index.header("location")),
        (303, Some("/login"))
    );
    for name in [
        "/assets/app.js",
        "/assets/charts.js",
        "/assets/login.js",
        "/assets/app.css",
    ] {
        assert_eq!(client.call("GET", name, &[], None)?.status, 200, "{name}");
    }
    let missing = client.get("/nowhere", &viewer)?;
    assert_eq!(missing.refusal(), (404, "not_found".to_owned()));

    // Security headers on every answer.
    let me = client.get("/api/v1/me", &viewer)?;
    assert_eq!(me.json()["role"], "viewer");
    for (name, expected) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(me.header(name), Some(expected), "{name}");
    }
    assert!(
        me.header("content-security-policy")
            .is_some_and(|c| c.contains("script-src 'self'"))
    );

    // Search with `trailhound search`'s filters, newest first, and the original record.
    let deletes = client.get("/api/v1/events?event=Delete*&limit=5", &viewer)?;
    assert_eq!(deletes.status, 200, "{}", deletes.body);
    let deletes = deletes.json();
    let expected: u64 = scalar(
        &data,
        "SELECT count(*) FROM events WHERE eventName ILIKE 'delete%'",
    )?
    .parse()?;
    assert_eq!(deletes["total"], json!(expected));
    let rows = deletes["events"].as_array().ok_or("events")?;
    assert!(!rows.is_empty() && rows.len() <= 5);
    assert!(rows.iter().all(|r| {
        r["eventName"]
            .as_str()
            .is_some_and(|n| n.starts_with("Delete"))
    }));
    let times: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["eventTime"].as_str())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let windowed = client
        .get(
            "/api/v1/events?since=2024-07-01T06:00:00Z&until=2024-07-01T07:00:00Z&limit=1000",
            &viewer,
        )?
        .json();
    let in_window: u64 = scalar(&data, "SELECT count(*) FROM events WHERE eventTime >= TIMESTAMP '2024-07-01T06:00:00Z' AND eventTime < TIMESTAMP '2024-07-01T07:00:00Z'")?.parse()?;
    assert_eq!(windowed["total"], json!(in_window));
    let bad_time = client.get("/api/v1/events?since=yesterday", &viewer)?;
    assert_eq!(bad_time.refusal(), (400, "invalid".to_owned()));
    let bad_limit = client.get("/api/v1/events?limit=ten", &viewer)?;
    assert_eq!(
        bad_limit.refusal(),
        (400, "invalid".to_owned()),
        "{}",
        bad_limit.body
    );
    let original = client.get(&format!("/api/v1/events/{event_id}"), &viewer)?;
    assert_eq!(original.status, 200);
    let stored = lake_run(
        &data,
        &[
            "query",
            "--format",
            "jsonl",
            &format!("SELECT eventJson FROM events WHERE eventID = '{event_id}'"),
        ],
    )?;
    let stored: Value = serde_json::from_str(stored.stdout.trim())?;
    assert_eq!(
        stored["eventJson"].as_str(),
        Some(original.body.as_str()),
        "byte for byte"
    );
    assert_eq!(
        client.get("/api/v1/events/no-such-id", &viewer)?.status,
        404
    );

    // Read-only SQL with row limits and CSV.
    let count = client.sql(&viewer, json!({"sql": "SELECT count(*) AS n FROM events"}))?;
    assert_eq!(count.status, 200, "{}", count.body);
    assert_eq!(count.json()["rows"][0]["n"], json!(events));
    assert_eq!(count.json()["columns"][0]["name"], "n");
    let cut = client
        .sql(
            &viewer,
            json!({"sql": "SELECT eventID FROM events", "limit": 5}),
        )?
        .json();
    assert_eq!(
        (
            cut["rows"].as_array().map(Vec::len),
            cut["truncated"].clone()
        ),
        (Some(5), json!(true))
    );
    let csv = client.sql(
        &viewer,
        json!({"sql": "SELECT eventName, count(*) AS n FROM events GROUP BY 1", "format": "csv"}),
    )?;
    assert!(
        csv.header("content-type")
            .is_some_and(|c| c.starts_with("text/csv"))
    );
    assert!(csv.body.starts_with("eventName,n\n"), "{}", csv.body);
    for refused in [
        "DROP TABLE events",
        "CREATE TABLE copy AS SELECT * FROM events",
        "INSERT INTO events SELECT * FROM events",
        "COPY (SELECT 1) TO '/tmp/trailhound-out.csv'",
        "CREATE EXTERNAL TABLE etc STORED AS CSV LOCATION '/etc/passwd'",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let answer = client.sql(&admin, json!({"sql": refused}))?;
        assert_eq!(
            answer.refusal(),
            (400, "not_read_only".to_owned()),
            "{refused}: {}",
            answer.body
        );
    }
    let typo = client.sql(&viewer, json!({"sql": "SELECT nope FROM events"}))?;
    assert_eq!(typo.refusal(), (400, "invalid_sql".to_owned()));
    let not_json = client.call(
        "POST",
        "/api/v1/query",
        &[("authorization", &format!("Bearer {viewer}"))],
        Some("sql=1".to_owned()),
    )?;
    assert_eq!(not_json.status, 400);

    // EXPLAIN (ANALYZE) answers its plan; a JSON body sent as a form (what `curl -d` does)
    // is read all the same.
    for explain in [
        "EXPLAIN SELECT count(*) FROM events",
        "EXPLAIN ANALYZE SELECT count(*) FROM events",
    ] {
        let plan = client.sql(&viewer, json!({"sql": explain}))?;
        assert_eq!(plan.status, 200, "{explain}: {}", plan.body);
    }
    let curl_style = client.call(
        "POST",
        "/api/v1/query",
        &[
            ("authorization", &format!("Bearer {viewer}")),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        Some(json!({"sql": "SELECT 1 AS one"}).to_string()),
    )?;
    assert_eq!(
        curl_style.json()["rows"][0]["one"],
        1,
        "{}",
        curl_style.body
    );

    // Queries as users paste them: Athena's SQL as written at /api/v1/sql, and Logs Insights.
    let as_athena = client.call(
        "POST",
        "/api/v1/sql",
        &[("authorization", &format!("Bearer {viewer}"))],
        Some(
            json!({"sql": "SELECT eventname, count(*) AS n FROM cloudtrail_logs WHERE year = '2024' AND readonly = 'false' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3"})
                .to_string(),
        ),
    )?;
    assert_eq!(as_athena.status, 200, "{}", as_athena.body);
    let as_datafusion = client.sql(
        &viewer,
        json!({"sql": "SELECT \"eventName\" AS eventname, count(*) AS n FROM events WHERE NOT \"readOnly\" GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3", "dialect": "datafusion"}),
    )?;
    assert_eq!(as_athena.json()["rows"], as_datafusion.json()["rows"]);
    let insights = client.sql(
        &viewer,
        json!({"query": "filter readOnly = 0 | stats count(*) as n by eventName | sort n desc, eventName asc | limit 3", "language": "logs-insights"}),
    )?;
    let counts = |answer: &crate::server::Answer| -> Vec<Value> {
        answer.json()["rows"]
            .as_array()
            .map(|rows| rows.iter().map(|r| r["n"].clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(counts(&insights), counts(&as_athena), "{}", insights.body);
    let misplaced = client.sql(
        &viewer,
        json!({"sql": "fields eventName | fitler x = 1", "language": "logs-insights"}),
    )?;
    assert_eq!(misplaced.status, 400, "{}", misplaced.body);
    assert!(
        misplaced.body.contains("did you mean `filter`"),
        "{}",
        misplaced.body
    );
    let unknown = client.sql(&viewer, json!({"sql": "SELECT 1", "language": "kql"}))?;
    assert_eq!(unknown.refusal().0, 400, "{}", unknown.body);

    // Stats and the timeline agree with SQL.
    let stats = client.get("/api/v1/stats", &viewer)?.json();
    assert_eq!(stats["overview"]["events"], json!(events));
    assert!(
        !stats["top_principals"]
            .as_array()
            .ok_or("principals")?
            .is_empty()
    );
    assert!(!stats["top_apis"].as_array().ok_or("apis")?.is_empty());
    let timeline = client.get("/api/v1/timeline?bucket=hour", &viewer)?.json();
    assert_eq!(timeline["bucket_seconds"], 3600);
    let total: u64 = timeline["series"]
        .as_array()
        .ok_or("series")?
        .iter()
        .filter_map(|p| p["events"].as_u64())
        .sum();
    assert_eq!(total, events);
    assert!(!timeline["findings"].as_array().ok_or("markers")?.is_empty());
    assert!(
        timeline["insights"]
            .as_array()
            .ok_or("insights")?
            .iter()
            .any(|i| i["sharedEventID"] == "sh-1")
    );
    assert_eq!(
        client
            .get("/api/v1/timeline?bucket=fortnight", &viewer)?
            .status,
        400
    );

    // Findings: filters, counts, one with its events.
    let high = client
        .get("/api/v1/findings?min_level=high&limit=1000", &viewer)?
        .json();
    assert!(
        high["findings"]
            .as_array()
            .ok_or("findings")?
            .iter()
            .all(|f| f["level"] == "high" || f["level"] == "critical")
    );
    assert_eq!(
        client.get("/api/v1/findings?status=maybe", &viewer)?.status,
        400
    );
    let summary = client.get("/api/v1/findings/summary", &viewer)?.json();
    let counted: u64 = summary["counts"]
        .as_array()
        .ok_or("counts")?
        .iter()
        .filter_map(|c| c["count"].as_u64())
        .sum();
    let recorded: u64 = scalar(&data, "SELECT count(*) FROM findings")?.parse()?;
    assert_eq!(counted, recorded);
    let one = client
        .get(&format!("/api/v1/findings/{finding_id}"), &viewer)?
        .json();
    let ids: Vec<&Value> = one["finding"]["event_ids"]
        .as_array()
        .ok_or("ids")?
        .iter()
        .collect();
    let shown = one["events"].as_array().ok_or("events")?;
    assert!(!shown.is_empty());
    assert!(shown.iter().all(|e| ids.contains(&&e["eventID"])));
    assert_eq!(client.get("/api/v1/findings/999999", &viewer)?.status, 404);

    // Insights, CloudTrail's own included, with their series.
    let insights = client.get("/api/v1/insights", &viewer)?.json();
    let listed = insights["insights"].as_array().ok_or("insights")?;
    assert!(
        listed
            .iter()
            .any(|i| i["sharedEventID"] == "sh-1" && i["origin"] == "cloudtrail")
    );
    let explained = client
        .get("/api/v1/insights/sh-1?context=30", &viewer)?
        .json();
    assert_eq!(explained["insight"]["eventName"], "RunInstances");
    assert_eq!(explained["series"].as_array().map(Vec::len), Some(61));
    assert_eq!(client.get("/api/v1/insights/nope", &viewer)?.status, 404);

    // Sources, status and integrity.
    let failed = client.get("/api/v1/sources?failed=true", &viewer)?.json();
    assert!(
        failed["sources"]
            .as_array()
            .ok_or("sources")?
            .iter()
            .any(|s| s["location"]
                .as_str()
                .is_some_and(|l| l.ends_with("corrupt.json.gz"))
                && s["error"].is_string())
    );
    let status = client.get("/api/v1/status", &viewer)?.json();
    assert_eq!(status["lake"]["events"], json!(events));
    assert_eq!(status["lake"]["sources_failed"], 1);
    // No posture run yet: the page says how to make one.
    assert_eq!(
        client.get("/api/v1/posture", &viewer)?.json()["run"],
        json!(null)
    );
    let integrity = client.get("/api/v1/integrity", &viewer)?.json();
    let check = &integrity["checks"][0];
    assert_eq!(check["valid"], true);
    assert!(
        check["report"]["counts"]["valid_digests"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{check}"
    );

    // The OpenAPI document and the metrics.
    let document = client.get("/api/v1/openapi.json", &viewer)?.json();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/api/v1/findings/{id}/triage"]["post"].is_object());
    let metrics = client.get("/metrics", &viewer)?;
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain"))
    );
    assert!(
        metrics
            .body
            .contains(&format!("trailhound_lake_events {events}")),
        "{}",
        metrics.body
    );
    assert!(metrics.body.contains(
        "trailhound_http_requests_total{method=\"GET\",route=\"/api/v1/stats\",status=\"200\"}"
    ));
    assert!(metrics.body.contains("trailhound_findings{level=\"high\""));

    // Viewers read; only admins triage and manage tokens.
    let triage = json!({"status": "acknowledged", "note": "looking into it"});
    let path = format!("/api/v1/findings/{finding_id}/triage");
    let refused = client.send("POST", &path, &viewer, triage.clone())?;
    assert_eq!(refused.refusal(), (403, "forbidden".to_owned()));
    for (method, path) in [
        ("GET", "/api/v1/tokens"),
        ("POST", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens/1"),
    ] {
        let answer = client.send(method, path, &viewer, json!({"name": "x", "role": "admin"}))?;
        assert_eq!(answer.status, 403, "{method} {path}");
    }
    let done = client.send("POST", &path, &admin, triage)?;
    assert_eq!(
        (done.status, done.json()["status"].clone()),
        (200, json!("acknowledged")),
        "{}",
        done.body
    );
    let history = client
        .get(&format!("/api/v1/findings/{finding_id}"), &viewer)?
        .json();
    assert_eq!(history["history"][0]["by"], "alice");
    assert_eq!(history["history"][0]["note"], "looking into it");
    assert_eq!(
        scalar(
            &data,
            "SELECT count(*) FROM findings WHERE status = 'acknowledged'"
        )?,
        "1"
    );
    // A role's policy, and with its current policies which permissions it never used.
    let role: String = scalar(
        &data,
        "SELECT userIdentity.sessionContext.sessionIssuer.arn FROM events \
         WHERE userIdentity.type = 'AssumedRole' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
    )?;
    let details = json!({"RoleDetailList": [{"RoleName": "r", "Arn": role,
        "RolePolicyList": [{"PolicyName": "broad", "PolicyDocument": {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "s3:*"], "Resource": "*"}]}}],
        "AttachedManagedPolicies": []}], "Policies": []});
    let answer = client.send(
        "POST",
        "/api/v1/policy",
        &viewer,
        json!({"principal": role, "since": "3650d", "attached": details}),
    )?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = answer.json();
    assert_eq!(answer["policy"]["Version"], "2012-10-17");
    assert!(answer["events"].as_u64() > Some(0));
    let verdicts: std::collections::BTreeSet<String> = answer["granted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["verdict"].as_str().map(str::to_owned))
        .collect();
    assert!(verdicts.contains("unused"), "{verdicts:?}");
    let get = client.get(
        &format!("/api/v1/policy?principal={role}&since=3650d&resources=wildcard"),
        &viewer,
    )?;
    assert_eq!(get.status, 200, "{}", get.body);
    let actions = |policy: &Value| -> std::collections::BTreeSet<String> {
        crate::policy::allowed(policy)
            .into_iter()
            .map(|(action, _)| action)
            .collect()
    };
    let wildcard = get.json()["policy"].clone();
    assert_eq!(actions(&wildcard), actions(&answer["policy"]));
    assert_eq!(wildcard["Statement"][0]["Resource"], "*");
    for wrong in [
        "principal=arn:aws:s3:::bucket",
        "since=90d",
        "principal=all&resources=some",
    ] {
        let refused = client.get(&format!("/api/v1/policy?{wrong}"), &viewer)?;
        assert_eq!(refused.refusal().0, 400, "{wrong}: {}", refused.body);
    }

    // The report carries the triage, with its note; in Markdown as a download.
    let report = client.get(
        "/api/v1/report?since=all&format=json&sections=findings",
        &viewer,
    )?;
    assert_eq!(report.status, 200, "{}", report.body);
    let rows = report.json()["sections"][0]["figures"][1].clone();
    assert_eq!(rows["id"], "findings.list");
    let columns: Vec<Value> = rows["columns"].as_array().cloned().unwrap_or_default();
    let at = |name: &str| columns.iter().position(|c| c == name).unwrap_or(usize::MAX);
    let triaged = rows["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r[at("id")] == json!(finding_id))
        .cloned()
        .unwrap_or_default();
    assert_eq!(triaged[at("status")], "acknowledged", "{rows}");
    assert_eq!(triaged[at("note")], "looking into it");
    assert_eq!(triaged[at("triagedBy")], "alice");
    let markdown = client.get("/api/v1/report?since=all&format=md&sections=root", &viewer)?;
    assert_eq!(markdown.status, 200);
    assert_eq!(
        markdown.header("content-type"),
        Some("text/markdown; charset=utf-8")
    );
    assert!(
        markdown
            .header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment; filename=\"trailhound-report-"))
    );
    assert!(
        markdown.body.starts_with("# CloudTrail report"),
        "{}",
        markdown.body
    );
    for wrong in [
        "format=docx",
        "sections=rooot",
        "since=2024-07-03&until=2024-07-01",
        "since=yesterday",
    ] {
        let answer = client.get(&format!("/api/v1/report?{wrong}"), &viewer)?;
        assert_eq!(answer.refusal().0, 400, "{wrong}: {}", answer.body);
    }
    let bad_state = client.send("POST", &path, &admin, json!({"status": "ignored"}))?;
    assert_eq!(bad_state.status, 400);
    assert_eq!(
        client
            .send(
                "POST",
                "/api/v1/findings/999999/triage",
                &admin,
                json!({"status": "resolved"})
            )?
            .status,
        404
    );

    // Tokens through the API: made, used, revoked.
    let made = client.send(
        "POST",
        "/api/v1/tokens",
        &admin,
        json!({"name": "grafana", "role": "viewer"}),
    )?;
    assert_eq!(made.status, 201, "{}", made.body);
    let secret = made.json()["secret"].as_str().ok_or("secret")?.to_owned();
    let id = made.json()["token"]["id"].as_i64().ok_or("id")?;
    assert_eq!(client.get("/api/v1/me", &secret)?.json()["name"], "grafana");
    let listed = client.get("/api/v1/tokens", &admin)?;
    assert!(!listed.body.contains(&secret), "secrets are never listed");
    assert_eq!(
        client
            .send("DELETE", &format!("/api/v1/tokens/{id}"), &admin, json!({}))?
            .status,
        200
    );
    assert_eq!(client.get("/api/v1/me", &secret)?.status, 401);
    assert_eq!(
        client
            .send(
                "POST",
                "/api/v1/tokens",
                &admin,
                json!({"name": "x", "role": "root"})
            )?
            .status,
        400
    );
    Ok(())
}

fn session_cookie(answer: &crate::server::Answer) -> Result<String, Error> {
    let set = answer.header("set-cookie").ok_or("no cookie")?;
    Ok(set.split(';').next().unwrap_or_default().to_owned())
}

#[test]
fn browser_sessions_need_the_csrf_value_to_change_anything() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (data, _logs) = served_lake(dir.path())?;
    let admin = token(&data, "alice", "admin")?;
    let server = Server::start(&data, &[])?;
    let client = Client::new(&server.url)?;

    let refused = client.call(
        "POST",
        "/login",
        &[],
        Some(json!({"token": "th_guess"}).to_string()),
    )?;
    assert_eq!(refused.status, 401);
    let login = client.call(
        "POST",
        "/login",
        &[],
        Some(json!({"token": admin}).to_string()),
    )?;
    assert_eq!(login.status, 200, "{}", login.body);
    let set = login.header("set-cookie").ok_or("no cookie")?.to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP on loopback: {set}");
    let cookie = session_cookie(&login)?;
    let csrf = login.json()["csrf"].as_str().ok_or("csrf")?.to_owned();

    // Reading with the cookie alone works; the dashboard page is served.
    let me = client.call("GET", "/api/v1/me", &[("cookie", &cookie)], None)?;
    assert_eq!(
        (me.json()["name"].clone(), me.json()["csrf"].clone()),
        (json!("alice"), json!(csrf))
    );
    let index = client.call("GET", "/", &[("cookie", &cookie)], None)?;
    assert!(index.status == 200 && index.body.contains("/assets/app.js"));

    // Changing without the CSRF value, or with a wrong one, is refused.
    let finding = client.get("/api/v1/findings?limit=1", &admin)?.json()["findings"][0]["id"]
        .as_i64()
        .ok_or("finding")?;
    let path = format!("/api/v1/findings/{finding}/triage");
    let body = json!({"status": "resolved"}).to_string();
    for headers in [
        vec![("cookie", cookie.as_str())],
        vec![("cookie", cookie.as_str()), ("x-csrf-token", "forged")],
    ] {
        let answer = client.call("POST", &path, &headers, Some(body.clone()))?;
        assert_eq!(answer.refusal(), (403, "csrf".to_owned()));
    }
    let allowed = client.call(
        "POST",
        &path,
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        Some(body),
    )?;
    assert_eq!(allowed.status, 200, "{}", allowed.body);

    // A page of another site can neither log the browser in nor change anything with its
    // cookie, CSRF value or not.
    let foreign = [("origin", "https://evil.example")];
    let login_elsewhere = client.call(
        "POST",
        "/login",
        &foreign,
        Some(json!({"token": admin}).to_string()),
    )?;
    assert_eq!(login_elsewhere.refusal(), (403, "csrf".to_owned()));
    let change_elsewhere = client.call(
        "POST",
        &path,
        &[("cookie", &cookie), ("x-csrf-token", &csrf), foreign[0]],
        Some(json!({"status": "open"}).to_string()),
    )?;
    assert_eq!(change_elsewhere.refusal(), (403, "csrf".to_owned()));

    // A form login works too; logging out ends the session.
    let form = client.call(
        "POST",
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(format!("token={admin}")),
    )?;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.header("set-cookie").is_some());
    let logout = client.call(
        "POST",
        "/logout",
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        None,
    )?;
    assert_eq!(logout.status, 200);
    assert!(
        logout
            .header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    assert_eq!(
        client
            .call("GET", "/api/v1/me", &[("cookie", &cookie)], None)?
            .status,
        401
    );

    // Revoking the token ends its other sessions at once.
    let again = session_cookie(&client.call(
        "POST",
        "/login",
        &[],
        Some(json!({"token": admin}).to_string()),
    )?)?;
    assert_eq!(
        client
            .call("GET", "/api/v1/me", &[("cookie", &again)], None)?
            .status,
        200
    );
    let out = lake_run(&data, &["token", "revoke", "1"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        client
            .call("GET", "/api/v1/me", &[("cookie", &again)], None)?
            .status,
        401
    );
    Ok(())
}

#[test]
fn heavy_queries_stop_at_the_limits() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (data, _logs) = served_lake(dir.path())?;
    let viewer = token(&data, "victor", "viewer")?;
    let server = Server::start(&data, &["--query-timeout", "1", "--query-memory", "2MiB"])?;
    let client = Client::new(&server.url)?;
    // Long but lean: only the time limit can stop it.
    let slow = client.sql(
        &viewer,
        json!({"sql": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"}),
    )?;
    assert_eq!(
        slow.refusal(),
        (422, "query_timeout".to_owned()),
        "{}",
        slow.body
    );
    // A join that explodes is refused by one limit or the other, whichever it reaches first
    // under the plan the engine picks; never an internal error.
    let join = client.sql(&viewer, json!({"sql": "SELECT count(*) FROM events a, events b, events c WHERE a.eventID <> c.eventID"}),
    )?;
    let (status, code) = join.refusal();
    assert!(
        status == 422 && (code == "query_timeout" || code == "query_memory"),
        "{}",
        join.body
    );
    let hungry = client.sql(
        &viewer,
        json!({"sql": "SELECT array_agg(eventJson) FROM events"}),
    )?;
    assert_eq!(
        hungry.refusal(),
        (422, "query_memory".to_owned()),
        "{}",
        hungry.body
    );
    // The server is still there for the next question.
    let fine = client.sql(&viewer, json!({"sql": "SELECT count(*) AS n FROM events"}))?;
    assert_eq!(fine.status, 200, "{}", fine.body);
    Ok(())
}

#[test]
fn before_the_first_ingest_the_api_says_what_to_do() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("empty");
    let viewer = token(&data, "victor", "viewer")?;
    let server = Server::start(&data, &[])?;
    let client = Client::new(&server.url)?;
    let health = client.call("GET", "/health", &[], None)?.json();
    assert_eq!(health["lake"], false);
    let stats = client.get("/api/v1/stats", &viewer)?;
    assert_eq!(stats.status, 503);
    assert!(
        stats.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("trailhound ingest")),
        "{}",
        stats.body
    );
    // And it answers as soon as a lake is there, without a restart.
    let ingest = lake_run(&data, &["ingest", "-q", &fixture("events.ndjson")])?;
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let stats = client.get("/api/v1/stats", &viewer)?;
    assert_eq!(stats.status, 200, "{}", stats.body);
    assert!(
        stats.json()["overview"]["events"]
            .as_u64()
            .is_some_and(|n| n > 0)
    );
    Ok(())
}

#[test]
fn serves_https_with_the_given_certificate() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()?;
    assert!(status.success(), "openssl req failed");
    let admin = token(&data, "alice", "admin")?;
    let server = Server::start(
        &data,
        &["--tls-cert", &path_str(&cert), "--tls-key", &path_str(&key)],
    )?;
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let root = reqwest::Certificate::from_pem(&std::fs::read(&cert)?)?;
    let client = Client::with(
        &server.url,
        reqwest::Client::builder().add_root_certificate(root),
    )?;
    let health = client.call("GET", "/health", &[], None)?;
    assert_eq!(health.status, 200);
    assert!(health.header("strict-transport-security").is_some());
    let login = client.call(
        "POST",
        "/login",
        &[],
        Some(json!({"token": admin}).to_string()),
    )?;
    assert!(
        login
            .header("set-cookie")
            .is_some_and(|c| c.contains("Secure")),
        "{:?}",
        login.headers
    );
    // A client that does not trust the certificate gets nothing.
    let stranger = Client::new(&server.url)?;
    assert!(stranger.call("GET", "/health", &[], None).is_err());

    // Files that are not a certificate and key stop serve with the reason.
    let out = lake_run(
        &data,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &path_str(&key),
            "--tls-key",
            &path_str(&cert),
        ],
    )?;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("TLS"), "{}", out.stderr);
    Ok(())
}

#[test]
fn tokens_are_managed_on_the_command_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let secret = token(&data, "ci", "admin")?;
    assert!(secret.starts_with("th_"));
    let listed = lake_run(&data, &["token", "list", "--format", "jsonl"])?;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(
        listed.stdout.contains("\"name\":\"ci\"") && listed.stdout.contains("\"role\":\"admin\"")
    );
    assert!(!listed.stdout.contains(&secret));
    let stored = std::fs::read(data.join("auth.sqlite"))?;
    assert!(
        !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "only the hash is stored"
    );
    let unnamed = lake_run(&data, &["token", "create", "--name", " "])?;
    assert_eq!(unnamed.code, 2, "{}", unnamed.stderr);
    let revoked = lake_run(&data, &["token", "revoke", "1"])?;
    assert_eq!(revoked.code, 0, "{}", revoked.stderr);
    let twice = lake_run(&data, &["token", "revoke", "1"])?;
    assert_eq!(twice.code, 2, "{}", twice.stderr);
    assert!(twice.stderr.contains("no live token 1"));
    Ok(())
}
