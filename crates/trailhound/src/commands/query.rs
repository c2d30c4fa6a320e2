//! `query`, `search`, `stats`, `show` and `ddl`: reading the lake.

use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use trailhound_event::{RecordLayout, RecordWriter, Written, layout};
use trailhound_lake::{Access, Lake};
use trailhound_query::{
    ErrorFilter, Format, LISTING_COLUMNS, Pattern, QueryEngine, QueryError, QuickFilter,
    ResultWriter, listing_row, stats_queries, write_batches,
};

use crate::cli::{
    DdlArgs, DdlEngine, GlobalArgs, OutputFormat, QueryArgs, SearchArgs, ShowArgs, StatsArgs,
    input_specs,
};
use crate::commands::cat::selection;
use crate::exit;
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
    let dir = global.data_dir()?;
    QueryEngine::open(&dir).with_context(|| format!("cannot open the lake in {}", dir.display()))
}

/// Query errors the user can fix are usage errors (exit 2) with the engine's own words.
fn user_facing(err: QueryError) -> anyhow::Error {
    match err {
        QueryError::NotReadOnly(_) | QueryError::Plan(_) => anyhow::anyhow!("{err}"),
        other => anyhow::Error::new(other),
    }
}

fn run_sql(engine: &QueryEngine, sql: &str) -> anyhow::Result<Vec<RecordBatch>> {
    engine.sql(sql).map_err(user_facing)
}

/// Runs `sql` and prints its result in `format` as the engine makes it, so that an export
/// holds one batch at a time. Returns the rows printed and the time the engine took (the
/// printing left out).
fn print_sql(engine: &QueryEngine, sql: &str, format: Format) -> anyhow::Result<(usize, Duration)> {
    let started = Instant::now();
    let mut stdout = std::io::stdout().lock();
    let mut writer = ResultWriter::new(format, &mut stdout);
    let (mut rows, mut printing) = (0, Duration::ZERO);
    engine
        .sql_for_each(sql, |batch| {
            let start = Instant::now();
            writer.write(batch)?;
            printing += start.elapsed();
            rows += batch.num_rows();
            Ok::<_, QueryError>(ControlFlow::Continue(()))
        })
        .map_err(user_facing)?;
    let in_engine = started.elapsed().saturating_sub(printing);
    writer.finish()?;
    Ok((rows, in_engine))
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
    let (rows, elapsed) = print_sql(&engine, &sql, format(args.format))?;
    if args.timing {
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
            let mut printer = RecordPrinter::new(args.format == OutputFormat::Json);
            engine
                .sql_for_each(&filter.records_sql(limit), |batch| {
                    let column = batch.column(0).as_string_opt::<i32>().ok_or_else(|| {
                        QueryError::Output("the lake's eventJson column is not text".to_owned())
                    })?;
                    for row in 0..column.len() {
                        if printer.print(column.value(row))?.is_break() {
                            return Ok(ControlFlow::Break(()));
                        }
                    }
                    Ok(ControlFlow::Continue(()))
                })
                .map_err(user_facing)?;
            printer.finish()?;
        }
        other => {
            print_sql(&engine, &filter.search_sql(limit), format(other))?;
        }
    }
    Ok(exit::OK)
}

/// Prints whole records as they come: as NDJSON, or as one JSON array.
struct RecordPrinter<'o>(RecordWriter<std::io::StdoutLock<'o>>);

impl RecordPrinter<'_> {
    fn new(array: bool) -> Self {
        let layout = if array {
            RecordLayout::Array
        } else {
            RecordLayout::Lines
        };
        RecordPrinter(RecordWriter::new(std::io::stdout().lock(), layout))
    }

    /// Prints one record; [`ControlFlow::Break`] once the reader has hung up.
    fn print(&mut self, record: &str) -> Result<ControlFlow<()>, QueryError> {
        match self.0.write(record) {
            Ok(Written::Yes) => Ok(ControlFlow::Continue(())),
            Ok(Written::Closed) => Ok(ControlFlow::Break(())),
            Err(err) => Err(QueryError::Output(err.to_string())),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        self.0.finish().map(drop)
    }
}

fn search_files(
    args: &SearchArgs,
    filter: &QuickFilter,
    limit: Option<usize>,
    global: &GlobalArgs,
) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    // Key pruning still applies; the exact test is the filter's.
    let read = args.read.options(selection(&args.selection)?);
    let mut reporter = ReadReporter::new(global.quiet);
    // Whole records are printed as they are found; a table waits for all its rows.
    let mut printer = match args.format {
        OutputFormat::Json | OutputFormat::Jsonl => {
            Some(RecordPrinter::new(args.format == OutputFormat::Json))
        }
        OutputFormat::Table | OutputFormat::Csv => None,
    };
    let mut table = Table::new(&LISTING_COLUMNS);
    let (mut failure, mut matched) = (None, 0);
    let inputs = input_specs(&args.paths)?;
    trailhound_pipeline::search_files(
        inputs,
        &read,
        filter,
        |message| reporter.observe(message),
        |record, event| {
            matched += 1;
            match printer.as_mut().map(|printer| printer.print(record)) {
                None => table.row(listing_row(event)),
                Some(Ok(ControlFlow::Continue(()))) => {}
                Some(Ok(ControlFlow::Break(()))) => return ControlFlow::Break(()),
                Some(Err(err)) => {
                    failure = Some(err);
                    return ControlFlow::Break(());
                }
            }
            if limit.is_some_and(|n| matched >= n) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    );
    let summary = reporter.finish(started.elapsed());
    if let Some(err) = failure {
        return Err(err.into());
    }
    match printer {
        Some(printer) => printer.finish()?,
        None => print_table(&table, args.format)?,
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
    let batches = run_sql(&engine, &trailhound_query::event_by_id(&args.event_id))?;
    let Some(record) = trailhound_query::first_text(&batches) else {
        eprintln!(
            "error: no event with eventID {:?} in the lake",
            args.event_id
        );
        return Ok(exit::FOUND);
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
            let lake = Lake::open(&global.data_dir()?, Access::Read)?;
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
