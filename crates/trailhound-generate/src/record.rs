//! One synthetic CloudTrail record, serialised with CloudTrail's field names and order.

use chrono::{DateTime, SecondsFormat, Utc};
use fastrand::Rng;
use serde::Serialize;
use serde_json::{Value, json};

use crate::estate::{Actor, IdentityShape, Principal};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record<'a> {
    pub(crate) event_version: &'static str,
    pub(crate) user_identity: Identity<'a>,
    pub(crate) event_time: String,
    pub(crate) event_source: &'a str,
    pub(crate) event_name: &'a str,
    pub(crate) aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    pub(crate) source_ip_address: &'a str,
    pub(crate) user_agent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error_message: Option<String>,
    pub(crate) request_parameters: Value,
    pub(crate) response_elements: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) additional_event_data: Option<Value>,
    /// Absent on sign-in events, as CloudTrail writes them.
    #[serde(rename = "requestID", skip_serializing_if = "Option::is_none")]
    pub(crate) request_id: Option<String>,
    #[serde(rename = "eventID")]
    pub(crate) event_id: String,
    pub(crate) read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resources: Option<Value>,
    pub(crate) event_type: &'static str,
    pub(crate) management_event: bool,
    pub(crate) recipient_account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) service_event_details: Option<Value>,
    pub(crate) event_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tls_details: Option<TlsDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session_credential_from_console: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Identity<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) access_key_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session_context: Option<SessionContext<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) invoked_by: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionContext<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session_issuer: Option<SessionIssuer<'a>>,
    pub(crate) web_id_federation_data: Value,
    pub(crate) attributes: SessionAttributes,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionIssuer<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) principal_id: &'a str,
    pub(crate) arn: String,
    pub(crate) account_id: &'a str,
    pub(crate) user_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionAttributes {
    pub(crate) creation_date: String,
    pub(crate) mfa_authenticated: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TlsDetails {
    pub(crate) tls_version: &'static str,
    pub(crate) cipher_suite: &'static str,
    pub(crate) client_provided_host_header: String,
}

pub(crate) fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A random version-4 UUID from the seeded stream.
pub(crate) fn uuid(rng: &mut Rng) -> String {
    uuid::Builder::from_random_bytes(rng.u128(..).to_le_bytes())
        .into_uuid()
        .to_string()
}

/// The `userIdentity` of `principal` in `account`, as of `time`.
pub(crate) fn identity<'a>(
    principal: &'a Principal,
    account: &'a str,
    time: DateTime<Utc>,
) -> Identity<'a> {
    match &principal.shape {
        IdentityShape::IamUser { user_name } => Identity {
            kind: "IAMUser",
            principal_id: Some(principal.principal_id.clone()),
            arn: Some(format!("arn:aws:iam::{account}:user/{user_name}")),
            account_id: Some(account),
            access_key_id: Some(&principal.access_key_id),
            user_name: Some(user_name),
            session_context: None,
            invoked_by: None,
        },
        IdentityShape::AssumedRole {
            role_name,
            session_name,
        } => {
            // Sessions last an hour: the session began at the top of the event's hour.
            let creation =
                time - chrono::Duration::seconds(i64::from(time.timestamp() as u32 % 3600));
            Identity {
                kind: "AssumedRole",
                principal_id: Some(format!("{}:{session_name}", principal.principal_id)),
                arn: Some(format!(
                    "arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"
                )),
                account_id: Some(account),
                access_key_id: Some(&principal.access_key_id),
                user_name: None,
                session_context: Some(SessionContext {
                    session_issuer: Some(SessionIssuer {
                        kind: "Role",
                        principal_id: &principal.principal_id,
                        arn: format!("arn:aws:iam::{account}:role/{}", role_path(role_name)),
                        account_id: account,
                        user_name: role_name,
                    }),
                    web_id_federation_data: Value::Object(Default::default()),
                    attributes: SessionAttributes {
                        creation_date: timestamp(creation),
                        mfa_authenticated: if principal.mfa { "true" } else { "false" },
                    },
                }),
                invoked_by: (principal.actor == Actor::Service).then(|| principal.user_agents[0]),
            }
        }
        IdentityShape::AwsService { invoked_by } => Identity {
            kind: "AWSService",
            principal_id: None,
            arn: None,
            account_id: None,
            access_key_id: None,
            user_name: None,
            session_context: None,
            invoked_by: Some(invoked_by),
        },
    }
}

pub(crate) fn role_path(role_name: &str) -> String {
    if role_name.starts_with("AWSReservedSSO_") {
        format!("aws-reserved/sso.amazonaws.com/{role_name}")
    } else if role_name.starts_with("AWSServiceRoleFor") {
        format!("aws-service-role/autoscaling.amazonaws.com/{role_name}")
    } else {
        role_name.to_owned()
    }
}

pub(crate) fn tls(service: &str, region: &str) -> TlsDetails {
    TlsDetails {
        tls_version: "TLSv1.3",
        cipher_suite: "TLS_AES_128_GCM_SHA256",
        client_provided_host_header: format!("{service}.{region}.amazonaws.com"),
    }
}

/// A `ConsoleLogin` as CloudTrail records it.
pub(crate) struct SignIn<'a> {
    pub(crate) identity: Identity<'a>,
    pub(crate) account: &'a str,
    pub(crate) time: DateTime<Utc>,
    pub(crate) ip: &'a str,
    pub(crate) user_agent: &'a str,
    pub(crate) success: bool,
    pub(crate) mfa: bool,
}

impl SignIn<'_> {
    pub(crate) fn render(self, rng: &mut Rng) -> String {
        let mut user_identity = self.identity;
        // Console sessions are not signed with an access key.
        user_identity.access_key_id = None;
        let record = Record {
            event_version: "1.08",
            user_identity,
            event_time: timestamp(self.time),
            event_source: "signin.amazonaws.com",
            event_name: "ConsoleLogin",
            aws_region: "us-east-1",
            source_ip_address: self.ip,
            user_agent: self.user_agent,
            error_code: None,
            error_message: (!self.success).then(|| "Failed authentication".to_owned()),
            request_parameters: Value::Null,
            response_elements: json!({"ConsoleLogin": if self.success { "Success" } else { "Failure" }}),
            additional_event_data: Some(json!({
                "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                "MobileVersion": "No",
                "MFAUsed": if self.mfa { "Yes" } else { "No" }
            })),
            request_id: None,
            event_id: uuid(rng),
            read_only: false,
            resources: None,
            event_type: "AwsConsoleSignIn",
            management_event: true,
            recipient_account_id: self.account,
            service_event_details: None,
            event_category: "Management",
            tls_details: None,
            session_credential_from_console: None,
        };
        serde_json::to_string(&record).unwrap_or_default()
    }
}
