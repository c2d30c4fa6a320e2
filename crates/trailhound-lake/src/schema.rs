//! The lake's table layout: CloudTrail's own field names and nesting, so that a query reads
//! `SELECT eventName, userIdentity.arn FROM events` exactly as in CloudTrail Lake or Athena.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Hive partition columns, in path order: `account=…/region=…/date=…`.
pub const PARTITION_COLUMNS: [&str; 3] = ["account", "region", "date"];

/// Columns holding JSON text: CloudTrail's free-form parts, whose shape depends on the service
/// and call, and the whole record.
pub const JSON_TEXT_COLUMNS: [&str; 7] = [
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "resources",
    "insightDetails",
    "eventJson",
];

/// `userIdentity.sessionContext.sessionIssuer`.
fn session_issuer() -> Fields {
    strings(&["type", "principalId", "arn", "accountId", "userName"])
}

fn strings(names: &[&str]) -> Fields {
    names
        .iter()
        .map(|name| Field::new(*name, DataType::Utf8, true))
        .collect()
}

/// `userIdentity`, nested as CloudTrail nests it.
fn user_identity_fields() -> Fields {
    let mut fields: Vec<Field> = strings(&[
        "type",
        "principalId",
        "arn",
        "accountId",
        "accessKeyId",
        "userName",
        "invokedBy",
        "identityProvider",
    ])
    .iter()
    .map(|f| f.as_ref().clone())
    .collect();
    fields.push(Field::new(
        "sessionContext",
        DataType::Struct(Fields::from(vec![
            Field::new("sessionIssuer", DataType::Struct(session_issuer()), true),
            Field::new(
                "attributes",
                DataType::Struct(Fields::from(vec![
                    Field::new("creationDate", DataType::Utf8, true),
                    Field::new("mfaAuthenticated", DataType::Boolean, true),
                ])),
                true,
            ),
            Field::new("sourceIdentity", DataType::Utf8, true),
        ])),
        true,
    ));
    Fields::from(fields)
}

/// The columns stored in every Parquet file (the partition columns live in the path).
///
/// The free-form parts (`requestParameters`, `responseElements`, …) are JSON text, reached with
/// JSON functions; `eventJson` is the original record, byte-exact, so that nothing is ever lost
/// and any event can be shown exactly as AWS wrote it.
pub fn file_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let utf8 = |name: &str| Field::new(name, DataType::Utf8, true);
        Arc::new(Schema::new(vec![
            utf8("eventVersion"),
            Field::new(
                "userIdentity",
                DataType::Struct(user_identity_fields()),
                true,
            ),
            Field::new(
                "eventTime",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            utf8("eventSource"),
            utf8("eventName"),
            utf8("awsRegion"),
            utf8("sourceIPAddress"),
            utf8("userAgent"),
            utf8("errorCode"),
            utf8("errorMessage"),
            utf8("requestParameters"),
            utf8("responseElements"),
            utf8("additionalEventData"),
            utf8("requestID"),
            utf8("eventID"),
            Field::new("readOnly", DataType::Boolean, true),
            utf8("resources"),
            utf8("eventType"),
            utf8("apiVersion"),
            Field::new("managementEvent", DataType::Boolean, true),
            utf8("recipientAccountId"),
            utf8("serviceEventDetails"),
            utf8("sharedEventID"),
            utf8("vpcEndpointId"),
            utf8("eventCategory"),
            Field::new(
                "tlsDetails",
                DataType::Struct(strings(&[
                    "tlsVersion",
                    "cipherSuite",
                    "clientProvidedHostHeader",
                ])),
                true,
            ),
            Field::new("sessionCredentialFromConsole", DataType::Boolean, true),
            utf8("insightDetails"),
            utf8("eventJson"),
        ]))
    });
    Arc::clone(&SCHEMA)
}

/// Index of `eventTime` in [`file_schema`], for sorting.
pub(crate) const EVENT_TIME_COLUMN: usize = 2;
/// Index of `eventID` in [`file_schema`], for deduplication.
pub(crate) const EVENT_ID_COLUMN: usize = 14;
