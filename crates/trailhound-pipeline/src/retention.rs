//! Retention as part of the pipeline: which day partitions fall outside `keep`, and moving
//! them out (to an archive lake when asked), by hand (`trailhound retention`) or daily from
//! `watch` (`[retention]` in trailhound.toml).

use std::path::PathBuf;
use std::time::Duration;

use trailhound_lake::{Access, Lake, RetentionPlan, RetentionReport, RetiredPartition};

use crate::PipelineError;

/// How much of the lake to keep, and where the rest goes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// How much to keep, by event day (whole days; a partial day is kept).
    #[serde(deserialize_with = "crate::config::span")]
    pub keep: Duration,
    /// Only these accounts' partitions (all when empty).
    #[serde(default)]
    pub accounts: Vec<String>,
    /// The archive lake old partitions move to; deleted when `None`.
    #[serde(default)]
    pub archive_to: Option<PathBuf>,
    /// Only events of this category (`Data`, `Management`, `Insight`, `NetworkActivity`)
    /// leave; the rest of each old partition stays.
    #[serde(default)]
    pub category: Option<String>,
}

impl RetentionSettings {
    /// Refuses an archive that cannot work: a URL, or the lake itself.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Config`] saying what to give instead.
    pub fn check(&self, lake: &Lake) -> Result<(), PipelineError> {
        let Some(dir) = &self.archive_to else {
            return Ok(());
        };
        if dir.to_string_lossy().contains("://") {
            return Err(PipelineError::Config(format!(
                "{} is a URL: --archive-to takes a folder (sync it to S3 with `aws s3 sync` if it must live there)",
                dir.display()
            )));
        }
        if lake.is_at(dir) {
            return Err(PipelineError::Config(
                "the archive is this lake: give another folder to --archive-to".to_owned(),
            ));
        }
        Ok(())
    }

    /// The partitions older than `keep` at `now`: the oldest date kept is today's date
    /// minus `keep` in whole days.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn plan(
        &self,
        lake: &Lake,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<RetentionPlan, PipelineError> {
        let days = i64::try_from(self.keep.as_secs() / 86_400).unwrap_or(i64::MAX / 2);
        if days < 1 {
            return Err(PipelineError::Config(
                "retention keeps whole days: give at least 1d".to_owned(),
            ));
        }
        let keep_from = (now.date_naive() - chrono::Days::new(days.unsigned_abs() - 1))
            .format("%Y-%m-%d")
            .to_string();
        Ok(lake.retention_plan(&keep_from, &self.accounts)?)
    }
}

/// Applies `plan` to `lake`, archiving into `settings.archive_to` first when set.
///
/// # Errors
///
/// When a file cannot be copied or a catalog written; running it again finishes the rest.
pub fn apply(
    lake: &mut Lake,
    settings: &RetentionSettings,
    plan: &RetentionPlan,
    done: impl FnMut(&RetiredPartition),
) -> Result<RetentionReport, PipelineError> {
    settings.check(lake)?;
    let mut archive = match &settings.archive_to {
        Some(dir) => Some(Lake::open(dir, Access::Write)?),
        None => None,
    };
    let report = match &settings.category {
        Some(category) => lake.apply_category_retention(plan, category, archive.as_mut(), done)?,
        None => lake.apply_retention(plan, archive.as_mut(), done)?,
    };
    // A category's retention rewrites files without some of their events: the identity
    // index counts the rewritten files afresh (the retired ones took their counts with them).
    crate::identity::update_identity_index(lake, &trailhound_identity::Settings::default(), None)?;
    Ok(report)
}

/// Whether a daily run is due: none recorded, or the last a day old.
///
/// # Errors
///
/// When the catalog cannot be read.
pub fn due(lake: &Lake, now: chrono::DateTime<chrono::Utc>) -> Result<bool, PipelineError> {
    let Some(last) = lake.catalog().cursor(CURSOR)? else {
        return Ok(true);
    };
    Ok(now.timestamp() - last >= 86_400)
}

/// Records that retention ran at `now`.
///
/// # Errors
///
/// When the catalog cannot be written.
pub fn mark_run(lake: &mut Lake, now: chrono::DateTime<chrono::Utc>) -> Result<(), PipelineError> {
    lake.catalog_mut()?.set_cursor(CURSOR, now.timestamp())?;
    Ok(())
}

/// The catalog cursor holding the last daily run (seconds since the epoch).
const CURSOR: &str = "retention_ran_at";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_day_kept_counts_today() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let lake = Lake::open(dir.path(), Access::Write)?;
        let settings = RetentionSettings {
            keep: Duration::from_secs(3 * 86_400),
            accounts: Vec::new(),
            archive_to: None,
            category: None,
        };
        let now = chrono::DateTime::parse_from_rfc3339("2024-07-07T12:00:00Z")?.to_utc();
        // 3 days: the 5th, 6th and 7th.
        assert_eq!(settings.plan(&lake, now)?.keep_from, "2024-07-05");
        Ok(())
    }
}
