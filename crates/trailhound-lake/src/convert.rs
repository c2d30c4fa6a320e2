//! Turning decoded records into Arrow columns, one record batch per partition. This runs on
//! the reader's worker threads (see `trailhound_source::read_map`), so it uses every core.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, RecordBatch, StringBuilder, StructArray, TimestampMicrosecondBuilder,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::Fields;
use chrono::{DateTime, NaiveDate, Utc};
use trailhound_event::{CloudTrailEvent, JsonPart, UserIdentity};
use trailhound_source::EventBatch;

use crate::schema::file_schema;
use crate::{LakeError, PartitionKey};

/// Rows of one partition, ready for the lake writer.
#[derive(Debug)]
pub struct PartitionRows {
    /// Where they belong.
    pub key: PartitionKey,
    /// The rows, in [`crate::file_schema`].
    pub batch: RecordBatch,
    /// A 128-bit hash of each row's `eventID` (of the whole record where it has none), for
    /// deduplication.
    pub ids: Vec<u128>,
}

/// What the workers make of one [`EventBatch`].
#[derive(Debug, Default)]
pub struct ConvertedBatch {
    /// The rows, by partition.
    pub partitions: Vec<PartitionRows>,
    /// Records that could not be converted, with the reason.
    pub failures: Vec<String>,
}

/// A batch's records parsed once, for the conversion to columns and for whatever else looks
/// at every event on the way in (the rules at ingest).
#[derive(Debug, Default)]
pub struct ParsedBatch<'a> {
    /// The records that parsed, in input order.
    pub events: Vec<CloudTrailEvent<'a>>,
    /// Records that did not, with the reason.
    pub failures: Vec<String>,
}

impl<'a> ParsedBatch<'a> {
    /// Parses every record of `batch`.
    pub fn of(batch: &'a EventBatch) -> ParsedBatch<'a> {
        let mut parsed = ParsedBatch {
            events: Vec::with_capacity(batch.len()),
            failures: Vec::new(),
        };
        for (index, event) in batch.events().enumerate() {
            match event {
                Ok(event) => parsed.events.push(event),
                Err(err) => parsed.failures.push(format!("record {}: {err}", index + 1)),
            }
        }
        parsed
    }
}

/// Converts a batch of records to columns, split by partition.
pub fn convert(batch: &EventBatch) -> ConvertedBatch {
    convert_parsed(ParsedBatch::of(batch))
}

/// Converts parsed records to columns, split by partition.
pub fn convert_parsed(parsed: ParsedBatch<'_>) -> ConvertedBatch {
    let mut converted = ConvertedBatch {
        partitions: Vec::new(),
        failures: parsed.failures,
    };
    let rows = parsed.events.len();
    let text_bytes = parsed.events.iter().map(|e| e.raw().len()).sum::<usize>();
    // Groups are told apart by the values as read, which costs no allocation per event; the
    // partition key is made once per group. Files hold one partition almost always, so a
    // linear search beats hashing here.
    let mut groups: Vec<(Place<'_>, Columns)> = Vec::new();
    for event in &parsed.events {
        let time = event.event_time();
        let place = Place {
            account: event.account_id(),
            region: event.aws_region(),
            day: time.map(|t| t.date_naive()),
        };
        let at = match groups.iter().position(|(p, _)| *p == place) {
            Some(at) => at,
            None => {
                groups.push((place, Columns::with_capacity(rows, text_bytes)));
                groups.len() - 1
            }
        };
        groups[at].1.push(event, time);
    }
    for (place, columns) in groups {
        let key = PartitionKey::of_parts(place.account, place.region, place.day);
        match columns.finish() {
            Ok((batch, ids)) => converted.partitions.push(PartitionRows { key, batch, ids }),
            Err(err) => converted.failures.push(err.to_string()),
        }
    }
    converted
}

/// Where an event belongs, as read from it (see [`PartitionKey::of_parts`]).
#[derive(PartialEq)]
struct Place<'a> {
    account: Option<&'a str>,
    region: Option<&'a str>,
    day: Option<NaiveDate>,
}

/// The 128-bit identity used for deduplication.
pub(crate) fn identity_hash(event_id: Option<&str>, raw: &str) -> u128 {
    match event_id {
        Some(id) => xxhash_rust::xxh3::xxh3_128(id.as_bytes()),
        // Without an eventID, identical records are the same event.
        None => xxhash_rust::xxh3::xxh3_128(raw.as_bytes()) ^ 1,
    }
}

struct StructColumns {
    children: Vec<StringBuilder>,
    valid: Vec<bool>,
}

impl StructColumns {
    fn with_capacity(fields: usize, rows: usize) -> Self {
        StructColumns {
            children: (0..fields)
                .map(|_| StringBuilder::with_capacity(rows, rows * 24))
                .collect(),
            valid: Vec::with_capacity(rows),
        }
    }

    fn push(&mut self, values: &[Option<&str>], present: bool) {
        for (builder, value) in self.children.iter_mut().zip(values) {
            builder.append_option(*value);
        }
        self.valid.push(present);
    }

    fn finish(&mut self, fields: Fields) -> Result<ArrayRef, LakeError> {
        let children: Vec<ArrayRef> = self
            .children
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let nulls = NullBuffer::from(std::mem::take(&mut self.valid));
        Ok(Arc::new(StructArray::try_new(
            fields,
            children,
            Some(nulls),
        )?))
    }
}

/// Column builders for one partition's rows.
struct Columns {
    strings: Vec<StringBuilder>,
    identity: StructColumns,
    issuer: StructColumns,
    creation_date: StringBuilder,
    mfa: BooleanBuilder,
    attributes_valid: Vec<bool>,
    source_identity: StringBuilder,
    context_valid: Vec<bool>,
    event_time: TimestampMicrosecondBuilder,
    read_only: BooleanBuilder,
    management_event: BooleanBuilder,
    from_console: BooleanBuilder,
    tls: StructColumns,
    ids: Vec<u128>,
}

/// The plain string columns, in schema order around the others (see [`Columns::finish`]).
const STRING_COLUMNS: usize = 23;

impl Columns {
    /// Builders sized for `rows` records of `text_bytes` in all: arrays keep their builders'
    /// allocations, so default capacities would waste memory on CloudTrail's many small files.
    fn with_capacity(rows: usize, text_bytes: usize) -> Self {
        let strings = (0..STRING_COLUMNS)
            .map(|column| {
                // The last string column holds the whole record; the others hold short values.
                let bytes = if column == STRING_COLUMNS - 1 {
                    text_bytes
                } else {
                    rows * 32
                };
                StringBuilder::with_capacity(rows, bytes)
            })
            .collect();
        Columns {
            strings,
            identity: StructColumns::with_capacity(8, rows),
            issuer: StructColumns::with_capacity(5, rows),
            creation_date: StringBuilder::with_capacity(rows, rows * 20),
            mfa: BooleanBuilder::with_capacity(rows),
            attributes_valid: Vec::with_capacity(rows),
            source_identity: StringBuilder::with_capacity(rows, rows * 8),
            context_valid: Vec::with_capacity(rows),
            event_time: TimestampMicrosecondBuilder::with_capacity(rows),
            read_only: BooleanBuilder::with_capacity(rows),
            management_event: BooleanBuilder::with_capacity(rows),
            from_console: BooleanBuilder::with_capacity(rows),
            tls: StructColumns::with_capacity(3, rows),
            ids: Vec::with_capacity(rows),
        }
    }

    fn push(&mut self, event: &CloudTrailEvent<'_>, time: Option<DateTime<Utc>>) {
        let values: [Option<&str>; STRING_COLUMNS] = [
            event.event_version(),
            event.event_source(),
            event.event_name(),
            event.aws_region(),
            event.source_ip_address(),
            event.user_agent(),
            event.error_code(),
            event.error_message(),
            event.json_text(JsonPart::RequestParameters),
            event.json_text(JsonPart::ResponseElements),
            event.json_text(JsonPart::AdditionalEventData),
            event.request_id(),
            event.event_id(),
            event.json_text(JsonPart::Resources),
            event.event_type_text(),
            event.api_version(),
            event.recipient_account_id(),
            event.json_text(JsonPart::ServiceEventDetails),
            event.shared_event_id(),
            event.vpc_endpoint_id(),
            event.event_category_text(),
            event.json_text(JsonPart::InsightDetails),
            Some(event.raw()),
        ];
        for (builder, value) in self.strings.iter_mut().zip(values) {
            builder.append_option(value);
        }
        self.push_identity(event.user_identity());
        self.event_time
            .append_option(time.map(|t| t.timestamp_micros()));
        self.read_only.append_option(event.read_only());
        self.management_event
            .append_option(event.management_event());
        self.from_console
            .append_option(event.session_credential_from_console());
        let tls = event.tls_details();
        self.tls.push(
            &[
                tls.and_then(|t| t.tls_version()),
                tls.and_then(|t| t.cipher_suite()),
                tls.and_then(|t| t.client_provided_host_header()),
            ],
            tls.is_some(),
        );
        self.ids.push(identity_hash(event.event_id(), event.raw()));
    }

    fn push_identity(&mut self, identity: Option<&UserIdentity<'_>>) {
        self.identity.push(
            &[
                identity.and_then(|u| u.kind()),
                identity.and_then(|u| u.principal_id()),
                identity.and_then(|u| u.arn()),
                identity.and_then(|u| u.account_id()),
                identity.and_then(|u| u.access_key_id()),
                identity.and_then(|u| u.user_name()),
                identity.and_then(|u| u.invoked_by()),
                identity.and_then(|u| u.identity_provider()),
            ],
            identity.is_some(),
        );
        let issuer = identity.and_then(|u| u.session_issuer());
        self.issuer.push(
            &[
                issuer.and_then(|i| i.kind()),
                issuer.and_then(|i| i.principal_id()),
                issuer.and_then(|i| i.arn()),
                issuer.and_then(|i| i.account_id()),
                issuer.and_then(|i| i.user_name()),
            ],
            issuer.is_some(),
        );
        let creation = identity.and_then(|u| u.session_creation_date());
        let mfa = identity.and_then(|u| u.mfa_authenticated());
        let source = identity.and_then(|u| u.source_identity());
        self.creation_date.append_option(creation);
        self.mfa.append_option(mfa);
        let attributes = creation.is_some() || mfa.is_some();
        self.attributes_valid.push(attributes);
        self.source_identity.append_option(source);
        self.context_valid
            .push(attributes || issuer.is_some() || source.is_some());
    }

    fn finish(mut self) -> Result<(RecordBatch, Vec<u128>), LakeError> {
        let schema = file_schema();
        let field_of = |fields: &Fields, name: &str| -> Result<Fields, LakeError> {
            match fields
                .iter()
                .find(|f| f.name() == name)
                .map(|f| f.data_type().clone())
            {
                Some(arrow::datatypes::DataType::Struct(inner)) => Ok(inner),
                _ => Err(LakeError::Internal(format!("schema has no struct {name}"))),
            }
        };
        // Taken from the one schema, not built again: this runs for every object.
        let identity_fields = field_of(schema.fields(), "userIdentity")?;
        let context_fields = field_of(&identity_fields, "sessionContext")?;
        let issuer_fields = field_of(&context_fields, "sessionIssuer")?;
        let attribute_fields = field_of(&context_fields, "attributes")?;
        let tls_fields = field_of(schema.fields(), "tlsDetails")?;

        let issuer = self.issuer.finish(issuer_fields)?;
        let attributes: ArrayRef = Arc::new(StructArray::try_new(
            attribute_fields,
            vec![
                Arc::new(self.creation_date.finish()),
                Arc::new(self.mfa.finish()),
            ],
            Some(NullBuffer::from(std::mem::take(&mut self.attributes_valid))),
        )?);
        let context: ArrayRef = Arc::new(StructArray::try_new(
            context_fields,
            vec![issuer, attributes, Arc::new(self.source_identity.finish())],
            Some(NullBuffer::from(std::mem::take(&mut self.context_valid))),
        )?);
        let mut identity_children: Vec<ArrayRef> = self
            .identity
            .children
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        identity_children.push(context);
        let identity: ArrayRef = Arc::new(StructArray::try_new(
            identity_fields,
            identity_children,
            Some(NullBuffer::from(std::mem::take(&mut self.identity.valid))),
        )?);
        let tls = self.tls.finish(tls_fields)?;

        let mut strings = self
            .strings
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef);
        let mut next = || {
            strings.next().ok_or_else(|| {
                LakeError::Internal("string columns out of step with the schema".to_owned())
            })
        };
        let event_time = Arc::new(self.event_time.finish().with_timezone("UTC")) as ArrayRef;
        let columns: Vec<ArrayRef> = vec![
            next()?, // eventVersion
            identity,
            event_time,
            next()?, // eventSource
            next()?, // eventName
            next()?, // awsRegion
            next()?, // sourceIPAddress
            next()?, // userAgent
            next()?, // errorCode
            next()?, // errorMessage
            next()?, // requestParameters
            next()?, // responseElements
            next()?, // additionalEventData
            next()?, // requestID
            next()?, // eventID
            Arc::new(self.read_only.finish()),
            next()?, // resources
            next()?, // eventType
            next()?, // apiVersion
            Arc::new(self.management_event.finish()),
            next()?, // recipientAccountId
            next()?, // serviceEventDetails
            next()?, // sharedEventID
            next()?, // vpcEndpointId
            next()?, // eventCategory
            tls,
            Arc::new(self.from_console.finish()),
            next()?, // insightDetails
            next()?, // eventJson
        ];
        Ok((RecordBatch::try_new(schema, columns)?, self.ids))
    }
}
