//! `query`, `search`, `stats`, `show` and `ddl`: reading the lake.

use std::io::{Read, Write};
use std::ops::ControlFlow;

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use trailhound_event::{CloudTrailEvent, layout};
use trailhound_lake::{Access, Lake};
use trailhound_query::{
    ErrorFilter, Format, Pattern, QueryEngine, QueryError, QuickFilter, stats_queries,
    write_batches,
};
use trailhound_source::ReadMessage;

use crate::cli::{
    DdlArgs, DdlEngine, GlobalArgs, OutputFormat, QueryArgs, SearchArgs, ShowArgs, StatsArgs,
    input_specs,
};
use crate::commands::cat::selection;
use crate::exit;
use crate::output::{EventWriter, WriteOutcome};
use crate::read_report::ReadReporter;
use crate::table::{Table, print_table};

fn format(format: OutputFormat) -> Format {
    match format {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Jsonl => Format::Jsonl,
        OutputFormat::Csv => Format::Csv,
    }
}

fn engine(global: &GlobalArgs) -> anyhow::Result<QueryEngine> {
    let dir = global.data_dir();
    QueryEngine::open(&dir).with_context(|| format!("cannot open the lake in {}", dir.display()))
}

/// Query errors the user can fix are usage errors (exit 2) with the engine's own words.
fn run_sql(engine: &QueryEngine, sql: &str) -> anyhow::Result<Vec<RecordBatch>> {
    engine.sql(sql).map_err(|err| match err {
        QueryError::NotReadOnly(_) | QueryError::Plan(_) => anyhow::anyhow!("{err}"),
        other => anyhow::Error::new(other),
    })
}

pub(crate) fn query(args: QueryArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let sql = if args.sql == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading SQL from stdin")?;
        text
    } else {
        args.sql
    };
    let engine = engine(global)?;
    let started = std::time::Instant::now();
    let batches = run_sql(&engine, &sql)?;
    let elapsed = started.elapsed();
    write_batches(&batches, format(args.format), &mut std::io::stdout().lock())?;
    if args.timing {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        eprintln!("{rows} rows in {:.1} ms", elapsed.as_secs_f64() * 1000.0);
    }
    Ok(exit::OK)
}

fn quick_filter(args: &SearchArgs) -> anyhow::Result<QuickFilter> {
    let bounds = selection(&args.selection)?;
    Ok(QuickFilter {
        event: args.event.as_deref().map(Pattern::new),
        user: args.user.as_deref().map(Pattern::contains),
        source: args.source.as_deref().map(Pattern::contains),
        ip: args.ip.as_deref().map(Pattern::new),
        error: args.error.as_deref().map(ErrorFilter::parse),
        regions: bounds.regions,
        accounts: bounds.accounts,
        since: bounds.since,
        until: bounds.until,
    })
}

pub(crate) fn search(args: SearchArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let filter = quick_filter(&args)?;
    let limit = (args.limit > 0).then_some(args.limit);
    if !args.paths.is_empty() {
        return search_files(&args, &filter, limit, global);
    }
    let engine = engine(global)?;
    match args.format {
        OutputFormat::Jsonl | OutputFormat::Json => {
            let sql = format!(
                "SELECT eventJson FROM events WHERE {} ORDER BY eventTime{}",
                filter.where_clause(),
                limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default()
            );
            let batches = run_sql(&engine, &sql)?;
            let records: Vec<String> = batches
                .iter()
                .flat_map(|b| {
                    let column = b.column(0).as_string::<i32>();
                    (0..column.len()).map(move |i| column.value(i).to_owned())
                })
                .collect();
            print_records(
                records.iter().map(String::as_str),
                args.format == OutputFormat::Json,
            )?;
        }
        other => {
            let batches = run_sql(&engine, &filter.search_sql(limit))?;
            write_batches(&batches, format(other), &mut std::io::stdout().lock())?;
        }
    }
    Ok(exit::OK)
}

/// Prints records as NDJSON, or as one JSON array.
fn print_records<'r>(records: impl Iterator<Item = &'r str>, array: bool) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if array {
        write!(out, "[")?;
        let mut compact = Vec::new();
        for (index, record) in records.enumerate() {
            compact.clear();
            layout::write_compact(record, &mut compact);
            if index > 0 {
                write!(out, ",")?;
            }
            out.write_all(&compact)?;
        }
        writeln!(out, "]")?;
        out.flush()?;
    } else {
        let mut writer = EventWriter::new(out, false);
        for record in records {
            if writer.write(record)? == WriteOutcome::Closed {
                break;
            }
        }
        writer.flush()?;
    }
    Ok(())
}

fn search_files(
    args: &SearchArgs,
    filter: &QuickFilter,
    limit: Option<usize>,
    global: &GlobalArgs,
) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    let inputs = input_specs(&args.paths)?;
    // Key pruning still applies; the exact test is the filter's.
    let options = args.read.options(selection(&args.selection)?);
    let mut reporter = ReadReporter::new(global.quiet);
    let mut found: Vec<String> = Vec::new();
    trailhound_source::read(inputs, &options, |message| {
        reporter.observe(&message);
        if let ReadMessage::Batch(batch) = &message {
            for (record, event) in batch.records().zip(batch.events()) {
                if event.is_ok_and(|e| filter.matches(&e)) {
                    found.push(record.to_owned());
                    if limit.is_some_and(|n| found.len() >= n) {
                        return ControlFlow::Break(());
                    }
                }
            }
        }
        ControlFlow::Continue(())
    });
    let summary = reporter.finish(started.elapsed());
    match args.format {
        OutputFormat::Json | OutputFormat::Jsonl => print_records(
            found.iter().map(String::as_str),
            args.format == OutputFormat::Json,
        )?,
        table_or_csv => {
            let mut table = Table::new(&[
                "eventTime",
                "eventName",
                "eventSource",
                "principal",
                "sourceIPAddress",
                "errorCode",
                "awsRegion",
                "recipientAccountId",
                "eventID",
            ]);
            for record in &found {
                let Ok(event) = CloudTrailEvent::parse(record) else {
                    continue;
                };
                let text = |v: Option<&str>| v.unwrap_or_default().to_owned();
                table.row(vec![
                    text(event.event_time_text()),
                    text(event.event_name()),
                    text(event.event_source()),
                    text(event.user_identity().and_then(|u| u.principal())),
                    text(event.source_ip_address()),
                    text(event.error_code()),
                    text(event.aws_region()),
                    text(event.recipient_account_id()),
                    text(event.event_id()),
                ]);
            }
            print_table(&table, table_or_csv)?;
        }
    }
    Ok(if summary.anything_skipped() {
        exit::INPUT_ERROR
    } else {
        exit::OK
    })
}

pub(crate) fn stats(args: StatsArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let engine = engine(global)?;
    let bounds = selection(&args.selection)?;
    let filter = QuickFilter {
        regions: bounds.regions,
        accounts: bounds.accounts,
        since: bounds.since,
        until: bounds.until,
        ..QuickFilter::default()
    };
    let mut out = std::io::stdout().lock();
    for section in stats_queries(&filter, args.top) {
        let batches = run_sql(&engine, &section.sql)?;
        writeln!(out, "{}", section.title)?;
        write_batches(&batches, Format::Table, &mut out)?;
    }
    Ok(exit::OK)
}

pub(crate) fn show(args: ShowArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let engine = engine(global)?;
    let sql = format!(
        "SELECT eventJson FROM events WHERE eventID = '{}' LIMIT 1",
        args.event_id.replace('\'', "''")
    );
    let batches = run_sql(&engine, &sql)?;
    let Some(record) = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| b.column(0).as_string::<i32>().value(0).to_owned())
    else {
        eprintln!(
            "error: no event with eventID {:?} in the lake",
            args.event_id
        );
        return Ok(1);
    };
    let mut text = Vec::new();
    if args.compact {
        layout::write_compact(&record, &mut text);
    } else {
        layout::write_pretty(&record, &mut text);
    }
    text.push(b'\n');
    std::io::stdout().lock().write_all(&text)?;
    Ok(exit::OK)
}

pub(crate) fn ddl(args: DdlArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let location = match args.location {
        Some(location) => location,
        None => {
            let lake = Lake::open(&global.data_dir(), Access::Read)?;
            let dir = lake.events_dir();
            std::fs::canonicalize(&dir)
                .unwrap_or(dir)
                .display()
                .to_string()
        }
    };
    let engine = match args.engine {
        DdlEngine::Athena => trailhound_query::Engine::Athena,
        DdlEngine::Trino => trailhound_query::Engine::Trino,
        DdlEngine::Spark => trailhound_query::Engine::Spark,
        DdlEngine::Duckdb => trailhound_query::Engine::DuckDb,
    };
    print!("{}", trailhound_query::ddl(engine, &args.table, &location));
    Ok(exit::OK)
}
