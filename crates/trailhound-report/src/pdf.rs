//! PDF by printing the report's HTML with a headless Chromium: the print stylesheet does the
//! pagination, and the PDF is what a user printing the HTML from a browser gets.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ReportError;

/// Names a Chromium-based browser goes by on PATH.
const NAMES: [&str; 6] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "headless_shell",
];

/// How long printing may take before it is given up.
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// The browser to print with: `given`, else the first of [`NAMES`] on PATH.
pub fn find_chromium(given: Option<&Path>) -> Result<PathBuf, ReportError> {
    if let Some(path) = given {
        if path.is_file() {
            return Ok(path.to_owned());
        }
        return Err(ReportError::Pdf(format!(
            "--chromium {}: no such file; give the path of a Chromium or Chrome executable",
            path.display()
        )));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in NAMES {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(ReportError::Pdf(
        "PDF reports are printed by a headless Chromium, and none was found on PATH (looked for \
         chromium, chromium-browser, google-chrome, chrome). Install one (Debian/Ubuntu: \
         `apt install chromium`; macOS: Google Chrome) or pass --chromium PATH; or write \
         --format html and print it to PDF from any browser (the page has a print stylesheet)."
            .to_owned(),
    ))
}

/// Prints `html` to PDF.
pub(crate) fn print(html: &str, chromium: Option<&Path>) -> Result<Vec<u8>, ReportError> {
    let browser = find_chromium(chromium)?;
    let dir = tempfile::tempdir().map_err(|source| ReportError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let page = dir.path().join("report.html");
    let output = dir.path().join("report.pdf");
    std::fs::write(&page, html).map_err(|source| ReportError::Io {
        path: page.clone(),
        source,
    })?;
    // A file, not a pipe: Chromium talks a lot, and a full pipe would stall it.
    let log_path = dir.path().join("chromium.log");
    let log = std::fs::File::create(&log_path).map_err(|source| ReportError::Io {
        path: log_path.clone(),
        source,
    })?;
    let mut child = Command::new(&browser)
        .arg("--headless")
        .arg("--disable-gpu")
        // The page is ours and self-contained; a root user (containers) cannot start
        // Chromium's sandbox at all.
        .arg("--no-sandbox")
        .arg("--disable-dev-shm-usage")
        .arg("--no-first-run")
        .arg("--disable-extensions")
        .arg("--disable-background-networking")
        .arg("--no-pdf-header-footer")
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", output.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|err| ReportError::Pdf(format!("cannot start {}: {err}", browser.display())))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ReportError::Pdf(format!(
                    "{} did not finish printing the report within {} s",
                    browser.display(),
                    TIME_LIMIT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(err) => {
                return Err(ReportError::Pdf(format!(
                    "waiting for {}: {err}",
                    browser.display()
                )));
            }
        }
    };
    let stderr = std::fs::read_to_string(&log_path).unwrap_or_default();
    match std::fs::read(&output) {
        Ok(pdf) if status.success() && pdf.starts_with(b"%PDF") => Ok(pdf),
        _ => Err(ReportError::Pdf(format!(
            "{} could not print the report ({status}): {}",
            browser.display(),
            stderr.lines().rev().take(3).collect::<Vec<_>>().join(" / ")
        ))),
    }
}
