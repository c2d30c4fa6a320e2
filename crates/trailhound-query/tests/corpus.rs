//! The query corpus: queries as users paste them (CloudTrail Lake's and Athena's SQL, Logs
//! Insights) run over a lake made from `fixtures/estate.json`, each with the rows it must
//! give, and for SQL the same question asked in DataFusion's own dialect, which must give the
//! same rows. The cases are in `corpus/*.slt`:
//!
//! ```text
//! # what the case shows
//! query athena|lake|auto|logs-insights|datafusion
//! <the query>
//! ---- datafusion
//! <the same question in DataFusion's SQL>
//! ----
//! header | header
//! value | value
//! ```
//!
//! A case ends at a blank line. A query refused shows its message as its one row (`error:
//! …`) and needs no DataFusion twin. Values are Arrow's display of each cell, `NULL` for none; rows
//! compare in order, so queries order them. `TRAILHOUND_BLESS=1` rewrites the expected rows
//! from what the queries give, for review before committing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use trailhound_lake::{Access, Lake};
use trailhound_pipeline::{IngestSettings, ingest};
use trailhound_query::{BUILT_IN_QUERIES, Dialect, Language, QueryEngine};
use trailhound_source::{InputSpec, ReadOptions};

type Outcome = Result<(), Box<dyn std::error::Error>>;

#[derive(Debug)]
struct Case {
    file: PathBuf,
    line: usize,
    language: Language,
    query: String,
    datafusion: Option<String>,
    expected: Vec<String>,
    /// Where the expected rows are in the file, for blessing.
    expected_lines: std::ops::Range<usize>,
}

fn language(word: &str) -> Option<Language> {
    Some(match word {
        "logs-insights" => Language::LogsInsights,
        other => Language::Sql(other.parse::<Dialect>().ok()?),
    })
}

fn cases(file: &Path) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut cases = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let line = lines[at].trim_end();
        if line.is_empty() || line.starts_with('#') {
            at += 1;
            continue;
        }
        let start = at + 1;
        let Some(word) = line.strip_prefix("query ") else {
            return Err(format!(
                "{}:{start}: expected `query <language>`",
                file.display()
            ));
        };
        let language = language(word.trim())
            .ok_or_else(|| format!("{}:{start}: unknown language {word:?}", file.display()))?;
        at += 1;
        let mut query = Vec::new();
        while at < lines.len() && !lines[at].starts_with("----") {
            query.push(lines[at]);
            at += 1;
        }
        let mut datafusion = None;
        if at < lines.len() && lines[at].trim() == "---- datafusion" {
            at += 1;
            let mut same = Vec::new();
            while at < lines.len() && !lines[at].starts_with("----") {
                same.push(lines[at]);
                at += 1;
            }
            datafusion = Some(same.join("\n"));
        }
        if at >= lines.len() || lines[at].trim() != "----" {
            return Err(format!(
                "{}:{start}: the case has no `----` before its rows",
                file.display()
            ));
        }
        at += 1;
        let first_expected = at;
        let mut expected = Vec::new();
        while at < lines.len() && !lines[at].trim().is_empty() {
            expected.push(lines[at].trim_end().to_owned());
            at += 1;
        }
        cases.push(Case {
            file: file.to_owned(),
            line: start,
            language,
            query: query.join("\n"),
            datafusion,
            expected,
            expected_lines: first_expected..at,
        });
    }
    Ok(cases)
}

fn corpus() -> Result<Vec<Case>, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    for file in files {
        all.extend(cases(&file)?);
    }
    Ok(all)
}

/// A lake holding the fixture estate.
fn estate() -> Result<(tempfile::TempDir, QueryEngine), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/estate.json");
    let mut lake = Lake::open(dir.path(), Access::Write)?;
    let report = ingest(
        &mut lake,
        vec![InputSpec::parse(&fixture.display().to_string())?],
        &ReadOptions::default(),
        &IngestSettings::default(),
        |_| {},
    )?;
    assert_eq!(report.events_new, 26, "the estate's events");
    drop(lake);
    let engine = QueryEngine::open(dir.path())?;
    Ok((dir, engine))
}

/// The header and rows of a result, as the corpus writes them.
fn table(batches: &[RecordBatch]) -> Result<Vec<String>, arrow::error::ArrowError> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let mut out = vec![
        first
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>()
            .join(" | "),
    ];
    let options = FormatOptions::default().with_null("NULL");
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            out.push(cells.join(" | "));
        }
    }
    Ok(out)
}

fn run(engine: &QueryEngine, query: &str, language: Language) -> Result<Vec<String>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let batches = runtime
        .block_on(engine.query_async(query, language, None))
        .map_err(|e| format!("error: {e}"))?;
    table(&batches).map_err(|e| e.to_string())
}

/// A message as rows: one per line, as a refused case writes it.
fn message_rows(message: &str) -> Vec<String> {
    message
        .lines()
        .map(|line| line.trim_end().to_owned())
        .collect()
}

#[test]
fn every_query_of_the_corpus_gives_its_rows() -> Outcome {
    let cases = corpus()?;
    let (_dir, engine) = estate()?;
    let bless = std::env::var_os("TRAILHOUND_BLESS").is_some();
    let mut failures = String::new();
    let mut blessed: Vec<(&Case, Vec<String>)> = Vec::new();
    for case in &cases {
        let place = format!("{}:{}", case.file.display(), case.line);
        let got = run(&engine, &case.query, case.language).unwrap_or_else(|e| message_rows(&e));
        if got != case.expected {
            if bless {
                blessed.push((case, got.clone()));
            } else {
                let _ = write!(
                    failures,
                    "\n{place}: {}\n  expected:\n    {}\n  got:\n    {}\n",
                    case.query.lines().next().unwrap_or_default(),
                    case.expected.join("\n    "),
                    got.join("\n    ")
                );
            }
        }
        let pasted_sql = matches!(case.language, Language::Sql(d) if d != Dialect::DataFusion);
        let refused = got.first().is_some_and(|row| row.starts_with("error: "));
        if pasted_sql && !refused && case.datafusion.is_none() {
            let _ = write!(
                failures,
                "\n{place}: a Lake or Athena case asks the same in DataFusion's SQL (`---- datafusion`)\n"
            );
        }
        if let Some(same) = &case.datafusion {
            let asked = run(&engine, same, Language::Sql(Dialect::DataFusion))
                .unwrap_or_else(|e| message_rows(&e));
            // The header is the query's own; the rows must agree.
            if asked.get(1..) != got.get(1..) {
                let _ = write!(
                    failures,
                    "\n{place}: DataFusion's SQL gives other rows\n  as written:\n    {}\n  in DataFusion's SQL:\n    {}\n",
                    got.join("\n    "),
                    asked.join("\n    ")
                );
            }
        }
    }
    if bless {
        rewrite_expected(&blessed)?;
    }
    assert!(failures.is_empty(), "{failures}");
    let count = |f: fn(&Language) -> bool| cases.iter().filter(|c| f(&c.language)).count();
    let pasted = cases.iter().filter(|c| c.datafusion.is_some()).count();
    let insights = count(|l| *l == Language::LogsInsights);
    assert!(
        pasted >= 50,
        "{pasted} Lake/Athena cases; the corpus keeps at least 50"
    );
    assert!(
        insights >= 25,
        "{insights} Logs Insights cases; the corpus keeps at least 25"
    );
    Ok(())
}

fn rewrite_expected(blessed: &[(&Case, Vec<String>)]) -> Outcome {
    let mut files: Vec<&PathBuf> = blessed.iter().map(|(c, _)| &c.file).collect();
    files.sort();
    files.dedup();
    for file in files {
        let text = std::fs::read_to_string(file)?;
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut here: Vec<&(&Case, Vec<String>)> =
            blessed.iter().filter(|(c, _)| &c.file == file).collect();
        // From the end, so that earlier ranges stay where they are.
        here.sort_by_key(|(c, _)| std::cmp::Reverse(c.expected_lines.start));
        for (case, got) in here {
            lines.splice(case.expected_lines.clone(), got.iter().cloned());
        }
        std::fs::write(file, lines.join("\n") + "\n")?;
    }
    Ok(())
}

#[test]
fn every_built_in_query_finds_something_in_the_estate() -> Outcome {
    let (_dir, engine) = estate()?;
    for built_in in BUILT_IN_QUERIES {
        let rows = run(&engine, built_in.text, built_in.language)?;
        assert!(rows.len() > 1, "{}: {rows:?}", built_in.name);
    }
    Ok(())
}
