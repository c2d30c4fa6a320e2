//! The pipeline's part of `trailhound.toml`: `[retention]` (what `watch` keeps of the lake,
//! applied daily), `[posture]` (the conventions the checks hold trails to, and how often
//! `watch` runs them), `[ocsf]` (where `watch` also writes every new event as OCSF) and
//! `[lake]` (the lake's files on S3). The alerting sections beside them are read by the
//! alerting crate.
//!
//! ```toml
//! [retention]
//! keep = "365d"
//! archive_to = "/srv/trailhound-archive"
//!
//! [posture]
//! every = "1h"
//! regions = ["us-east-1", "eu-west-1"]
//! name_pattern = "org-*"
//! required_tags = ["owner", "cost-center"]
//!
//! [ocsf]
//! dir = "/srv/security-lake"          # ext/<source_name>/region=…/accountId=…/eventDay=…/
//! source_name = "trailhound-cloudtrail"
//!
//! [lake]
//! location = "s3://my-lake-bucket/trailhound"   # as --lake
//! ```

use std::time::Duration;

use serde::Deserialize;

use crate::PipelineError;
use crate::retention::RetentionSettings;

/// `[retention]` and `[posture]`, when present.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PipelineConfig {
    /// What `watch` keeps of the lake.
    #[serde(default)]
    pub retention: Option<RetentionSettings>,
    /// How posture checks trails.
    #[serde(default)]
    pub posture: Option<PostureConfig>,
    /// Where `watch` also writes every new event as OCSF.
    #[serde(default)]
    pub ocsf: Option<crate::ocsf::OcsfSink>,
    /// Where the lake's files live, when not in the data directory.
    #[serde(default)]
    pub lake: Option<LakeConfig>,
    /// `[[reports]]`: reports `watch` makes on a schedule.
    #[serde(default)]
    pub reports: Vec<crate::reports::ReportSchedule>,
}

/// `[lake]`: the lake's files on S3, as `--lake`, `--lake-endpoint-url` and `--lake-profile`
/// say it (the flags win).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeConfig {
    /// `s3://bucket/prefix`.
    pub location: String,
    /// The endpoint of an S3-compatible store.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// The AWS profile whose credentials reach it.
    #[serde(default)]
    pub profile: Option<String>,
}

/// `[posture]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostureConfig {
    /// How often `watch` runs the checks (none: only with `--posture-every`).
    #[serde(default, deserialize_with = "optional_span")]
    pub every: Option<Duration>,
    /// The regions to look at.
    #[serde(default)]
    pub regions: Vec<String>,
    /// A glob trail names must match.
    #[serde(default)]
    pub name_pattern: Option<String>,
    /// Tag keys every trail must carry.
    #[serde(default)]
    pub required_tags: Vec<String>,
    /// Require MFA delete on trail buckets.
    #[serde(default)]
    pub require_mfa_delete: bool,
    /// Require Object Lock on trail buckets.
    #[serde(default)]
    pub require_object_lock: bool,
}

/// A length of time written as everywhere else in trailhound.toml (`"90d"`, `"1h"`).
pub(crate) fn span<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    trailhound_event::quantity::parse_span(&text).map_err(serde::de::Error::custom)
}

pub(crate) fn optional_span<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    Ok(Some(span(deserializer)?))
}

impl PipelineConfig {
    /// Reads the sections from a `trailhound.toml`'s text; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Config`] naming the file and what is wrong.
    pub fn parse(text: &str, origin: &str) -> Result<PipelineConfig, PipelineError> {
        toml::from_str(text)
            .map_err(|err| PipelineError::Config(format!("{origin}: {}", err.to_string().trim())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_read_and_alerting_is_left_alone() -> Result<(), PipelineError> {
        let config = PipelineConfig::parse(
            "[alerts]\nmax_per_hour = 5\n[[sinks]]\nname = \"out\"\ntype = \"stdout\"\n\
             [retention]\nkeep = \"90d\"\narchive_to = \"/srv/archive\"\n\
             [posture]\nevery = \"1h\"\nrequired_tags = [\"owner\"]\n",
            "trailhound.toml",
        )?;
        let retention = config
            .retention
            .ok_or(PipelineError::Config("no retention".into()))?;
        assert_eq!(retention.keep, Duration::from_secs(90 * 86_400));
        let posture = config
            .posture
            .ok_or(PipelineError::Config("no posture".into()))?;
        assert_eq!(posture.every, Some(Duration::from_secs(3600)));
        assert_eq!(posture.required_tags, ["owner"]);
        let wrong = PipelineConfig::parse("[retention]\nkeep = \"90d\"\nkepe = 1\n", "t.toml");
        assert!(wrong.is_err_and(|e| e.to_string().contains("kepe")));
        Ok(())
    }
}
