//! `scripts/fuzz MINUTES`: fuzzes every target against the clock from a fresh seed; a crash
//! is kept under `regressions/` (run by the regression test from then on) and exits 1.

use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let minutes: f64 = std::env::args()
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(1.0);
    let harness = match trailhound_fuzz::Harness::new() {
        Ok(harness) => harness,
        Err(err) => {
            eprintln!("cannot set up the fuzzing harness: {err}");
            return ExitCode::from(2);
        }
    };
    // Panics are what is looked for: their messages are reported once, not as they happen.
    std::panic::set_hook(Box::new(|_| {}));
    let budget = Duration::from_secs_f64(minutes * 60.0);
    let started = Instant::now();
    let mut inputs = 0u64;
    let mut rounds = 0u64;
    while started.elapsed() < budget {
        let seed = fastrand::u64(..);
        let left = budget.saturating_sub(started.elapsed());
        match trailhound_fuzz::fuzz(&harness, seed, left.min(Duration::from_secs(30)), u64::MAX) {
            Ok(tally) => {
                inputs += tally.inputs;
                rounds += 1;
            }
            Err(crash) => {
                let _ = std::panic::take_hook();
                let kept = trailhound_fuzz::keep(&crash, &trailhound_fuzz::regressions());
                eprintln!(
                    "CRASH in {} (seed {seed}): {}\ninput kept as {}",
                    crash.target.name(),
                    crash.message,
                    kept.map_or_else(|e| format!("(not kept: {e})"), |p| p.display().to_string())
                );
                return ExitCode::from(1);
            }
        }
    }
    println!(
        "fuzzed {inputs} inputs over {} targets in {:.1} min ({rounds} seeds): no crash",
        trailhound_fuzz::Target::ALL.len(),
        started.elapsed().as_secs_f64() / 60.0
    );
    ExitCode::SUCCESS
}
