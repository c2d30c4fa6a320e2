//! Ingest without the CLI, for quick profiling of the lake writer and the rules at ingest:
//! `cargo run --release -p trailhound-pipeline --example ingest -- [--rules] DATA_DIR INPUT…`. With `--rules`, the built-in pack runs on every event as `trailhound ingest` does.
//! The figures in docs/benchmarks.md come from `scripts/bench-lake`, which uses the binary.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use trailhound_detect::{Detector, EventMatch, Finding, Level, RuleSet, builtin_rules};
use trailhound_event::CloudTrailEvent;
use trailhound_lake::{Access, Lake, WriteOptions};
use trailhound_pipeline::{Conclude, ingest_with};
use trailhound_source::{InputSpec, ReadOptions};

/// The allocator the `trailhound` binary uses, so that the figures match it.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Time the workers spent in the rules, to tell it from its effect on the rest.
static RULE_NANOS: AtomicU64 = AtomicU64::new(0);
/// Time the ingesting thread spent turning matches into findings.
static CONCLUDE_NANOS: AtomicU64 = AtomicU64::new(0);

/// The detector as ingest concludes with it, timed.
struct Timed<'r>(Detector<'r>);

impl Conclude<Vec<EventMatch>> for Timed<'_> {
    fn conclude(&mut self, matches: Vec<EventMatch>) -> Vec<Finding> {
        let began = Instant::now();
        let findings = self.0.conclude(matches);
        CONCLUDE_NANOS.fetch_add(began.elapsed().as_nanos() as u64, Ordering::Relaxed);
        findings
    }
    fn finish(&mut self) -> Vec<Finding> {
        let began = Instant::now();
        let findings = self.0.finish();
        CONCLUDE_NANOS.fetch_add(began.elapsed().as_nanos() as u64, Ordering::Relaxed);
        findings
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let with_rules = args.first().is_some_and(|a| a == "--rules");
    if with_rules {
        args.remove(0);
    }
    let mut args = args.into_iter();
    let data = args
        .next()
        .ok_or("usage: ingest [--rules] DATA_DIR INPUT…")?;
    let inputs = args
        .map(|a| InputSpec::parse(&a))
        .collect::<Result<Vec<_>, _>>()?;
    // As the binary does (see its `purge_in_background`).
    tikv_jemalloc_ctl::background_thread::write(true).map_err(|e| e.to_string())?;
    let rules = RuleSet::new(builtin_rules()?)?;
    let started = Instant::now();
    let mut lake = Lake::open(std::path::Path::new(&data), Access::Write)?;
    let read = ReadOptions::default();
    let report = if with_rules {
        let inspect = |events: &[CloudTrailEvent<'_>]| -> Vec<EventMatch> {
            let began = Instant::now();
            let found = rules.evaluate_events(events);
            RULE_NANOS.fetch_add(began.elapsed().as_nanos() as u64, Ordering::Relaxed);
            found
        };
        let mut live = Timed(Detector::new(&rules, Level::Informational));
        ingest_with(
            &mut lake,
            inputs,
            &read,
            WriteOptions::default(),
            &inspect,
            &mut live,
            |_| {},
        )?
    } else {
        trailhound_pipeline::ingest(
            &mut lake,
            inputs,
            &read,
            &trailhound_pipeline::IngestSettings {
                force: true,
                ..Default::default()
            },
            |_| {},
        )?
    };
    let seconds = started.elapsed().as_secs_f64();
    if with_rules {
        println!(
            "rules: {:.2} CPU-s on the workers, {:.2} s concluding on the ingesting thread",
            RULE_NANOS.load(Ordering::Relaxed) as f64 / 1e9,
            CONCLUDE_NANOS.load(Ordering::Relaxed) as f64 / 1e9
        );
    }
    println!(
        "{} events read, {} new, {} files, {} commits, {} findings in {seconds:.2} s ({:.0} events/s)",
        report.events_read,
        report.events_new,
        report.files,
        report.commits,
        report.findings,
        report.events_read as f64 / seconds
    );
    Ok(())
}
