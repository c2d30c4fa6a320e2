use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::EventError;
use crate::member::{Member, member_bool, member_str};
use crate::scan::{MemberSpans, identity_slot as slot};

/// A typed view of `userIdentity`: who made the call.
///
/// Every accessor is lenient: a field that is absent or not a string reads as `None`.
/// Fields not modelled here (`onBehalfOf`, `credentialId`, `inScopeOf`, …) stay reachable
/// through [`crate::FieldPath`] lookups on the event.
#[derive(Debug, Default)]
pub struct UserIdentity<'a> {
    fields: IdentityFields<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityFields<'a> {
    #[serde(borrow, default, deserialize_with = "present", rename = "type")]
    kind: Option<Member<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    principal_id: Option<Member<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    arn: Option<Member<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    account_id: Option<Member<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    access_key_id: Option<Member<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    user_name: Option<Member<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    invoked_by: Option<Member<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    identity_provider: Option<Member<'a>>,
    // Parsed in the same pass as its parent: kept as text, it was parsed again, and then its
    // members a third time, on every record of every ingest.
    #[serde(borrow, default, deserialize_with = "lenient_object")]
    session_context: Option<SessionContext<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(borrow, default, deserialize_with = "lenient_object")]
    session_issuer: Option<SessionIssuer<'a>>,
    #[serde(borrow, default, deserialize_with = "lenient_object")]
    attributes: Option<SessionAttributes<'a>>,
    #[serde(borrow)]
    source_identity: Option<Member<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionAttributes<'a> {
    #[serde(borrow)]
    mfa_authenticated: Option<Member<'a>>,
    #[serde(borrow)]
    creation_date: Option<Member<'a>>,
}

/// `userIdentity.sessionContext.sessionIssuer`: the role or user whose credentials a
/// temporary session was issued from.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Member<'a>>,
    #[serde(borrow)]
    principal_id: Option<Member<'a>>,
    #[serde(borrow)]
    arn: Option<Member<'a>>,
    #[serde(borrow)]
    account_id: Option<Member<'a>>,
    #[serde(borrow)]
    user_name: Option<Member<'a>>,
}

impl<'a> UserIdentity<'a> {
    /// Builds the view from an event's `userIdentity` member; `None` unless it is an object.
    pub(crate) fn from_value(value: &Option<Member<'a>>) -> Option<Self> {
        Some(UserIdentity {
            fields: nested_object(value)?,
        })
    }

    /// Builds the view from what the walk over the record found inside `value` (the event's
    /// `userIdentity`), without walking it again; `None` unless it is an object.
    pub(crate) fn from_spans(
        raw: &'a str,
        spans: &MemberSpans,
        value: &Option<Member<'a>>,
    ) -> Option<Self> {
        if !value.as_ref()?.raw().starts_with('{') {
            return None;
        }
        // A repeated key is rare enough to leave to serde, whose rules then apply as before.
        if !spans.identity_duplicate()
            && let Ok(identity) = Self::located(raw, spans)
        {
            return Some(identity);
        }
        Self::from_value(value)
    }

    fn located(raw: &'a str, spans: &MemberSpans) -> Result<Self, EventError> {
        use slot::*;
        let member = |slot| spans.member(raw, slot);
        // Below `userIdentity` itself, `null` reads as absent, as serde's `Option` reads it.
        let value = |slot| spans.non_null(raw, slot);
        let is_object = |slot| -> Result<bool, EventError> {
            Ok(member(slot)?.is_some_and(|m| m.raw().starts_with('{')))
        };
        let session_context = if is_object(SESSION_CONTEXT)? {
            Some(SessionContext {
                session_issuer: if is_object(SESSION_ISSUER)? {
                    Some(SessionIssuer {
                        kind: value(ISSUER_MEMBERS)?,
                        principal_id: value(ISSUER_MEMBERS + 1)?,
                        arn: value(ISSUER_MEMBERS + 2)?,
                        account_id: value(ISSUER_MEMBERS + 3)?,
                        user_name: value(ISSUER_MEMBERS + 4)?,
                    })
                } else {
                    None
                },
                attributes: if is_object(ATTRIBUTES)? {
                    Some(SessionAttributes {
                        mfa_authenticated: value(ATTRIBUTE_MEMBERS)?,
                        creation_date: value(ATTRIBUTE_MEMBERS + 1)?,
                    })
                } else {
                    None
                },
                source_identity: value(SOURCE_IDENTITY)?,
            })
        } else {
            None
        };
        Ok(UserIdentity {
            fields: IdentityFields {
                kind: member(MEMBERS)?,
                principal_id: member(MEMBERS + 1)?,
                arn: member(MEMBERS + 2)?,
                account_id: member(MEMBERS + 3)?,
                access_key_id: member(MEMBERS + 4)?,
                user_name: member(MEMBERS + 5)?,
                invoked_by: member(MEMBERS + 6)?,
                identity_provider: member(MEMBERS + 7)?,
                session_context,
            },
        })
    }

    fn session_context(&self) -> Option<&SessionContext<'a>> {
        self.fields.session_context.as_ref()
    }

    /// The value of a member of `userIdentity` that parsing located, `null` included:
    /// `Some(None)` when absent, `None` when `key` is not one this view reads.
    pub(crate) fn member(&self, key: &str) -> Option<&Option<Member<'a>>> {
        let f = &self.fields;
        Some(match key {
            "type" => &f.kind,
            "principalId" => &f.principal_id,
            "arn" => &f.arn,
            "accountId" => &f.account_id,
            "accessKeyId" => &f.access_key_id,
            "userName" => &f.user_name,
            "invokedBy" => &f.invoked_by,
            "identityProvider" => &f.identity_provider,
            // `sessionContext` is parsed into its members, not kept as text: paths into it
            // are searched in `userIdentity`'s text.
            _ => return None,
        })
    }

    /// `type`: `IAMUser`, `AssumedRole`, `Root`, `AWSService`, `FederatedUser`, …
    pub fn kind(&self) -> Option<&str> {
        member_str(&self.fields.kind)
    }
    /// `principalId`.
    pub fn principal_id(&self) -> Option<&str> {
        member_str(&self.fields.principal_id)
    }
    /// `arn` of the principal.
    pub fn arn(&self) -> Option<&str> {
        member_str(&self.fields.arn)
    }
    /// `accountId` that owns the principal.
    pub fn account_id(&self) -> Option<&str> {
        member_str(&self.fields.account_id)
    }
    /// `accessKeyId` used to sign the request.
    pub fn access_key_id(&self) -> Option<&str> {
        member_str(&self.fields.access_key_id)
    }
    /// `userName` (IAM users, root's alias, the issuer name for some sessions).
    pub fn user_name(&self) -> Option<&str> {
        member_str(&self.fields.user_name)
    }
    /// `invokedBy`: the AWS service that made the call on the principal's behalf.
    pub fn invoked_by(&self) -> Option<&str> {
        member_str(&self.fields.invoked_by)
    }
    /// `identityProvider` of SAML and web-identity users.
    pub fn identity_provider(&self) -> Option<&str> {
        member_str(&self.fields.identity_provider)
    }
    /// Who acted, as Trailhound names them everywhere (search, stats, findings, the API): the
    /// `arn`, else `userName` (a failed sign-in of an unknown user has no ARN), else
    /// `principalId` (another account's principal), else `invokedBy` (an AWS service acting on
    /// its own), else `type`. The lake's SQL twin is `trailhound_query::PRINCIPAL_SQL`.
    pub fn principal(&self) -> Option<&str> {
        self.arn()
            .or(self.user_name())
            .or(self.principal_id())
            .or(self.invoked_by())
            .or(self.kind())
    }
    /// `sessionContext.sessionIssuer`.
    pub fn session_issuer(&self) -> Option<&SessionIssuer<'a>> {
        self.session_context()?.session_issuer.as_ref()
    }
    /// `sessionContext.attributes.mfaAuthenticated`, read as a bool (CloudTrail writes a string).
    pub fn mfa_authenticated(&self) -> Option<bool> {
        let attributes = self.session_context()?.attributes.as_ref()?;
        member_bool(&attributes.mfa_authenticated)
    }
    /// `sessionContext.attributes.creationDate`.
    pub fn session_creation_date(&self) -> Option<&str> {
        let attributes = self.session_context()?.attributes.as_ref()?;
        member_str(&attributes.creation_date)
    }
    /// `sessionContext.sourceIdentity` (eventVersion 1.08+).
    pub fn source_identity(&self) -> Option<&str> {
        member_str(&self.session_context()?.source_identity)
    }
}

impl SessionIssuer<'_> {
    /// `type`: usually `Role`, sometimes `IAMUser` or `Root`.
    pub fn kind(&self) -> Option<&str> {
        member_str(&self.kind)
    }
    /// `principalId` of the issuer.
    pub fn principal_id(&self) -> Option<&str> {
        member_str(&self.principal_id)
    }
    /// `arn` of the issuing role or user.
    pub fn arn(&self) -> Option<&str> {
        member_str(&self.arn)
    }
    /// `accountId` that owns the issuer.
    pub fn account_id(&self) -> Option<&str> {
        member_str(&self.account_id)
    }
    /// `userName` of the issuer (the role name for roles).
    pub fn user_name(&self) -> Option<&str> {
        member_str(&self.user_name)
    }
}

/// Reads an object-valued member into `T` in the same pass as its parent, leniently: a
/// member that is not an object (a string, a number, an array, `null`) reads as `None`
/// rather than failing the parent. Text that is not JSON still fails, as it would anywhere.
fn lenient_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Lenient<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Lenient<T> {
        type Value = Option<T>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("any JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    deserializer.deserialize_any(Lenient(PhantomData))
}

/// Keeps a member that is present, `null` included: serde's `Option` would read `null` as
/// absent, and rules tell the two apart (`exists`).
fn present<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Member<'a>>, D::Error> {
    Member::deserialize(deserializer).map(Some)
}

/// Parses an object-valued field leniently: absent, not an object, or unreadable all read
/// as `None` rather than failing the whole record.
pub(crate) fn nested_object<'a, T: Deserialize<'a>>(value: &Option<Member<'a>>) -> Option<T> {
    let inner = value.as_ref()?.in_record()?;
    if !inner.starts_with('{') {
        return None;
    }
    sonic_rs::from_str(inner).ok()
}

/// Re-borrows `inner`, which points into `outer`, with `outer`'s lifetime.
///
/// A lazy value's text is handed out tied to the value itself; the typed views need it tied
/// to the event text so that they can borrow from it. Returns `None` if `inner` does not lie
/// within `outer` (a value that had to be copied, which objects never are).
pub(crate) fn subslice<'a>(outer: &'a str, inner: &str) -> Option<&'a str> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    outer.get(start..start.checked_add(inner.len())?)
}

#[cfg(test)]
mod tests {
    use crate::{CloudTrailEvent, EventError};

    fn identity_of(user_identity: &str) -> Result<String, EventError> {
        let text = format!(r#"{{"eventName":"X","userIdentity":{user_identity}}}"#);
        let event = CloudTrailEvent::parse(&text)?;
        Ok(match event.user_identity() {
            None => "none".to_owned(),
            Some(u) => format!(
                "{:?} {:?} {:?} {:?} {:?}",
                u.arn(),
                u.session_issuer().and_then(|i| i.arn()),
                u.mfa_authenticated(),
                u.session_creation_date(),
                u.source_identity()
            ),
        })
    }

    #[test]
    fn session_context_is_read_in_one_pass() -> Result<(), EventError> {
        let whole = r#"{"type":"AssumedRole","arn":"a","sessionContext":{"sessionIssuer":{"arn":"r","extra":[1,{"x":null}]},"webIdFederationData":{},"attributes":{"mfaAuthenticated":"true","creationDate":"d"},"sourceIdentity":"s"},"after":"z"}"#;
        assert_eq!(
            identity_of(whole)?,
            r#"Some("a") Some("r") Some(true) Some("d") Some("s")"#
        );
        Ok(())
    }

    #[test]
    fn the_principal_is_the_first_name_an_identity_has() -> Result<(), EventError> {
        for (identity, expected) in [
            (
                r#"{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s","principalId":"P:s","invokedBy":"athena.amazonaws.com"}"#,
                Some("arn:aws:sts::1:assumed-role/r/s"),
            ),
            (
                r#"{"type":"IAMUser","principalId":"1","accountId":"1","userName":"HIDDEN_DUE_TO_SECURITY_REASONS"}"#,
                Some("HIDDEN_DUE_TO_SECURITY_REASONS"),
            ),
            (
                r#"{"type":"AWSAccount","principalId":"AIDAEXAMPLE","accountId":"2"}"#,
                Some("AIDAEXAMPLE"),
            ),
            (
                r#"{"type":"AWSService","invokedBy":"lambda.amazonaws.com"}"#,
                Some("lambda.amazonaws.com"),
            ),
            (r#"{"type":"Unknown"}"#, Some("Unknown")),
            (r#"{"arn":null,"invokedBy":7}"#, None),
        ] {
            let text = format!(r#"{{"eventName":"X","userIdentity":{identity}}}"#);
            let event = CloudTrailEvent::parse(&text)?;
            let principal = event.user_identity().and_then(|u| u.principal());
            assert_eq!(principal, expected, "{identity}");
        }
        Ok(())
    }

    #[test]
    fn members_of_the_wrong_shape_read_as_absent() -> Result<(), EventError> {
        // Only the member that is not an object is lost, never its parent or its siblings.
        for (context, expected) in [
            (r#""text""#, r#"Some("a") None None None None"#),
            ("null", r#"Some("a") None None None None"#),
            ("[1,[2],{}]", r#"Some("a") None None None None"#),
            ("7.5", r#"Some("a") None None None None"#),
            (
                r#"{"sessionIssuer":["r"],"attributes":{"mfaAuthenticated":"false"}}"#,
                r#"Some("a") None Some(false) None None"#,
            ),
            (
                r#"{"sessionIssuer":{"arn":"r"},"attributes":false}"#,
                r#"Some("a") Some("r") None None None"#,
            ),
        ] {
            let user = format!(r#"{{"arn":"a","sessionContext":{context}}}"#);
            assert_eq!(identity_of(&user)?, expected, "{context}");
        }
        assert_eq!(identity_of(r#""someone""#)?, "none");
        Ok(())
    }

    /// Everything the typed view of an identity tells.
    fn described(identity: Option<&super::UserIdentity<'_>>) -> String {
        let Some(u) = identity else {
            return "none".to_owned();
        };
        let issuer = u.session_issuer();
        format!(
            "{:?}",
            (
                [u.kind(), u.principal_id(), u.arn(), u.account_id()],
                [u.access_key_id(), u.user_name(), u.invoked_by()],
                [u.identity_provider(), u.session_creation_date()],
                [u.source_identity(), issuer.and_then(|i| i.kind())],
                [
                    issuer.and_then(|i| i.principal_id()),
                    issuer.and_then(|i| i.arn())
                ],
                [
                    issuer.and_then(|i| i.account_id()),
                    issuer.and_then(|i| i.user_name())
                ],
                u.mfa_authenticated(),
                ["type", "arn", "sessionContext", "invokedBy"].map(|k| u.member(k).cloned()),
            )
        )
    }

    #[test]
    fn the_walk_reads_identities_as_serde_does() -> Result<(), EventError> {
        for identity in [
            r#"{"type":"AssumedRole","principalId":"P:s","arn":"a","accountId":"1","accessKeyId":"K","userName":"u\"v","invokedBy":null,"identityProvider":"idp","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"P","arn":"r","accountId":"1","userName":"n"},"attributes":{"creationDate":"d","mfaAuthenticated":"false"},"sourceIdentity":null}}"#,
            r#"{"arn":"a","sessionContext":{"attributes":{"mfaAuthenticated":true},"sessionIssuer":{}}}"#,
            r#"{"arn":"a","sessionContext":{"sessionIssuer":{"arn":null}}}"#,
            r#"{ "type" : "Root" , "arn" : "a\u0041" }"#,
            r#"{"arn":"a","arn":"b"}"#,
            r#"{"arn":"a","sessionContext":{"attributes":{"creationDate":"x","creationDate":"y"}}}"#,
            r#"{}"#,
            r#"[]"#,
        ] {
            let text = format!(r#"{{"eventName":"X","userIdentity":{identity}}}"#);
            let event = CloudTrailEvent::parse(&text)?;
            let value = Some(crate::member::Member::InRecord(identity));
            let by_serde = super::UserIdentity::from_value(&value);
            assert_eq!(
                described(event.user_identity()),
                described(by_serde.as_ref()),
                "{identity}"
            );
        }
        Ok(())
    }
}
