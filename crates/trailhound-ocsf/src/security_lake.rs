//! OCSF events as Parquet, laid out as Amazon Security Lake expects of a custom source:
//!
//! ```text
//! <root>/ext/<source>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/<name>.parquet
//! ```
//!
//! One event class per source (API Activity here), files sorted by `time`. Parquet needs one
//! schema for every file, so the members OCSF leaves free-form (`api.request.data`,
//! `api.response.data` and the values of `unmapped`) are JSON text, as in the tables
//! Security Lake makes of AWS's own sources.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use arrow::json::ReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use crate::OcsfError;

/// Events held per partition before a file is written.
const EVENTS_PER_FILE: usize = 100_000;

/// Writes OCSF API Activity events into a Security Lake custom source's layout.
pub struct SecurityLakeWriter {
    root: PathBuf,
    source: String,
    schema: SchemaRef,
    buffers: BTreeMap<Partition, Vec<Value>>,
    written: Vec<PathBuf>,
    events: u64,
    /// Names files `<stem>-<n>.parquet` instead of by the time they are written.
    stem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Partition {
    region: String,
    account: String,
    day: String,
}

impl SecurityLakeWriter {
    /// A writer under `root/ext/source/`.
    pub fn new(root: &Path, source: &str) -> SecurityLakeWriter {
        SecurityLakeWriter {
            root: root.to_path_buf(),
            source: source.to_owned(),
            schema: Arc::new(schema()),
            buffers: BTreeMap::new(),
            written: Vec::new(),
            events: 0,
            stem: None,
        }
    }

    /// A writer whose files are named `<stem>-<n>.parquet`, `n` counting from 0 in the order
    /// they are written: the same events pushed in the same order give the same names, so
    /// writing them again (after a crash before the caller recorded them) replaces the files
    /// instead of adding copies.
    pub fn named(root: &Path, source: &str, stem: &str) -> SecurityLakeWriter {
        SecurityLakeWriter {
            stem: Some(stem.to_owned()),
            ..SecurityLakeWriter::new(root, source)
        }
    }

    /// Takes one event (as [`crate::api_activity`] makes it).
    ///
    /// # Errors
    ///
    /// When a full partition cannot be written.
    pub fn push(&mut self, event: Value) -> Result<(), OcsfError> {
        let partition = partition_of(&event);
        let buffer = self.buffers.entry(partition.clone()).or_default();
        buffer.push(for_parquet(event));
        if buffer.len() >= EVENTS_PER_FILE
            && let Some(full) = self.buffers.remove(&partition)
        {
            self.write(&partition, full)?;
        }
        Ok(())
    }

    /// Writes what is held and returns the files written.
    ///
    /// # Errors
    ///
    /// When a file cannot be written.
    pub fn finish(mut self) -> Result<(Vec<PathBuf>, u64), OcsfError> {
        for (partition, events) in std::mem::take(&mut self.buffers) {
            self.write(&partition, events)?;
        }
        Ok((self.written, self.events))
    }

    fn write(&mut self, partition: &Partition, mut events: Vec<Value>) -> Result<(), OcsfError> {
        events.sort_by_key(|event| event.get("time").and_then(Value::as_i64).unwrap_or(0));
        let folder = self
            .root
            .join("ext")
            .join(&self.source)
            .join(format!("region={}", partition.region))
            .join(format!("accountId={}", partition.account))
            .join(format!("eventDay={}", partition.day));
        std::fs::create_dir_all(&folder).map_err(OcsfError::io(&folder))?;
        let name = match &self.stem {
            Some(stem) => format!("{stem}-{}.parquet", self.written.len()),
            None => format!(
                "{}-{}.parquet",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
                self.written.len()
            ),
        };
        let path = folder.join(name);
        // Written beside, then renamed: a crawler never reads half a file.
        let partial = folder.join(format!(".{}.partial", self.written.len()));
        let file = File::create(&partial).map_err(OcsfError::io(&partial))?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let mut writer = ArrowWriter::try_new(file, Arc::clone(&self.schema), Some(properties))?;
        for chunk in events.chunks(8192) {
            let mut decoder = ReaderBuilder::new(Arc::clone(&self.schema))
                .with_strict_mode(true)
                .build_decoder()?;
            decoder.serialize(chunk)?;
            if let Some(batch) = decoder.flush()? {
                writer.write(&batch)?;
            }
        }
        writer.close()?;
        std::fs::rename(&partial, &path).map_err(OcsfError::io(&partial))?;
        self.events += events.len() as u64;
        self.written.push(path);
        Ok(())
    }
}

fn partition_of(event: &Value) -> Partition {
    let text = |pointer: &str| {
        event
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned()
    };
    let day = event
        .get("time")
        .and_then(Value::as_i64)
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(|| "19700101".to_owned(), |t| t.format("%Y%m%d").to_string());
    Partition {
        region: text("/cloud/region"),
        account: text("/cloud/account/uid"),
        day,
    }
}

/// The event with its free-form members as JSON text.
fn for_parquet(mut event: Value) -> Value {
    for pointer in ["/api/request/data", "/api/response/data"] {
        if let Some(data) = event.pointer_mut(pointer)
            && !data.is_string()
        {
            *data = Value::String(data.to_string());
        }
    }
    if let Some(Value::Object(unmapped)) = event.get_mut("unmapped") {
        for value in unmapped.values_mut() {
            if !value.is_string() {
                *value = Value::String(value.to_string());
            }
        }
    }
    event
}

/// The Parquet schema of what [`crate::api_activity`] writes.
pub fn schema() -> Schema {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let long = |name: &str| Field::new(name, DataType::Int64, true);
    let int = |name: &str| Field::new(name, DataType::Int32, true);
    let object = |name: &str, fields: Vec<Field>| {
        Field::new(name, DataType::Struct(Fields::from(fields)), true)
    };
    let account = || {
        object(
            "account",
            vec![text("uid"), text("type"), int("type_id"), text("name")],
        )
    };
    Schema::new(vec![
        int("activity_id"),
        text("activity_name"),
        int("category_uid"),
        text("category_name"),
        int("class_uid"),
        text("class_name"),
        long("type_uid"),
        text("type_name"),
        long("time"),
        int("severity_id"),
        text("severity"),
        int("status_id"),
        text("status"),
        text("status_code"),
        text("status_detail"),
        object(
            "metadata",
            vec![
                text("version"),
                object(
                    "product",
                    vec![text("name"), text("vendor_name"), text("version")],
                ),
                Field::new(
                    "profiles",
                    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                    true,
                ),
                text("uid"),
                text("event_code"),
                text("log_name"),
            ],
        ),
        object(
            "actor",
            vec![
                object(
                    "user",
                    vec![
                        text("type"),
                        text("uid"),
                        text("uid_alt"),
                        text("name"),
                        text("credential_uid"),
                        account(),
                    ],
                ),
                object(
                    "session",
                    vec![
                        text("issuer"),
                        Field::new("is_mfa", DataType::Boolean, true),
                        long("created_time"),
                        text("credential_uid"),
                    ],
                ),
                text("invoked_by"),
                object("idp", vec![text("name")]),
            ],
        ),
        object(
            "api",
            vec![
                text("operation"),
                object("service", vec![text("name")]),
                text("version"),
                object("request", vec![text("uid"), text("data")]),
                object(
                    "response",
                    vec![text("error"), text("message"), text("data")],
                ),
            ],
        ),
        object(
            "src_endpoint",
            vec![text("ip"), text("domain"), text("uid"), text("hostname")],
        ),
        object("http_request", vec![text("user_agent")]),
        object("cloud", vec![text("provider"), text("region"), account()]),
        Field::new(
            "resources",
            DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(Fields::from(vec![
                    text("uid"),
                    text("type"),
                    object("owner", vec![account()]),
                ])),
                true,
            ))),
            true,
        ),
        Field::new(
            "unmapped",
            DataType::Map(
                Arc::new(Field::new(
                    "entries",
                    DataType::Struct(Fields::from(vec![
                        Field::new("key", DataType::Utf8, false),
                        Field::new("value", DataType::Utf8, true),
                    ])),
                    false,
                )),
                false,
            ),
            true,
        ),
    ])
}
