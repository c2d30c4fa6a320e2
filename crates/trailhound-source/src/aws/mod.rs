//! Reaching AWS (or a compatible server) with the standard credential chain: the settings
//! every S3 connection starts from, and a small client for the JSON and query APIs the
//! monitor needs besides S3 (SQS here, SNS for alerts).
//!
//! The chain: a profile named with `--profile`; else the environment's keys
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`); else the profile in
//! `AWS_PROFILE` or `[default]` of `~/.aws/credentials` and `~/.aws/config` (static keys, or a
//! `role_arn` assumed through STS with the source profile's keys); else web
//! identity, the container role or the instance role (which `object_store` provides, and
//! whose credentials [`AwsClient`] borrows for signing).

mod assume_role;
mod profile;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{
    AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer, AwsCredential,
};
use object_store::client::HttpRequest;

use crate::{S3Settings, SourceError};

/// A builder with the environment, the profile and the endpoint applied (no bucket yet),
/// and the endpoint when there is one.
pub(crate) fn configured_builder(
    settings: &S3Settings,
) -> Result<(AmazonS3Builder, Option<String>), SourceError> {
    let env_keys = std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
    // An explicit --profile beats the environment's keys; AWS_PROFILE or [default] only
    // fills in what the environment does not say.
    let profile = if settings.profile.is_some() || !env_keys {
        profile::load(settings.profile.as_deref())?
    } else {
        None
    };
    let profile_keys = match &profile {
        Some(profile) => profile.keys()?,
        None => None,
    };
    let role = profile.as_ref().and_then(|p| p.role.clone());
    let mut builder = builder_from_env(profile_keys.is_some() || role.is_some());
    if let (Some(profile), Some(role)) = (&profile, role) {
        let provider = assumed_role(profile, role, &builder)?;
        builder = builder.with_credentials(Arc::new(provider));
    }
    if let (Some(profile), Some((id, secret))) = (&profile, profile_keys) {
        builder = builder
            .with_access_key_id(id)
            .with_secret_access_key(secret);
        if let Some(token) = &profile.session_token {
            builder = builder.with_token(token);
        }
    }
    if builder
        .get_config_value(&AmazonS3ConfigKey::Region)
        .is_none()
        && let Some(region) = profile.as_ref().and_then(|p| p.region.as_ref())
    {
        builder = builder.with_region(region);
    }
    let endpoint = settings
        .endpoint
        .clone()
        .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint))
        .or_else(|| profile.as_ref().and_then(|p| p.endpoint_url.clone()))
        .filter(|e| !e.is_empty());
    if let Some(endpoint) = &endpoint {
        if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
            return Err(SourceError::S3Config(format!(
                "endpoint {endpoint:?} is not an http:// or https:// URL"
            )));
        }
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    Ok((builder, endpoint))
}

/// `AmazonS3Builder::from_env`, leaving out the environment's keys when a profile's replace
/// them (a session token left over from other keys would spoil the signature).
fn builder_from_env(without_keys: bool) -> AmazonS3Builder {
    let mut builder = AmazonS3Builder::new();
    for (name, value) in std::env::vars_os() {
        let (Some(name), Some(value)) = (name.to_str(), value.to_str()) else {
            continue;
        };
        let is_key = matches!(
            name,
            "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN"
        );
        if !name.starts_with("AWS_") || (without_keys && is_key) {
            continue;
        }
        if let Ok(key) = name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            builder = builder.with_config(key, value);
        }
    }
    builder
}

/// The provider for a profile that assumes `role`, signing STS calls with the source
/// profile's keys (or the environment's).
fn assumed_role(
    profile: &profile::Profile,
    role: profile::Role,
    builder: &AmazonS3Builder,
) -> Result<assume_role::AssumedRole, SourceError> {
    let source = if role.from_environment {
        match (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Ok(key_id), Ok(secret_key)) => AwsCredential {
                key_id,
                secret_key,
                token: std::env::var("AWS_SESSION_TOKEN").ok(),
            },
            _ => {
                return Err(SourceError::S3Config(format!(
                    "AWS profile {:?} assumes its role with the environment's keys, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
                    profile.name
                )));
            }
        }
    } else {
        let name = role.source_profile.clone().ok_or_else(|| {
            SourceError::S3Config(format!(
                "AWS profile {:?} has role_arn but neither source_profile nor credential_source = Environment",
                profile.name
            ))
        })?;
        let source = profile::load_named(Some(name.clone()))?.ok_or_else(|| {
            SourceError::S3Config(format!("source_profile {name:?} does not exist"))
        })?;
        let Some((id, secret)) = source.keys()? else {
            return Err(SourceError::S3Config(format!(
                "source_profile {name:?} of AWS profile {:?} has no keys of its own (chains of roles are not followed)",
                profile.name
            )));
        };
        AwsCredential {
            key_id: id.to_owned(),
            secret_key: secret.to_owned(),
            token: source.session_token.clone(),
        }
    };
    let region = builder
        .get_config_value(&AmazonS3ConfigKey::Region)
        .or_else(|| profile.region.clone())
        .unwrap_or_else(|| "us-east-1".to_owned());
    let endpoint = ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"]
        .into_iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com/"));
    let http = http_client(Duration::from_secs(40)).map_err(SourceError::S3Config)?;
    Ok(assume_role::AssumedRole {
        source,
        role_arn: role.arn,
        session_name: role
            .session_name
            .unwrap_or_else(|| format!("trailhound-{}", std::process::id())),
        external_id: role.external_id,
        region,
        endpoint,
        http,
        cached: tokio::sync::Mutex::new(None),
    })
}

/// Signed requests to an AWS API other than S3 (SQS, SNS), with the chain's credentials.
pub struct AwsClient {
    /// Kept for its credential provider, which resolves (and refreshes) whichever link of
    /// the chain applies.
    credentials: AmazonS3,
    region: String,
    endpoint: Option<String>,
    http: reqwest::Client,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for AwsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsClient")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl AwsClient {
    /// A client signing for `region` (else the configured one, else `us-east-1`).
    ///
    /// # Errors
    ///
    /// [`SourceError::S3Config`] when the credentials or settings are unusable.
    pub fn new(settings: &S3Settings, region: Option<&str>) -> Result<AwsClient, SourceError> {
        let (builder, endpoint) = configured_builder(settings)?;
        let region = region
            .map(str::to_owned)
            .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Region))
            .unwrap_or_else(|| "us-east-1".to_owned());
        // object_store wants a bucket to build; only its credential provider is used here.
        let credentials = builder
            .with_bucket_name("credentials-only")
            .with_region(&region)
            .build()
            .map_err(|err| SourceError::S3Config(err.to_string()))?;
        let http = http_client(Duration::from_secs(40)).map_err(SourceError::S3Config)?;
        let runtime = io_runtime().map_err(SourceError::S3Config)?;
        Ok(AwsClient {
            credentials,
            region,
            endpoint,
            http,
            runtime: Arc::new(runtime),
        })
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The endpoint every service is reached at instead of AWS (`--endpoint-url`,
    /// `AWS_ENDPOINT_URL`, the profile's `endpoint_url`), when one is set.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// POSTs `body` to `url`, signed with SigV4 for `service`; the answer's body when the
    /// status is a success.
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] with the status and the service's message, or the connection
    /// error.
    pub fn post(
        &self,
        service: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Bytes, SourceError> {
        let answer = self.send(http::Method::POST, service, url, headers, body)?;
        if answer.is_success() {
            Ok(answer.body)
        } else {
            let message: String = String::from_utf8_lossy(&answer.body)
                .chars()
                .take(300)
                .collect();
            Err(SourceError::Remote {
                location: url.to_owned(),
                reason: format!("{}: {}", answer.status, message.trim()),
            })
        }
    }

    /// Sends a request signed with SigV4 for `service`, whatever status comes back: callers
    /// that tell "not configured" (404) from "refused" read the status themselves.
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when no answer came (connection, TLS, credentials).
    pub fn send(
        &self,
        method: http::Method,
        service: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Answer, SourceError> {
        let fail = |reason: String| SourceError::Remote {
            location: url.to_owned(),
            reason,
        };
        self.runtime.block_on(async {
            let credential = self
                .credentials
                .credentials()
                .get_credential()
                .await
                .map_err(|err| fail(format!("no usable AWS credentials: {err}")))?;
            let mut request = http::Request::builder().method(method.clone()).uri(url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let mut request: HttpRequest = request
                .body(Bytes::from(body).into())
                .map_err(|err| fail(format!("bad request: {err}")))?;
            AwsAuthorizer::new(&credential, service, &self.region).authorize(&mut request, None);
            let (parts, body) = request.into_parts();
            let body = body.as_bytes().cloned().unwrap_or_default();
            let response = self
                .http
                .request(method, url)
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|err| fail(describe(&err)))?;
            let status = response.status().as_u16();
            let body = response.bytes().await.map_err(|err| fail(describe(&err)))?;
            Ok(Answer { status, body })
        })
    }
}

/// What a service answered: its HTTP status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The body, as sent.
    pub body: Bytes,
}

impl Answer {
    /// A 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A connection error with its causes, which reqwest keeps in the source chain ("error
/// sending request" alone does not tell connection refused from a TLS failure).
pub fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The HTTP client Trailhound calls AWS and webhooks with: `timeout` per request, five
/// seconds to connect, and its name and version as the user agent.
///
/// # Errors
///
/// What went wrong, as a sentence (the TLS backend could not start).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("trailhound/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| format!("cannot make an HTTP client: {err}"))
}

/// A runtime on the calling thread for blocking callers of asynchronous clients.
///
/// # Errors
///
/// What went wrong, as a sentence.
pub fn io_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the I/O runtime: {err}"))
}
