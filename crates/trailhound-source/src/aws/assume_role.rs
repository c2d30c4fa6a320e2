//! Profiles that assume a role (`role_arn` with `source_profile`, or with
//! `credential_source = Environment`): STS AssumeRole with the source credentials, the
//! temporary credentials cached and renewed five minutes before they expire, so a monitor
//! running for days keeps working.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use object_store::aws::{AwsAuthorizer, AwsCredential};
use object_store::client::{CredentialProvider, HttpRequest};

/// A role to assume, and the credentials it gave last.
#[derive(Debug)]
pub(crate) struct AssumedRole {
    pub(crate) source: AwsCredential,
    pub(crate) role_arn: String,
    pub(crate) session_name: String,
    pub(crate) external_id: Option<String>,
    pub(crate) region: String,
    pub(crate) endpoint: String,
    pub(crate) http: reqwest::Client,
    pub(crate) cached: tokio::sync::Mutex<Option<(Arc<AwsCredential>, DateTime<Utc>)>>,
}

#[async_trait::async_trait]
impl CredentialProvider for AssumedRole {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some((credential, expires)) = cached.as_ref()
            && *expires - chrono::Duration::minutes(5) > Utc::now()
        {
            return Ok(Arc::clone(credential));
        }
        let (credential, expires) =
            self.assume()
                .await
                .map_err(|reason| object_store::Error::Generic {
                    store: "S3",
                    source: format!(
                        "cannot assume {} through {}: {reason}",
                        self.role_arn, self.endpoint
                    )
                    .into(),
                })?;
        let credential = Arc::new(credential);
        *cached = Some((Arc::clone(&credential), expires));
        Ok(credential)
    }
}

impl AssumedRole {
    async fn assume(&self) -> Result<(AwsCredential, DateTime<Utc>), String> {
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", "AssumeRole")
                .append_pair("Version", "2011-06-15")
                .append_pair("RoleArn", &self.role_arn)
                .append_pair("RoleSessionName", &self.session_name)
                .append_pair("DurationSeconds", "3600");
            if let Some(external_id) = &self.external_id {
                form.append_pair("ExternalId", external_id);
            }
            Bytes::from(form.finish())
        };
        let mut request: HttpRequest = http::Request::post(&self.endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone().into())
            .map_err(|err| err.to_string())?;
        AwsAuthorizer::new(&self.source, "sts", &self.region).authorize(&mut request, None);
        let (parts, _) = request.into_parts();
        let response = self
            .http
            .post(&self.endpoint)
            .headers(parts.headers)
            .body(body)
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .map_err(|err| super::describe(&err))?;
        let status = response.status();
        let text = response.text().await.map_err(|err| super::describe(&err))?;
        if !status.is_success() {
            return Err(format!(
                "{status}: {}",
                element(&text, "Message").unwrap_or(&text)
            ));
        }
        let field = |name: &str| {
            element(&text, name)
                .map(str::to_owned)
                .ok_or_else(|| format!("the answer has no {name}"))
        };
        let expires = DateTime::parse_from_rfc3339(&field("Expiration")?)
            .map(|t| t.to_utc())
            .map_err(|err| format!("unreadable Expiration: {err}"))?;
        Ok((
            AwsCredential {
                key_id: field("AccessKeyId")?,
                secret_key: field("SecretAccessKey")?,
                token: Some(field("SessionToken")?),
            },
            expires,
        ))
    }
}

/// The text of the first `<name>…</name>` in an XML answer (STS's answers are flat enough
/// that this is all the parsing they need).
fn element<'x>(xml: &'x str, name: &str) -> Option<&'x str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_credentials_of_an_assume_role_answer() {
        let answer = "<AssumeRoleResponse><AssumeRoleResult><Credentials>\
            <AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>secret</SecretAccessKey>\
            <SessionToken>token</SessionToken><Expiration>2026-11-30T08:00:00Z</Expiration>\
            </Credentials></AssumeRoleResult></AssumeRoleResponse>";
        assert_eq!(element(answer, "AccessKeyId"), Some("ASIAEXAMPLE"));
        assert_eq!(element(answer, "Expiration"), Some("2026-11-30T08:00:00Z"));
        assert_eq!(element(answer, "Missing"), None);
    }
}
