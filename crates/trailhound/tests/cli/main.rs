//! Integration tests that drive the real `trailhound` binary, one module per area.

/// Running the binary and building inputs.
mod support;

/// A real S3-compatible server on 127.0.0.1 for the tests that read buckets.
mod s3_server;

/// Every input shape, read by content.
mod shapes;

/// Broken, hostile and empty input: reported, skipped, never a panic.
mod bad_input;

/// --since/--until/--account/--region: pruning by key and filtering events.
mod selection;

/// `trailhound generate`, read back with `trailhound cat`.
mod generate;

/// --help, --version, completions, usage errors.
mod conventions;

/// ingest, sources, compact: the lake and its catalog, crash safety.
mod lake;

/// query, search, stats, show, ddl: reading the lake, and other engines reading it.
mod query;

/// hunt and rules: detection over files and the lake, rule tests and lint.
mod detect;

/// validate and generate --sign: digest chains, signatures, tampering of every kind.
mod integrity;

/// policy: least privilege from a principal's activity.
mod policy;

/// trace: the identity index, chains to their origin, the chain signals.
mod trace;

/// report: figures against their SQL and the input, the HTML in Chromium, the PDF.
mod report;

/// insights: rates against baselines, Insights records, show and export.
mod insights;

/// s3:// sources: cat, ingest, hunt and pull against a real S3-compatible server.
mod s3;

/// A real HTTP receiver on 127.0.0.1 for alert sinks.
mod receiver;

/// watch, alert and status: following buckets and folders, durable alerting.
mod watch;

/// A real SMTP server on 127.0.0.1 for the email sink.
mod smtp_server;

/// `serve` on a free loopback port, and an HTTP client for it.
mod server;

/// serve and token: the HTTP API, authentication, roles, TLS, metrics.
mod api;

/// The dashboard in headless Chromium, driven by Playwright.
mod dashboard;

/// The trail itself, on a local AWS-compatible server: posture, setup, S3 lifecycle.
mod posture;

/// Keeping the lake to a length of time, archiving the rest.
mod retention;

/// The lake on S3: `--lake s3://…` on a local S3-compatible server.
mod s3_lake;

/// Other engines (Spark) reading the lake with the printed DDL.
mod engines;

/// CloudTrail as OCSF for Security Lake.
mod export;
