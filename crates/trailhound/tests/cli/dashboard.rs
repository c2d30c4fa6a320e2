use std::path::{Path, PathBuf};
use std::process::Command;

use crate::server::{Server, token};
use crate::support::{TestResult, scalar};

/// Where the dashboard's screenshots are kept after a run (a test artifact).
fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots")
}

#[test]
fn the_dashboard_works_in_a_real_browser() -> TestResult {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    assert!(
        e2e.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run scripts/setup-test-env (`npm ci --prefix {}` and Debian's chromium)",
        e2e.display()
    );
    let dir = tempfile::tempdir()?;
    let (data, _logs) = crate::api::served_lake(dir.path())?;
    // A posture run for the Posture page, reconstructed from the estate's own events.
    let posture =
        crate::support::lake_run(&data, &["posture", "--from-lake", "--fail-on", "never"])?;
    assert_eq!(posture.code, 0, "{}", posture.stderr);
    let admin = token(&data, "alice", "admin")?;
    let server = Server::start(&data, &[])?;
    let shots = screenshots();
    let _ = std::fs::remove_dir_all(&shots);
    let out = Command::new("node")
        .arg(e2e.join("dashboard.mjs"))
        .env("TRAILHOUND_URL", &server.url)
        .env("TRAILHOUND_TOKEN", &admin)
        .env("SCREENSHOTS", &shots)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser run failed (screenshots in {}):\n{stdout}\n{stderr}\nserver:\n{}",
        shots.display(),
        server.log()
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim())?;
    assert_eq!(report["sqlRows"], 5, "{report}");
    // The Policy page: a document and the actions behind it.
    assert_eq!(report["policyVersion"], "2012-10-17", "{report}");
    assert!(report["policyStatements"].as_u64() >= Some(1), "{report}");
    assert!(report["policyActions"].as_u64() >= Some(3), "{report}");
    // The Report button: the report of the overview's range, under its own strict policy.
    assert_eq!(report["reportHeading"], "CloudTrail report", "{report}");
    assert_eq!(
        report["reportSections"], 11,
        "ten sections and the appendix: {report}"
    );
    assert!(report["reportCharts"].as_u64() >= Some(3), "{report}");
    assert!(
        report["reportPolicy"]
            .as_str()
            .is_some_and(|p| p.starts_with("default-src 'none'")),
        "{report}"
    );
    assert_eq!(report["principalLabelsDistinct"], true, "{report}");
    // The Trace view from the event opened: its origin, the session asked about, linked to
    // its events.
    assert_eq!(report["traceOrigins"], 1, "{report}");
    assert!(report["traceNodes"].as_u64() >= Some(1), "{report}");
    assert_eq!(report["traceTraced"], 1, "{report}");
    assert!(
        report["traceDetail"]
            .as_str()
            .is_some_and(|d| d.starts_with("Origin: ")),
        "{report}"
    );
    assert_eq!(report["traceLinked"], true, "{report}");
    // The generated estate's CloudTrail calls, asked in Athena's SQL and in Logs Insights.
    assert!(report["athenaRows"].as_u64() >= Some(1), "{report}");
    assert_eq!(report["athenaRows"], report["insightsRows"], "{report}");
    assert_eq!(report["csv"], "trailhound-query.csv");
    // The account-wide checks at least: CT-01, DE-01, DE-02, IN-01 and the 15 alarms.
    assert!(report["postureRows"].as_u64() >= Some(19), "{report}");
    for name in [
        "overview", "report", "policy", "search", "trace", "sql", "finding", "insight", "posture",
        "status",
    ] {
        let png = std::fs::read(shots.join(format!("{name}.png")))?;
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{name}.png"
        );
    }
    // What the browser did is in the lake: the finding it acknowledged.
    let triaged = report["triaged"].as_str().ok_or("no finding triaged")?;
    let state = scalar(
        &data,
        "SELECT count(*) FROM findings WHERE status = 'acknowledged'",
    )?;
    assert_eq!(state, "1", "finding {triaged}");
    Ok(())
}
