//! The alerting part of `trailhound.toml`: sinks, routes and throttling.
//!
//! ```toml
//! [alerts]
//! dedup_window = "1h"        # the same rule on the same principal: one alert per window
//! max_per_hour = 60          # per sink; beyond it alerts are recorded, not sent
//! group_by_principal = true  # findings on one principal found together: one alert
//! retry_max = "10m"          # longest wait between attempts while a sink is down
//! retry_give_up = "24h"      # then the alert is a dead letter and the sink's queue goes on
//!
//! [[sinks]]
//! name = "secops"
//! type = "webhook"           # stdout | jsonl | webhook | slack | teams | pagerduty | splunk
//!                            # | email | sns
//! url = "https://hooks.example.com/trailhound"
//! secret = "${TRAILHOUND_WEBHOOK_SECRET}"   # HMAC-SHA256 of the body, X-Trailhound-Signature
//!
//! [[routes]]
//! sinks = ["secops"]
//! min_level = "high"
//! tags = ["attack.*"]        # any of them (globs); rules and accounts work the same way
//! ```
//!
//! `${VAR}` anywhere in a value is replaced by the environment variable, so secrets stay out
//! of the file. Everything is checked when the file is loaded: a monitor with a bad sink
//! fails at start-up, not at its first alert.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;
use trailhound_event::Level;

use crate::AlertError;

/// The whole alerting configuration.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AlertConfig {
    /// Throttling and grouping.
    #[serde(default)]
    pub alerts: AlertSettings,
    /// Where alerts can go.
    #[serde(default)]
    pub sinks: Vec<SinkConfig>,
    /// Which findings go where; with none, every finding of level medium or above goes to
    /// every sink.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

/// Throttling and grouping.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// The same rule on the same principal and account is alerted once per window (`1h`,
    /// `30m`, `0s` for never).
    #[serde(default = "default_dedup_window", with = "duration_text")]
    pub dedup_window: Duration,
    /// Alerts per sink per hour; beyond it they are recorded as suppressed.
    #[serde(default = "default_max_per_hour")]
    pub max_per_hour: u64,
    /// Findings on the same principal routed together become one alert.
    #[serde(default = "default_true")]
    pub group_by_principal: bool,
    /// Longest wait between attempts while a sink is down (the wait doubles from 5 s).
    #[serde(default = "default_retry_max", with = "duration_text")]
    pub retry_max: Duration,
    /// How long an alert is retried through transient failures before it is set aside as
    /// a dead letter, so that the alerts after it go on.
    #[serde(default = "default_retry_give_up", with = "duration_text")]
    pub retry_give_up: Duration,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            dedup_window: default_dedup_window(),
            max_per_hour: default_max_per_hour(),
            group_by_principal: true,
            retry_max: default_retry_max(),
            retry_give_up: default_retry_give_up(),
        }
    }
}

fn default_retry_max() -> Duration {
    Duration::from_secs(600)
}

fn default_retry_give_up() -> Duration {
    Duration::from_secs(24 * 3600)
}

fn default_dedup_window() -> Duration {
    Duration::from_secs(3600)
}

fn default_max_per_hour() -> u64 {
    60
}

fn default_true() -> bool {
    true
}

/// One sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkConfig {
    /// How routes and `alert test` name it.
    pub name: String,
    /// What it is.
    pub kind: SinkKind,
}

impl<'de> Deserialize<'de> for SinkConfig {
    // By hand, because serde cannot both flatten the kind and refuse unknown settings, and a
    // misspelt setting silently ignored is a monitor that never alerts.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SinkConfig, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(d)?;
        let name = match table.remove("name") {
            Some(toml::Value::String(name)) => name,
            Some(_) => return Err(D::Error::custom("a sink's name must be a string")),
            None => return Err(D::Error::custom("every sink needs a name")),
        };
        let kind = SinkKind::deserialize(toml::Value::Table(table))
            .map_err(|err| D::Error::custom(format!("sink {name:?}: {}", err.message())))?;
        Ok(SinkConfig { name, kind })
    }
}

/// The kinds of sink and their settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum SinkKind {
    /// One JSON line per alert on standard output.
    Stdout,
    /// One JSON line per alert appended to a file.
    Jsonl {
        /// The file.
        path: std::path::PathBuf,
    },
    /// A JSON POST to any URL, signed with HMAC-SHA256 when a secret is set.
    Webhook {
        /// Where to POST.
        url: String,
        /// Shared secret for `X-Trailhound-Signature: sha256=<hex>`.
        #[serde(default)]
        secret: Option<String>,
        /// Extra headers (an `Authorization` for the receiver, …).
        #[serde(default)]
        headers: std::collections::BTreeMap<String, String>,
    },
    /// A Slack incoming webhook.
    Slack {
        /// The webhook URL Slack gave.
        url: String,
    },
    /// A Microsoft Teams workflow (incoming webhook) URL.
    Teams {
        /// The workflow URL.
        url: String,
    },
    /// PagerDuty Events API v2.
    Pagerduty {
        /// The integration's routing key.
        routing_key: String,
        /// The events endpoint.
        #[serde(default = "default_pagerduty_url")]
        url: String,
    },
    /// Splunk HTTP Event Collector.
    Splunk {
        /// `https://splunk:8088/services/collector/event`.
        url: String,
        /// The HEC token.
        token: String,
        /// Index to write to (the token's default when absent).
        #[serde(default)]
        index: Option<String>,
        /// Sourcetype of the events.
        #[serde(default = "default_sourcetype")]
        sourcetype: String,
    },
    /// Email over SMTP.
    Email {
        /// The SMTP server.
        host: String,
        /// Its port [default: 587 with starttls, 465 with tls, 25 with none].
        #[serde(default)]
        port: Option<u16>,
        /// `starttls` (required, the default), `tls` (from the first byte) or `none` (only
        /// for a relay on the same machine).
        #[serde(default)]
        security: SmtpSecurity,
        /// User name for SMTP AUTH.
        #[serde(default)]
        username: Option<String>,
        /// Password for SMTP AUTH (write `${VARIABLE}` to keep it out of the file).
        #[serde(default)]
        password: Option<String>,
        /// The sender, `Name <address>` or an address.
        from: String,
        /// Recipients.
        to: Vec<String>,
        /// A PEM file of extra root certificates (a company CA) to trust for the server.
        #[serde(default)]
        ca_file: Option<std::path::PathBuf>,
    },
    /// Amazon SNS Publish to a topic, signed with the AWS credential chain.
    Sns {
        /// `arn:aws:sns:<region>:<account>:<topic>`.
        topic_arn: String,
        /// A profile from the AWS shared configuration files for this sink's credentials.
        #[serde(default)]
        profile: Option<String>,
        /// An SNS-compatible endpoint [default: AWS_ENDPOINT_URL_SNS, AWS_ENDPOINT_URL, else
        /// https://sns.<region>.amazonaws.com/].
        #[serde(default)]
        endpoint: Option<String>,
    },
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which must succeed.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No encryption.
    None,
}

fn default_pagerduty_url() -> String {
    "https://events.pagerduty.com/v2/enqueue".to_owned()
}

fn default_sourcetype() -> String {
    "trailhound:alert".to_owned()
}

/// One route: findings that pass every filter given go to its sinks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Sink names.
    pub sinks: Vec<String>,
    /// Lowest level routed.
    #[serde(default = "default_min_level")]
    pub min_level: Level,
    /// Rule id globs; any must match.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Tag globs; any tag must match any of them.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Account ids (or globs).
    #[serde(default)]
    pub accounts: Vec<String>,
}

fn default_min_level() -> Level {
    Level::Medium
}

impl AlertConfig {
    /// What feeds the sink `name`, one description per route: `route 2 (level >= high)`, or
    /// the default route when none is configured.
    pub fn routes_feeding(&self, name: &str) -> Vec<String> {
        if self.routes.is_empty() {
            return vec!["level >= medium (default route)".to_owned()];
        }
        self.routes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.sinks.iter().any(|s| s == name))
            .map(|(i, r)| format!("route {} (level >= {})", i + 1, r.min_level.as_str()))
            .collect()
    }

    /// Parses and checks a `trailhound.toml`.
    ///
    /// # Errors
    ///
    /// [`AlertError::Config`] naming what is wrong: TOML syntax, an unknown sink type or
    /// setting, a missing environment variable, a bad URL, a route naming no known sink, a
    /// duplicate sink name.
    pub fn parse(text: &str, origin: &str) -> Result<AlertConfig, AlertError> {
        let expanded = expand_env(text).map_err(|reason| AlertError::Config {
            origin: origin.to_owned(),
            reason,
        })?;
        let config: AlertConfig = toml::from_str(&expanded).map_err(|err| AlertError::Config {
            origin: origin.to_owned(),
            reason: err.to_string().trim().to_owned(),
        })?;
        config.check().map_err(|reason| AlertError::Config {
            origin: origin.to_owned(),
            reason,
        })?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        let mut names = HashSet::new();
        for sink in &self.sinks {
            if !names.insert(sink.name.as_str()) {
                return Err(format!("two sinks are named {:?}", sink.name));
            }
            let url = match &sink.kind {
                SinkKind::Webhook { url, .. }
                | SinkKind::Slack { url }
                | SinkKind::Teams { url }
                | SinkKind::Pagerduty { url, .. }
                | SinkKind::Splunk { url, .. } => Some(url),
                SinkKind::Sns { endpoint, .. } => endpoint.as_ref(),
                SinkKind::Stdout | SinkKind::Jsonl { .. } | SinkKind::Email { .. } => None,
            };
            if let Some(url) = url {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|err| format!("sink {:?}: bad url {url:?}: {err}", sink.name))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                    return Err(format!(
                        "sink {:?}: url {url:?} is not an http:// or https:// URL",
                        sink.name
                    ));
                }
            }
            if let SinkKind::Splunk { token, .. } = &sink.kind
                && token.is_empty()
            {
                return Err(format!("sink {:?}: the HEC token is empty", sink.name));
            }
            if let SinkKind::Email {
                to,
                username,
                password,
                ..
            } = &sink.kind
            {
                if to.is_empty() {
                    return Err(format!("sink {:?}: no recipients (to = [...])", sink.name));
                }
                if username.is_some() != password.is_some() {
                    return Err(format!(
                        "sink {:?}: give both username and password, or neither",
                        sink.name
                    ));
                }
            }
            if let SinkKind::Sns { topic_arn, .. } = &sink.kind
                && topic_region(topic_arn).is_none()
            {
                return Err(format!(
                    "sink {:?}: {topic_arn:?} is not a topic ARN (arn:aws:sns:<region>:<account>:<topic>)",
                    sink.name
                ));
            }
        }
        for (index, route) in self.routes.iter().enumerate() {
            if route.sinks.is_empty() {
                return Err(format!("route {} names no sinks", index + 1));
            }
            for name in &route.sinks {
                if !names.contains(name.as_str()) {
                    return Err(format!(
                        "route {} sends to {name:?}, but no sink has that name (sinks: {})",
                        index + 1,
                        self.sinks
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            for pattern in route.rules.iter().chain(&route.tags).chain(&route.accounts) {
                glob::Pattern::new(pattern).map_err(|err| {
                    format!("route {}: bad pattern {pattern:?}: {err}", index + 1)
                })?;
            }
        }
        Ok(())
    }

    /// The sink named `name`.
    pub fn sink(&self, name: &str) -> Option<&SinkConfig> {
        self.sinks.iter().find(|s| s.name == name)
    }
}

/// The region of an SNS topic ARN.
pub(crate) fn topic_region(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "sns", region, account, topic]
            if !region.is_empty() && !account.is_empty() && !topic.is_empty() =>
        {
            Some(region)
        }
        _ => None,
    }
}

/// Replaces `${VAR}` with the environment's value; a variable that is not set is an error
/// rather than an empty secret.
fn expand_env(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "an unclosed ${ in the file".to_owned())?;
        let name = &after[..end];
        let value = std::env::var(name).map_err(|_| {
            format!("the environment variable {name} (used as ${{{name}}}) is not set")
        })?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `"90s"`, `"30m"`, `"1h"`, `"1d"` as a duration.
mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        trailhound_event::quantity::parse_span(&text).map_err(serde::de::Error::custom)
    }

    #[cfg(test)]
    pub(super) fn parse(text: &str) -> Option<Duration> {
        trailhound_event::quantity::parse_span(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sinks_routes_and_settings() -> Result<(), AlertError> {
        let config = AlertConfig::parse(
            r#"
            [insights]            # other sections are other features' business
            min_count = 5

            [alerts]
            dedup_window = "30m"
            max_per_hour = 10

            [[sinks]]
            name = "hook"
            type = "webhook"
            url = "http://127.0.0.1:9000/in"
            secret = "s3cret"
            headers = { "X-Team" = "secops" }

            [[sinks]]
            name = "splunk"
            type = "splunk"
            url = "https://splunk.example:8088/services/collector/event"
            token = "abc"

            [[routes]]
            sinks = ["hook", "splunk"]
            min_level = "high"
            tags = ["attack.*"]
            "#,
            "trailhound.toml",
        )?;
        assert_eq!(config.alerts.dedup_window, Duration::from_secs(1800));
        assert_eq!(config.alerts.max_per_hour, 10);
        assert!(config.alerts.group_by_principal);
        assert_eq!(config.sinks.len(), 2);
        assert!(matches!(
            &config.sink("hook").ok_or(AlertError::UnknownSink("hook".into()))?.kind,
            SinkKind::Webhook { secret: Some(s), headers, .. } if s == "s3cret" && headers.len() == 1
        ));
        assert_eq!(config.routes[0].min_level, Level::High);
        Ok(())
    }

    fn error(text: &str) -> String {
        match AlertConfig::parse(text, "t.toml") {
            Ok(_) => "accepted".to_owned(),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn mistakes_are_named() {
        let unknown = error("[[sinks]]\nname = \"x\"\ntype = \"carrier-pigeon\"\n");
        assert!(unknown.contains("carrier-pigeon"), "{unknown}");
        let bad_url = error("[[sinks]]\nname = \"x\"\ntype = \"slack\"\nurl = \"not a url\"\n");
        assert!(bad_url.contains("bad url"), "{bad_url}");
        let ftp = error("[[sinks]]\nname = \"x\"\ntype = \"webhook\"\nurl = \"ftp://h/x\"\n");
        assert!(ftp.contains("not an http://"), "{ftp}");
        let route =
            error("[[sinks]]\nname = \"x\"\ntype = \"stdout\"\n[[routes]]\nsinks = [\"y\"]\n");
        assert!(route.contains("no sink has that name"), "{route}");
        let typo = error(
            "[[sinks]]\nname = \"x\"\ntype = \"slack\"\nurl = \"https://h/x\"\nchanel = \"#sec\"\n",
        );
        assert!(typo.contains("chanel"), "{typo}");
        let env = error(
            "[[sinks]]\nname = \"x\"\ntype = \"splunk\"\nurl = \"https://h/x\"\ntoken = \"${TRAILHOUND_TEST_UNSET_VARIABLE}\"\n",
        );
        assert!(env.contains("TRAILHOUND_TEST_UNSET_VARIABLE"), "{env}");
        let window = error("[alerts]\ndedup_window = \"soon\"\n");
        assert!(window.contains("not a length of time"), "{window}");
        let twice = error(
            "[[sinks]]\nname = \"x\"\ntype = \"stdout\"\n[[sinks]]\nname = \"x\"\ntype = \"stdout\"\n",
        );
        assert!(twice.contains("two sinks"), "{twice}");
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration_text::parse("90s"), Some(Duration::from_secs(90)));
        assert_eq!(duration_text::parse("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(duration_text::parse("0s"), Some(Duration::ZERO));
        assert_eq!(duration_text::parse("h"), None);
        assert_eq!(duration_text::parse("5q"), None);
    }
}
