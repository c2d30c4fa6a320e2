//! Mutation fuzzing on stable Rust: real inputs (the project's own fixtures and the built-in
//! rules) are cut, flipped, nested, inflated and retyped, then fed to every part that reads
//! what users give it. A target passes an input when it returns, with a value or an error;
//! a panic is the bug. `scripts/fuzz MINUTES` runs it against the clock; a test runs a short
//! pass with fixed seeds, and every input that ever crashed is kept under `regressions/` and
//! run by a test.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use trailhound_detect::{MetricFilter, RuleSet, builtin_files, builtin_rules, parse_rules};
use trailhound_event::{CloudTrailEvent, RawEvent};
use trailhound_query::{Dialect, Language, QueryEngine, logs_insights_to_sql};
use trailhound_source::{InputSpec, ReadLimits, ReadMessage, ReadOptions, read};

/// What is fuzzed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Files through the reader (gzip, shapes, salvage), each record parsed and run
    /// through the built-in rules.
    Reader,
    /// Sigma rule files.
    Sigma,
    /// CloudWatch metric-filter patterns, matched against a record.
    MetricFilter,
    /// SQL in every dialect, through the guard and the planner.
    Sql,
    /// Logs Insights queries.
    LogsInsights,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 5] = [
        Target::Reader,
        Target::Sigma,
        Target::MetricFilter,
        Target::Sql,
        Target::LogsInsights,
    ];

    /// The name regression files start with.
    pub fn name(self) -> &'static str {
        match self {
            Target::Reader => "reader",
            Target::Sigma => "sigma",
            Target::MetricFilter => "metric-filter",
            Target::Sql => "sql",
            Target::LogsInsights => "logs-insights",
        }
    }

    /// The target a regression file's name names.
    pub fn of_file(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| name.starts_with(t.name()))
    }
}

/// What the targets need once: the rules, an empty lake to plan SQL against, seeds.
pub struct Harness {
    rules: RuleSet,
    engine: QueryEngine,
    scratch: tempfile::TempDir,
    seeds: Seeds,
}

struct Seeds {
    files: Vec<Vec<u8>>,
    rules: Vec<String>,
    filters: Vec<String>,
    sql: Vec<String>,
    logs_insights: Vec<String>,
}

/// The fixtures the seeds come from.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../trailhound/tests/fixtures")
}

impl Harness {
    /// Loads the rules and seeds and opens an empty lake.
    ///
    /// # Errors
    ///
    /// When the fixtures, rules or lake cannot be set up (a broken checkout).
    pub fn new() -> Result<Harness, Box<dyn std::error::Error>> {
        let scratch = tempfile::tempdir()?;
        let data = scratch.path().join("lake");
        drop(trailhound_lake::Lake::open(
            &data,
            trailhound_lake::Access::Write,
        )?);
        let engine = QueryEngine::open(&data)?;
        let mut files = Vec::new();
        for entry in std::fs::read_dir(fixtures())? {
            let path = entry?.path();
            if path
                .extension()
                .is_some_and(|e| e == "json" || e == "ndjson")
            {
                files.push(std::fs::read(&path)?);
            }
        }
        let rules: Vec<String> = builtin_files()
            .iter()
            .map(|(_, text)| (*text).to_owned())
            .collect();
        let filters = rules
            .iter()
            .filter_map(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("filter: '"))
                    .map(|f| f.trim_end_matches('\'').to_owned())
            })
            .collect();
        let sql = [
            "SELECT eventName, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
            "SELECT useridentity.arn, json_extract_scalar(requestparameters, '$.bucketName') FROM cloudtrail_logs WHERE year = '2024' AND eventname LIKE 'Delete%'",
            "SELECT element_at(resources, 1).arn, requestParameters.bucketName FROM events CROSS JOIN UNNEST(resources) AS t(r)",
            "SELECT eventTime, responseElements->>'ConsoleLogin' FROM 0a1b2c3d-0000-0000-0000-000000000000 WHERE eventTime > '2024-07-01 00:00:00'",
            "WITH x AS (SELECT sourceIPAddress AS ip FROM events) SELECT ip, approx_distinct(ip) FROM x GROUP BY ip",
        ]
        .map(str::to_owned)
        .to_vec();
        let logs_insights = [
            "fields eventTime, eventName | filter errorCode like /AccessDenied/ | stats count(*) by bin(1h), userIdentity.arn | sort eventTime desc | limit 20",
            "filter eventName = \"ConsoleLogin\" | parse @message /\"sourceIPAddress\":\"(?<ip>[^\"]+)\"/ | stats count_distinct(ip) by userIdentity.userName",
            "fields @timestamp, @message | dedup eventName | display eventName, awsRegion",
        ]
        .map(str::to_owned)
        .to_vec();
        Ok(Harness {
            rules: RuleSet::new(builtin_rules()?)?,
            engine,
            scratch,
            seeds: Seeds {
                files,
                rules,
                filters,
                sql,
                logs_insights,
            },
        })
    }

    /// A mutated input for `target`.
    pub fn input(&self, target: Target, rng: &mut fastrand::Rng) -> Vec<u8> {
        let pick = |list: &[String], rng: &mut fastrand::Rng| {
            list.get(rng.usize(..list.len().max(1)))
                .cloned()
                .unwrap_or_default()
                .into_bytes()
        };
        let seed = match target {
            Target::Reader => self
                .seeds
                .files
                .get(rng.usize(..self.seeds.files.len().max(1)))
                .cloned()
                .unwrap_or_default(),
            Target::Sigma => pick(&self.seeds.rules, rng),
            Target::MetricFilter => pick(&self.seeds.filters, rng),
            Target::Sql => pick(&self.seeds.sql, rng),
            Target::LogsInsights => pick(&self.seeds.logs_insights, rng),
        };
        let mut input = seed;
        for _ in 0..rng.usize(1..4) {
            mutate(&mut input, rng);
        }
        if target == Target::Reader && rng.u8(..10) == 0 {
            input = gzip(&input);
        }
        input
    }

    /// Runs `target` on `input`; `Err` with the panic's message when it panics.
    ///
    /// # Errors
    ///
    /// The panic, as text.
    pub fn run(&self, target: Target, input: &[u8]) -> Result<(), String> {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match target {
            Target::Reader => self.reader(input),
            Target::Sigma => {
                let _ = parse_rules(&String::from_utf8_lossy(input), "fuzz");
            }
            Target::MetricFilter => {
                if let Ok(filter) = MetricFilter::parse(&String::from_utf8_lossy(input)) {
                    for file in &self.seeds.files {
                        let text = String::from_utf8_lossy(file);
                        let _ = filter.is_match(&RawEvent::new(&text));
                    }
                }
            }
            Target::Sql => {
                let text = String::from_utf8_lossy(input);
                for dialect in [Dialect::Auto, Dialect::Lake, Dialect::Athena] {
                    let _ = self.engine.translate(&text, Language::Sql(dialect));
                    let _ = self.engine.check(&text, Language::Sql(dialect));
                }
            }
            Target::LogsInsights => {
                let text = String::from_utf8_lossy(input);
                if let Ok(sql) = logs_insights_to_sql(&text) {
                    let _ = self.engine.check(&sql, Language::Sql(Dialect::DataFusion));
                }
            }
        }));
        outcome.map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic without a message".to_owned())
        })
    }

    fn reader(&self, input: &[u8]) {
        let path = self.scratch.path().join("input");
        if std::fs::write(&path, input).is_err() {
            return;
        }
        for salvage in [false, true] {
            let options = ReadOptions {
                limits: ReadLimits {
                    max_inflated_bytes: 8 << 20,
                    max_record_bytes: 1 << 20,
                },
                threads: 1,
                salvage,
                ..ReadOptions::default()
            };
            read(vec![InputSpec::Path(path.clone())], &options, |message| {
                if let ReadMessage::Batch(batch) = message {
                    for record in batch.records() {
                        let _ = CloudTrailEvent::parse(record);
                        let _ = self.rules.evaluate(record);
                    }
                }
                ControlFlow::Continue(())
            });
        }
    }
}

/// One mutation, of the kinds real bad input has.
fn mutate(input: &mut Vec<u8>, rng: &mut fastrand::Rng) {
    let len = input.len();
    match rng.u8(..9) {
        // Cut at either end: a paste, a truncated download.
        0 if len > 1 => input.truncate(rng.usize(..len)),
        1 if len > 1 => {
            input.drain(..rng.usize(..len));
        }
        // Flipped bytes, invalid UTF-8 among them.
        2 => {
            for _ in 0..rng.usize(1..9) {
                if let Some(byte) = input.get_mut(rng.usize(..len.max(1))) {
                    *byte = rng.u8(..);
                }
            }
        }
        // A slice repeated.
        3 if len > 2 => {
            let start = rng.usize(..len);
            let end = rng.usize(start..len);
            let copy = input[start..end].to_vec();
            let at = rng.usize(..=len);
            input.splice(at..at, copy);
        }
        // Deep nesting.
        4 => {
            let depth = rng.usize(1..5000);
            let (open, close) = if rng.bool() {
                (b'[', b']')
            } else {
                (b'{', b'}')
            };
            let mut nested = vec![open; depth];
            if open == b'{' {
                nested = "{\"a\":".repeat(depth).into_bytes();
            }
            nested.extend_from_slice(input);
            nested.extend(std::iter::repeat_n(close, depth));
            *input = nested;
        }
        // A huge string.
        5 => {
            let at = rng.usize(..=len);
            let huge = format!("\"{}\"", "a".repeat(rng.usize(1..2_000_000)));
            input.splice(at..at, huge.into_bytes());
        }
        // A value of the wrong type after a key.
        6 => {
            let text = String::from_utf8_lossy(input).into_owned();
            let colons: Vec<usize> = text.match_indices("\":").map(|(i, _)| i + 2).collect();
            if let Some(&at) = colons.get(rng.usize(..colons.len().max(1))) {
                let replacement = [
                    "[]", "{}", "123", "null", "true", "\"x\"", "-1e999", "[[[]]]",
                ][rng.usize(..8)];
                let mut bytes = text.into_bytes();
                let end = (at + rng.usize(1..40)).min(bytes.len());
                bytes.splice(at..end, replacement.bytes());
                *input = bytes;
            }
        }
        // Random bytes inserted.
        7 => {
            let at = rng.usize(..=len);
            let noise: Vec<u8> = (0..rng.usize(1..64)).map(|_| rng.u8(..)).collect();
            input.splice(at..at, noise);
        }
        // A gzip bomb: a little compressed text that inflates past every limit.
        8 => *input = gzip(&vec![b' '; 64 << 20]),
        _ => input.push(rng.u8(..)),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    if encoder.write_all(bytes).is_err() {
        return Vec::new();
    }
    encoder.finish().unwrap_or_default()
}

/// What a run did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Inputs run.
    pub inputs: u64,
}

/// A crash: the target, the input, the panic.
#[derive(Debug)]
pub struct Crash {
    /// The target that panicked.
    pub target: Target,
    /// The input.
    pub input: Vec<u8>,
    /// The panic's message.
    pub message: String,
}

/// Runs every target in turn from `seed` until `budget` has passed or `max_inputs` were run;
/// stops at the first crash.
///
/// # Errors
///
/// The first crash.
pub fn fuzz(
    harness: &Harness,
    seed: u64,
    budget: Duration,
    max_inputs: u64,
) -> Result<Tally, Box<Crash>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();
    let mut tally = Tally::default();
    while started.elapsed() < budget && tally.inputs < max_inputs {
        for target in Target::ALL {
            let input = harness.input(target, &mut rng);
            if let Err(message) = harness.run(target, &input) {
                return Err(Box::new(Crash {
                    target,
                    input,
                    message,
                }));
            }
            tally.inputs += 1;
        }
    }
    Ok(tally)
}

/// Keeps a crashing input under `dir` as `<target>-<hash>.bin`, for the regression test.
///
/// # Errors
///
/// When it cannot be written.
pub fn keep(crash: &Crash, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let hash = crash.input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    let path = dir.join(format!("{}-{hash:016x}.bin", crash.target.name()));
    std::fs::write(&path, &crash.input)?;
    Ok(path)
}

/// Where crashing inputs are kept.
pub fn regressions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions")
}
