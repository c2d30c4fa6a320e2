//! Insights as CloudTrail delivers them: gzipped `{"Records":[…]}` files under
//! `AWSLogs/<account>/CloudTrail-Insight/<region>/YYYY/MM/DD/`, one per account, region and
//! hour, so that any tool that reads a trail's Insights files reads Trailhound's.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::DateTime;
use trailhound_lake::StoredInsight;

use crate::InsightsError;
use crate::record::stable_id;

/// Writes `insights` under `dir`; returns the files written.
pub fn export(dir: &Path, insights: &[StoredInsight]) -> Result<Vec<PathBuf>, InsightsError> {
    let mut files: BTreeMap<(String, String, i64), Vec<&StoredInsight>> = BTreeMap::new();
    for insight in insights {
        let hour = hour_of(&insight.event_time);
        files
            .entry((insight.account.clone(), insight.region.clone(), hour))
            .or_default()
            .push(insight);
    }
    let mut written = Vec::new();
    for ((account, region, hour), records) in files {
        let time = DateTime::from_timestamp(hour * 3600, 0).unwrap_or_default();
        let folder = dir
            .join("AWSLogs")
            .join(&account)
            .join("CloudTrail-Insight")
            .join(&region)
            .join(time.format("%Y/%m/%d").to_string());
        std::fs::create_dir_all(&folder).map_err(|source| InsightsError::Io {
            path: folder.clone(),
            source,
        })?;
        let ids: Vec<&str> = records.iter().map(|r| r.event_id.as_str()).collect();
        let unique: String = stable_id(&ids).replace('-', "").chars().take(16).collect();
        let name = format!(
            "{account}_CloudTrail-Insight_{region}_{}_{unique}.json.gz",
            time.format("%Y%m%dT%H%MZ")
        );
        let path = folder.join(name);
        let body = format!(
            "{{\"Records\":[{}]}}",
            records
                .iter()
                .map(|r| r.record.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        write_gzip(&path, body.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// The hour (since the epoch) of a record's `eventTime`.
fn hour_of(event_time: &str) -> i64 {
    DateTime::parse_from_rfc3339(event_time).map_or(0, |t| t.timestamp().div_euclid(3600))
}

fn write_gzip(path: &Path, body: &[u8]) -> Result<(), InsightsError> {
    let fail = |source| InsightsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(fail)?;
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    encoder.write_all(body).map_err(fail)?;
    encoder.finish().map_err(fail)?.sync_all().map_err(fail)
}
