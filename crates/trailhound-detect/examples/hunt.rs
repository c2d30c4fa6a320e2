//! The built-in pack over files, without the CLI (and without linking DataFusion), for quick
//! profiling of rule evaluation: `cargo run --release -p trailhound-detect --example hunt --
//! INPUT…`. The figures in docs/benchmarks.md come from `scripts/bench-lake`.

use std::ops::ControlFlow;
use std::time::Instant;

use trailhound_detect::{Detector, Level, RuleSet, builtin_rules};
use trailhound_source::{InputSpec, ReadMessage, ReadOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let inputs = std::env::args()
        .skip(1)
        .map(|a| InputSpec::parse(&a))
        .collect::<Result<Vec<_>, _>>()?;
    let rules = RuleSet::new(builtin_rules()?)?;
    let started = Instant::now();
    let mut detector = Detector::new(&rules, Level::Informational);
    let mut findings = Vec::new();
    let work = |batch: trailhound_source::EventBatch| {
        batch
            .records()
            .filter_map(|r| rules.evaluate(r))
            .collect::<Vec<_>>()
    };
    trailhound_source::read_map(inputs, &ReadOptions::default(), &work, |message| {
        if let ReadMessage::Batch(matches) = message {
            for found in matches {
                detector.feed(found, &mut findings);
            }
        }
        ControlFlow::Continue(())
    });
    detector.flush(&mut findings);
    println!(
        "{} findings from {} rules ({} not indexed by eventName) in {:.2} s",
        findings.len(),
        rules.rules().len(),
        rules.unindexed(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
