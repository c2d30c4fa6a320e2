//! Sinks: how an alert is told to each kind of receiver. Each module turns an [`Alert`] into
//! the request its receiver documents; [`Transport`] carries it out.

mod pagerduty;
mod slack;
mod splunk;
mod teams;
mod webhook;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::SinkKind;
use crate::{Alert, AlertError};

/// What delivering one alert takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    /// A line on standard output.
    Stdout(String),
    /// A line appended to a file.
    Append { path: PathBuf, line: String },
    /// An HTTP POST.
    Post {
        url: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

/// The request that tells `alert` (outbox number `delivery`) to a sink of `kind`.
pub(crate) fn request(
    kind: &SinkKind,
    alert: &Alert,
    delivery: i64,
) -> Result<Request, AlertError> {
    let json = |value: &serde_json::Value| {
        serde_json::to_vec(value).map_err(|err| AlertError::Internal(err.to_string()))
    };
    let line = || {
        serde_json::to_string(&webhook::body(alert, delivery))
            .map_err(|err| AlertError::Internal(err.to_string()))
    };
    Ok(match kind {
        SinkKind::Stdout => Request::Stdout(line()?),
        SinkKind::Jsonl { path } => Request::Append {
            path: path.clone(),
            line: line()?,
        },
        SinkKind::Webhook {
            url,
            secret,
            headers,
        } => {
            let body = json(&webhook::body(alert, delivery))?;
            Request::Post {
                url: url.clone(),
                headers: webhook::headers(&body, secret.as_deref(), headers, delivery),
                body,
            }
        }
        SinkKind::Slack { url } => Request::Post {
            url: url.clone(),
            headers: json_content(),
            body: json(&slack::body(alert))?,
        },
        SinkKind::Teams { url } => Request::Post {
            url: url.clone(),
            headers: json_content(),
            body: json(&teams::body(alert))?,
        },
        SinkKind::Pagerduty { routing_key, url } => Request::Post {
            url: url.clone(),
            headers: json_content(),
            body: json(&pagerduty::body(alert, routing_key))?,
        },
        SinkKind::Splunk {
            url,
            token,
            index,
            sourcetype,
        } => Request::Post {
            url: url.clone(),
            headers: vec![
                ("Content-Type".to_owned(), "application/json".to_owned()),
                ("Authorization".to_owned(), format!("Splunk {token}")),
            ],
            body: json(&splunk::body(alert, delivery, index.as_deref(), sourcetype))?,
        },
    })
}

fn json_content() -> Vec<(String, String)> {
    vec![("Content-Type".to_owned(), "application/json".to_owned())]
}

/// Carries requests out: one HTTP client (and its connection pool) for every sink.
pub(crate) struct Transport {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Transport {
    pub(crate) fn new() -> Result<Transport, AlertError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("trailhound/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| AlertError::Internal(format!("cannot make an HTTP client: {err}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| AlertError::Internal(format!("cannot start the I/O runtime: {err}")))?;
        Ok(Transport { client, runtime })
    }

    /// Sends; `Err` says why in words fit for `status` and the log.
    pub(crate) fn send(&self, request: &Request) -> Result<(), String> {
        match request {
            Request::Stdout(line) => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}")
                    .and_then(|()| out.flush())
                    .map_err(|err| format!("cannot write to stdout: {err}"))
            }
            Request::Append { path, line } => append(path, line),
            Request::Post { url, headers, body } => self.runtime.block_on(async {
                let mut post = self.client.post(url).body(body.clone());
                for (name, value) in headers {
                    post = post.header(name, value);
                }
                let response = post.send().await.map_err(|err| describe(&err))?;
                let status = response.status();
                if status.is_success() {
                    return Ok(());
                }
                let text = response.text().await.unwrap_or_default();
                let text: String = text.chars().take(200).collect();
                Err(format!("{url} answered {status}: {}", text.trim()))
            }),
        }
    }
}

/// A connection error with its cause, which reqwest keeps in the source chain.
fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn append(path: &std::path::Path, line: &str) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|err| format!("cannot open {}: {err}", path.display()))?;
    // Synced before the alert counts as sent: the file is the record.
    writeln!(file, "{line}")
        .and_then(|()| file.sync_data())
        .map_err(|err| format!("cannot write {}: {err}", path.display()))
}
