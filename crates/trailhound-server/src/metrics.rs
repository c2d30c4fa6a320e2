//! Prometheus metrics: requests and their latency per route, and the lake's own gauges (events,
//! files, findings by level and state, failed sources, alerts waiting), in the text format
//! Prometheus scrapes from `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Recorded {
    /// (method, route, status) → requests.
    requests: BTreeMap<(String, String, u16), u64>,
    /// route → latency.
    latency: BTreeMap<String, Histogram>,
}

/// The server's counters.
pub struct Metrics {
    started: Instant,
    recorded: Mutex<Recorded>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            recorded: Mutex::default(),
        }
    }
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let Ok(mut recorded) = self.recorded.lock() else {
            return;
        };
        *recorded
            .requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let histogram = recorded.latency.entry(route.to_owned()).or_default();
        let seconds = elapsed.as_secs_f64();
        for (slot, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *slot += 1;
            }
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }

    /// The text exposition, with the lake's gauges from `state`.
    pub fn render(&self, state: &AppState) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP trailhound_build_info The running version.\n# TYPE trailhound_build_info gauge\ntrailhound_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(
            out,
            "# HELP trailhound_uptime_seconds Seconds since the server started.\n# TYPE trailhound_uptime_seconds gauge\ntrailhound_uptime_seconds {}",
            self.started.elapsed().as_secs()
        );
        if let Ok(recorded) = self.recorded.lock() {
            let _ = writeln!(
                out,
                "# HELP trailhound_http_requests_total HTTP requests answered.\n# TYPE trailhound_http_requests_total counter"
            );
            for ((method, route, status), count) in &recorded.requests {
                let _ = writeln!(
                    out,
                    "trailhound_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                    escape(route)
                );
            }
            let _ = writeln!(
                out,
                "# HELP trailhound_http_request_duration_seconds Time to answer, by route.\n# TYPE trailhound_http_request_duration_seconds histogram"
            );
            for (route, histogram) in &recorded.latency {
                let route = escape(route);
                for (bound, count) in BUCKETS.iter().zip(histogram.counts) {
                    let _ = writeln!(
                        out,
                        "trailhound_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "trailhound_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {0}\n\
                     trailhound_http_request_duration_seconds_sum{{route=\"{route}\"}} {1}\n\
                     trailhound_http_request_duration_seconds_count{{route=\"{route}\"}} {0}",
                    histogram.count, histogram.sum
                );
            }
        }
        let lake = state.lake.with_catalog(|catalog| {
            let files = catalog.lake_files(None)?;
            let findings = catalog.finding_counts()?;
            let failed = catalog.sources(true)?.len();
            let outbox = catalog.outbox_counts()?;
            Ok((files, findings, failed, outbox))
        });
        if let Ok((files, findings, failed, outbox)) = lake {
            let events: u64 = files.iter().map(|f| f.rows).sum();
            let bytes: u64 = files.iter().map(|f| f.bytes).sum();
            let newest = files.iter().filter_map(|f| f.max_time_us).max();
            let _ = writeln!(
                out,
                "# HELP trailhound_lake_events Events in the lake.\n# TYPE trailhound_lake_events gauge\ntrailhound_lake_events {events}\n\
                 # HELP trailhound_lake_files Parquet files in the lake.\n# TYPE trailhound_lake_files gauge\ntrailhound_lake_files {}\n\
                 # HELP trailhound_lake_bytes Bytes of Parquet in the lake.\n# TYPE trailhound_lake_bytes gauge\ntrailhound_lake_bytes {bytes}\n\
                 # HELP trailhound_sources_failed Source objects that could not be read.\n# TYPE trailhound_sources_failed gauge\ntrailhound_sources_failed {failed}\n\
                 # HELP trailhound_alerts_pending Alerts waiting for a sink.\n# TYPE trailhound_alerts_pending gauge\ntrailhound_alerts_pending {}\n\
                 # HELP trailhound_alerts_dead Alerts set aside as dead letters (refused for good, or given up on).\n# TYPE trailhound_alerts_dead gauge\ntrailhound_alerts_dead {}",
                files.len(),
                outbox.pending,
                outbox.dead
            );
            if let Some(newest) = newest {
                let _ = writeln!(
                    out,
                    "# HELP trailhound_newest_event_timestamp_seconds eventTime of the newest event.\n# TYPE trailhound_newest_event_timestamp_seconds gauge\ntrailhound_newest_event_timestamp_seconds {}",
                    newest / 1_000_000
                );
            }
            let _ = writeln!(
                out,
                "# HELP trailhound_findings Findings, by level and state.\n# TYPE trailhound_findings gauge"
            );
            for (level, status, count) in findings {
                let _ = writeln!(
                    out,
                    "trailhound_findings{{level=\"{}\",status=\"{}\"}} {count}",
                    escape(level.as_str()),
                    escape(status.as_str())
                );
            }
        }
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware: counts every request by its route pattern (not its path, so ids do not make a
/// series each).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_into_buckets() -> Result<(), Box<dyn std::error::Error>> {
        let metrics = Metrics::default();
        metrics.record("GET", "/api/v1/stats", 200, Duration::from_millis(30));
        metrics.record("GET", "/api/v1/stats", 200, Duration::from_millis(700));
        let recorded = metrics.recorded.lock().map_err(|_| "poisoned")?;
        let histogram = &recorded.latency["/api/v1/stats"];
        assert_eq!(histogram.count, 2);
        // 30 ms is within 0.05 s and above; 700 ms only from 1 s up.
        assert_eq!(histogram.counts[3], 1);
        assert_eq!(histogram.counts[7], 2);
        assert_eq!(
            recorded.requests[&("GET".to_owned(), "/api/v1/stats".to_owned(), 200)],
            2
        );
        Ok(())
    }
}
