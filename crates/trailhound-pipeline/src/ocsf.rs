//! `watch`'s OCSF sink: every event the lake takes in, written once as OCSF API Activity into
//! a Security Lake custom source's layout (`[ocsf]` in trailhound.toml, or `watch --ocsf-dir`).
//!
//! Exactly once: each lake file's events go to Parquet files named after it (so writing it
//! again after a crash replaces them), and only then is the lake file marked exported in the
//! catalog. On a lake being exported, compaction merges only marked files (the merged file is
//! marked too), so a file written but not marked keeps its name until it is written again.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use trailhound_lake::{Lake, for_each_record};
use trailhound_ocsf::{SecurityLakeWriter, api_activity};

use crate::PipelineError;

/// `[ocsf]`: where the events go.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcsfSink {
    /// The folder holding `ext/<source_name>/region=…/accountId=…/eventDay=…/`, or the
    /// Security Lake bucket itself (`s3://aws-security-data-lake-…/`).
    pub dir: PathBuf,
    /// The custom source's name.
    #[serde(default = "default_source_name")]
    pub source_name: String,
    /// For a bucket: the endpoint of an S3-compatible store [default: AWS_ENDPOINT_URL, else
    /// AWS].
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// For a bucket: the AWS profile whose credentials reach it [default: the chain].
    #[serde(default)]
    pub profile: Option<String>,
}

fn default_source_name() -> String {
    "trailhound-cloudtrail".to_owned()
}

impl OcsfSink {
    /// A sink into `dir` under the default source name.
    pub fn at(dir: &Path) -> OcsfSink {
        OcsfSink {
            dir: dir.to_path_buf(),
            source_name: default_source_name(),
            endpoint_url: None,
            profile: None,
        }
    }
}

impl OcsfSink {
    /// The bucket and key prefix when the sink is one.
    fn bucket(
        &self,
    ) -> Result<Option<(std::sync::Arc<trailhound_source::S3Bucket>, String)>, PipelineError> {
        let text = self.dir.to_string_lossy();
        if !text.starts_with("s3://") {
            return Ok(None);
        }
        let url = trailhound_source::S3Url::parse(&text)?;
        let settings = trailhound_source::S3Settings {
            endpoint: self.endpoint_url.clone(),
            profile: self.profile.clone(),
            downloads: 0,
        };
        Ok(Some(trailhound_source::S3Bucket::for_url(&url, &settings)?))
    }
}

/// What one export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OcsfReport {
    /// Lake files whose events were written.
    pub lake_files: u64,
    /// Events written.
    pub events: u64,
    /// Records left out (no `eventName` or `eventTime`).
    pub skipped: u64,
}

/// Writes the events of every lake file not exported yet, marking each once written.
///
/// # Errors
///
/// When a lake file cannot be read or an OCSF file written; what was written before stays
/// marked, the rest is tried again by the next export.
pub fn export_pending(lake: &Lake, sink: &OcsfSink) -> Result<OcsfReport, PipelineError> {
    let listing = lake.listing();
    let mut report = OcsfReport::default();
    let bucket = sink.bucket()?;
    // Files for a bucket are written in the data directory first and each uploaded whole.
    let root = match &bucket {
        Some(_) => lake.root().join(".ocsf-staging"),
        None => sink.dir.clone(),
    };
    lake.catalog().start_export()?;
    for path in lake.catalog().unexported_files()? {
        let stem = Path::new(&path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .ok_or_else(|| PipelineError::Internal(format!("{path} names no file")))?;
        let mut writer = SecurityLakeWriter::named(&root, &sink.source_name, &stem);
        let mut failure = None;
        for_each_record(&listing, &path, |record| match api_activity(record) {
            Ok(event) => {
                if failure.is_none()
                    && let Err(err) = writer.push(event)
                {
                    failure = Some(err);
                }
            }
            Err(_) => report.skipped += 1,
        })?;
        if let Some(err) = failure {
            return Err(err.into());
        }
        let (files, events) = writer.finish()?;
        if let Some((bucket, prefix)) = &bucket {
            bucket.upload_below(&root, &files, prefix)?;
            for file in &files {
                std::fs::remove_file(file).map_err(PipelineError::io(file))?;
            }
        }
        lake.catalog().mark_exported(&path)?;
        report.lake_files += 1;
        report.events += events;
    }
    Ok(report)
}
