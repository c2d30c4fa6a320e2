use std::borrow::Cow;

use chrono::{DateTime, Utc};
use sonic_rs::{JsonValueTrait, LazyValue};

use crate::identity::UserIdentity;
use crate::member::{Member, member_bool, member_str};
use crate::scan::{COMMON_COUNT, Common, MemberSpans, TLS_MEMBERS, common_index, scan_record};
use crate::{EventCategory, EventError, EventType, FieldPath, iam_action, parse_event_time};

/// One CloudTrail record: the original JSON text, byte-exact, and a typed view of its common
/// fields.
///
/// The view borrows from the text, so building it copies nothing; fields are read lazily
/// (a field is only unescaped or converted when asked for). Construction fails only when the
/// text is not a JSON object: a record with missing or oddly typed fields is still a record.
#[derive(Debug)]
pub struct CloudTrailEvent<'a> {
    raw: &'a str,
    fields: CommonFields<'a>,
    identity: Option<UserIdentity<'a>>,
    tls: Option<TlsDetails<'a>>,
}

/// The common members' values, indexed by [`Common`].
#[derive(Debug)]
struct CommonFields<'a> {
    members: [Option<Member<'a>>; COMMON_COUNT],
}

impl<'a> CommonFields<'a> {
    /// The values `spans` locates in `raw`.
    fn of(raw: &'a str, spans: &MemberSpans) -> Result<Self, EventError> {
        if let Some(key) = spans.duplicate() {
            return Err(EventError::InvalidJson {
                message: format!("duplicate field `{key}`"),
            });
        }
        let mut members: [Option<Member<'a>>; COMMON_COUNT] = Default::default();
        for (index, member) in members.iter_mut().enumerate() {
            *member = spans.member(raw, index)?;
        }
        Ok(CommonFields { members })
    }

    fn get(&self, member: Common) -> &Option<Member<'a>> {
        &self.members[member as usize]
    }
}

/// `tlsDetails`: how the caller's TLS connection was made.
#[derive(Debug, Default)]
pub struct TlsDetails<'a> {
    tls_version: Option<Member<'a>>,
    cipher_suite: Option<Member<'a>>,
    client_provided_host_header: Option<Member<'a>>,
}

impl<'a> TlsDetails<'a> {
    /// The members a walk found in the record's `tlsDetails`, read as serde would read them
    /// into `Option`s: `None` unless it is an object, `null` as absent, and a repeated
    /// member making the whole object unreadable.
    fn from_spans(raw: &'a str, spans: &MemberSpans, value: &Option<Member<'a>>) -> Option<Self> {
        if !value.as_ref()?.raw().starts_with('{') || spans.tls_duplicate() {
            return None;
        }
        let member = |slot| spans.non_null(raw, TLS_MEMBERS + slot).ok().flatten();
        Some(TlsDetails {
            tls_version: member(0),
            cipher_suite: member(1),
            client_provided_host_header: member(2),
        })
    }

    /// `tlsVersion`, e.g. `TLSv1.3`.
    pub fn tls_version(&self) -> Option<&str> {
        member_str(&self.tls_version)
    }
    /// `cipherSuite`.
    pub fn cipher_suite(&self) -> Option<&str> {
        member_str(&self.cipher_suite)
    }
    /// `clientProvidedHostHeader`: the endpoint the caller asked for.
    pub fn client_provided_host_header(&self) -> Option<&str> {
        member_str(&self.client_provided_host_header)
    }
}

/// The free-form parts of a record, kept as JSON text because their shape depends on the
/// API called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonPart {
    /// `requestParameters`.
    RequestParameters,
    /// `responseElements`.
    ResponseElements,
    /// `additionalEventData`.
    AdditionalEventData,
    /// `serviceEventDetails`.
    ServiceEventDetails,
    /// `resources`.
    Resources,
    /// `insightDetails` (Insights events).
    InsightDetails,
    /// `tlsDetails`.
    TlsDetails,
}

impl<'a> CloudTrailEvent<'a> {
    /// Reads `raw` as one CloudTrail record.
    ///
    /// # Errors
    ///
    /// [`EventError::InvalidJson`] when `raw` is not valid JSON, [`EventError::NotAnObject`]
    /// when it is JSON but not an object.
    pub fn parse(raw: &'a str) -> Result<Self, EventError> {
        let trimmed = raw.trim_start();
        if !trimmed.starts_with('{') {
            return Err(match sonic_rs::from_str::<sonic_rs::Value>(raw) {
                Ok(value) => EventError::NotAnObject {
                    found: json_type_name(&value),
                },
                Err(err) => EventError::InvalidJson {
                    message: err.to_string(),
                },
            });
        }
        match scan_record(raw)? {
            Some(spans) => Self::from_spans(raw, &spans),
            None => Err(EventError::InvalidJson {
                message: format!("record of {} bytes is over 4 GiB", raw.len()),
            }),
        }
    }

    /// Builds the typed view of `raw` from where a walk over it (a [`LogRecords`]) found its
    /// members, without walking it again.
    ///
    /// # Errors
    ///
    /// [`EventError::InvalidJson`] when the record holds a common member twice, or when
    /// `spans` do not describe `raw`.
    pub fn from_spans(raw: &'a str, spans: &MemberSpans) -> Result<Self, EventError> {
        let fields = CommonFields::of(raw, spans)?;
        let identity = UserIdentity::from_spans(raw, spans, fields.get(Common::UserIdentity));
        let tls = TlsDetails::from_spans(raw, spans, fields.get(Common::TlsDetails));
        Ok(CloudTrailEvent {
            raw,
            fields,
            identity,
            tls,
        })
    }

    /// The record exactly as it was read.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// `eventVersion`, e.g. `1.11`.
    pub fn event_version(&self) -> Option<&str> {
        member_str(self.fields.get(Common::EventVersion))
    }
    /// `eventTime` as written.
    pub fn event_time_text(&self) -> Option<&str> {
        member_str(self.fields.get(Common::EventTime))
    }
    /// `eventTime` in UTC; `None` if absent or unreadable.
    pub fn event_time(&self) -> Option<DateTime<Utc>> {
        self.event_time_text().and_then(parse_event_time)
    }
    /// `eventSource`, e.g. `iam.amazonaws.com`.
    pub fn event_source(&self) -> Option<&str> {
        member_str(self.fields.get(Common::EventSource))
    }
    /// `eventName`, e.g. `CreateUser`.
    pub fn event_name(&self) -> Option<&str> {
        member_str(self.fields.get(Common::EventName))
    }
    /// `awsRegion`.
    pub fn aws_region(&self) -> Option<&str> {
        member_str(self.fields.get(Common::AwsRegion))
    }
    /// `sourceIPAddress`: an IP address, or a service name for calls AWS made itself.
    pub fn source_ip_address(&self) -> Option<&str> {
        member_str(self.fields.get(Common::SourceIpAddress))
    }
    /// `userAgent`.
    pub fn user_agent(&self) -> Option<&str> {
        member_str(self.fields.get(Common::UserAgent))
    }
    /// `errorCode`; present only on failed calls.
    pub fn error_code(&self) -> Option<&str> {
        member_str(self.fields.get(Common::ErrorCode))
    }
    /// `errorMessage`.
    pub fn error_message(&self) -> Option<&str> {
        member_str(self.fields.get(Common::ErrorMessage))
    }
    /// `readOnly`, accepting both booleans and the strings older records carry.
    pub fn read_only(&self) -> Option<bool> {
        member_bool(self.fields.get(Common::ReadOnly))
    }
    /// `eventType` as written.
    pub fn event_type_text(&self) -> Option<&str> {
        member_str(self.fields.get(Common::EventType))
    }
    /// `eventType`, if it is one CloudTrail documents.
    pub fn event_type(&self) -> Option<EventType> {
        self.event_type_text().and_then(EventType::parse)
    }
    /// `eventCategory` as written.
    pub fn event_category_text(&self) -> Option<&str> {
        member_str(self.fields.get(Common::EventCategory))
    }
    /// `eventCategory`, if it is one CloudTrail documents.
    pub fn event_category(&self) -> Option<EventCategory> {
        self.event_category_text().and_then(EventCategory::parse)
    }
    /// `managementEvent`.
    pub fn management_event(&self) -> Option<bool> {
        member_bool(self.fields.get(Common::ManagementEvent))
    }
    /// `recipientAccountId`: the account the record was delivered for.
    pub fn recipient_account_id(&self) -> Option<&str> {
        member_str(self.fields.get(Common::RecipientAccountId))
    }
    /// `requestID`.
    pub fn request_id(&self) -> Option<&str> {
        member_str(self.fields.get(Common::RequestId))
    }
    /// `eventID`: unique per record; CloudTrail may deliver the same one twice.
    pub fn event_id(&self) -> Option<&str> {
        member_str(self.fields.get(Common::EventId))
    }
    /// `sharedEventID`: ties cross-account copies and Insights start/end pairs together.
    pub fn shared_event_id(&self) -> Option<&str> {
        member_str(self.fields.get(Common::SharedEventId))
    }
    /// `vpcEndpointId`.
    pub fn vpc_endpoint_id(&self) -> Option<&str> {
        member_str(self.fields.get(Common::VpcEndpointId))
    }
    /// A free-form part as its JSON text, exactly as written; `None` when absent or `null`.
    pub fn json_text(&self, part: JsonPart) -> Option<&str> {
        let value = match part {
            JsonPart::RequestParameters => self.fields.get(Common::RequestParameters),
            JsonPart::ResponseElements => self.fields.get(Common::ResponseElements),
            JsonPart::AdditionalEventData => self.fields.get(Common::AdditionalEventData),
            JsonPart::ServiceEventDetails => self.fields.get(Common::ServiceEventDetails),
            JsonPart::Resources => self.fields.get(Common::Resources),
            JsonPart::InsightDetails => self.fields.get(Common::InsightDetails),
            JsonPart::TlsDetails => self.fields.get(Common::TlsDetails),
        };
        value.as_ref().filter(|v| !v.is_null()).map(Member::raw)
    }
    /// `apiVersion`.
    pub fn api_version(&self) -> Option<&str> {
        member_str(self.fields.get(Common::ApiVersion))
    }
    /// `sessionCredentialFromConsole`, read as a bool (CloudTrail writes a string).
    pub fn session_credential_from_console(&self) -> Option<bool> {
        member_bool(self.fields.get(Common::SessionCredentialFromConsole))
    }
    /// The typed `tlsDetails` (eventVersion 1.08+), if present and an object (one that holds
    /// a member twice reads as absent, as it always has).
    pub fn tls_details(&self) -> Option<&TlsDetails<'a>> {
        self.tls.as_ref()
    }
    /// The typed `userIdentity`, if present and an object.
    pub fn user_identity(&self) -> Option<&UserIdentity<'a>> {
        self.identity.as_ref()
    }
    /// The account the record belongs to: `recipientAccountId`, else `userIdentity.accountId`.
    pub fn account_id(&self) -> Option<&str> {
        self.recipient_account_id()
            .or_else(|| self.user_identity().and_then(UserIdentity::account_id))
    }
    /// The IAM action the call needs (`s3:GetObject`), see [`iam_action`].
    pub fn iam_action(&self) -> Option<String> {
        iam_action(self.event_source()?, self.event_name()?)
    }

    /// The raw JSON text of a top-level member that parsing has already located, `null`
    /// included: `Some(Some(text))` when present, `Some(None)` when the record lacks it, and
    /// `None` when `key` is not one of the common fields (the text must be searched).
    pub fn member(&self, key: &str) -> Option<Option<&'a str>> {
        self.text_of(self.member_value(key)?)
    }

    /// Where parsing has already located the value at the start of a path: the value's raw
    /// JSON text (`None` when the record lacks it) and the steps still to walk inside it.
    /// Reaches into `userIdentity`'s members as well as the top level; `None` when the path
    /// starts with a member parsing does not know (the text must be searched).
    pub fn located<'p>(&self, steps: &'p [String]) -> Option<(Option<&'a str>, &'p [String])> {
        let (first, rest) = steps.split_first()?;
        if first == "userIdentity"
            && let (Some(identity), Some((second, deeper))) = (&self.identity, rest.split_first())
            && let Some(value) = identity.member(second)
            && let Some(text) = self.text_of(value)
        {
            return Some((text, deeper));
        }
        Some((self.text_of(self.member_value(first)?)?, rest))
    }

    /// A located value's text, borrowed from the record: `Some(None)` for absent, `None` for
    /// a value that had to be copied (a string with escapes), which must be searched instead.
    fn text_of(&self, value: &Option<Member<'a>>) -> Option<Option<&'a str>> {
        match value {
            None => Some(None),
            Some(member) => member.in_record().map(Some),
        }
    }

    fn member_value(&self, key: &str) -> Option<&Option<Member<'a>>> {
        self.fields.members.get(common_index(key)?)
    }

    /// The raw JSON value at `path`, if every step exists.
    pub fn get(&self, path: &FieldPath) -> Option<LazyValue<'a>> {
        path.lookup(self.raw)
    }

    /// The value at `path` as text: strings unescaped, numbers and booleans as written,
    /// `None` for absent values, `null`, objects and arrays.
    pub fn get_str(&self, path: &FieldPath) -> Option<Cow<'a, str>> {
        let value = self.get(path)?;
        if let Some(text) = value.as_str() {
            return Some(Cow::Owned(text.to_owned()));
        }
        if value.is_number() || value.is_boolean() {
            return crate::identity::subslice(self.raw, value.as_raw_str()).map(Cow::Borrowed);
        }
        None
    }
}

fn json_type_name(value: &sonic_rs::Value) -> &'static str {
    if value.is_str() {
        "string"
    } else if value.is_number() {
        "number"
    } else if value.is_boolean() {
        "boolean"
    } else if value.is_null() {
        "null"
    } else if value.is_array() {
        "array"
    } else {
        "object"
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    const ASSUMED_ROLE: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice","arn":"arn:aws:sts::111122223333:assumed-role/admin/alice","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/admin","accountId":"111122223333","userName":"admin"},"attributes":{"creationDate":"2024-01-01T00:00:00Z","mfaAuthenticated":"true"},"sourceIdentity":"alice@example.com"}},"eventTime":"2024-01-01T00:05:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0","errorCode":"AccessDenied","errorMessage":"not \"allowed\"","requestParameters":{"userName":"bob","tags":[{"key":"team","value":"red"}]},"responseElements":null,"requestID":"r-1","eventID":"e-1","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","futureField":{"x":1}}"#;

    /// `tlsDetails` as serde reads it into `Option`s, which is what the walk must match.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct SerdeTls<'a> {
        #[serde(borrow)]
        tls_version: Option<Member<'a>>,
        #[serde(borrow)]
        cipher_suite: Option<Member<'a>>,
        #[serde(borrow)]
        client_provided_host_header: Option<Member<'a>>,
    }

    #[test]
    fn the_walk_reads_tls_details_as_serde_does() -> Result<(), EventError> {
        let cases = [
            r#"{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"s3.eu-west-1.amazonaws.com"}"#,
            r#"{ "clientProvidedHostHeader" : "h\u0041\"q" , "tlsVersion":null, "extra":{"tlsVersion":"inner"} }"#,
            r#"{"tlsVersion":["TLSv1.2"],"cipherSuite":7}"#,
            r#"{"tlsVersion":"TLSv1.2","tlsVersion":"TLSv1.3"}"#,
            r#"{"cipherSuite":"a","cipherSuite":null}"#,
            r#"{"other":1,"other":2,"tlsVersion":"TLSv1.2"}"#,
            r#"{}"#,
            r#"[]"#,
            r#""TLSv1.2""#,
            "null",
        ];
        for tls in cases {
            let text = format!(r#"{{"eventName":"X","tlsDetails":{tls}}}"#);
            let event = CloudTrailEvent::parse(&text)?;
            let walked = event.tls_details().map(|t| {
                (
                    t.tls_version().map(str::to_owned),
                    t.cipher_suite().map(str::to_owned),
                    t.client_provided_host_header().map(str::to_owned),
                    t.tls_version.as_ref().map(|m| m.raw().to_owned()),
                    t.cipher_suite.as_ref().map(|m| m.raw().to_owned()),
                )
            });
            let by_serde = tls
                .starts_with('{')
                .then(|| sonic_rs::from_str::<SerdeTls<'_>>(tls).ok())
                .flatten()
                .map(|t| {
                    (
                        member_str(&t.tls_version).map(str::to_owned),
                        member_str(&t.cipher_suite).map(str::to_owned),
                        member_str(&t.client_provided_host_header).map(str::to_owned),
                        t.tls_version.as_ref().map(|m| m.raw().to_owned()),
                        t.cipher_suite.as_ref().map(|m| m.raw().to_owned()),
                    )
                });
            assert_eq!(walked, by_serde, "tlsDetails {tls}");
        }
        Ok(())
    }

    #[test]
    fn typed_view_reads_common_fields() -> Result<(), EventError> {
        let event = CloudTrailEvent::parse(ASSUMED_ROLE)?;
        assert_eq!(event.event_version(), Some("1.08"));
        assert_eq!(event.event_name(), Some("CreateUser"));
        assert_eq!(event.event_source(), Some("iam.amazonaws.com"));
        assert_eq!(event.aws_region(), Some("us-east-1"));
        assert_eq!(event.source_ip_address(), Some("203.0.113.7"));
        assert_eq!(event.error_code(), Some("AccessDenied"));
        assert_eq!(event.error_message(), Some("not \"allowed\""));
        assert_eq!(event.read_only(), Some(false));
        assert_eq!(event.management_event(), Some(true));
        assert_eq!(event.event_type(), Some(EventType::AwsApiCall));
        assert_eq!(event.event_category(), Some(EventCategory::Management));
        assert_eq!(event.event_id(), Some("e-1"));
        assert_eq!(event.request_id(), Some("r-1"));
        assert_eq!(event.account_id(), Some("111122223333"));
        assert!(event.event_time().is_some());
        let identity = event
            .user_identity()
            .ok_or(EventError::NotAnObject { found: "none" })?;
        assert_eq!(identity.kind(), Some("AssumedRole"));
        assert_eq!(identity.access_key_id(), Some("ASIAEXAMPLE"));
        assert_eq!(identity.mfa_authenticated(), Some(true));
        assert_eq!(identity.source_identity(), Some("alice@example.com"));
        let issuer = identity
            .session_issuer()
            .ok_or(EventError::NotAnObject { found: "none" })?;
        assert_eq!(issuer.arn(), Some("arn:aws:iam::111122223333:role/admin"));
        assert_eq!(issuer.user_name(), Some("admin"));
        assert_eq!(event.raw(), ASSUMED_ROLE);
        Ok(())
    }

    #[test]
    fn paths_reach_into_free_form_parts() -> Result<(), EventError> {
        let event = CloudTrailEvent::parse(ASSUMED_ROLE)?;
        let text =
            |p: &str| FieldPath::parse(p).map(|path| event.get_str(&path).map(|c| c.into_owned()));
        assert_eq!(text("requestParameters.userName")?.as_deref(), Some("bob"));
        assert_eq!(
            text("requestParameters.tags.0.value")?.as_deref(),
            Some("red")
        );
        assert_eq!(text("futureField.x")?.as_deref(), Some("1"));
        assert_eq!(text("readOnly")?.as_deref(), Some("false"));
        assert_eq!(text("responseElements")?, None);
        assert_eq!(text("requestParameters.missing")?, None);
        assert_eq!(text("requestParameters.tags.7.value")?, None);
        Ok(())
    }

    #[test]
    fn free_form_parts_are_raw_json_text() -> Result<(), EventError> {
        let event = CloudTrailEvent::parse(
            r#"{"requestParameters": {"userName" : "bob"},"responseElements":null,"tlsDetails":{"tlsVersion":"TLSv1.3"}}"#,
        )?;
        assert_eq!(
            event.json_text(JsonPart::RequestParameters),
            Some(r#"{"userName" : "bob"}"#)
        );
        assert_eq!(event.json_text(JsonPart::ResponseElements), None);
        assert_eq!(event.json_text(JsonPart::Resources), None);
        let tls = event
            .tls_details()
            .ok_or(EventError::NotAnObject { found: "none" })?;
        assert_eq!(tls.tls_version(), Some("TLSv1.3"));
        assert_eq!(tls.cipher_suite(), None);
        Ok(())
    }

    #[test]
    fn oddly_typed_fields_read_as_none_not_errors() -> Result<(), EventError> {
        let event = CloudTrailEvent::parse(
            r#"{"eventName":42,"readOnly":"true","userIdentity":"nobody","eventTime":"eventTime","awsRegion":null}"#,
        )?;
        assert_eq!(event.event_name(), None);
        assert_eq!(event.read_only(), Some(true));
        assert!(event.user_identity().is_none());
        assert_eq!(event.event_time(), None);
        assert_eq!(event.aws_region(), None);
        Ok(())
    }

    #[test]
    fn non_objects_and_broken_json_are_errors() {
        assert_eq!(
            CloudTrailEvent::parse("[1,2]").err(),
            Some(EventError::NotAnObject { found: "array" })
        );
        assert_eq!(
            CloudTrailEvent::parse("\"x\"").err(),
            Some(EventError::NotAnObject { found: "string" })
        );
        assert!(matches!(
            CloudTrailEvent::parse(r#"{"eventName": "#),
            Err(EventError::InvalidJson { .. })
        ));
    }

    #[test]
    fn escaped_strings_are_unescaped() -> Result<(), EventError> {
        let event = CloudTrailEvent::parse(
            r#"{"userAgent":"a\u0020b\\c","userIdentity":{"userName":"d\"e"}}"#,
        )?;
        assert_eq!(event.user_agent(), Some("a b\\c"));
        assert_eq!(
            event.user_identity().and_then(|u| u.user_name()),
            Some("d\"e")
        );
        Ok(())
    }
}
