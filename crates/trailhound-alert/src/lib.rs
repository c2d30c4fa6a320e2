//! Alerting: the *findings → alert outbox → sinks* end of Trailhound's pipeline.
//!
//! ```text
//! findings (catalog) ──route: routes, group by principal, throttle──► outbox (catalog)
//!        outbox ──deliver: in order per sink, backoff while a sink is down──► sinks
//! ```
//!
//! - [`AlertConfig`] is the `[alerts]`, `[[sinks]]` and `[[routes]]` part of
//!   `trailhound.toml`, checked whole when loaded.
//! - Routing records every alert in the outbox, in the same transaction as the position of
//!   the newest finding routed: a finding is routed once, however the process stops.
//!   Throttled and repeated findings are recorded as `suppressed`, never silently dropped.
//! - Delivery sends each sink's alerts in order and marks each sent the moment its sink takes
//!   it. A sink that fails keeps its alerts (and those after them) waiting, retried with
//!   exponential backoff up to `retry_max`; they go out once it answers again. An alert is
//!   repeated only if the process dies between the sink's answer and that mark; webhook
//!   receivers can drop such a repeat by its `X-Trailhound-Delivery` number.
#![deny(missing_docs)]

mod alert;
mod config;
mod error;
mod route;
mod sink;

use std::collections::HashSet;
use std::time::Duration;

pub use alert::{Alert, AlertedFinding};
pub use config::{AlertConfig, AlertSettings, RouteConfig, SinkConfig, SinkKind, SmtpSecurity};
pub use error::AlertError;
pub use sink::{Mail, send_mail};
use trailhound_lake::Catalog;

/// What a round of alerting did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertRound {
    /// Alerts newly recorded to be sent.
    pub queued: u64,
    /// Alerts their sinks took.
    pub sent: u64,
    /// Alerts whose sink failed this round (they wait and are retried).
    pub failed: u64,
    /// Alerts still waiting after the round.
    pub pending: u64,
    /// Alerts set aside this round as dead letters.
    pub dead: u64,
}

/// Routing and delivery with one configuration.
pub struct Alerting {
    config: AlertConfig,
    transport: sink::Transport,
}

impl Alerting {
    /// Alerting with `config`; with no sinks configured, findings go to standard output.
    ///
    /// # Errors
    ///
    /// When the HTTP client cannot be made.
    pub fn new(mut config: AlertConfig) -> Result<Alerting, AlertError> {
        if config.sinks.is_empty() {
            config.sinks.push(SinkConfig {
                name: "stdout".to_owned(),
                kind: SinkKind::Stdout,
            });
        }
        let transport = sink::Transport::new(&config.sinks)?;
        Ok(Alerting { config, transport })
    }

    /// The configuration in use.
    pub fn config(&self) -> &AlertConfig {
        &self.config
    }

    /// Marks where alerting starts on a lake that has never alerted: findings recorded from
    /// now on are alerted, the lake's history is not. A monitor calls this once its first
    /// poll has taken in the backlog, so that the backlog is history too.
    ///
    /// # Errors
    ///
    /// When the catalog fails.
    pub fn begin(&self, catalog: &mut Catalog) -> Result<(), AlertError> {
        route::begin(catalog, now_us())
    }

    /// Whether the lake has never alerted: [`Alerting::begin`] has not run on it.
    ///
    /// # Errors
    ///
    /// When the catalog fails.
    pub fn is_new(&self, catalog: &Catalog) -> Result<bool, AlertError> {
        route::is_new(catalog)
    }

    /// Starts alerting on a lake that has never alerted at its first finding: its history
    /// is alerted on purpose (`watch --alert-history`).
    ///
    /// # Errors
    ///
    /// When the catalog fails.
    pub fn begin_with_history(&self, catalog: &mut Catalog) -> Result<(), AlertError> {
        route::begin_with_history(catalog, now_us())
    }

    /// Routes new findings into the outbox, then delivers what is due.
    ///
    /// # Errors
    ///
    /// Only when the catalog fails; a sink that fails is counted, not an error.
    pub fn run(&self, catalog: &mut Catalog) -> Result<AlertRound, AlertError> {
        let queued = self.route(catalog)?;
        let mut round = self.deliver(catalog)?;
        round.queued = queued;
        Ok(round)
    }

    /// Routes the findings recorded since the last routing into the outbox, in one
    /// transaction with the routing cursor; returns how many alerts were queued to be sent.
    ///
    /// # Errors
    ///
    /// When the catalog fails; then nothing is routed.
    pub fn route(&self, catalog: &mut Catalog) -> Result<u64, AlertError> {
        route::route_new(&self.config, catalog, now_us())
    }

    /// Sends the alerts that are due, each sink's in order.
    ///
    /// # Errors
    ///
    /// Only when the catalog fails.
    pub fn deliver(&self, catalog: &mut Catalog) -> Result<AlertRound, AlertError> {
        let mut round = AlertRound::default();
        let mut held: HashSet<String> = HashSet::new();
        for entry in catalog.pending_alerts()? {
            let now = now_us();
            if held.contains(&entry.sink) || entry.next_attempt_us > now {
                held.insert(entry.sink.clone());
                round.pending += 1;
                continue;
            }
            let Some(sink) = self.config.sink(&entry.sink) else {
                // Its sink was removed from the configuration; it waits for it to return.
                tracing::warn!(
                    "alert {} is for sink {:?}, which is no longer configured; it stays in the outbox",
                    entry.id,
                    entry.sink
                );
                held.insert(entry.sink.clone());
                round.pending += 1;
                continue;
            };
            let alert: Alert = serde_json::from_str(&entry.payload)
                .map_err(|err| AlertError::Internal(format!("outbox entry {}: {err}", entry.id)))?;
            let request = sink::request(&sink.name, &sink.kind, &alert, entry.id)?;
            match self.transport.send(&request) {
                Ok(()) => {
                    catalog.mark_alert_sent(entry.id, now_us())?;
                    round.sent += 1;
                }
                Err(failure) if failure.permanent || self.given_up(&entry, now) => {
                    let why = if failure.permanent {
                        "refused for good"
                    } else {
                        "still failing at the give-up time"
                    };
                    tracing::error!(
                        "sink {:?} {why} ({}); alert {} is a dead letter (`trailhound alert retry {}` sends it again) and the sink's next alerts go on",
                        entry.sink,
                        failure.reason,
                        entry.id,
                        entry.id
                    );
                    catalog.mark_alert_dead(entry.id, &failure.reason)?;
                    round.failed += 1;
                    round.dead += 1;
                }
                Err(failure) => {
                    let wait = self.backoff(entry.attempts);
                    tracing::warn!(
                        "sink {:?} failed ({}); alert {} and those after it are retried in {}s",
                        entry.sink,
                        failure.reason,
                        entry.id,
                        wait.as_secs()
                    );
                    let next = now_us() + i64::try_from(wait.as_micros()).unwrap_or(i64::MAX);
                    catalog.mark_alert_failed(entry.id, &failure.reason, next)?;
                    held.insert(entry.sink.clone());
                    round.failed += 1;
                    round.pending += 1;
                }
            }
        }
        Ok(round)
    }

    /// Checks that every sink can work, without sending anything: the start-up check of a
    /// monitor. A sink that can never work as configured (a refused password, an unwritable
    /// file, a host that does not resolve) is an error; one that is only down now is
    /// returned as a warning, since its alerts wait in the outbox until it is back.
    ///
    /// # Errors
    ///
    /// [`AlertError::Config`] naming the sink and what is wrong.
    pub fn check(&self) -> Result<Vec<String>, AlertError> {
        let mut warnings = Vec::new();
        for sink in &self.config.sinks {
            match self.transport.check(sink) {
                Ok(()) => {}
                Err((true, reason)) => {
                    return Err(AlertError::Config {
                        origin: format!("sink {:?}", sink.name),
                        reason,
                    });
                }
                Err((false, reason)) => warnings.push(format!(
                    "sink {:?} cannot be reached now ({reason}); its alerts will wait in the outbox until it is back",
                    sink.name
                )),
            }
        }
        Ok(warnings)
    }

    /// Sends a sample alert to one sink, directly (not through the outbox).
    ///
    /// # Errors
    ///
    /// [`AlertError::UnknownSink`], or [`AlertError::Delivery`] with the sink's answer.
    pub fn test(&self, name: &str) -> Result<(), AlertError> {
        let sink = self
            .config
            .sink(name)
            .ok_or_else(|| AlertError::UnknownSink(name.to_owned()))?;
        let request = sink::request(&sink.name, &sink.kind, &Alert::sample(), 0)?;
        self.transport
            .send(&request)
            .map_err(|failure| AlertError::Delivery {
                sink: name.to_owned(),
                reason: failure.reason,
            })
    }

    /// Names and kinds of the sinks, for start-up messages.
    pub fn describe(&self) -> String {
        self.config
            .sinks
            .iter()
            .map(|s| format!("{} ({})", s.name, kind_name(&s.kind)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether an alert has been retried for longer than `retry_give_up`.
    fn given_up(&self, entry: &trailhound_lake::OutboxEntry, now_us: i64) -> bool {
        let limit = i64::try_from(self.config.alerts.retry_give_up.as_micros()).unwrap_or(i64::MAX);
        now_us.saturating_sub(entry.created_us) >= limit
    }

    /// Puts a dead letter back in its sink's queue; `false` when `id` is not one.
    ///
    /// # Errors
    ///
    /// When the catalog fails.
    pub fn retry(&self, catalog: &mut Catalog, id: i64) -> Result<bool, AlertError> {
        Ok(catalog.retry_alert(id, now_us())?)
    }

    /// 5 s, doubling per failed attempt, at most `retry_max`.
    fn backoff(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
        Duration::from_secs(5)
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.config.alerts.retry_max)
    }
}

/// The `type` a sink is configured with.
pub fn kind_name(kind: &SinkKind) -> &'static str {
    match kind {
        SinkKind::Stdout => "stdout",
        SinkKind::Jsonl { .. } => "jsonl",
        SinkKind::Webhook { .. } => "webhook",
        SinkKind::Slack { .. } => "slack",
        SinkKind::Teams { .. } => "teams",
        SinkKind::Pagerduty { .. } => "pagerduty",
        SinkKind::Splunk { .. } => "splunk",
        SinkKind::Sns { .. } => "sns",
        SinkKind::Email { .. } => "email",
    }
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}
