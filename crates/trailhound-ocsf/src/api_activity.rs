//! One CloudTrail record as an OCSF 1.1 API Activity event (class 6003). The mapping, field by
//! field, is in docs/ocsf.md; the test validates the output against the class's JSON Schema.

use serde_json::{Map, Value, json};

use crate::OcsfError;

/// The OCSF version written.
pub const OCSF_VERSION: &str = "1.1.0";
/// API Activity.
pub const CLASS_UID: i64 = 6003;
/// Application Activity.
pub const CATEGORY_UID: i64 = 6;

/// What an API call did, as OCSF's `activity_id` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// 1: made something.
    Create,
    /// 2: looked at something.
    Read,
    /// 3: changed something.
    Update,
    /// 4: removed something.
    Delete,
    /// 99: none of these (the event name is the activity's name).
    Other,
}

impl Activity {
    /// The activity of the call `event_name`, from its verb; a call CloudTrail marks
    /// `readOnly` whose verb says nothing is a read.
    pub fn of(event_name: &str, read_only: Option<bool>) -> Activity {
        const CREATE: &[&str] = &[
            "Create",
            "Put",
            "Add",
            "Attach",
            "Run",
            "Register",
            "Import",
            "Allocate",
            "Upload",
            "Copy",
            "Generate",
            "Issue",
            "Request",
            "Assume",
            "Subscribe",
            "Authorize",
            "Associate",
        ];
        const READ: &[&str] = &[
            "Get", "Describe", "List", "Head", "Lookup", "Search", "Scan", "Query", "Select",
            "BatchGet", "Check", "Test", "Preview", "Decrypt", "Verify", "Download", "Export",
            "Simulate", "View", "Read", "Filter", "Discover", "Estimate", "Validate",
        ];
        const UPDATE: &[&str] = &[
            "Update",
            "Modify",
            "Set",
            "Change",
            "Enable",
            "Disable",
            "Start",
            "Stop",
            "Reboot",
            "Reset",
            "Replace",
            "Tag",
            "Untag",
            "Rotate",
            "Restore",
            "Renew",
            "Encrypt",
            "ReEncrypt",
            "Apply",
            "Cancel",
            "Accept",
            "Reject",
            "Confirm",
            "Upgrade",
            "Rename",
            "Move",
            "Increase",
            "Decrease",
            "Resume",
            "Suspend",
        ];
        const DELETE: &[&str] = &[
            "Delete",
            "Remove",
            "Detach",
            "Terminate",
            "Disassociate",
            "Deregister",
            "Revoke",
            "Release",
            "Purge",
            "Destroy",
            "Unsubscribe",
            "Deactivate",
        ];
        let verb_is = |verbs: &[&str]| {
            verbs.iter().any(|verb| {
                event_name.strip_prefix(verb).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_uppercase())
                })
            })
        };
        // Longer verbs first where one begins another (ReEncrypt before Read, BatchGet…).
        if verb_is(&["ReEncrypt"]) {
            Activity::Update
        } else if verb_is(DELETE) {
            Activity::Delete
        } else if verb_is(READ) {
            Activity::Read
        } else if verb_is(CREATE) {
            Activity::Create
        } else if verb_is(UPDATE) {
            Activity::Update
        } else if read_only == Some(true) {
            Activity::Read
        } else {
            Activity::Other
        }
    }

    /// OCSF's `activity_id`.
    pub fn id(self) -> i64 {
        match self {
            Activity::Create => 1,
            Activity::Read => 2,
            Activity::Update => 3,
            Activity::Delete => 4,
            Activity::Other => 99,
        }
    }

    /// OCSF's caption of it.
    pub fn caption(self) -> &'static str {
        match self {
            Activity::Create => "Create",
            Activity::Read => "Read",
            Activity::Update => "Update",
            Activity::Delete => "Delete",
            Activity::Other => "Other",
        }
    }
}

/// The OCSF API Activity event of the CloudTrail record `raw`.
///
/// # Errors
///
/// [`OcsfError::Record`] when `raw` is not a JSON object with an `eventTime` and an
/// `eventName` (what any CloudTrail management or data event has).
pub fn api_activity(raw: &str) -> Result<Value, OcsfError> {
    let record: Value =
        serde_json::from_str(raw).map_err(|err| OcsfError::Record(err.to_string()))?;
    let text = |key: &str| record.get(key).and_then(Value::as_str);
    let event_name =
        text("eventName").ok_or_else(|| OcsfError::Record("the record has no eventName".into()))?;
    let time = text("eventTime")
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| OcsfError::Record("the record has no readable eventTime".into()))?;
    let activity = Activity::of(event_name, record.get("readOnly").and_then(Value::as_bool));
    let mut event = Map::new();
    let mut put = |key: &str, value: Value| {
        event.insert(key.to_owned(), value);
    };
    put("activity_id", json!(activity.id()));
    put(
        "activity_name",
        json!(match activity {
            Activity::Other => event_name,
            known => known.caption(),
        }),
    );
    put("category_uid", json!(CATEGORY_UID));
    put("category_name", json!("Application Activity"));
    put("class_uid", json!(CLASS_UID));
    put("class_name", json!("API Activity"));
    put("type_uid", json!(CLASS_UID * 100 + activity.id()));
    put(
        "type_name",
        json!(format!("API Activity: {}", activity.caption())),
    );
    put("time", json!(time.timestamp_millis()));
    put("severity_id", json!(1));
    put("severity", json!("Informational"));
    let (status_id, status) = match text("errorCode") {
        None => (1, "Success"),
        Some(_) => (2, "Failure"),
    };
    put("status_id", json!(status_id));
    put("status", json!(status));
    if let Some(code) = text("errorCode") {
        put("status_code", json!(code));
    }
    if let Some(message) = text("errorMessage") {
        put("status_detail", json!(message));
    }
    put("metadata", metadata(&record));
    put("actor", actor(record.get("userIdentity")));
    put("api", api(&record, event_name));
    put("src_endpoint", src_endpoint(&record));
    if let Some(agent) = text("userAgent") {
        put("http_request", json!({ "user_agent": agent }));
    }
    let mut cloud = Map::new();
    cloud.insert("provider".into(), json!("AWS"));
    if let Some(region) = text("awsRegion") {
        cloud.insert("region".into(), json!(region));
    }
    if let Some(account) = text("recipientAccountId").or_else(|| identity_account(&record)) {
        cloud.insert(
            "account".into(),
            json!({ "uid": account, "type": "AWS Account", "type_id": 10 }),
        );
    }
    put("cloud", Value::Object(cloud));
    if let Some(resources) = resources(&record) {
        put("resources", resources);
    }
    if let Some(unmapped) = unmapped(&record) {
        put("unmapped", unmapped);
    }
    Ok(Value::Object(event))
}

fn identity_account(record: &Value) -> Option<&str> {
    record.get("userIdentity")?.get("accountId")?.as_str()
}

fn metadata(record: &Value) -> Value {
    let text = |key: &str| record.get(key).and_then(Value::as_str);
    let mut product = Map::new();
    product.insert("name".into(), json!("CloudTrail"));
    product.insert("vendor_name".into(), json!("AWS"));
    if let Some(version) = text("eventVersion") {
        product.insert("version".into(), json!(version));
    }
    let mut metadata = Map::new();
    metadata.insert("version".into(), json!(OCSF_VERSION));
    metadata.insert("product".into(), Value::Object(product));
    metadata.insert("profiles".into(), json!(["cloud"]));
    if let Some(id) = text("eventID") {
        metadata.insert("uid".into(), json!(id));
    }
    if let Some(kind) = text("eventType") {
        metadata.insert("event_code".into(), json!(kind));
    }
    if let Some(category) = text("eventCategory") {
        metadata.insert("log_name".into(), json!(category));
    }
    Value::Object(metadata)
}

fn actor(identity: Option<&Value>) -> Value {
    let Some(identity) = identity.filter(|i| i.is_object()) else {
        return json!({ "user": { "name": "unknown" } });
    };
    let text = |key: &str| identity.get(key).and_then(Value::as_str);
    let mut actor = Map::new();
    let mut user = Map::new();
    if let Some(kind) = text("type") {
        user.insert("type".into(), json!(kind));
    }
    if let Some(arn) = text("arn") {
        user.insert("uid".into(), json!(arn));
    }
    if let Some(principal) = text("principalId") {
        user.insert("uid_alt".into(), json!(principal));
    }
    let name = text("userName")
        .or_else(|| {
            identity
                .pointer("/sessionContext/sessionIssuer/userName")
                .and_then(Value::as_str)
        })
        .or_else(|| text("invokedBy"));
    if let Some(name) = name {
        user.insert("name".into(), json!(name));
    }
    if let Some(key) = text("accessKeyId") {
        user.insert("credential_uid".into(), json!(key));
    }
    if let Some(account) = text("accountId") {
        user.insert(
            "account".into(),
            json!({ "uid": account, "type": "AWS Account", "type_id": 10 }),
        );
    }
    if !user.contains_key("uid") && !user.contains_key("name") {
        user.insert("name".into(), json!(text("type").unwrap_or("unknown")));
    }
    actor.insert("user".into(), Value::Object(user));
    if let Some(context) = identity.get("sessionContext").filter(|c| c.is_object()) {
        let mut session = Map::new();
        if let Some(issuer) = context
            .pointer("/sessionIssuer/arn")
            .and_then(Value::as_str)
        {
            session.insert("issuer".into(), json!(issuer));
        }
        if let Some(mfa) = context
            .pointer("/attributes/mfaAuthenticated")
            .and_then(Value::as_str)
        {
            session.insert("is_mfa".into(), json!(mfa == "true"));
        }
        if let Some(created) = context
            .pointer("/attributes/creationDate")
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        {
            session.insert("created_time".into(), json!(created.timestamp_millis()));
        }
        if let Some(key) = text("accessKeyId") {
            session.insert("credential_uid".into(), json!(key));
        }
        if !session.is_empty() {
            actor.insert("session".into(), Value::Object(session));
        }
    }
    if let Some(service) = text("invokedBy") {
        actor.insert("invoked_by".into(), json!(service));
    }
    if let Some(provider) = text("identityProvider") {
        actor.insert("idp".into(), json!({ "name": provider }));
    }
    Value::Object(actor)
}

fn api(record: &Value, event_name: &str) -> Value {
    let text = |key: &str| record.get(key).and_then(Value::as_str);
    let mut api = Map::new();
    api.insert("operation".into(), json!(event_name));
    if let Some(source) = text("eventSource") {
        api.insert("service".into(), json!({ "name": source }));
    }
    if let Some(version) = text("apiVersion") {
        api.insert("version".into(), json!(version));
    }
    if let Some(id) = text("requestID") {
        let mut request = Map::new();
        request.insert("uid".into(), json!(id));
        if let Some(data) = record.get("requestParameters").filter(|v| !v.is_null()) {
            request.insert("data".into(), data.clone());
        }
        api.insert("request".into(), Value::Object(request));
    }
    let mut response = Map::new();
    if let Some(code) = text("errorCode") {
        response.insert("error".into(), json!(code));
    }
    if let Some(message) = text("errorMessage") {
        response.insert("message".into(), json!(message));
    }
    if let Some(data) = record.get("responseElements").filter(|v| !v.is_null()) {
        response.insert("data".into(), data.clone());
    }
    if !response.is_empty() {
        api.insert("response".into(), Value::Object(response));
    }
    Value::Object(api)
}

fn src_endpoint(record: &Value) -> Value {
    let mut endpoint = Map::new();
    match record.get("sourceIPAddress").and_then(Value::as_str) {
        // An AWS service calling on a user's behalf names itself instead of an address.
        Some(source) if source.parse::<std::net::IpAddr>().is_ok() => {
            endpoint.insert("ip".into(), json!(source));
        }
        Some(source) => {
            endpoint.insert("domain".into(), json!(source));
        }
        None => {}
    }
    if let Some(vpc_endpoint) = record.get("vpcEndpointId").and_then(Value::as_str) {
        endpoint.insert("uid".into(), json!(vpc_endpoint));
    }
    if let Some(host) = record
        .pointer("/tlsDetails/clientProvidedHostHeader")
        .and_then(Value::as_str)
    {
        endpoint.insert("hostname".into(), json!(host));
    }
    Value::Object(endpoint)
}

fn resources(record: &Value) -> Option<Value> {
    let listed = record.get("resources")?.as_array()?;
    let resources: Vec<Value> = listed
        .iter()
        .filter_map(|resource| {
            let mut details = Map::new();
            if let Some(arn) = resource.get("ARN").and_then(Value::as_str) {
                details.insert("uid".into(), json!(arn));
            }
            if let Some(kind) = resource.get("type").and_then(Value::as_str) {
                details.insert("type".into(), json!(kind));
            }
            if let Some(account) = resource.get("accountId").and_then(Value::as_str) {
                details.insert(
                    "owner".into(),
                    json!({ "account": { "uid": account, "type": "AWS Account", "type_id": 10 } }),
                );
            }
            (!details.is_empty()).then_some(Value::Object(details))
        })
        .collect();
    (!resources.is_empty()).then_some(Value::Array(resources))
}

/// What OCSF has no place for, kept under CloudTrail's own names.
fn unmapped(record: &Value) -> Option<Value> {
    let mut unmapped = Map::new();
    for key in [
        "additionalEventData",
        "serviceEventDetails",
        "sharedEventID",
        "eventCategory",
        "managementEvent",
        "readOnly",
        "sessionCredentialFromConsole",
        "tlsDetails",
    ] {
        if let Some(value) = record.get(key).filter(|v| !v.is_null()) {
            unmapped.insert(key.into(), value.clone());
        }
    }
    if record.get("requestID").and_then(Value::as_str).is_none()
        && let Some(parameters) = record.get("requestParameters").filter(|v| !v.is_null())
    {
        unmapped.insert("requestParameters".into(), parameters.clone());
    }
    (!unmapped.is_empty()).then_some(Value::Object(unmapped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_give_activities() {
        for (name, read_only, activity) in [
            ("CreateBucket", None, Activity::Create),
            ("PutObject", None, Activity::Create),
            ("GetObject", Some(true), Activity::Read),
            ("ListBuckets", None, Activity::Read),
            ("DescribeInstances", None, Activity::Read),
            ("UpdateFunctionCode20150331v2", None, Activity::Update),
            ("StopLogging", None, Activity::Update),
            ("DeleteTrail", None, Activity::Delete),
            ("TerminateInstances", None, Activity::Delete),
            ("ReEncrypt", None, Activity::Update),
            ("ConsoleLogin", None, Activity::Other),
            ("Settle", None, Activity::Other),
            ("Settle", Some(true), Activity::Read),
            ("Getaway", None, Activity::Other),
        ] {
            assert_eq!(Activity::of(name, read_only), activity, "{name}");
        }
    }

    #[test]
    fn a_failed_call_by_an_assumed_role() -> Result<(), OcsfError> {
        let raw = r#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA:s","arn":"arn:aws:sts::111122223333:assumed-role/deploy/s","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/deploy","userName":"deploy"},"attributes":{"creationDate":"2024-07-01T10:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2024-07-01T10:05:00Z","eventSource":"s3.amazonaws.com","eventName":"DeleteBucket","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2","errorCode":"AccessDenied","errorMessage":"Access Denied","requestParameters":{"bucketName":"logs"},"responseElements":null,"requestID":"R1","eventID":"E1","readOnly":false,"resources":[{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::logs"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}"#;
        let event = api_activity(raw)?;
        assert_eq!(event["activity_id"], 4);
        assert_eq!(event["type_uid"], 600304);
        assert_eq!(event["time"], 1_719_828_300_000_i64);
        assert_eq!(event["status_id"], 2);
        assert_eq!(event["status_code"], "AccessDenied");
        assert_eq!(event["api"]["operation"], "DeleteBucket");
        assert_eq!(event["api"]["service"]["name"], "s3.amazonaws.com");
        assert_eq!(event["api"]["request"]["data"]["bucketName"], "logs");
        assert_eq!(
            event["actor"]["user"]["uid"],
            "arn:aws:sts::111122223333:assumed-role/deploy/s"
        );
        assert_eq!(event["actor"]["user"]["name"], "deploy");
        assert_eq!(
            event["actor"]["session"]["issuer"],
            "arn:aws:iam::111122223333:role/deploy"
        );
        assert_eq!(event["actor"]["session"]["is_mfa"], false);
        assert_eq!(event["src_endpoint"]["ip"], "203.0.113.9");
        assert_eq!(event["cloud"]["region"], "eu-west-1");
        assert_eq!(event["cloud"]["account"]["uid"], "111122223333");
        assert_eq!(event["resources"][0]["uid"], "arn:aws:s3:::logs");
        assert_eq!(event["metadata"]["uid"], "E1");
        Ok(())
    }

    #[test]
    fn records_without_a_name_or_time_are_refused() {
        assert!(api_activity("[]").is_err());
        assert!(api_activity(r#"{"eventName":"X"}"#).is_err());
        assert!(api_activity("{").is_err());
    }
}
