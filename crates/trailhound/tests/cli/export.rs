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
