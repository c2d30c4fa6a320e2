//! `insights`: computing, listing, explaining and exporting Insights over the lake.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::Utc;
use trailhound_insights::chart;
use trailhound_insights::{
    Computation, History, INSIGHT_RECORDS_SQL, InsightEvent, Settings, insight_events,
    insight_minutes,
};
use trailhound_lake::{Access, Lake};
use trailhound_query::QueryEngine;

use crate::cli::{
    GlobalArgs, InsightTuningArgs, InsightsArgs, InsightsCommand, InsightsShowArgs, OutputFormat,
    ShowFormat,
};
use crate::exit;
use crate::table::{Table, print_table};

pub(crate) fn run(args: InsightsArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    match args.command {
        Some(InsightsCommand::List(list)) => {
            let records = all_records(&global.data_dir())?;
            print_list(&records, list.format)?;
            Ok(exit::OK)
        }
        Some(InsightsCommand::Show(show_args)) => show(&show_args, global),
        Some(InsightsCommand::Export(export)) => {
            let lake = Lake::open(&global.data_dir(), Access::Read)?;
            let insights = lake.catalog().insights()?;
            let files = trailhound_insights::export(&export.dir, &insights)?;
            if !global.quiet {
                eprintln!(
                    "wrote {} Insights records in {} files under {}",
                    insights.len(),
                    files.len(),
                    export.dir.display()
                );
            }
            Ok(exit::OK)
        }
        None => {
            let now = Utc::now();
            let settings = settings(&args.tuning);
            let from = args.since.map(|t| t.resolve(now).timestamp_micros());
            let to = args.until.map(|t| t.resolve(now).timestamp_micros());
            let data_dir = global.data_dir();
            // Reading first gives the "ingest something first" advice for a missing lake
            // instead of creating an empty one.
            drop(Lake::open(&data_dir, Access::Read)?);
            let mut lake = Lake::open(&data_dir, Access::Write)
                .with_context(|| format!("cannot open the lake in {}", data_dir.display()))?;
            let started = std::time::Instant::now();
            let Update {
                computation,
                first_seen,
                new_findings,
            } = update(&mut lake, from, to, &settings, true)?;
            if !global.quiet {
                eprintln!(
                    "{} insights in {} series, {first_seen} first-seen findings ({new_findings} new; `trailhound query \"SELECT * FROM findings WHERE ruleId LIKE 'trailhound-first-seen%'\"`) in {:.2}s",
                    computation.insights.len(),
                    computation.series,
                    started.elapsed().as_secs_f64()
                );
            }
            let records: Vec<Record> = computation
                .insights
                .iter()
                .flat_map(|insight| insight.records.iter())
                .filter_map(|record| Record::parse(&record.to_json(), "trailhound"))
                .collect();
            print_list(&records, args.format)?;
            Ok(exit::OK)
        }
    }
}

/// The settings the tuning flags describe.
pub(crate) fn settings(tuning: &InsightTuningArgs) -> Settings {
    Settings {
        baseline_minutes: tuning.baseline.num_minutes(),
        learning_minutes: tuning.learning.num_minutes(),
        min_count: tuning.min_count,
        min_ratio: tuning.min_ratio,
        significance: tuning.significance,
        write_only: tuning.write_only,
        first_seen_learning_minutes: tuning.first_seen_learning.num_minutes(),
        ..Settings::default()
    }
}

/// Computes the insights starting in `[from_us, to_us)` and records them, replacing what an
/// earlier run recorded for that stretch. Insights left open by an earlier run (their End
/// needed data that had not arrived) are recomputed too. First-seen findings come from the
/// files not yet folded into the catalog's first-seen tables, or with `whole_lake` from
/// every event, rebuilding those tables.
pub(crate) fn update(
    lake: &mut Lake,
    from_us: Option<i64>,
    to_us: Option<i64>,
    settings: &Settings,
    whole_lake: bool,
) -> anyhow::Result<Update> {
    let open = lake.catalog().earliest_open_insight_us()?;
    let from_us = match (from_us, open) {
        (Some(from), Some(open)) => Some(from.min(open)),
        (from, _) => from,
    };
    let engine = QueryEngine::open(lake.root())?;
    let files = lake.catalog().lake_files(None)?;
    let history = History::scan(&engine, lake, &files, settings, from_us, whole_lake)?;
    let computation =
        trailhound_insights::compute(&engine, &files, &history, from_us, to_us, settings)?;
    if computation.to_us > computation.from_us {
        lake.catalog_mut()?.replace_insights(
            computation.from_us,
            computation.to_us,
            &computation.stored(),
        )?;
    }
    let first_seen = trailhound_insights::first_seen(
        lake.catalog_mut()?,
        &history,
        from_us,
        to_us,
        settings.first_seen_learning_minutes,
    )?;
    Ok(Update {
        computation,
        first_seen: first_seen.findings.len(),
        new_findings: first_seen.new_findings,
    })
}

/// What [`update`] did.
pub(crate) struct Update {
    pub(crate) computation: Computation,
    /// First-seen findings in the stretch (recorded before or now).
    pub(crate) first_seen: usize,
    /// Findings recorded for the first time.
    pub(crate) new_findings: u64,
}

type Record = InsightEvent;

/// Every Insights record: computed ones from the catalog, and CloudTrail's own that were
/// ingested from CloudTrail-Insight files.
fn all_records(data_dir: &Path) -> anyhow::Result<Vec<Record>> {
    let engine = QueryEngine::open(data_dir)?;
    Ok(insight_events(&engine.sql(INSIGHT_RECORDS_SQL)?)?)
}

/// An insight's Start and End records, as far as they exist.
type StartAndEnd<'r> = (Option<&'r Record>, Option<&'r Record>);

/// One line per insight (its Start and End together).
fn print_list(records: &[Record], format: OutputFormat) -> anyhow::Result<()> {
    let mut grouped: BTreeMap<(String, String), StartAndEnd<'_>> = BTreeMap::new();
    for record in records {
        let entry = grouped
            .entry((record.shared.clone(), record.origin.to_owned()))
            .or_default();
        if record.state == "Start" {
            entry.0 = Some(record);
        } else {
            entry.1 = Some(record);
        }
    }
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for ((shared, origin), (start, end)) in &grouped {
        let Some(any) = start.or(*end) else { continue };
        let started = start.map_or_else(String::new, |s| s.time.clone());
        let ended = end.map_or_else(|| "(ongoing)".to_owned(), |e| e.time.clone());
        let duration = end.and_then(|e| e.duration).or(any.duration);
        let average = end.map_or(any.average, |e| e.average);
        rows.push((
            started.clone(),
            vec![
                started,
                ended,
                any.key.account.clone(),
                any.key.region.clone(),
                format!(
                    "{}:{}",
                    any.key.event_source.trim_end_matches(".amazonaws.com"),
                    any.key.event_name
                ),
                any.key.insight_type.as_str().to_owned(),
                any.key.error_code.clone().unwrap_or_default(),
                trailhound_insights::record::format_average(any.baseline),
                trailhound_insights::record::format_average(average),
                duration.map_or_else(String::new, |d| d.to_string()),
                any.principal.clone().unwrap_or_default(),
                origin.clone(),
                shared.clone(),
            ],
        ));
    }
    rows.sort();
    let mut table = Table::new(&[
        "start",
        "end",
        "account",
        "region",
        "api",
        "insightType",
        "errorCode",
        "baseline_per_min",
        "insight_per_min",
        "minutes",
        "top_principal",
        "origin",
        "sharedEventID",
    ]);
    for (_, row) in rows {
        table.row(row);
    }
    print_table(&table, format)?;
    Ok(())
}

fn show(args: &InsightsShowArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let data_dir = global.data_dir();
    let records = all_records(&data_dir)?;
    let wanted = args.id.trim();
    if wanted.is_empty() {
        bail!("give an insight's sharedEventID or eventID (see `trailhound insights list`)");
    }
    let mut matching: Vec<&Record> = records
        .iter()
        .filter(|r| r.shared.starts_with(wanted) || r.event_id.starts_with(wanted))
        .collect();
    let shared: std::collections::BTreeSet<&str> =
        matching.iter().map(|r| r.shared.as_str()).collect();
    match shared.len() {
        0 => bail!("no insight has the id {wanted:?}; `trailhound insights list` shows them"),
        1 => {}
        n => bail!("{n} insights have ids starting with {wanted:?}; give more of the id"),
    }
    let shared_id = shared.into_iter().next().unwrap_or_default().to_owned();
    matching = records.iter().filter(|r| r.shared == shared_id).collect();
    matching.sort_by_key(|r| r.state != "Start");
    let Some(first) = matching.first() else {
        bail!("no insight has the id {wanted:?}");
    };
    let (start_minute, end_minute) = insight_minutes(&matching);
    let from = start_minute - args.context.max(0);
    let to = end_minute + args.context.max(0);
    let engine = QueryEngine::open(&data_dir)?;
    let settings = Settings::default();
    let series = trailhound_insights::series_between(&engine, &first.key, from, to, &settings)?;
    let points = chart::points(&series, from, to, (start_minute, end_minute));
    let mut out = std::io::stdout().lock();
    match args.format {
        ShowFormat::Json => {
            let json = serde_json::json!({
                "sharedEventID": shared_id,
                "origin": first.origin,
                "records": matching.iter().map(|r| r.json.clone()).collect::<Vec<_>>(),
                "baselineAverage": first.baseline,
                "series": points.iter().map(|p| serde_json::json!({
                    "time": trailhound_insights::record::format_minute(p.minute),
                    "count": p.count,
                    "insight": p.inside,
                })).collect::<Vec<_>>(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        ShowFormat::Text => {
            let key = &first.key;
            writeln!(out, "{} ({})", key, key.insight_type)?;
            writeln!(out, "sharedEventID {shared_id} ({})", first.origin)?;
            for record in &matching {
                writeln!(
                    out,
                    "  {:<5} {}  eventID {}  {} per minute (baseline {} over {} minutes){}",
                    record.state,
                    record.time,
                    record.event_id,
                    trailhound_insights::record::format_average(record.average),
                    trailhound_insights::record::format_average(record.baseline),
                    record
                        .baseline_duration
                        .map_or_else(|| "?".to_owned(), |d| d.to_string()),
                    record
                        .duration
                        .map_or_else(String::new, |d| format!(", lasted {d} minutes")),
                )?;
            }
            if let Some(principal) = &first.principal {
                writeln!(out, "  mostly {principal}")?;
            }
            writeln!(out)?;
            write!(out, "{}", chart::render(&points, first.baseline, 50))?;
        }
    }
    Ok(exit::OK)
}
