//! `insights`: computing, listing, explaining and exporting Insights over the lake.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::Utc;
use trailhound_insights::record::format_average;
use trailhound_insights::{
    INSIGHT_RECORDS_SQL, InsightEvent, Settings, chart, find_insight, group_insights,
    insight_events,
};
use trailhound_lake::{Access, Lake};
use trailhound_pipeline::{InsightsUpdate, update_insights};
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
            let records = all_records(&global.data_dir()?)?;
            print_list(&records, list.format)?;
            Ok(exit::OK)
        }
        Some(InsightsCommand::Show(show_args)) => show(&show_args, global),
        Some(InsightsCommand::Export(export)) => {
            let lake = Lake::open(&global.data_dir()?, Access::Read)?;
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
            let data_dir = global.data_dir()?;
            // Reading first gives the "ingest something first" advice for a missing lake
            // instead of creating an empty one.
            drop(Lake::open(&data_dir, Access::Read)?);
            let mut lake = Lake::open(&data_dir, Access::Write)
                .with_context(|| format!("cannot open the lake in {}", data_dir.display()))?;
            let started = std::time::Instant::now();
            let InsightsUpdate {
                computation,
                first_seen,
                new_findings,
            } = update_insights(&mut lake, from, to, &settings, true)?;
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

type Record = InsightEvent;

/// Every Insights record: computed ones from the catalog, and CloudTrail's own that were
/// ingested from CloudTrail-Insight files.
fn all_records(data_dir: &Path) -> anyhow::Result<Vec<Record>> {
    let engine = QueryEngine::open(data_dir)?;
    Ok(insight_events(&engine.sql(INSIGHT_RECORDS_SQL)?)?)
}

/// One line per insight (its Start and End together).
fn print_list(records: &[Record], format: OutputFormat) -> anyhow::Result<()> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for insight in group_insights(records) {
        let Some(any) = insight.any() else { continue };
        rows.push(vec![
            insight.start.map_or_else(String::new, |s| s.time.clone()),
            insight
                .end
                .map_or_else(|| "(ongoing)".to_owned(), |e| e.time.clone()),
            any.key.account.clone(),
            any.key.region.clone(),
            format!(
                "{}:{}",
                any.key.event_source.trim_end_matches(".amazonaws.com"),
                any.key.event_name
            ),
            any.key.insight_type.as_str().to_owned(),
            any.key.error_code.clone().unwrap_or_default(),
            format_average(any.baseline),
            format_average(insight.average().unwrap_or(any.average)),
            insight
                .duration()
                .map_or_else(String::new, |d| d.to_string()),
            any.principal.clone().unwrap_or_default(),
            any.origin.to_owned(),
            any.shared.clone(),
        ]);
    }
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
    for row in rows {
        table.row(row);
    }
    print_table(&table, format)?;
    Ok(())
}

fn show(args: &InsightsShowArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let data_dir = global.data_dir()?;
    let records = all_records(&data_dir)?;
    if args.id.trim().is_empty() {
        bail!("give an insight's sharedEventID or eventID (see `trailhound insights list`)");
    }
    let insight = find_insight(&records, &args.id, true)
        .context("`trailhound insights list` shows the insights and their ids")?;
    let Some(first) = insight.any() else {
        bail!("no insight has the id {:?}", args.id);
    };
    let (start_minute, end_minute) = insight.minutes();
    let from = start_minute - args.context.max(0);
    let to = end_minute + args.context.max(0);
    let engine = QueryEngine::open(&data_dir)?;
    let settings = Settings::default();
    let series = trailhound_insights::series_between(&engine, &first.key, from, to, &settings)?;
    let points = chart::points(&series, from, to, (start_minute, end_minute));
    let mut out = std::io::stdout().lock();
    match args.format {
        ShowFormat::Json => {
            let json = insight.explained_json(&points);
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        ShowFormat::Text => write!(out, "{}", insight.explained_text(&points, 50))?,
    }
    Ok(exit::OK)
}
