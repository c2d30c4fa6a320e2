//! Email over SMTP: the title as the subject, the findings as plain text, and the alert's
//! JSON at the end for whoever wants to parse it.

use std::fmt::Write;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{SinkKind, SmtpSecurity};
use crate::{Alert, AlertError};

/// A configured mailer.
pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl Mailer {
    /// Checks the addresses and the CA file, and sets up the transport (no connection yet).
    pub(crate) fn new(name: &str, kind: &SinkKind) -> Result<Option<Mailer>, AlertError> {
        let SinkKind::Email {
            host,
            port,
            security,
            username,
            password,
            from,
            to,
            ca_file,
        } = kind
        else {
            return Ok(None);
        };
        let fail = |reason: String| AlertError::Config {
            origin: format!("sink {name:?}"),
            reason,
        };
        let mailbox = |text: &str| {
            text.parse::<Mailbox>()
                .map_err(|err| fail(format!("{text:?} is not an email address: {err}")))
        };
        let from = mailbox(from)?;
        let to = to
            .iter()
            .map(|t| mailbox(t))
            .collect::<Result<Vec<_>, _>>()?;
        let mut tls = TlsParameters::builder(host.clone());
        if let Some(path) = ca_file {
            let pem = std::fs::read(path)
                .map_err(|err| fail(format!("cannot read {}: {err}", path.display())))?;
            let certificate = Certificate::from_pem(&pem).map_err(|err| {
                fail(format!(
                    "{} is not a PEM certificate: {err}",
                    path.display()
                ))
            })?;
            tls = tls.add_root_certificate(certificate);
        }
        let tls = tls
            .build_rustls()
            .map_err(|err| fail(format!("TLS settings: {err}")))?;
        let (tls, default_port) = match security {
            SmtpSecurity::Starttls => (Tls::Required(tls), 587),
            SmtpSecurity::Tls => (Tls::Wrapper(tls), 465),
            SmtpSecurity::None => (Tls::None, 25),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port.unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(Duration::from_secs(20)));
        if let (Some(user), Some(password)) = (username, password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
            to,
        }))
    }

    /// Connects, upgrades to TLS and authenticates, then quits. `Err((fatal, reason))`:
    /// fatal when the server refused (a wrong password), not when it could not be reached.
    pub(crate) async fn check(&self) -> Result<(), (bool, String)> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err((false, "the server did not answer".to_owned())),
            Err(err) => Err((err.is_permanent(), format!("SMTP: {err}"))),
        }
    }

    /// Sends `alert` (outbox number `delivery`).
    pub(crate) async fn send(&self, alert: &Alert, delivery: i64) -> Result<(), super::Failure> {
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(alert.title.clone());
        for to in &self.to {
            message = message.to(to.clone());
        }
        let message = message
            .body(text(alert, delivery))
            .map_err(|err| super::Failure::permanent(format!("cannot build the message: {err}")))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|err| {
                // 5xx replies (a refused recipient or message) are final; 4xx and lost
                // connections are not.
                super::Failure {
                    permanent: err.is_permanent(),
                    reason: format!("SMTP: {err}"),
                }
            })
    }
}

/// An email with one file attached: a scheduled report.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
    /// The attachment's file name.
    pub file_name: String,
    /// Its MIME type (`application/pdf`).
    pub content_type: String,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// Sends `mail` through the email sink `sink`, blocking until the server took it.
///
/// # Errors
///
/// [`AlertError::Config`] when `sink` is not an email sink or its settings are wrong,
/// [`AlertError::Delivery`] when the server cannot be reached or refuses the message.
pub fn send_mail(sink: &crate::SinkConfig, mail: Mail) -> Result<(), AlertError> {
    use lettre::message::{Attachment, MultiPart, SinglePart, header::ContentType};
    let mailer = Mailer::new(&sink.name, &sink.kind)?.ok_or_else(|| AlertError::Config {
        origin: format!("sink {:?}", sink.name),
        reason: "reports are mailed through an email sink (type = \"email\")".to_owned(),
    })?;
    let failed = |reason: String| AlertError::Delivery {
        sink: sink.name.clone(),
        reason,
    };
    let content_type = ContentType::parse(&mail.content_type)
        .map_err(|err| failed(format!("{}: {err}", mail.content_type)))?;
    let mut message = Message::builder()
        .from(mailer.from.clone())
        .subject(mail.subject);
    for to in &mailer.to {
        message = message.to(to.clone());
    }
    let message = message
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(mail.body))
                .singlepart(Attachment::new(mail.file_name).body(mail.content, content_type)),
        )
        .map_err(|err| failed(format!("cannot build the message: {err}")))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| AlertError::Internal(format!("cannot start a runtime: {err}")))?;
    runtime
        .block_on(mailer.transport.send(message))
        .map(|_| ())
        .map_err(|err| failed(format!("SMTP: {err}")))
}

/// The plain-text body.
fn text(alert: &Alert, delivery: i64) -> String {
    let mut body = format!("{}\n\n", alert.title);
    for alerted in &alert.findings {
        let f = &alerted.finding;
        let _ = writeln!(body, "- {} ({})", f.rule_title, f.level.as_str());
        let _ = writeln!(body, "  {}", f.summary);
        let facts = [
            ("time", f.time.as_deref()),
            ("principal", f.principal.as_deref()),
            ("account", f.account.as_deref()),
            ("region", f.region.as_deref()),
            ("source IP", f.source_ip.as_deref()),
        ];
        for (label, value) in facts {
            if let Some(value) = value {
                let _ = writeln!(body, "  {label}: {value}");
            }
        }
        if !f.event_ids.is_empty() {
            let _ = writeln!(body, "  events: {}", f.event_ids.join(", "));
        }
        body.push('\n');
    }
    let json =
        serde_json::to_string_pretty(&super::webhook::body(alert, delivery)).unwrap_or_default();
    let _ = write!(body, "-- \nTrailhound alert {delivery}\n{json}\n");
    body
}
