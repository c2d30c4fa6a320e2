//! Which events hand out a credential, and what each handed out to whom: `AssumeRole` and its
//! federated forms, `GetSessionToken`, `GetFederationToken`, `AssumeRoot`, the console's
//! `SwitchRole` and `ConsoleLogin`.

use serde_json::Value;
use trailhound_lake::CredentialGrant;

/// The columns of one event the index reads.
#[derive(Debug, Default, Clone, Copy)]
pub struct Call<'a> {
    /// `eventTime` (µs since the epoch).
    pub time_us: i64,
    /// `eventID`.
    pub event_id: Option<&'a str>,
    /// `eventSource`.
    pub event_source: Option<&'a str>,
    /// `eventName`.
    pub event_name: Option<&'a str>,
    /// `recipientAccountId`.
    pub account: Option<&'a str>,
    /// `userIdentity.type`.
    pub kind: Option<&'a str>,
    /// `userIdentity.arn`.
    pub arn: Option<&'a str>,
    /// `userIdentity.accessKeyId`.
    pub access_key_id: Option<&'a str>,
    /// `userIdentity.principalId`.
    pub principal_id: Option<&'a str>,
    /// `userIdentity.accountId`.
    pub identity_account: Option<&'a str>,
    /// `userIdentity.userName`.
    pub user_name: Option<&'a str>,
    /// `userIdentity.invokedBy`.
    pub invoked_by: Option<&'a str>,
    /// `userIdentity.identityProvider`.
    pub identity_provider: Option<&'a str>,
    /// `userIdentity.sessionContext.sessionIssuer.arn`.
    pub issuer_arn: Option<&'a str>,
    /// `userIdentity.sessionContext.sourceIdentity`.
    pub source_identity: Option<&'a str>,
    /// `sourceIPAddress`.
    pub source_ip: Option<&'a str>,
    /// `userAgent`.
    pub user_agent: Option<&'a str>,
    /// `errorCode`.
    pub error_code: Option<&'a str>,
    /// `sharedEventID`.
    pub shared_event_id: Option<&'a str>,
}

impl Call<'_> {
    /// Who made the call, as the index names principals: the ARN, else the service that
    /// called, else the principal id.
    pub fn principal(&self) -> &str {
        self.arn
            .or(self.invoked_by)
            .or(self.principal_id)
            .unwrap_or_default()
    }
}

/// Whether the event may hand out a credential, and so needs its request and response read.
pub fn may_grant(event_source: Option<&str>, event_name: Option<&str>) -> bool {
    match (event_source, event_name) {
        (Some("sts.amazonaws.com"), Some(name)) => matches!(
            name,
            "AssumeRole"
                | "AssumeRoleWithSAML"
                | "AssumeRoleWithWebIdentity"
                | "AssumeRoot"
                | "GetSessionToken"
                | "GetFederationToken"
        ),
        (Some("signin.amazonaws.com"), Some(name)) => {
            matches!(name, "SwitchRole" | "ConsoleLogin")
        }
        _ => false,
    }
}

/// The request, response and additional data of an event, as JSON text.
#[derive(Debug, Default, Clone, Copy)]
pub struct Exchange<'a> {
    /// `requestParameters`.
    pub request: Option<&'a str>,
    /// `responseElements`.
    pub response: Option<&'a str>,
    /// `additionalEventData`.
    pub additional: Option<&'a str>,
}

fn parse(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

fn text(value: &Value, path: &[&str]) -> Option<String> {
    let mut at = value;
    for key in path {
        at = at.get(key)?;
    }
    match at {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The account of an ARN (`arn:aws:iam::111122223333:role/x` → `111122223333`).
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|account| !account.is_empty())
}

/// The last part of an ARN's resource (`role/path/deploy` → `deploy`).
pub fn arn_name(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

/// The session ARN of role `role_arn`'s session named `session`, as STS writes it.
pub fn session_arn(role_arn: &str, session: &str) -> Option<String> {
    let partition = role_arn.split(':').nth(1).unwrap_or("aws");
    let account = arn_account(role_arn)?;
    Some(format!(
        "arn:{partition}:sts::{account}:assumed-role/{}/{session}",
        arn_name(role_arn)
    ))
}

/// What `call` handed out, if it handed out anything: refused calls and failed sign-ins did
/// not.
pub fn grant_of(call: &Call<'_>, exchange: &Exchange<'_>) -> Option<CredentialGrant> {
    if call.error_code.is_some() || !may_grant(call.event_source, call.event_name) {
        return None;
    }
    let method = call.event_name?.to_owned();
    let request = parse(exchange.request);
    let response = parse(exchange.response);
    let mut grant = CredentialGrant {
        event_id: call.event_id?.to_owned(),
        issued_us: call.time_us,
        method: method.clone(),
        account: call.account.map(str::to_owned),
        caller_type: call.kind.map(str::to_owned),
        // A call from another account names only that account (type AWSAccount): it stands
        // in for the caller, which that account's own trail names.
        caller_arn: call
            .arn
            .or(call
                .identity_account
                .filter(|_| call.kind == Some("AWSAccount")))
            .map(str::to_owned),
        caller_key: call
            .access_key_id
            .filter(|k| !k.is_empty())
            .map(str::to_owned),
        caller_issuer: call.issuer_arn.map(str::to_owned),
        caller_service: call.invoked_by.map(str::to_owned),
        source_ip: call.source_ip.map(str::to_owned),
        user_agent: call.user_agent.map(str::to_owned),
        shared_event_id: call.shared_event_id.map(str::to_owned),
        access_key_id: text(&response, &["credentials", "accessKeyId"]),
        expires: text(&response, &["credentials", "expiration"]),
        source_identity: text(&request, &["sourceIdentity"])
            .or_else(|| text(&response, &["sourceIdentity"])),
        ..CredentialGrant::default()
    };
    match method.as_str() {
        "AssumeRole" | "AssumeRoleWithSAML" | "AssumeRoleWithWebIdentity" => {
            grant.role_arn = text(&request, &["roleArn"]);
            grant.session_arn = text(&response, &["assumedRoleUser", "arn"]).or_else(|| {
                let session = text(&request, &["roleSessionName"])?;
                session_arn(grant.role_arn.as_deref()?, &session)
            });
            if method == "AssumeRoleWithSAML" {
                grant.federated_subject =
                    text(&response, &["subject"]).or_else(|| call.user_name.map(str::to_owned));
                grant.federated_provider = text(&request, &["principalArn"])
                    .or_else(|| text(&response, &["issuer"]))
                    .or_else(|| call.identity_provider.map(str::to_owned));
            } else if method == "AssumeRoleWithWebIdentity" {
                grant.federated_subject = text(&response, &["subjectFromWebIdentityToken"])
                    .or_else(|| call.user_name.map(str::to_owned));
                grant.federated_provider = text(&response, &["provider"])
                    .or_else(|| call.identity_provider.map(str::to_owned));
            }
            // A credential that never reached anyone (no key, no session) links nothing.
            grant
                .access_key_id
                .as_ref()
                .or(grant.session_arn.as_ref())?;
        }
        "AssumeRoot" => {
            let target = text(&request, &["targetPrincipal"])?;
            let account = target.rsplit(':').next().unwrap_or(&target).to_owned();
            grant.role_arn = Some(format!("arn:aws:iam::{account}:root"));
            grant.session_arn = grant.role_arn.clone();
        }
        "GetSessionToken" => {
            grant.session_arn = grant.caller_arn.clone();
            grant.access_key_id.as_ref()?;
        }
        "GetFederationToken" => {
            grant.session_arn = text(&response, &["federatedUser", "arn"]);
            grant.access_key_id.as_ref()?;
        }
        "SwitchRole" => {
            if text(&response, &["SwitchRole"]).as_deref() != Some("Success") {
                return None;
            }
            let additional = parse(exchange.additional);
            let role = text(&additional, &["SwitchTo"])?;
            // The console names a switched role's session after who switched.
            let who = call.user_name.map_or_else(
                || call.arn.map(arn_name).unwrap_or_default().to_owned(),
                str::to_owned,
            );
            grant.session_arn = session_arn(&role, &who);
            grant.role_arn = Some(role);
        }
        "ConsoleLogin" => {
            if text(&response, &["ConsoleLogin"]).as_deref() != Some("Success") {
                return None;
            }
            grant.session_arn = grant.caller_arn.clone();
        }
        _ => return None,
    }
    Some(grant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(name: &'a str, arn: &'a str, key: &'a str) -> Call<'a> {
        Call {
            time_us: 1,
            event_id: Some("e1"),
            event_source: Some(if matches!(name, "SwitchRole" | "ConsoleLogin") {
                "signin.amazonaws.com"
            } else {
                "sts.amazonaws.com"
            }),
            event_name: Some(name),
            account: Some("111122223333"),
            kind: Some("IAMUser"),
            arn: Some(arn),
            access_key_id: Some(key),
            user_name: Some("alice"),
            ..Call::default()
        }
    }

    type Outcome = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn assume_role_hands_its_key_to_the_session() -> Outcome {
        let c = call(
            "AssumeRole",
            "arn:aws:iam::111122223333:user/alice",
            "AKIAALICE",
        );
        let grant = grant_of(
            &c,
            &Exchange {
                request: Some(
                    r#"{"roleArn":"arn:aws:iam::444455556666:role/audit","roleSessionName":"s1","sourceIdentity":"alice"}"#,
                ),
                response: Some(
                    r#"{"credentials":{"accessKeyId":"ASIANEW","expiration":"Jul 1, 2024, 1:00:00 PM"},"assumedRoleUser":{"arn":"arn:aws:sts::444455556666:assumed-role/audit/s1"}}"#,
                ),
                additional: None,
            },
        );
        let grant = grant.ok_or("no grant")?;
        assert_eq!(grant.method, "AssumeRole");
        assert_eq!(grant.access_key_id.as_deref(), Some("ASIANEW"));
        assert_eq!(grant.caller_key.as_deref(), Some("AKIAALICE"));
        assert_eq!(
            grant.session_arn.as_deref(),
            Some("arn:aws:sts::444455556666:assumed-role/audit/s1")
        );
        assert_eq!(grant.source_identity.as_deref(), Some("alice"));
        Ok(())
    }

    #[test]
    fn a_redacted_response_still_names_the_session() -> Outcome {
        let c = call(
            "AssumeRole",
            "arn:aws:iam::111122223333:user/alice",
            "AKIAALICE",
        );
        let grant = grant_of(
            &c,
            &Exchange {
                request: Some(
                    r#"{"roleArn":"arn:aws:iam::444455556666:role/path/audit","roleSessionName":"s1"}"#,
                ),
                ..Exchange::default()
            },
        )
        .ok_or("no grant")?;
        assert_eq!(
            grant.session_arn.as_deref(),
            Some("arn:aws:sts::444455556666:assumed-role/audit/s1")
        );
        assert_eq!(grant.access_key_id, None);
        Ok(())
    }

    #[test]
    fn a_console_switch_names_the_session_after_the_user() -> Outcome {
        let c = call("SwitchRole", "arn:aws:iam::111122223333:user/alice", "");
        let grant = grant_of(
            &c,
            &Exchange {
                response: Some(r#"{"SwitchRole":"Success"}"#),
                additional: Some(r#"{"SwitchTo":"arn:aws:iam::111122223333:role/admin"}"#),
                ..Exchange::default()
            },
        )
        .ok_or("no grant")?;
        assert_eq!(
            grant.session_arn.as_deref(),
            Some("arn:aws:sts::111122223333:assumed-role/admin/alice")
        );
        assert_eq!(grant.caller_key, None);
        Ok(())
    }

    #[test]
    fn refusals_and_failed_sign_ins_hand_out_nothing() {
        let mut c = call(
            "AssumeRole",
            "arn:aws:iam::111122223333:user/alice",
            "AKIAALICE",
        );
        c.error_code = Some("AccessDenied");
        assert!(grant_of(&c, &Exchange::default()).is_none());
        let c = call("ConsoleLogin", "arn:aws:iam::111122223333:user/alice", "");
        let failed = Exchange {
            response: Some(r#"{"ConsoleLogin":"Failure"}"#),
            ..Exchange::default()
        };
        assert!(grant_of(&c, &failed).is_none());
        let c = call(
            "GetCallerIdentity",
            "arn:aws:iam::111122223333:user/alice",
            "",
        );
        assert!(grant_of(&c, &Exchange::default()).is_none());
    }
}
