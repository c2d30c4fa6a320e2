//! A data folder written by an earlier release opens under this one, is brought up to date,
//! and reads back whole through the typed catalog.
//!
//! `fixtures/data-c80bb22` was made by the release at commit c80bb22: `generate` (464 events
//! with planted attacks, signed digests, one corrupt file), `watch --once` over a folder
//! with a JSON-lines sink (sources, lake files, findings, Insights, first-seen memory, a
//! checkpoint, the alert outbox), `validate` (an integrity check) and one finding
//! acknowledged through the API (triage).

use std::path::Path;

use trailhound_lake::{
    Access, AlertState, Catalog, FindingQuery, FindingStatus, Lake, SourceOutcome, for_each_record,
};
use trailhound_source::Selection;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The schema version, read without going through [`Catalog::open`] (which upgrades).
fn schema_version(path: &Path) -> Result<i64, Box<dyn std::error::Error>> {
    let connection =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(connection.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

#[test]
fn a_data_folder_of_release_c80bb22_opens_upgrades_and_reads_back_whole() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data-c80bb22"),
        &data,
    )?;
    assert_eq!(schema_version(&data.join("catalog.sqlite"))?, 2);

    let mut lake = Lake::open(&data, Access::Write)?;
    assert_eq!(
        schema_version(&data.join("catalog.sqlite"))?,
        Catalog::SCHEMA_VERSION
    );
    let catalog = lake.catalog();

    let sources = catalog.sources(false)?;
    let count = |outcome| sources.iter().filter(|s| s.outcome == outcome).count();
    assert_eq!(
        (
            count(SourceOutcome::Read),
            count(SourceOutcome::Digest),
            count(SourceOutcome::Failed)
        ),
        (302, 300, 1)
    );
    let failed = catalog.sources(true)?;
    assert!(
        failed[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("not JSON")),
        "{failed:?}"
    );

    let files = catalog.lake_files(None)?;
    assert_eq!(files.len(), 4);
    assert_eq!(files.iter().map(|f| f.rows).sum::<u64>(), 464);
    assert!(catalog.first_seen_pending()?.is_empty());
    let listing = lake.listing();
    let mut records = 0;
    for file in lake.event_files(&Selection::default())? {
        for_each_record(&listing, &file, |_| records += 1)?;
    }
    assert_eq!(records, 464);

    let (total, acknowledged) = catalog.find_findings(&FindingQuery {
        status: Some(FindingStatus::Acknowledged),
        limit: 10,
        ..FindingQuery::default()
    })?;
    assert_eq!(total, 1);
    let history = catalog.triage_history(acknowledged[0].id)?;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status, FindingStatus::Acknowledged);
    assert_eq!(history[0].note.as_deref(), Some("known deploy"));
    assert_eq!(catalog.findings()?.len(), 169);

    assert_eq!(catalog.insights()?.len(), 42);
    assert_eq!(catalog.checkpoints()?.len(), 1);
    let alerts = catalog.alerts(100)?;
    assert_eq!(alerts.len(), 6);
    assert_eq!(
        alerts
            .iter()
            .filter(|a| a.state == AlertState::Sent)
            .count(),
        3
    );
    assert_eq!(catalog.integrity_checks(10)?.len(), 1);

    // And it takes new work: a finding triaged again, a checkpoint moved.
    assert!(catalog.triage_finding(1, FindingStatus::Resolved, None, "test")?);
    lake.catalog_mut()?
        .advance_checkpoint("s3://bucket/AWSLogs/", Some("k"), 1)?;
    drop(lake);
    // A second open finds nothing to upgrade.
    let lake = Lake::open(&data, Access::Read)?;
    assert_eq!(lake.catalog().checkpoints()?.len(), 2);
    Ok(())
}
