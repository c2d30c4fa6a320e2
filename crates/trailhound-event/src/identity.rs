use serde::Deserialize;
use sonic_rs::LazyValue;

use crate::{lazy_bool, lazy_str};

/// A typed view of `userIdentity`: who made the call.
///
/// Every accessor is lenient: a field that is absent or not a string reads as `None`.
/// Fields not modelled here (`onBehalfOf`, `credentialId`, `inScopeOf`, …) stay reachable
/// through [`crate::FieldPath`] lookups on the event.
#[derive(Debug, Default)]
pub struct UserIdentity<'a> {
    fields: IdentityFields<'a>,
    issuer: Option<SessionIssuer<'a>>,
    attributes: Option<SessionAttributes<'a>>,
    source_identity: Option<LazyValue<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityFields<'a> {
    #[serde(
        borrow,
        default,
        deserialize_with = "crate::record::present",
        rename = "type"
    )]
    kind: Option<LazyValue<'a>>,
    #[serde(borrow, default, deserialize_with = "crate::record::present")]
    principal_id: Option<LazyValue<'a>>,
    #[serde(borrow, default, deserialize_with = "crate::record::present")]
    arn: Option<LazyValue<'a>>,
    #[serde(borrow, default, deserialize_with = "crate::record::present")]
    account_id: Option<LazyValue<'a>>,
    #[serde(borrow, default, deserialize_with = "crate::record::present")]
    access_key_id: Option<LazyValue<'a>>,
    #[serde(borrow, default, deserialize_with = "crate::record::present")]
    user_name: Option<LazyValue<'a>>,
    #[serde(borrow, default, deserialize_with = "crate::record::present")]
    invoked_by: Option<LazyValue<'a>>,
    #[serde(borrow, default, deserialize_with = "crate::record::present")]
    identity_provider: Option<LazyValue<'a>>,
    #[serde(borrow, default, deserialize_with = "crate::record::present")]
    session_context: Option<LazyValue<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(borrow)]
    session_issuer: Option<LazyValue<'a>>,
    #[serde(borrow)]
    attributes: Option<LazyValue<'a>>,
    #[serde(borrow)]
    source_identity: Option<LazyValue<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionAttributes<'a> {
    #[serde(borrow)]
    mfa_authenticated: Option<LazyValue<'a>>,
    #[serde(borrow)]
    creation_date: Option<LazyValue<'a>>,
}

/// `userIdentity.sessionContext.sessionIssuer`: the role or user whose credentials a
/// temporary session was issued from.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<LazyValue<'a>>,
    #[serde(borrow)]
    principal_id: Option<LazyValue<'a>>,
    #[serde(borrow)]
    arn: Option<LazyValue<'a>>,
    #[serde(borrow)]
    account_id: Option<LazyValue<'a>>,
    #[serde(borrow)]
    user_name: Option<LazyValue<'a>>,
}

impl<'a> UserIdentity<'a> {
    /// Builds the view from the `userIdentity` value of an event whose text is `event_text`.
    pub(crate) fn from_value(event_text: &'a str, value: &Option<LazyValue<'_>>) -> Option<Self> {
        let fields: IdentityFields<'a> = nested_object(event_text, value)?;
        let context: Option<SessionContext<'a>> =
            nested_object(event_text, &fields.session_context);
        let (issuer, attributes, source_identity) = match context {
            Some(context) => (
                nested_object(event_text, &context.session_issuer),
                nested_object(event_text, &context.attributes),
                context.source_identity,
            ),
            None => (None, None, None),
        };
        Some(UserIdentity {
            fields,
            issuer,
            attributes,
            source_identity,
        })
    }

    /// The value of a member of `userIdentity` that parsing located, `null` included:
    /// `Some(None)` when absent, `None` when `key` is not one this view reads.
    pub(crate) fn member(&self, key: &str) -> Option<&Option<LazyValue<'a>>> {
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
            "sessionContext" => &f.session_context,
            _ => return None,
        })
    }

    /// `type`: `IAMUser`, `AssumedRole`, `Root`, `AWSService`, `FederatedUser`, …
    pub fn kind(&self) -> Option<&str> {
        lazy_str(&self.fields.kind)
    }
    /// `principalId`.
    pub fn principal_id(&self) -> Option<&str> {
        lazy_str(&self.fields.principal_id)
    }
    /// `arn` of the principal.
    pub fn arn(&self) -> Option<&str> {
        lazy_str(&self.fields.arn)
    }
    /// `accountId` that owns the principal.
    pub fn account_id(&self) -> Option<&str> {
        lazy_str(&self.fields.account_id)
    }
    /// `accessKeyId` used to sign the request.
    pub fn access_key_id(&self) -> Option<&str> {
        lazy_str(&self.fields.access_key_id)
    }
    /// `userName` (IAM users, root's alias, the issuer name for some sessions).
    pub fn user_name(&self) -> Option<&str> {
        lazy_str(&self.fields.user_name)
    }
    /// `invokedBy`: the AWS service that made the call on the principal's behalf.
    pub fn invoked_by(&self) -> Option<&str> {
        lazy_str(&self.fields.invoked_by)
    }
    /// `identityProvider` of SAML and web-identity users.
    pub fn identity_provider(&self) -> Option<&str> {
        lazy_str(&self.fields.identity_provider)
    }
    /// `sessionContext.sessionIssuer`.
    pub fn session_issuer(&self) -> Option<&SessionIssuer<'a>> {
        self.issuer.as_ref()
    }
    /// `sessionContext.attributes.mfaAuthenticated`, read as a bool (CloudTrail writes a string).
    pub fn mfa_authenticated(&self) -> Option<bool> {
        self.attributes
            .as_ref()
            .and_then(|attributes| lazy_bool(&attributes.mfa_authenticated))
    }
    /// `sessionContext.attributes.creationDate`.
    pub fn session_creation_date(&self) -> Option<&str> {
        self.attributes
            .as_ref()
            .and_then(|attributes| lazy_str(&attributes.creation_date))
    }
    /// `sessionContext.sourceIdentity` (eventVersion 1.08+).
    pub fn source_identity(&self) -> Option<&str> {
        lazy_str(&self.source_identity)
    }
}

impl SessionIssuer<'_> {
    /// `type`: usually `Role`, sometimes `IAMUser` or `Root`.
    pub fn kind(&self) -> Option<&str> {
        lazy_str(&self.kind)
    }
    /// `principalId` of the issuer.
    pub fn principal_id(&self) -> Option<&str> {
        lazy_str(&self.principal_id)
    }
    /// `arn` of the issuing role or user.
    pub fn arn(&self) -> Option<&str> {
        lazy_str(&self.arn)
    }
    /// `accountId` that owns the issuer.
    pub fn account_id(&self) -> Option<&str> {
        lazy_str(&self.account_id)
    }
    /// `userName` of the issuer (the role name for roles).
    pub fn user_name(&self) -> Option<&str> {
        lazy_str(&self.user_name)
    }
}

/// Parses an object-valued field leniently: absent, not an object, or unreadable all read
/// as `None` rather than failing the whole record.
pub(crate) fn nested_object<'a, T: Deserialize<'a>>(
    event_text: &'a str,
    value: &Option<LazyValue<'_>>,
) -> Option<T> {
    let inner = value.as_ref()?.as_raw_str();
    if !inner.starts_with('{') {
        return None;
    }
    sonic_rs::from_str(subslice(event_text, inner)?).ok()
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
