//! `trailhound demo`: the whole pipeline on generated sample data, for a first look: a small
//! estate with planted attacks is written, read back, ingested with the rules live, and
//! asked a question in SQL, each step said on the writer it is given.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use chrono::{Duration, Utc};
use trailhound_generate::{GeneratorConfig, Scenario, generate};
use trailhound_lake::{Access, Lake};
use trailhound_query::{Format, QueryEngine, write_batches};
use trailhound_source::{InputSpec, ReadMessage, ReadOptions, ReadSummary};

use crate::{IngestSettings, PipelineError, ingest};

/// Runs the tour in `dir` (its `AWSLogs/` and `lake-data/` are replaced) with `events`
/// background events, telling `out` what each step did. With `every_event`, every planted
/// event is listed, not only the first of each attack. Returns whether every planted event
/// was found and nothing had to be skipped.
///
/// # Errors
///
/// When the sample data cannot be written, the lake written or read, or `out` written.
pub fn tour(
    dir: &Path,
    events: u64,
    every_event: bool,
    out: &mut dyn Write,
) -> Result<bool, PipelineError> {
    let logs = dir.join("AWSLogs");
    if logs.exists() {
        std::fs::remove_dir_all(&logs).map_err(PipelineError::io(&logs))?;
    }
    let config = GeneratorConfig {
        dir: dir.to_path_buf(),
        events,
        accounts: 3,
        regions: ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"]
            .map(str::to_owned)
            .to_vec(),
        days: 3,
        start: (Utc::now() - Duration::days(3)).date_naive(),
        seed: 2024,
        scenarios: Scenario::ALL.to_vec(),
        org_id: None,
        compression_level: 1,
        signing: None,
    };
    let started = Instant::now();
    let written = generate(&config)?;
    writeln!(
        out,
        "1. Generated {} CloudTrail events ({} of them planted attacks) for 3 accounts, 4 regions and 3 days:\n   {} gzipped log files under {} ({:.2}s)\n",
        written.events + written.planted,
        written.planted,
        written.files,
        dir.join("AWSLogs").display(),
        started.elapsed().as_secs_f64()
    )?;

    let truth_path = dir.join(".trailhound/ground-truth.jsonl");
    let truth_text =
        std::fs::read_to_string(&truth_path).map_err(PipelineError::io(&truth_path))?;
    let planted: HashMap<String, serde_json::Value> = truth_text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|label| Some((label["eventID"].as_str()?.to_owned(), label)))
        .collect();

    let started = Instant::now();
    let mut summary = ReadSummary::default();
    let mut by_source: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut errors = 0u64;
    let mut found: Vec<(String, String)> = Vec::new();
    trailhound_source::read(
        vec![InputSpec::Path(dir.join("AWSLogs"))],
        &ReadOptions::default(),
        |message| {
            summary.add(&message);
            if let ReadMessage::Batch(batch) = &message {
                for event in batch.events() {
                    let Ok(event) = event else {
                        continue;
                    };
                    *by_source
                        .entry(event.event_source().unwrap_or("?").to_owned())
                        .or_default() += 1;
                    let kind = event.user_identity().and_then(|u| u.kind()).unwrap_or("?");
                    *by_type.entry(kind.to_owned()).or_default() += 1;
                    errors += u64::from(event.error_code().is_some());
                    if let Some(label) = event.event_id().and_then(|id| planted.get(id)) {
                        let who = event.user_identity().and_then(|u| u.arn()).unwrap_or("?");
                        found.push((
                            event.event_time_text().unwrap_or("?").to_owned(),
                            format!(
                                "{:<26} {:<10} {:<30} {:<15} {who}",
                                label["scenario"].as_str().unwrap_or("?"),
                                label["technique"].as_str().unwrap_or("?"),
                                event.event_name().unwrap_or("?"),
                                event.source_ip_address().unwrap_or("?"),
                            ),
                        ));
                    }
                }
            }
            ControlFlow::Continue(())
        },
    );
    let seconds = started.elapsed().as_secs_f64();
    writeln!(
        out,
        "2. Read them back with the same pipeline `trailhound cat` uses: {} events from {} files ({:.1} MiB inflated) in {seconds:.2}s, {:.0} events/s",
        summary.selected,
        summary.objects_read,
        summary.bytes as f64 / (1 << 20) as f64,
        summary.selected as f64 / seconds.max(1e-9)
    )?;
    let mut sources: Vec<(&String, &u64)> = by_source.iter().collect();
    sources.sort_by(|a, b| b.1.cmp(a.1));
    let top: Vec<String> = sources
        .iter()
        .take(6)
        .map(|(s, n)| format!("{} {n}", s.trim_end_matches(".amazonaws.com")))
        .collect();
    writeln!(out, "   busiest services: {}", top.join(", "))?;
    let kinds: Vec<String> = by_type.iter().map(|(k, n)| format!("{k} {n}")).collect();
    writeln!(
        out,
        "   identities: {}; calls that failed: {errors}\n",
        kinds.join(", ")
    )?;

    found.sort();
    writeln!(
        out,
        "3. The planted attacks, found in the logs by their ground truth ({} of {} events):",
        found.len(),
        planted.len()
    )?;
    writeln!(
        out,
        "   {:<20} {:<26} {:<10} {:<30} {:<15} principal",
        "eventTime", "scenario", "technique", "eventName", "sourceIPAddress"
    )?;
    let mut last_scenario = String::new();
    for (time, line) in &found {
        let scenario = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        // Long bursts (recon, bulk secret reads) are shown by their first event.
        if scenario == last_scenario && !every_event {
            continue;
        }
        writeln!(out, "   {time:<20} {line}")?;
        last_scenario = scenario;
    }

    // 4. Into the lake, in a data directory of its own so the user's lake is never touched.
    let data_dir = dir.join("lake-data");
    if data_dir.exists() {
        std::fs::remove_dir_all(&data_dir).map_err(PipelineError::io(&data_dir))?;
    }
    let started = Instant::now();
    let mut lake = Lake::open(&data_dir, Access::Write)?;
    let rules = trailhound_detect::RuleSet::new(trailhound_detect::builtin_rules()?)?;
    let settings = IngestSettings {
        rules: Some(&rules),
        ..IngestSettings::default()
    };
    let report = ingest(
        &mut lake,
        vec![InputSpec::Path(dir.join("AWSLogs"))],
        &ReadOptions::default(),
        &settings,
        |_| {},
    )?;
    drop(lake);
    writeln!(
        out,
        "\n4. Ingested into a partitioned Parquet lake with a catalog: {} events in {} files under {} ({:.2}s); the built-in rules made {} findings",
        report.events_new,
        report.files,
        data_dir.join("lake/events").display(),
        started.elapsed().as_secs_f64(),
        report.findings
    )?;
    let engine = QueryEngine::open(&data_dir)?;
    let sql = "SELECT eventTime, eventName, userIdentity.arn AS principal, sourceIPAddress \
               FROM events WHERE eventName IN ('StopLogging', 'DeleteTrail', 'AttachUserPolicy', \
               'DeleteDetector', 'ScheduleKeyDeletion') ORDER BY eventTime";
    let started = Instant::now();
    let batches = engine.sql(sql)?;
    writeln!(
        out,
        "   and asked in SQL ({:.0} ms): {sql}",
        started.elapsed().as_secs_f64() * 1000.0
    )?;
    write_batches(&batches, Format::Table, out)?;

    let data = data_dir.display();
    writeln!(out, "\nNext:")?;
    writeln!(
        out,
        "  trailhound cat {} --since 1d --region us-east-1 | jq .eventName",
        dir.join("AWSLogs").display()
    )?;
    writeln!(out, "  trailhound --data-dir {data} stats")?;
    writeln!(
        out,
        "  trailhound --data-dir {data} search --event 'Delete*' --user bob"
    )?;
    writeln!(
        out,
        "  trailhound --data-dir {data} query \"SELECT errorCode, count(*) AS n FROM events GROUP BY errorCode ORDER BY n DESC\""
    )?;
    Ok(found.len() == planted.len() && !summary.anything_skipped())
}
