//! The AWS APIs posture reads and setup writes, in their three wire protocols: JSON 1.1
//! (CloudTrail, KMS, CloudWatch Logs), the query protocol with XML answers (SNS, CloudWatch,
//! IAM, STS) and S3's REST. One signed client per region, from the standard credential chain.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde_json::Value;
use trailhound_source::S3Settings;
use trailhound_source::aws::{Answer, AwsClient};

use crate::error::PostureError;

/// A JSON 1.1 service: its endpoint name, signing name and target prefix.
#[derive(Debug, Clone, Copy)]
pub struct JsonService {
    host: &'static str,
    target: &'static str,
}

pub(crate) const CLOUDTRAIL: JsonService = JsonService {
    host: "cloudtrail",
    target: "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
};
pub(crate) const KMS: JsonService = JsonService {
    host: "kms",
    target: "TrentService",
};
pub(crate) const LOGS: JsonService = JsonService {
    host: "logs",
    target: "Logs_20140328",
};

impl JsonService {
    /// The service's name in IAM actions (`cloudtrail`).
    pub fn name(self) -> &'static str {
        self.host
    }
}

/// A query-protocol service: its endpoint name, signing name and API version.
#[derive(Debug, Clone, Copy)]
pub struct QueryService {
    host: &'static str,
    signing: &'static str,
    version: &'static str,
    /// IAM is global: one endpoint, signed for us-east-1.
    global: bool,
}

impl QueryService {
    /// The service's name in IAM actions (`sns`, `cloudwatch`).
    pub fn name(self) -> &'static str {
        if self.host == "monitoring" {
            "cloudwatch"
        } else {
            self.host
        }
    }
}

pub(crate) const SNS: QueryService = QueryService {
    host: "sns",
    signing: "sns",
    version: "2010-03-31",
    global: false,
};
pub(crate) const CLOUDWATCH: QueryService = QueryService {
    host: "monitoring",
    signing: "monitoring",
    version: "2010-08-01",
    global: false,
};
pub(crate) const STS: QueryService = QueryService {
    host: "sts",
    signing: "sts",
    version: "2011-06-15",
    global: false,
};
pub(crate) const IAM: QueryService = QueryService {
    host: "iam",
    signing: "iam",
    version: "2010-05-08",
    global: true,
};

/// A refusal from a service: its status, error code and message.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The API call (`s3:GetBucketPolicy`).
    pub call: String,
    /// The HTTP status.
    pub status: u16,
    /// The service's error code (`NoSuchBucketPolicy`, `AccessDenied`).
    pub code: String,
    /// The service's message.
    pub message: String,
}

impl Refusal {
    /// The thing asked for does not exist or is not configured: a fact, not a failure to
    /// read one.
    pub fn is_absent(&self) -> bool {
        self.status == 404
            || self.code.starts_with("NoSuch")
            || self.code.ends_with("NotFound")
            || self.code.ends_with("NotFoundException")
            || self.code.ends_with("NotFoundError")
            || self.code == "ResourceNotFoundException"
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} was refused ({}", self.call, self.status)?;
        if !self.code.is_empty() {
            write!(f, " {}", self.code)?;
        }
        write!(f, ")")?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// The connection to AWS (or a compatible server) for every region asked for.
pub struct Aws {
    settings: S3Settings,
    default_region: String,
    endpoint: Option<String>,
    clients: Mutex<HashMap<String, Arc<AwsClient>>>,
}

impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aws")
            .field("default_region", &self.default_region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Aws {
    /// Connects with the credential chain `settings` describe (`--profile`,
    /// `--endpoint-url`), signing for `region` unless a call names another.
    ///
    /// # Errors
    ///
    /// [`PostureError::Connect`] when the credentials or settings are unusable.
    pub fn connect(settings: &S3Settings, region: Option<&str>) -> Result<Aws, PostureError> {
        let client = AwsClient::new(settings, region).map_err(PostureError::Connect)?;
        let default_region = client.region().to_owned();
        let endpoint = client
            .endpoint()
            .map(|e| e.trim_end_matches('/').to_owned());
        let clients = HashMap::from([(default_region.clone(), Arc::new(client))]);
        Ok(Aws {
            settings: settings.clone(),
            default_region,
            endpoint,
            clients: Mutex::new(clients),
        })
    }

    /// The region calls go to unless they name one.
    pub fn default_region(&self) -> &str {
        &self.default_region
    }

    fn client(&self, region: &str) -> Result<Arc<AwsClient>, PostureError> {
        let mut clients = self
            .clients
            .lock()
            .map_err(|_| PostureError::Internal("the client cache was poisoned".to_owned()))?;
        if let Some(client) = clients.get(region) {
            return Ok(Arc::clone(client));
        }
        let client =
            Arc::new(AwsClient::new(&self.settings, Some(region)).map_err(PostureError::Connect)?);
        clients.insert(region.to_owned(), Arc::clone(&client));
        Ok(client)
    }

    fn url(&self, host: &str, region: &str, global: bool) -> String {
        match (&self.endpoint, global) {
            (Some(endpoint), _) => format!("{endpoint}/"),
            (None, true) => format!("https://{host}.amazonaws.com/"),
            (None, false) => format!("https://{host}.{region}.amazonaws.com/"),
        }
    }

    /// Calls `action` of a JSON 1.1 service in `region`.
    ///
    /// # Errors
    ///
    /// [`PostureError::Refused`] with the service's error, or a connection error.
    pub(crate) fn json(
        &self,
        service: JsonService,
        region: &str,
        action: &str,
        request: &Value,
    ) -> Result<Value, PostureError> {
        let target = format!("{}.{action}", service.target);
        let body =
            serde_json::to_vec(request).map_err(|err| PostureError::Internal(err.to_string()))?;
        let url = self.url(service.host, region, false);
        let answer = self.client(region)?.send(
            http::Method::POST,
            service.host,
            &url,
            &[
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", &target),
            ],
            body,
        )?;
        let call = format!("{}:{action}", service.host);
        let parsed: Value = if answer.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&answer.body).map_err(|err| PostureError::Unreadable {
                call: call.clone(),
                reason: err.to_string(),
            })?
        };
        if answer.is_success() {
            return Ok(parsed);
        }
        let code = parsed
            .get("__type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // `com.amazonaws.cloudtrail...#TrailNotFoundException` → the part after '#'.
        let code = code.rsplit('#').next().unwrap_or(code).to_owned();
        let message = ["message", "Message"]
            .iter()
            .find_map(|key| parsed.get(*key).and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned();
        Err(PostureError::Refused(Refusal {
            call,
            status: answer.status,
            code,
            message,
        }))
    }

    /// Calls `action` of a query-protocol service with `params`, reading the XML answer's
    /// `<{action}Result>` element as `T`.
    ///
    /// # Errors
    ///
    /// [`PostureError::Refused`] with the service's error, or a connection error.
    pub(crate) fn query<T: DeserializeOwned>(
        &self,
        service: QueryService,
        region: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<T, PostureError> {
        let region = if service.global { "us-east-1" } else { region };
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action);
        form.append_pair("Version", service.version);
        for (name, value) in params {
            form.append_pair(name, value);
        }
        let url = self.url(service.host, region, service.global);
        let answer = self.client(region)?.send(
            http::Method::POST,
            service.signing,
            &url,
            &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            form.finish().into_bytes(),
        )?;
        let call = format!("{}:{action}", service.host);
        check(&call, &answer)?;
        let text = String::from_utf8_lossy(&answer.body);
        let result = element(&text, &format!("{action}Result")).unwrap_or("<r></r>");
        quick_xml::de::from_str(result).map_err(|err| PostureError::Unreadable {
            call,
            reason: err.to_string(),
        })
    }

    /// Sends an S3 request for `bucket` (path style) with `query` (`versioning`,
    /// `policy`…), in `region`.
    ///
    /// # Errors
    ///
    /// [`PostureError::Refused`] with S3's error, or a connection error.
    pub(crate) fn s3(
        &self,
        method: http::Method,
        region: &str,
        bucket: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<String, PostureError> {
        let base = match &self.endpoint {
            Some(endpoint) => endpoint.clone(),
            None if region == "us-east-1" => "https://s3.amazonaws.com".to_owned(),
            None => format!("https://s3.{region}.amazonaws.com"),
        };
        let url = if query.is_empty() {
            format!("{base}/{bucket}")
        } else {
            format!("{base}/{bucket}?{query}")
        };
        let call = format!("s3:{} {bucket}?{query}", method.as_str());
        let answer = self
            .client(region)?
            .send(method, "s3", &url, headers, body)?;
        check(&call, &answer)?;
        Ok(String::from_utf8_lossy(&answer.body).into_owned())
    }
}

/// An error answer turned into a [`Refusal`] with the code and message XML carries.
fn check(call: &str, answer: &Answer) -> Result<(), PostureError> {
    if answer.is_success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&answer.body);
    let code = self::text(&text, "Code").unwrap_or_default();
    let message = self::text(&text, "Message").unwrap_or_default();
    Err(PostureError::Refused(Refusal {
        call: call.to_owned(),
        status: answer.status,
        code,
        message,
    }))
}

/// The first `<name …>…</name>` element of `xml`, tags included; `<name/>` gives "". Enough
/// to cut a query answer down to its result, and to read S3's flat configurations, whose
/// elements never nest in one of their own name.
pub(crate) fn element<'x>(xml: &'x str, name: &str) -> Option<&'x str> {
    elements(xml, name).next()
}

/// Every `<name …>…</name>` element of `xml`, in order (see [`element`]).
pub(crate) fn elements<'x>(xml: &'x str, name: &str) -> impl Iterator<Item = &'x str> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut from = 0;
    std::iter::from_fn(move || {
        loop {
            let at = from + xml.get(from..)?.find(&open)?;
            let rest = &xml[at + open.len()..];
            // `<Code>` must not match `<CodeX>`.
            match rest.chars().next()? {
                '/' if rest.starts_with("/>") => {
                    from = at + open.len() + 2;
                    return Some("");
                }
                '>' | ' ' => {
                    let end = at + xml[at..].find(&close)? + close.len();
                    from = end;
                    return Some(&xml[at..end]);
                }
                _ => from = at + open.len(),
            }
        }
    })
}

/// The text inside the first `<name>` element of `xml`, entities decoded.
pub(crate) fn text(xml: &str, name: &str) -> Option<String> {
    let whole = element(xml, name)?;
    let inner = whole
        .find('>')
        .map(|at| &whole[at + 1..whole.len().saturating_sub(name.len() + 3).max(at + 1)])
        .unwrap_or_default();
    Some(
        quick_xml::escape::unescape(inner)
            .map(|text| text.trim().to_owned())
            .unwrap_or_else(|_| inner.trim().to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_and_results_are_cut_out_of_xml() {
        let xml = "<Error><CodeX>no</CodeX><Code>NoSuchBucketPolicy</Code><Message>none</Message></Error>";
        assert_eq!(text(xml, "Code").as_deref(), Some("NoSuchBucketPolicy"));
        assert_eq!(text(xml, "Message").as_deref(), Some("none"));
        assert_eq!(text("<A>x &amp; y</A>", "A").as_deref(), Some("x & y"));
        assert_eq!(text("<A></A>", "A").as_deref(), Some(""));
        let rules = "<L><Rule><ID>a</ID></Rule><Rule><ID>b</ID></Rule></L>";
        let ids: Vec<_> = elements(rules, "Rule")
            .filter_map(|r| text(r, "ID"))
            .collect();
        assert_eq!(ids, ["a", "b"]);
        let answer =
            "<R><GetCallerIdentityResult><Account>1</Account></GetCallerIdentityResult></R>";
        assert_eq!(
            element(answer, "GetCallerIdentityResult"),
            Some("<GetCallerIdentityResult><Account>1</Account></GetCallerIdentityResult>")
        );
        assert_eq!(element("<A/>", "A"), Some(""));
        assert_eq!(element("<B></B>", "A"), None);
    }

    #[test]
    fn missing_configuration_is_told_from_refusal() {
        let refusal = |status, code: &str| Refusal {
            call: "s3:GET".to_owned(),
            status,
            code: code.to_owned(),
            message: String::new(),
        };
        assert!(refusal(404, "NoSuchBucketPolicy").is_absent());
        assert!(refusal(404, "ServerSideEncryptionConfigurationNotFoundError").is_absent());
        assert!(refusal(400, "TrailNotFoundException").is_absent());
        assert!(!refusal(403, "AccessDenied").is_absent());
    }
}
