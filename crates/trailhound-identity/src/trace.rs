//! The trace: from an access key, a session or principal ARN, back through the credentials
//! handed out to the chain's origin (a user's long-term key, a console sign-in, a federation,
//! a service, an EC2 instance profile), then forward to every session minted from the one
//! asked about, with what each did.
//!
//! Everything comes from the identity index in the catalog: a trace reads a few indexed rows
//! per session, never the events.

use std::collections::HashSet;

use serde::Serialize;
use trailhound_lake::{Catalog, CredentialGrant, CredentialUsage, GrantLookup};

use crate::IdentityError;
use crate::grant::arn_name;

/// How far a trace goes.
#[derive(Debug, Clone, Copy)]
pub struct TraceSettings {
    /// Only sessions handed out or active since then (µs).
    pub since_us: Option<i64>,
    /// Most sessions in one trace; beyond, it says it stopped.
    pub max_sessions: usize,
    /// Most sessions of one role a role ARN is traced through (the most recent).
    pub max_role_sessions: usize,
}

impl Default for TraceSettings {
    fn default() -> Self {
        TraceSettings {
            since_us: None,
            max_sessions: 2000,
            max_role_sessions: 50,
        }
    }
}

/// What a trace found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trace {
    /// What was asked about.
    pub asked: String,
    /// One chain per origin; most traces have one.
    pub chains: Vec<Chain>,
    /// Whether the trace stopped at [`TraceSettings::max_sessions`].
    pub truncated: bool,
}

/// One chain: its origin, and the sessions from it down to (and below) the one asked about.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Chain {
    /// Where the chain begins.
    pub origin: Origin,
    /// The session (or principal) at the top of the chain, where the origin handed out
    /// credentials.
    pub root: Node,
}

/// How a chain began.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Origin {
    /// `iam-user-key`, `console-sign-in`, `user-session`, `saml-federation`,
    /// `web-identity-federation`, `service`, `instance-profile`, `root`, `other-account`,
    /// `loop`, or `unknown`.
    pub kind: String,
    /// Who: the user, the identity provider's subject, the service, the instance.
    pub who: String,
    /// One sentence a person reads.
    pub detail: String,
}

/// One session, key or principal of a chain.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Node {
    /// The principal (a session ARN, a user's ARN, a service).
    pub principal: String,
    /// The access key, when the calls carried one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// `userIdentity.type` of its calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether this is what was asked about.
    pub traced: bool,
    /// How it was handed out, when the lake holds that event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granted: Option<Granted>,
    /// What it did.
    pub usage: Usage,
    /// Sessions handed out to it.
    pub children: Vec<Node>,
}

/// How a session was handed out.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Granted {
    /// The call: `AssumeRole`, `SwitchRole`, …
    pub method: String,
    /// When (RFC 3339).
    pub time: String,
    /// Its `eventID`.
    pub event_id: String,
    /// The account that recorded it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The role asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// From where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// With which client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The source identity set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// The federated subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federated_subject: Option<String>,
    /// The identity provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federated_provider: Option<String>,
    /// When the credential expires, as AWS wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// What a session did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Usage {
    /// API calls.
    pub calls: u64,
    /// Calls refused or failed.
    pub errors: u64,
    /// First and last call (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// See `first`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// Calls by service, the busiest first.
    pub services: Vec<ServiceCalls>,
    /// Source addresses.
    pub source_ips: Vec<String>,
    /// Accounts called.
    pub accounts: Vec<String>,
    /// The `eventID` of its first call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_event_id: Option<String>,
}

/// Calls to one service.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ServiceCalls {
    /// `eventSource`.
    pub service: String,
    /// Calls.
    pub calls: u64,
    /// Of which errors.
    pub errors: u64,
}

pub(crate) fn format_us(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
}

impl Usage {
    fn of(rows: &[CredentialUsage]) -> Usage {
        let mut usage = Usage::default();
        let mut first: Option<(i64, Option<&str>)> = None;
        let mut last: Option<i64> = None;
        for row in rows {
            usage.calls += row.calls;
            usage.errors += row.errors;
            match usage
                .services
                .iter_mut()
                .find(|s| s.service == row.event_source)
            {
                Some(service) => {
                    service.calls += row.calls;
                    service.errors += row.errors;
                }
                None => usage.services.push(ServiceCalls {
                    service: row.event_source.clone(),
                    calls: row.calls,
                    errors: row.errors,
                }),
            }
            if !row.source_ip.is_empty() && !usage.source_ips.contains(&row.source_ip) {
                usage.source_ips.push(row.source_ip.clone());
            }
            if !row.account.is_empty() && !usage.accounts.contains(&row.account) {
                usage.accounts.push(row.account.clone());
            }
            let this = (row.first_us, row.first_event_id.as_deref());
            if first.is_none_or(|kept| this < kept) {
                first = Some(this);
            }
            last = last.max(Some(row.last_us));
        }
        usage.services.sort_by(|a, b| {
            b.calls
                .cmp(&a.calls)
                .then_with(|| a.service.cmp(&b.service))
        });
        usage.source_ips.sort();
        usage.accounts.sort();
        if let Some((us, id)) = first {
            usage.first = Some(format_us(us));
            usage.first_event_id = id.map(str::to_owned);
        }
        usage.last = last.map(format_us);
        usage
    }
}

impl Granted {
    fn of(grant: &CredentialGrant) -> Granted {
        Granted {
            method: grant.method.clone(),
            time: format_us(grant.issued_us),
            event_id: grant.event_id.clone(),
            account: grant.account.clone(),
            role_arn: grant.role_arn.clone(),
            source_ip: grant.source_ip.clone(),
            user_agent: grant.user_agent.clone(),
            source_identity: grant.source_identity.clone(),
            federated_subject: grant.federated_subject.clone(),
            federated_provider: grant.federated_provider.clone(),
            expires: grant.expires.clone(),
        }
    }
}

/// A session of a chain: an access key (with the principal it acted as), or a principal
/// whose key is not known (a console role switch, a user signing in).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Session {
    pub(crate) key: Option<String>,
    pub(crate) principal: String,
}

fn is_access_key(text: &str) -> bool {
    (text.starts_with("AKIA") || text.starts_with("ASIA"))
        && text.len() >= 16
        && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether `text` is something [`trace`] starts from without the lake's events (an access key
/// or an ARN); anything else is taken for an `eventID` by the caller.
pub fn is_traceable(text: &str) -> bool {
    is_access_key(text) || text.starts_with("arn:")
}

/// Sessions from one up to its origin, each with the grant that handed it out.
type Path = Vec<(Session, Option<CredentialGrant>)>;

struct Walk<'c> {
    catalog: &'c Catalog,
    settings: TraceSettings,
    sessions: usize,
    truncated: bool,
}

/// Traces `asked`: an access key id or an ARN (session, user, role, root). Other input is
/// refused; a caller resolves an `eventID` to the key or principal of its event first and
/// passes [`trace_event`] the result.
///
/// # Errors
///
/// [`IdentityError::NotFound`] when the index knows nothing of `asked`;
/// [`IdentityError::Usage`] when `asked` is neither a key nor an ARN; catalog failures.
pub fn trace(
    catalog: &Catalog,
    asked: &str,
    settings: &TraceSettings,
) -> Result<Trace, IdentityError> {
    let asked = asked.trim();
    let mut walk = Walk {
        catalog,
        settings: *settings,
        sessions: 0,
        truncated: false,
    };
    let targets = walk.targets(asked)?;
    if targets.is_empty() {
        return Err(IdentityError::NotFound(format!(
            "the identity index knows no calls or credentials of {asked}; check the spelling, \
             ingest the logs that hold it, or widen --since"
        )));
    }
    walk.chains(asked, targets)
}

/// Traces the caller of event `event_id`, whose original record is `record`: its key, or
/// without one its principal.
///
/// # Errors
///
/// [`IdentityError::Internal`] when `record` is not JSON; otherwise as [`trace`].
pub fn trace_record(
    catalog: &Catalog,
    event_id: &str,
    record: &str,
    settings: &TraceSettings,
) -> Result<Trace, IdentityError> {
    let event: serde_json::Value = serde_json::from_str(record).map_err(|err| {
        IdentityError::Internal(format!(
            "the lake's record of event {event_id} is not JSON: {err}"
        ))
    })?;
    let identity = &event["userIdentity"];
    let text = |name: &str| identity[name].as_str().filter(|v| !v.is_empty());
    let principal = text("arn")
        .or_else(|| text("invokedBy"))
        .or_else(|| text("principalId"))
        .unwrap_or_default();
    trace_event(catalog, event_id, text("accessKeyId"), principal, settings)
}

/// Traces the key (or, without one, the principal) of one event.
///
/// # Errors
///
/// As [`trace`].
pub fn trace_event(
    catalog: &Catalog,
    event_id: &str,
    access_key_id: Option<&str>,
    principal: &str,
    settings: &TraceSettings,
) -> Result<Trace, IdentityError> {
    let mut walk = Walk {
        catalog,
        settings: *settings,
        sessions: 0,
        truncated: false,
    };
    let target = Session {
        key: access_key_id.filter(|k| !k.is_empty()).map(str::to_owned),
        principal: principal.to_owned(),
    };
    walk.chains(event_id, vec![target])
}

impl Walk<'_> {
    /// The sessions `asked` names.
    fn targets(&self, asked: &str) -> Result<Vec<Session>, IdentityError> {
        if is_access_key(asked) {
            let usage = self.catalog.credential_usage(Some(asked), None)?;
            let principal = match usage.first() {
                Some(row) => Some(row.arn.clone()),
                None => self
                    .catalog
                    .credential_grants(GrantLookup::Key(asked))?
                    .into_iter()
                    .find_map(|g| g.session_arn),
            };
            return Ok(principal
                .map(|principal| Session {
                    key: Some(asked.to_owned()),
                    principal,
                })
                .into_iter()
                .collect());
        }
        if !asked.starts_with("arn:") {
            return Err(IdentityError::Usage(format!(
                "{asked:?} is not an access key id (AKIA…, ASIA…), an ARN or an eventID"
            )));
        }
        if asked.contains(":role/") {
            return Ok(self
                .catalog
                .access_keys_of_role(asked, self.settings.max_role_sessions)?
                .into_iter()
                .map(|(key, principal)| Session {
                    key: Some(key).filter(|k| !k.is_empty()),
                    principal,
                })
                .collect());
        }
        let keys = self.catalog.access_keys_of(asked)?;
        if keys.is_empty() {
            // Handed out but never used (or used outside the lake's history).
            let mut handed_out: Vec<Session> = Vec::new();
            for grant in self
                .catalog
                .credential_grants(GrantLookup::Session(asked))?
            {
                let session = Session {
                    key: grant.access_key_id,
                    principal: asked.to_owned(),
                };
                if !handed_out.contains(&session) {
                    handed_out.push(session);
                }
            }
            return Ok(handed_out);
        }
        Ok(keys
            .into_iter()
            .map(|key| Session {
                key: Some(key).filter(|k| !k.is_empty()),
                principal: asked.to_owned(),
            })
            .collect())
    }

    fn chains(&mut self, asked: &str, targets: Vec<Session>) -> Result<Trace, IdentityError> {
        let mut chains: Vec<Chain> = Vec::new();
        for target in targets {
            let (path, origin) = self.ancestry(&target)?;
            // The path runs from the target up; the chain is drawn from the origin down.
            let mut node = self.node(&target, path.first().and_then(|(_, g)| g.as_ref()))?;
            node.traced = true;
            let mut seen: HashSet<Session> = path.iter().map(|(s, _)| s.clone()).collect();
            self.expand(&target, &mut node, &mut seen, 1)?;
            for (session, grant) in path.iter().skip(1) {
                let mut parent = self.node(session, grant.as_ref())?;
                parent.children.push(node);
                node = parent;
            }
            match chains
                .iter_mut()
                .find(|c| c.origin == origin && same(&c.root, &node))
            {
                Some(chain) => merge(&mut chain.root, node),
                None => chains.push(Chain { origin, root: node }),
            }
        }
        Ok(Trace {
            asked: asked.to_owned(),
            chains,
            truncated: self.truncated,
        })
    }

    fn node(
        &mut self,
        session: &Session,
        grant: Option<&CredentialGrant>,
    ) -> Result<Node, IdentityError> {
        self.sessions += 1;
        let rows = match &session.key {
            Some(key) => self
                .catalog
                .credential_usage(Some(key), Some(&session.principal))?,
            None => self
                .catalog
                .credential_usage(None, Some(&session.principal))?,
        };
        Ok(Node {
            principal: session.principal.clone(),
            access_key_id: session.key.clone(),
            kind: rows.iter().find_map(|r| r.kind.clone()),
            traced: false,
            granted: grant.map(Granted::of),
            usage: Usage::of(&rows),
            children: Vec::new(),
        })
    }

    /// The grant that handed `session` out, the best recorded: the copy that names its
    /// caller's key, else any copy; for a session without a key, the latest grant of its
    /// principal before its first call.
    fn grant_of(&self, session: &Session) -> Result<Option<CredentialGrant>, IdentityError> {
        if let Some(key) = &session.key {
            let grants = self.catalog.credential_grants(GrantLookup::Key(key))?;
            let mut best: Option<&CredentialGrant> = None;
            for grant in &grants {
                if best.is_none_or(|kept| is_better_copy(grant, kept)) {
                    best = Some(grant);
                }
            }
            if let Some(best) = best {
                return Ok(Some(best.clone()));
            }
        }
        if !session.principal.contains(":assumed-role/") && session.key.is_some() {
            // A user's own keys are not handed out by a grant the index keeps, except
            // GetSessionToken's, found above by key.
            return Ok(None);
        }
        let first_us = self
            .catalog
            .credential_usage(session.key.as_deref(), Some(&session.principal))?
            .iter()
            .map(|r| r.first_us)
            .min();
        let grants = self
            .catalog
            .credential_grants(GrantLookup::Session(&session.principal))?;
        // A key-less grant (a console switch) may stand for this session; a grant of another
        // key may not.
        Ok(grants.into_iter().rfind(|g| {
            first_us.is_none_or(|first| g.issued_us <= first)
                && (g.access_key_id.is_none() || g.access_key_id == session.key)
        }))
    }

    /// The sessions from `target` up to its origin (target first, each with the grant that
    /// handed it out), and the origin.
    fn ancestry(&self, target: &Session) -> Result<(Path, Origin), IdentityError> {
        let mut path: Path = Vec::new();
        let mut current = target.clone();
        loop {
            let grant = self.grant_of(&current)?;
            let Some(grant) = grant else {
                let origin = self.origin_without_grant(&current)?;
                path.push((current, None));
                return Ok((path, origin));
            };
            let parent = caller_of(&grant);
            path.push((current.clone(), Some(grant.clone())));
            let Some(parent) = parent else {
                return Ok((path, origin_of_grant(&grant)));
            };
            if path.iter().any(|(s, _)| *s == parent) || path.len() > 64 {
                return Ok((
                    path,
                    Origin {
                        kind: "loop".to_owned(),
                        who: parent.principal.clone(),
                        detail: format!(
                            "{} handed credentials back to itself: a self-assume loop",
                            parent.principal
                        ),
                    },
                ));
            }
            current = parent;
        }
    }

    /// How a session the index saw no grant for began.
    fn origin_without_grant(&self, session: &Session) -> Result<Origin, IdentityError> {
        let sign_in = if session.principal.contains(":user/") {
            self.catalog
                .credential_grants(GrantLookup::Session(&session.principal))?
                .into_iter()
                .rfind(|g| g.method == "ConsoleLogin")
        } else {
            None
        };
        Ok(origin_of_session(
            &session.principal,
            session.key.as_deref(),
            sign_in.as_ref(),
        ))
    }

    /// Adds to `node` the sessions handed out to `session`, recursively.
    fn expand(
        &mut self,
        session: &Session,
        node: &mut Node,
        seen: &mut HashSet<Session>,
        depth: usize,
    ) -> Result<(), IdentityError> {
        if depth > 64 {
            return Ok(());
        }
        let mut grants = match &session.key {
            Some(key) => self
                .catalog
                .credential_grants(GrantLookup::CallerKey(key))?,
            None => Vec::new(),
        };
        grants.extend(
            self.catalog
                .credential_grants(GrantLookup::CallerArn(&session.principal))?
                .into_iter()
                .filter(|g| g.caller_key.is_none() && g.method != "ConsoleLogin"),
        );
        for grant in grants {
            if self
                .settings
                .since_us
                .is_some_and(|since| grant.issued_us < since)
            {
                continue;
            }
            let Some(principal) = grant.session_arn.clone() else {
                continue;
            };
            let child = Session {
                key: grant.access_key_id.clone(),
                principal,
            };
            if !seen.insert(child.clone()) {
                continue;
            }
            if self.sessions >= self.settings.max_sessions {
                self.truncated = true;
                return Ok(());
            }
            let mut child_node = self.node(&child, Some(&grant))?;
            self.expand(&child, &mut child_node, seen, depth + 1)?;
            node.children.push(child_node);
        }
        Ok(())
    }
}

/// How a session began that no grant the index holds handed out: by its principal and key,
/// and for a user the last console sign-in (`sign_in`) the index holds.
pub(crate) fn origin_of_session(
    principal: &str,
    key: Option<&str>,
    sign_in: Option<&CredentialGrant>,
) -> Origin {
    let key = key.unwrap_or_default();
    let origin = |kind: &str, who: &str, detail: String| Origin {
        kind: kind.to_owned(),
        who: who.to_owned(),
        detail,
    };
    if principal.ends_with(":root") {
        return origin(
            "root",
            principal,
            format!("the account's root user ({principal})"),
        );
    }
    if key.starts_with("AKIA") {
        return origin(
            "iam-user-key",
            principal,
            format!("long-term access key {key} of {principal}"),
        );
    }
    if principal.ends_with(".amazonaws.com") {
        return origin("service", principal, format!("the AWS service {principal}"));
    }
    if let Some(instance) = instance_of(principal) {
        return origin(
            "instance-profile",
            instance,
            format!(
                "EC2 instance {instance} through its instance profile (role {})",
                role_of_session(principal).unwrap_or("unknown")
            ),
        );
    }
    if principal.contains(":user/") {
        return match sign_in {
            Some(g) => origin(
                "console-sign-in",
                principal,
                format!(
                    "console sign-in of {principal} at {} from {}",
                    format_us(g.issued_us),
                    g.source_ip.as_deref().unwrap_or("an unknown address")
                ),
            ),
            None => origin(
                "user-session",
                principal,
                format!(
                    "a session of {principal} (a console sign-in or GetSessionToken the lake does not hold)"
                ),
            ),
        };
    }
    origin(
        "unknown",
        principal,
        format!(
            "{principal}: its credentials were handed out before the lake's history, or in an \
             account whose trail is not ingested"
        ),
    )
}

/// The session that asked for `grant`, when it was one the index can follow.
/// Whether `candidate` is a better record of a key's grant than `kept` (the earlier one): a
/// call recorded in two accounts has two copies, and the one naming its caller's key (else its
/// caller's ARN) is the one a chain continues through.
pub(crate) fn is_better_copy(candidate: &CredentialGrant, kept: &CredentialGrant) -> bool {
    let rank = |g: &CredentialGrant| {
        if g.caller_key.is_some() {
            2
        } else {
            u8::from(g.caller_arn.is_some())
        }
    };
    rank(candidate) > rank(kept)
}

pub(crate) fn caller_of(grant: &CredentialGrant) -> Option<Session> {
    if grant.method == "ConsoleLogin" {
        return None;
    }
    match (
        &grant.caller_key,
        &grant.caller_arn,
        grant.caller_type.as_deref(),
    ) {
        (_, _, Some("AWSService" | "SAMLUser" | "WebIdentityUser" | "AWSAccount")) => None,
        (Some(key), Some(arn), _) => Some(Session {
            key: Some(key.clone()),
            principal: arn.clone(),
        }),
        (None, Some(arn), _) => Some(Session {
            key: None,
            principal: arn.clone(),
        }),
        _ => None,
    }
}

/// How a chain began whose first grant had no caller the index can follow.
pub(crate) fn origin_of_grant(grant: &CredentialGrant) -> Origin {
    let session = grant.session_arn.as_deref().unwrap_or_default();
    let (kind, who, detail) = match grant.method.as_str() {
        "ConsoleLogin" => {
            let who = grant.caller_arn.clone().unwrap_or_default();
            let detail = format!(
                "console sign-in of {who} at {} from {}",
                format_us(grant.issued_us),
                grant.source_ip.as_deref().unwrap_or("an unknown address")
            );
            ("console-sign-in", who, detail)
        }
        "AssumeRoleWithSAML" => {
            let who = grant.federated_subject.clone().unwrap_or_default();
            let detail = format!(
                "SAML federation: {who} through {}",
                grant
                    .federated_provider
                    .as_deref()
                    .unwrap_or("an identity provider")
            );
            ("saml-federation", who, detail)
        }
        "AssumeRoleWithWebIdentity" => {
            let who = grant.federated_subject.clone().unwrap_or_default();
            let detail = format!(
                "web identity federation: {who} through {}",
                grant
                    .federated_provider
                    .as_deref()
                    .unwrap_or("an identity provider")
            );
            ("web-identity-federation", who, detail)
        }
        _ => match (&grant.caller_service, grant.caller_type.as_deref()) {
            (Some(service), _)
                if service == "ec2.amazonaws.com" && instance_of(session).is_some() =>
            {
                let instance = instance_of(session).unwrap_or_default().to_owned();
                let detail = format!(
                    "EC2 instance {instance} through its instance profile (role {})",
                    grant.role_arn.as_deref().unwrap_or("unknown")
                );
                ("instance-profile", instance, detail)
            }
            (Some(service), _) => (
                "service",
                service.clone(),
                format!("the AWS service {service}"),
            ),
            (None, Some("AWSAccount")) => {
                let account = grant
                    .caller_arn
                    .clone()
                    .unwrap_or_else(|| "another account".to_owned());
                let detail = format!(
                    "a principal of account {account}, which only that account's trail names \
                     (ingest it to follow the chain)"
                );
                ("other-account", account, detail)
            }
            _ => (
                "unknown",
                grant.caller_arn.clone().unwrap_or_default(),
                "a caller the lake does not name".to_owned(),
            ),
        },
    };
    Origin {
        kind: kind.to_owned(),
        who,
        detail,
    }
}

/// The instance id of an instance profile's session (`…assumed-role/web/i-0abc…`).
fn instance_of(principal: &str) -> Option<&str> {
    let name = arn_name(principal);
    (principal.contains(":assumed-role/")
        && name.strip_prefix("i-").is_some_and(|hex| {
            (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }))
    .then_some(name)
}

/// The role of a session ARN (`arn:aws:sts::1:assumed-role/web/i-0abc` → `web`).
fn role_of_session(principal: &str) -> Option<&str> {
    principal.split(":assumed-role/").nth(1)?.split('/').next()
}

fn same(a: &Node, b: &Node) -> bool {
    a.principal == b.principal && a.access_key_id == b.access_key_id
}

/// Merges `other` into `into` (the same session): children of both, each once.
fn merge(into: &mut Node, other: Node) {
    into.traced |= other.traced;
    for child in other.children {
        match into.children.iter_mut().find(|c| same(c, &child)) {
            Some(kept) => merge(kept, child),
            None => into.children.push(child),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(caller_key: Option<&str>, caller_arn: Option<&str>) -> CredentialGrant {
        CredentialGrant {
            caller_key: caller_key.map(str::to_owned),
            caller_arn: caller_arn.map(str::to_owned),
            ..CredentialGrant::default()
        }
    }

    #[test]
    fn the_copy_naming_the_callers_key_wins_then_the_one_naming_its_arn() {
        let bare = copy(None, None);
        let by_arn = copy(None, Some("arn:aws:iam::111122223333:user/alice"));
        let by_key = copy(
            Some("AKIAEXAMPLE"),
            Some("arn:aws:iam::111122223333:user/alice"),
        );
        assert!(is_better_copy(&by_key, &by_arn));
        assert!(is_better_copy(&by_arn, &bare));
        assert!(!is_better_copy(&bare, &by_arn));
        // Of equals, the earlier copy is kept.
        assert!(!is_better_copy(&by_key, &by_key.clone()));
    }
}
