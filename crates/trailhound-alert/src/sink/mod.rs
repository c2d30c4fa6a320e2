//! Sinks: how an alert is told to each kind of receiver. Each module turns an [`Alert`] into
//! the request its receiver documents; [`Transport`] carries it out.

mod email;

pub use email::{Mail, send_mail};
mod pagerduty;
mod slack;
mod sns;
mod splunk;
mod teams;
mod webhook;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use std::collections::HashMap;

use trailhound_source::S3Settings;
use trailhound_source::aws::{AwsClient, describe};

use crate::config::{SinkConfig, SinkKind};
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
    /// An email, through the sink's mailer.
    Email {
        sink: String,
        alert: Alert,
        delivery: i64,
    },
    /// A POST to an AWS API, signed with the sink's credentials.
    Aws {
        sink: String,
        service: &'static str,
        url: String,
        body: Vec<u8>,
    },
}

/// The request that tells `alert` (outbox number `delivery`) to a sink of `kind`.
pub(crate) fn request(
    name: &str,
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
        SinkKind::Email { .. } => Request::Email {
            sink: name.to_owned(),
            alert: alert.clone(),
            delivery,
        },
        SinkKind::Sns {
            topic_arn,
            endpoint,
            ..
        } => Request::Aws {
            sink: name.to_owned(),
            service: "sns",
            url: sns::endpoint(
                endpoint.as_deref(),
                crate::config::topic_region(topic_arn).unwrap_or("us-east-1"),
            ),
            body: sns::body(alert, delivery, topic_arn)?,
        },
    })
}

fn json_content() -> Vec<(String, String)> {
    vec![("Content-Type".to_owned(), "application/json".to_owned())]
}

/// Carries requests out: one HTTP client (and its connection pool) for every sink, and a
/// signing client per AWS sink.
pub(crate) struct Transport {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    aws: HashMap<String, AwsClient>,
    mailers: HashMap<String, email::Mailer>,
}

impl Transport {
    pub(crate) fn new(sinks: &[SinkConfig]) -> Result<Transport, AlertError> {
        let mut aws = HashMap::new();
        let mut mailers = HashMap::new();
        for sink in sinks {
            if let Some(mailer) = email::Mailer::new(&sink.name, &sink.kind)? {
                mailers.insert(sink.name.clone(), mailer);
            }
            if let SinkKind::Sns {
                topic_arn, profile, ..
            } = &sink.kind
            {
                let settings = S3Settings {
                    profile: profile.clone(),
                    ..S3Settings::default()
                };
                let client = AwsClient::new(&settings, crate::config::topic_region(topic_arn))
                    .map_err(|err| AlertError::Config {
                        origin: format!("sink {:?}", sink.name),
                        reason: err.to_string(),
                    })?;
                aws.insert(sink.name.clone(), client);
            }
        }
        let client = trailhound_source::aws::http_client(Duration::from_secs(15))
            .map_err(AlertError::Internal)?;
        let runtime = trailhound_source::aws::io_runtime().map_err(AlertError::Internal)?;
        Ok(Transport {
            client,
            runtime,
            aws,
            mailers,
        })
    }

    /// Whether a sink can be reached now, without sending anything: `Err((fatal, reason))`,
    /// fatal when the sink can never work as configured (a refused password, a file that
    /// cannot be written, a host that does not resolve), not when it is only down.
    pub(crate) fn check(&self, sink: &SinkConfig) -> Result<(), (bool, String)> {
        match &sink.kind {
            SinkKind::Stdout | SinkKind::Sns { .. } => Ok(()),
            SinkKind::Jsonl { path } => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map(|_| ())
                .map_err(|err| (true, format!("cannot write {}: {err}", path.display()))),
            SinkKind::Email { .. } => match self.mailers.get(&sink.name) {
                Some(mailer) => self.runtime.block_on(mailer.check()),
                None => Ok(()),
            },
            SinkKind::Webhook { url, .. }
            | SinkKind::Slack { url }
            | SinkKind::Teams { url }
            | SinkKind::Pagerduty { url, .. }
            | SinkKind::Splunk { url, .. } => reachable(url),
        }
    }

    /// Sends; `Err` says why in words fit for `status` and the log, and whether trying
    /// again can help.
    pub(crate) fn send(&self, request: &Request) -> Result<(), Failure> {
        match request {
            Request::Stdout(line) => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}")
                    .and_then(|()| out.flush())
                    .map_err(|err| Failure::transient(format!("cannot write to stdout: {err}")))
            }
            Request::Append { path, line } => append(path, line).map_err(Failure::transient),
            Request::Email {
                sink,
                alert,
                delivery,
            } => {
                let mailer = self.mailers.get(sink).ok_or_else(|| {
                    Failure::permanent(format!("no mailer for sink {sink:?} (a bug)"))
                })?;
                self.runtime.block_on(mailer.send(alert, *delivery))
            }
            Request::Aws {
                sink,
                service,
                url,
                body,
            } => {
                let client = self.aws.get(sink).ok_or_else(|| {
                    Failure::permanent(format!("no AWS client for sink {sink:?} (a bug)"))
                })?;
                let answer = client
                    .send(
                        http::Method::POST,
                        service,
                        url,
                        &[("content-type", "application/x-www-form-urlencoded")],
                        body.clone(),
                    )
                    .map_err(|err| Failure::transient(err.to_string()))?;
                if answer.is_success() {
                    return Ok(());
                }
                let text: String = String::from_utf8_lossy(&answer.body)
                    .chars()
                    .take(300)
                    .collect();
                Err(Failure::of_status(
                    answer.status,
                    format!("{url} answered {}: {}", answer.status, text.trim()),
                ))
            }
            Request::Post { url, headers, body } => self.runtime.block_on(async {
                let mut post = self.client.post(url).body(body.clone());
                for (name, value) in headers {
                    post = post.header(name, value);
                }
                let response = post.send().await.map_err(|err| {
                    // A URL that cannot be sent to never will be; anything else on the way
                    // (refused, reset, timed out) may pass.
                    if err.is_builder() {
                        Failure::permanent(describe(&err))
                    } else {
                        Failure::transient(describe(&err))
                    }
                })?;
                let status = response.status();
                if status.is_success() {
                    return Ok(());
                }
                let text = response.text().await.unwrap_or_default();
                let text: String = text.chars().take(200).collect();
                Err(Failure::of_status(
                    status.as_u16(),
                    format!("{url} answered {status}: {}", text.trim()),
                ))
            }),
        }
    }
}

/// Why a sink did not take an alert, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The sink will never take it as it is (a 4xx other than 408 and 429, a bad URL, a
    /// refused recipient): retrying only holds back the alerts after it.
    pub(crate) permanent: bool,
    /// What went wrong, for `status`, `alert history` and the log.
    pub(crate) reason: String,
}

impl Failure {
    pub(crate) fn transient(reason: String) -> Failure {
        Failure {
            permanent: false,
            reason,
        }
    }

    pub(crate) fn permanent(reason: String) -> Failure {
        Failure {
            permanent: true,
            reason,
        }
    }

    /// An HTTP answer's verdict: 408, 429 and 5xx pass with time; other 4xx do not.
    pub(crate) fn of_status(status: u16, reason: String) -> Failure {
        Failure {
            permanent: (400..500).contains(&status) && status != 408 && status != 429,
            reason,
        }
    }
}

/// A TCP connection to the URL's host and port: resolvable and listening.
fn reachable(url: &str) -> Result<(), (bool, String)> {
    use std::net::ToSocketAddrs;
    let parsed = reqwest::Url::parse(url).map_err(|err| (true, format!("bad url: {err}")))?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<_> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|err| (true, format!("cannot resolve {host}: {err}")))?
        .collect();
    let mut last = String::new();
    for address in addresses {
        match std::net::TcpStream::connect_timeout(&address, Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(err) => last = format!("cannot connect to {host}:{port}: {err}"),
        }
    }
    Err((false, last))
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
