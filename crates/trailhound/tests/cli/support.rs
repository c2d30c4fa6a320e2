use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use flate2::{Compression, write::GzEncoder};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// What a run of the binary produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The NDJSON lines printed, each parsed.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or(serde_json::Value::Null))
            .collect()
    }

    /// The `eventID`s printed, in order.
    pub fn event_ids(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["eventID"].as_str().unwrap_or("?").to_owned())
            .collect()
    }

    pub fn assert_no_panic(&self) {
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
    }
}

/// Runs a prepared command of the binary to its end.
pub fn run_command(command: &mut Command) -> std::io::Result<Run> {
    let out = command.output()?;
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    run.assert_no_panic();
    Ok(run)
}

/// Files below `root`, in name order, leaving out hidden ones (`.trailhound/`).
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(root, &mut found);
    found.sort();
    found
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_trailhound"))
}

pub fn run(args: &[&str]) -> std::io::Result<Run> {
    run_with_stdin(args, None)
}

pub fn run_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> std::io::Result<Run> {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(data)?;
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output()?;
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    run.assert_no_panic();
    Ok(run)
}

pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

pub fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data)?;
    encoder.finish()
}

pub fn path_str(path: &Path) -> String {
    path.display().to_string()
}

/// Runs the binary, reads the first line of its output and hangs up, as `| head -1` does.
/// Returns that line and how the run ended.
pub fn run_and_hang_up(args: &[&str]) -> std::io::Result<(String, Run)> {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut first = String::new();
    if let Some(stdout) = child.stdout.take() {
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first)?;
    }
    let Output { status, stderr, .. } = child.wait_with_output()?;
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    run.assert_no_panic();
    Ok((first, run))
}

/// Runs the binary with a data directory.
pub fn lake_run(data: &Path, args: &[&str]) -> std::io::Result<Run> {
    let data = path_str(data);
    let mut all = vec!["--data-dir", &data];
    all.extend_from_slice(args);
    run(&all)
}

/// A small generated estate (two days, two accounts, two regions) with every scenario.
pub fn generated(dir: &Path, events: u64) -> std::io::Result<u64> {
    let out = run(&[
        "generate",
        "--start",
        "2024-07-01",
        "--days",
        "2",
        "--accounts",
        "2",
        "--regions",
        "us-east-1,eu-west-1",
        "--events",
        &events.to_string(),
        "--scenarios",
        &path_str(dir),
    ])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let truth = std::fs::read_to_string(dir.join(".trailhound/ground-truth.jsonl"))?;
    Ok(events + truth.lines().count() as u64)
}

/// The single number a one-cell query prints as CSV.
pub fn scalar(data: &Path, sql: &str) -> Result<String, Box<dyn std::error::Error>> {
    let out = lake_run(data, &["query", "--format", "csv", sql])?;
    assert_eq!(out.code, 0, "{sql}: {}", out.stderr);
    Ok(out.stdout.lines().nth(1).unwrap_or_default().to_owned())
}

/// Starts `command()` `runs` times, killing each run still going after a pseudo-random delay
/// of `min` plus up to `spread` (from `seed`, so a failure can be replayed); returns how many
/// runs were killed.
pub fn kill_at_random_points(
    mut command: impl FnMut() -> Command,
    runs: usize,
    seed: u64,
    min: std::time::Duration,
    spread: std::time::Duration,
) -> std::io::Result<usize> {
    let mut rng = seed;
    let mut killed = 0;
    for _ in 0..runs {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let spread_ms = u64::try_from(spread.as_millis()).unwrap_or(u64::MAX).max(1);
        let delay = min + std::time::Duration::from_millis(rng % spread_ms);
        let mut child = command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        std::thread::sleep(delay);
        if child.try_wait()?.is_none() {
            child.kill()?;
            killed += 1;
        }
        child.wait()?;
    }
    Ok(killed)
}
