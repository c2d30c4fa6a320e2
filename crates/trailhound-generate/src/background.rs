//! Ordinary activity: the haystack the planted scenarios hide in.

use chrono::{DateTime, Utc};
use fastrand::Rng;
use serde_json::{Value, json};

use crate::catalog::{ApiTable, CallContext, call_details, failure};
use crate::estate::{Account, Actor, IdentityShape, Principal};
use crate::record::{Record, SignIn, identity, timestamp, tls, uuid};

/// Per-actor API tables, for home-region slots (global APIs allowed) and the others.
pub(crate) struct Tables {
    home: [ApiTable; 3],
    other: [ApiTable; 3],
}

impl Tables {
    pub(crate) fn new() -> Tables {
        let actors = [Actor::Human, Actor::Machine, Actor::Service];
        Tables {
            home: actors.map(|actor| ApiTable::new(actor, true)),
            other: actors.map(|actor| ApiTable::new(actor, false)),
        }
    }

    fn table(&self, actor: Actor, home: bool) -> &ApiTable {
        let index = match actor {
            Actor::Human => 0,
            Actor::Machine => 1,
            Actor::Service => 2,
        };
        if home {
            &self.home[index]
        } else {
            &self.other[index]
        }
    }
}

/// Where an event happens.
pub(crate) struct Place<'a> {
    pub(crate) account: &'a Account,
    pub(crate) region: &'a str,
    pub(crate) home: bool,
}

/// Renders one background event as CloudTrail JSON.
pub(crate) fn event(
    place: &Place<'_>,
    time: DateTime<Utc>,
    tables: &Tables,
    rng: &mut Rng,
) -> String {
    let principal = place.account.pick_principal(rng);
    // People sign in to the console a few times a day; those land in the home region.
    if principal.console && place.home && rng.u16(..1000) < 15 {
        // Mistyped passwords happen: about one sign-in in eight fails.
        let success = rng.u8(..8) != 0;
        return console_login(principal, &place.account.id, time, rng, success);
    }
    let api = tables.table(principal.actor, place.home).pick(rng);
    let region = if api.global {
        "us-east-1"
    } else {
        place.region
    };
    let account = place.account.id.as_str();
    let user_identity = identity(principal, account, time);
    let caller_arn = user_identity.arn.clone().unwrap_or_default();
    let caller = match &principal.shape {
        IdentityShape::IamUser { user_name } => user_name.as_str(),
        _ => "",
    };
    let caller_role = match &principal.shape {
        IdentityShape::AssumedRole { role_name, .. } => Some(role_name.as_str()),
        _ => None,
    };
    let ctx = CallContext {
        account,
        region,
        caller,
        caller_role,
    };
    // Failures: people and automation hit permissions and throttling; services rarely do.
    let fails = match principal.actor {
        Actor::Human => rng.u16(..1000) < 40,
        Actor::Machine => rng.u16(..1000) < 15,
        Actor::Service => rng.u16(..1000) < 3,
    };
    let (request, response, resources) = call_details(api, &ctx, rng);
    let (error_code, error_message, response) = if fails {
        let (code, message) = failure(api, &caller_arn, rng);
        (Some(code), Some(message), Value::Null)
    } else {
        (None, None, response)
    };
    let source_ip = &principal.ips[rng.usize(..principal.ips.len())];
    let user_agent = principal.user_agents[rng.usize(..principal.user_agents.len())];
    let from_console = principal.actor == Actor::Human && user_agent.starts_with("Mozilla");
    let service = api.source.trim_end_matches(".amazonaws.com");
    let additional = if api.data && service == "s3" {
        Some(
            json!({"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "EXAMPLE+id2", "bytesTransferredOut": rng.u32(200..2_000_000)}),
        )
    } else {
        None
    };
    let record = Record {
        event_version: if api.data { "1.10" } else { "1.11" },
        user_identity,
        event_time: timestamp(time),
        event_source: api.source,
        event_name: api.name,
        aws_region: region,
        source_ip_address: source_ip,
        user_agent: if from_console {
            "AWS Internal"
        } else {
            user_agent
        },
        error_code,
        error_message,
        request_parameters: request,
        response_elements: response,
        additional_event_data: additional,
        request_id: Some(uuid(rng)),
        event_id: uuid(rng),
        read_only: api.read_only,
        resources,
        event_type: "AwsApiCall",
        management_event: !api.data,
        recipient_account_id: account,
        service_event_details: None,
        event_category: if api.data { "Data" } else { "Management" },
        tls_details: (principal.actor != Actor::Service).then(|| tls(service, region)),
        session_credential_from_console: from_console.then_some("true"),
    };
    serde_json::to_string(&record).unwrap_or_default()
}

/// A `ConsoleLogin` by an IAM user; `success` false writes the "Failed authentication" form.
pub(crate) fn console_login(
    principal: &Principal,
    account: &str,
    time: DateTime<Utc>,
    rng: &mut Rng,
    success: bool,
) -> String {
    console_login_from(principal, account, time, rng, success, None)
}

/// A `ConsoleLogin`, optionally from a given address and with MFA forced off.
pub(crate) fn console_login_from(
    principal: &Principal,
    account: &str,
    time: DateTime<Utc>,
    rng: &mut Rng,
    success: bool,
    attacker: Option<(&str, &'static str)>,
) -> String {
    let (ip, agent) = match attacker {
        Some((ip, agent)) => (ip.to_owned(), agent),
        None => (
            principal.ips[rng.usize(..principal.ips.len())].clone(),
            principal
                .user_agents
                .last()
                .copied()
                .unwrap_or("Mozilla/5.0"),
        ),
    };
    SignIn {
        identity: identity(principal, account, time),
        account,
        time,
        ip: &ip,
        user_agent: agent,
        success,
        mfa: principal.mfa && attacker.is_none(),
    }
    .render(rng)
}
