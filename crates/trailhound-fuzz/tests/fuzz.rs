//! A short fuzzing pass with fixed seeds, and every input that ever crashed.

use std::time::Duration;

use trailhound_fuzz::{Harness, Target, fuzz, regressions};

#[test]
fn a_short_pass_finds_nothing() -> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::new()?;
    for seed in [1, 2, 3] {
        if let Err(crash) = fuzz(&harness, seed, Duration::from_secs(20), 150) {
            return Err(format!(
                "{} panicked on seed {seed}: {}\n{}",
                crash.target.name(),
                crash.message,
                String::from_utf8_lossy(&crash.input)
                    .chars()
                    .take(2000)
                    .collect::<String>()
            )
            .into());
        }
    }
    Ok(())
}

#[test]
fn every_input_that_crashed_once_is_handled() -> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::new()?;
    for entry in std::fs::read_dir(regressions())? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(target) = Target::of_file(&name) else {
            continue;
        };
        let input = std::fs::read(&path)?;
        harness
            .run(target, &input)
            .map_err(|message| format!("{name}: {message}"))?;
    }
    Ok(())
}
