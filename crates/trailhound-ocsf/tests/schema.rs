//! Every event Trailhound writes as OCSF validates against the OCSF 1.1.0 JSON Schema of API
//! Activity (`tests/fixtures/`, derived from the public schema by `scripts/ocsf-json-schema`),
//! checked by an independent validator (Python's `jsonschema`), and the Parquet files are laid
//! out as Security Lake expects and read back by another reader (DuckDB).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use trailhound_ocsf::{SecurityLakeWriter, api_activity};

type Error = Box<dyn std::error::Error>;

/// Records of every kind the generator writes (all services, identities, errors, the planted
/// attacks), and the project's CloudTrail fixtures.
fn records(dir: &Path) -> Result<Vec<String>, Error> {
    let config = trailhound_generate::GeneratorConfig {
        dir: dir.to_path_buf(),
        events: 4000,
        accounts: 2,
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        days: 2,
        start: chrono::NaiveDate::from_ymd_opt(2024, 7, 1).ok_or("date")?,
        seed: 11,
        scenarios: trailhound_generate::Scenario::ALL.to_vec(),
        org_id: None,
        compression_level: 1,
        signing: None,
    };
    trailhound_generate::generate(&config)?;
    let mut records = Vec::new();
    let mut files = vec![
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../trailhound/tests/fixtures/log-file.json"),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../trailhound/tests/fixtures/console-sign-in.json"),
    ];
    collect_files(&dir.join("AWSLogs"), &mut files)?;
    for file in files {
        let mut text = String::new();
        let raw = std::fs::read(&file)?;
        if file.extension().is_some_and(|e| e == "gz") {
            flate2::read::GzDecoder::new(&raw[..]).read_to_string(&mut text)?;
        } else {
            text = String::from_utf8(raw)?;
        }
        let document: Value = serde_json::from_str(&text)?;
        let listed = match document.get("Records") {
            Some(Value::Array(listed)) => listed.clone(),
            _ => vec![document],
        };
        records.extend(listed.iter().map(Value::to_string));
    }
    Ok(records)
}

fn collect_files(dir: &Path, into: &mut Vec<PathBuf>) -> Result<(), Error> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, into)?;
        } else if path.to_string_lossy().ends_with(".json.gz") {
            into.push(path);
        }
    }
    Ok(())
}

#[test]
fn every_event_validates_against_the_ocsf_schema_and_lands_where_security_lake_looks()
-> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let records = records(&dir.path().join("logs"))?;
    assert!(records.len() > 4000, "{} records", records.len());
    let events: Vec<Value> = records
        .iter()
        .map(|raw| api_activity(raw))
        .collect::<Result<_, _>>()?;

    // Every activity occurs, Other included (ConsoleLogin).
    for id in [1, 2, 3, 4, 99] {
        assert!(
            events.iter().any(|e| e["activity_id"] == id),
            "no event with activity_id {id}"
        );
    }

    let lines = dir.path().join("events.jsonl");
    std::fs::write(
        &lines,
        events
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    )?;
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ocsf-1.1.0-api_activity.schema.json");
    let script = r#"
import json, sys
from jsonschema import Draft202012Validator
validator = Draft202012Validator(json.load(open(sys.argv[1])))
checked = failed = 0
for line in open(sys.argv[2]):
    checked += 1
    errors = list(validator.iter_errors(json.loads(line)))
    if errors:
        failed += 1
        if failed <= 5:
            print(f"{errors[0].json_path}: {errors[0].message}", file=sys.stderr)
print(checked, failed)
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&schema)
        .arg(&lines)
        .output()
        .map_err(|err| {
            format!("python3 with jsonschema is needed (scripts/setup-test-env): {err}")
        })?;
    assert!(
        out.status.success(),
        "jsonschema is needed (scripts/setup-test-env, or pip install jsonschema): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{} 0", events.len()),
        "events failing the schema: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Parquet in the custom source's layout, read back by DuckDB.
    let root = dir.path().join("security-lake");
    let mut writer = SecurityLakeWriter::new(&root, "trailhound-cloudtrail");
    for event in events.iter().cloned() {
        writer.push(event)?;
    }
    let (files, written) = writer.finish()?;
    assert_eq!(written, events.len() as u64);
    for file in &files {
        let relative = file.strip_prefix(&root)?.to_string_lossy().into_owned();
        let parts: Vec<&str> = relative.split('/').collect();
        assert_eq!(parts[..2], ["ext", "trailhound-cloudtrail"], "{relative}");
        assert!(parts[2].starts_with("region="), "{relative}");
        assert!(parts[3].starts_with("accountId="), "{relative}");
        let day = parts[4].strip_prefix("eventDay=").unwrap_or_default();
        assert!(
            day.len() == 8 && day.starts_with("20") && day.bytes().all(|b| b.is_ascii_digit()),
            "{relative}"
        );
    }
    let read = Command::new("python3")
        .args([
            "-c",
            "import duckdb,sys; print(duckdb.sql(f\"SELECT count(*), count(DISTINCT metadata.uid), min(class_uid), max(class_uid) FROM read_parquet('{sys.argv[1]}/**/*.parquet', hive_partitioning = true)\").fetchall()[0])",
        ])
        .arg(&root)
        .output()?;
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let distinct = records
        .iter()
        .filter_map(|r| serde_json::from_str::<Value>(r).ok())
        .filter_map(|r| r["eventID"].as_str().map(str::to_owned))
        .collect::<std::collections::HashSet<_>>()
        .len();
    assert_eq!(
        String::from_utf8_lossy(&read.stdout).trim(),
        format!("({}, {distinct}, 6003, 6003)", events.len())
    );
    Ok(())
}
