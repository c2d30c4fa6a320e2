//! The CIS monitoring controls as SQL select exactly the events their CloudWatch metric
//! filters match: over every example the built-in pack ships with (matching and not) and a
//! generated estate with every attack scenario planted, the SQL translation and the rule
//! engine's own matcher agree event for event.

use std::collections::BTreeSet;
use std::io::Write;

use arrow::array::{Array, AsArray};
use trailhound_event::RawEvent;
use trailhound_lake::{Access, Lake};
use trailhound_pipeline::{IngestSettings, ingest};
use trailhound_query::{QueryEngine, field_sql};
use trailhound_source::{InputSpec, ReadOptions};

type Outcome = Result<(), Box<dyn std::error::Error>>;

/// Every example of every CIS control's rule, made a complete record with a unique id.
fn examples(
    rules: &[trailhound_detect::Rule],
) -> Result<Vec<serde_json::Value>, serde_json::Error> {
    let mut records = Vec::new();
    for (_, _, _, rule) in trailhound_detect::cis_monitoring_rules(rules) {
        for case in rule.tests.matching.iter().chain(&rule.tests.not_matching) {
            for text in case {
                let mut record: serde_json::Value = serde_json::from_str(text)?;
                let n = records.len();
                record["eventID"] = format!("example-{n:04}").into();
                record["recipientAccountId"] = "111122223333".into();
                if record.get("awsRegion").is_none() {
                    record["awsRegion"] = "us-east-1".into();
                }
                if record.get("eventTime").is_none() {
                    record["eventTime"] = "2024-07-01T12:00:00Z".into();
                }
                records.push(record);
            }
        }
    }
    Ok(records)
}

fn strings(batches: &[arrow::array::RecordBatch], column: usize) -> Vec<Option<String>> {
    let mut values = Vec::new();
    for batch in batches {
        let array = batch.column(column).as_string::<i32>();
        for row in 0..array.len() {
            values.push((!array.is_null(row)).then(|| array.value(row).to_owned()));
        }
    }
    values
}

#[test]
fn every_cis_control_selects_in_sql_what_its_metric_filter_matches() -> Outcome {
    let rules = trailhound_detect::builtin_rules()?;
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    trailhound_generate::generate(&trailhound_generate::GeneratorConfig {
        dir: logs.clone(),
        events: 4_000,
        accounts: 2,
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        days: 2,
        start: chrono::NaiveDate::from_ymd_opt(2024, 7, 1).ok_or("date")?,
        seed: 7,
        scenarios: trailhound_generate::Scenario::ALL.to_vec(),
        org_id: None,
        compression_level: 1,
        signing: None,
    })?;
    let examples_file = dir.path().join("examples.json");
    let mut file = std::fs::File::create(&examples_file)?;
    write!(
        file,
        "{}",
        serde_json::json!({ "Records": examples(&rules)? })
    )?;
    drop(file);
    let data = dir.path().join("data");
    let mut lake = Lake::open(&data, Access::Write)?;
    for input in [&logs, &examples_file] {
        ingest(
            &mut lake,
            vec![InputSpec::parse(&input.display().to_string())?],
            &ReadOptions::default(),
            &IngestSettings::default(),
            |_| {},
        )?;
    }
    drop(lake);
    let engine = QueryEngine::open(&data)?;
    let all = engine.sql("SELECT eventID, eventJson FROM events")?;
    let (ids, records) = (strings(&all, 0), strings(&all, 1));
    assert!(
        ids.len() > 4_000,
        "the estate and the examples are in the lake"
    );
    let controls = trailhound_detect::cis_monitoring_rules(&rules);
    assert_eq!(controls.len(), 15, "CIS 4.1-4.15");
    for (number, title, filter, _) in controls {
        let condition = filter
            .to_sql(&|path| Some(field_sql(path)))
            .ok_or_else(|| format!("CIS {number}: no SQL for {}", filter.text()))?;
        let by_sql: BTreeSet<String> = strings(
            &engine.sql(&format!("SELECT eventID FROM events WHERE {condition}"))?,
            0,
        )
        .into_iter()
        .flatten()
        .collect();
        let by_filter: BTreeSet<String> = ids
            .iter()
            .zip(&records)
            .filter(|(_, record)| {
                record
                    .as_deref()
                    .is_some_and(|r| filter.is_match(&RawEvent::new(r)))
            })
            .filter_map(|(id, _)| id.clone())
            .collect();
        assert!(
            by_filter.iter().any(|id| id.starts_with("example-")),
            "CIS {number} ({title}): its examples match"
        );
        assert_eq!(
            by_sql,
            by_filter,
            "CIS {number} ({title}): SQL `{condition}` and the metric filter `{}` disagree",
            filter.text()
        );
    }
    Ok(())
}
