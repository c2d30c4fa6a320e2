//! `query`, `search`, `stats`, `show` and `ddl`: reading the lake.

use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use trailhound_event::{RecordLayout, RecordWriter, Written, layout};
use trailhound_lake::catalog::saved_queries::SavedQuery;
use trailhound_lake::{Access, Lake};
use trailhound_query::{
    BUILT_IN_QUERIES, Dialect, ErrorFilter, Format, LISTING_COLUMNS, Language, Pattern,
    QueryEngine, QueryError, QuickFilter, ResultWriter, built_in_query, listing_row, stats_queries,
    write_batches,
};

use crate::cli::{
    DdlArgs, DdlEngine, GlobalArgs, OutputFormat, QueryArgs, QueryLanguage, SearchArgs, ShowArgs,
    SqlDialect, StatsArgs, input_specs,
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

/// Runs `query` and prints its result in `format` as the engine makes it, so that an export
/// holds one batch at a time. Returns the rows printed and the time the engine took (the
/// printing left out).
fn print_query(
    engine: &QueryEngine,
    query: &str,
    language: Language,
    format: Format,
) -> anyhow::Result<(usize, Duration)> {
    let started = Instant::now();
    let mut stdout = std::io::stdout().lock();
    let mut writer = ResultWriter::new(format, &mut stdout);
    let (mut rows, mut printing) = (0, Duration::ZERO);
    engine
        .query_for_each(query, language, |batch| {
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

fn language(args: &QueryArgs) -> Language {
    match args.language {
        QueryLanguage::LogsInsights => Language::LogsInsights,
        QueryLanguage::Sql => Language::Sql(match args.dialect {
            SqlDialect::Auto => Dialect::Auto,
            SqlDialect::Lake => Dialect::Lake,
            SqlDialect::Athena => Dialect::Athena,
            SqlDialect::Datafusion => Dialect::DataFusion,
        }),
    }
}

pub(crate) fn query(args: QueryArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    if args.list {
        return list_queries(args.format, global);
    }
    if let Some(name) = &args.forget {
        return forget_query(name, global);
    }
    let (text, language) = match (&args.run, &args.query) {
        (Some(name), _) => saved_query(name, global)?,
        (None, Some(text)) if text == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the query from stdin")?;
            (text, language(&args))
        }
        (None, Some(text)) => (text.clone(), language(&args)),
        (None, None) => anyhow::bail!("give a query, or --run NAME, or --list"),
    };
    let engine = engine(global)?;
    if let Some(name) = &args.save {
        return save_query(&engine, name, &text, language, args.description, global);
    }
    if args.explain {
        println!(
            "{}",
            engine.translate(&text, language).map_err(user_facing)?
        );
        return Ok(exit::OK);
    }
    let (rows, elapsed) = print_query(&engine, &text, language, format(args.format))?;
    if args.timing {
        let requests = engine.lake_requests();
        eprintln!(
            "{rows} rows in {:.1} ms; lake files: {} GET requests to S3 ({:.1} MiB), {} local reads, \
             0 LIST requests (files are listed from the catalog)",
            elapsed.as_secs_f64() * 1000.0,
            requests.remote_gets,
            requests.remote_bytes as f64 / f64::from(1 << 20),
            requests.local_reads
        );
    }
    Ok(exit::OK)
}

/// The text and language of the saved or built-in query `name`; a saved one first.
fn saved_query(name: &str, global: &GlobalArgs) -> anyhow::Result<(String, Language)> {
    let lake = Lake::open(&global.data_dir()?, Access::Read)?;
    if let Some(saved) = lake.catalog().saved_query(name)? {
        let language = Language::from_names(&saved.language, &saved.dialect)
            .map_err(|err| anyhow::anyhow!("the saved query {name:?}: {err}"))?;
        return Ok((saved.text, language));
    }
    if let Some(built_in) = built_in_query(name) {
        return Ok((built_in.text.to_owned(), built_in.language));
    }
    anyhow::bail!(
        "no saved or built-in query is called {name:?}; `trailhound query --list` lists them"
    )
}

fn save_query(
    engine: &QueryEngine,
    name: &str,
    text: &str,
    language: Language,
    description: Option<String>,
    global: &GlobalArgs,
) -> anyhow::Result<u8> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        anyhow::bail!(
            "{name:?} cannot name a query: use letters, digits, '-', '_' and '.' (as in root-activity)"
        );
    }
    if built_in_query(name).is_some() {
        anyhow::bail!("{name:?} is a built-in query; save yours under another name");
    }
    // A query that cannot run is refused now rather than when it is needed.
    engine.check(text, language).map_err(user_facing)?;
    let lake = Lake::open(&global.data_dir()?, Access::Read)?;
    lake.catalog().save_query(&SavedQuery {
        name: name.to_owned(),
        language: language.name().to_owned(),
        dialect: language.dialect_name().to_owned(),
        text: text.to_owned(),
        description,
        saved_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })?;
    if !global.quiet {
        eprintln!("saved; run it with: trailhound query --run {name}");
    }
    Ok(exit::OK)
}

fn forget_query(name: &str, global: &GlobalArgs) -> anyhow::Result<u8> {
    let lake = Lake::open(&global.data_dir()?, Access::Read)?;
    if lake.catalog().forget_query(name)? {
        Ok(exit::OK)
    } else if built_in_query(name).is_some() {
        anyhow::bail!("{name:?} is a built-in query and cannot be deleted")
    } else {
        anyhow::bail!("no query is saved as {name:?}")
    }
}

fn list_queries(format: OutputFormat, global: &GlobalArgs) -> anyhow::Result<u8> {
    let lake = Lake::open(&global.data_dir()?, Access::Read)?;
    let mut table = Table::new(&["name", "kind", "language", "description", "query"]);
    let language_label = |language: &str, dialect: &str| match dialect {
        "" | "auto" => language.to_owned(),
        dialect => format!("{language} ({dialect})"),
    };
    for saved in lake.catalog().saved_queries()? {
        table.row(vec![
            saved.name,
            "saved".to_owned(),
            language_label(&saved.language, &saved.dialect),
            saved.description.unwrap_or_default(),
            one_line(&saved.text),
        ]);
    }
    for built_in in BUILT_IN_QUERIES {
        table.row(vec![
            built_in.name.to_owned(),
            "built-in".to_owned(),
            language_label(built_in.language.name(), built_in.language.dialect_name()),
            built_in.description.to_owned(),
            one_line(built_in.text),
        ]);
    }
    print_table(&table, format)?;
    Ok(exit::OK)
}

/// A query on one line, shortened for a table.
fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
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
            print_query(
                &engine,
                &filter.search_sql(limit),
                Language::Sql(Dialect::DataFusion),
                format(other),
            )?;
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
    let data_dir = global.data_dir()?;
    let lake = if data_dir.join("catalog.sqlite").is_file() {
        Some(Lake::open(&data_dir, Access::Read)?)
    } else {
        None
    };
    let location = match (args.location, &lake) {
        (Some(location), _) => location,
        (None, Some(lake)) => lake.events_location(),
        (None, None) => anyhow::bail!(
            "there is no lake in {} to describe: ingest first, or give --location",
            data_dir.display()
        ),
    };
    let mut known = trailhound_query::KnownPartitions::default();
    if let Some(lake) = &lake {
        let files = lake.catalog().lake_files(None)?;
        let distinct = |values: Vec<String>| -> Vec<String> {
            values
                .into_iter()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        known.accounts = distinct(files.iter().map(|f| f.account.clone()).collect());
        known.regions = distinct(files.iter().map(|f| f.region.clone()).collect());
        known.first_date = files.iter().map(|f| f.date.clone()).min();
    }
    let engine = match args.engine {
        DdlEngine::Athena => trailhound_query::Engine::Athena,
        DdlEngine::Trino => trailhound_query::Engine::Trino,
        DdlEngine::Spark => trailhound_query::Engine::Spark,
        DdlEngine::Duckdb => trailhound_query::Engine::DuckDb,
    };
    print!(
        "{}",
        trailhound_query::ddl(engine, &args.table, &location, &known)
    );
    Ok(exit::OK)
}
