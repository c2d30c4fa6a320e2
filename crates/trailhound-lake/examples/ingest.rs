//! Ingest without the CLI (and without linking DataFusion), for quick profiling of the lake
//! writer: `cargo run --release -p trailhound-lake --example ingest -- DATA_DIR INPUT…`.
//! The figures in docs/benchmarks.md come from `scripts/bench-lake`, which uses the binary.

use std::time::Instant;

use trailhound_lake::{Access, Lake, WriteOptions};
use trailhound_source::{InputSpec, ReadOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let data = args.next().ok_or("usage: ingest DATA_DIR INPUT…")?;
    let inputs = args
        .map(|a| InputSpec::parse(&a))
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    let mut lake = Lake::open(std::path::Path::new(&data), Access::Write)?;
    let report = lake.ingest(
        inputs,
        &ReadOptions::default(),
        WriteOptions::default(),
        |_| {},
    )?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} events read, {} new, {} files, {} commits in {seconds:.2} s ({:.0} events/s)",
        report.events_read,
        report.events_new,
        report.files,
        report.commits,
        report.events_read as f64 / seconds
    );
    Ok(())
}
