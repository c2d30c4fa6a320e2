//! `query`, `search`, `stats`, `show` and `ddl`: reading the lake.

use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use trailhound_event::{CloudTrailEvent, layout};
use trailhound_lake::{Access, Lake};
use trailhound_query::{
    ErrorFilter, Format, Pattern, QueryEngine, QueryError, QuickFilter, ResultWriter,
    stats_queries, write_batches,
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
            let sql = format!(
                "SELECT eventJson FROM events WHERE {} ORDER BY eventTime{}",
                filter.where_clause(),
                limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default()
            );
            let mut printer = RecordPrinter::new(args.format == OutputFormat::Json)?;
            engine
                .sql_for_each(&sql, |batch| {
                    let column = batch.column(0).as_string::<i32>();
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
enum RecordPrinter<'o> {
    Lines(EventWriter<std::io::StdoutLock<'o>>),
    Array {
        out: std::io::BufWriter<std::io::StdoutLock<'o>>,
        first: bool,
        compact: Vec<u8>,
    },
}

impl RecordPrinter<'_> {
    fn new(array: bool) -> std::io::Result<Self> {
        let stdout = std::io::stdout().lock();
        if !array {
            return Ok(RecordPrinter::Lines(EventWriter::new(stdout, false)));
        }
        let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout);
        out.write_all(b"[")?;
        Ok(RecordPrinter::Array {
            out,
            first: true,
            compact: Vec::new(),
        })
    }

    /// Prints one record; [`ControlFlow::Break`] once the reader has hung up.
    fn print(&mut self, record: &str) -> Result<ControlFlow<()>, QueryError> {
        let written = match self {
            RecordPrinter::Lines(writer) => writer.write(record),
            RecordPrinter::Array {
                out,
                first,
                compact,
            } => {
                compact.clear();
                if !std::mem::take(first) {
                    compact.push(b',');
                }
                layout::write_compact(record, compact);
                out.write_all(compact).map(|()| WriteOutcome::Written)
            }
        };
        match written {
            Ok(WriteOutcome::Written) => Ok(ControlFlow::Continue(())),
            Ok(WriteOutcome::Closed) => Ok(ControlFlow::Break(())),
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {
                Err(QueryError::OutputClosed)
            }
            Err(err) => Err(QueryError::Output(err.to_string())),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            RecordPrinter::Lines(mut writer) => writer.flush().map(drop),
            RecordPrinter::Array { mut out, .. } => {
                out.write_all(b"]\n")?;
                out.flush()
            }
        }
    }
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
    // Whole records are printed as they are found; a table waits for all its rows.
    let mut printer = match args.format {
        OutputFormat::Json | OutputFormat::Jsonl => {
            Some(RecordPrinter::new(args.format == OutputFormat::Json)?)
        }
        OutputFormat::Table | OutputFormat::Csv => None,
    };
    let mut failure = None;
    let (mut found, mut matched): (Vec<String>, usize) = (Vec::new(), 0);
    trailhound_source::read(inputs, &options, |message| {
        reporter.observe(&message);
        if let ReadMessage::Batch(batch) = &message {
            for (record, event) in batch.records().zip(batch.events()) {
                if !event.is_ok_and(|e| filter.matches(&e)) {
                    continue;
                }
                matched += 1;
                match printer.as_mut().map(|printer| printer.print(record)) {
                    None => found.push(record.to_owned()),
                    Some(Ok(ControlFlow::Continue(()))) => {}
                    Some(Ok(ControlFlow::Break(()))) => return ControlFlow::Break(()),
                    Some(Err(err)) => {
                        failure = Some(err);
                        return ControlFlow::Break(());
                    }
                }
                if limit.is_some_and(|n| matched >= n) {
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    });
    let summary = reporter.finish(started.elapsed());
    if let Some(err) = failure {
        return Err(err.into());
    }
    match printer {
        Some(printer) => printer.finish()?,
        None => {
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
            print_table(&table, args.format)?;
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
