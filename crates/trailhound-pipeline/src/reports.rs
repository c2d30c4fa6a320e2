//! Scheduled reports (`[[reports]]` in trailhound.toml): `watch` makes each when it is due,
//! over the period that just ended, and delivers it to a folder, a bucket prefix or by email
//! through an email sink of `[[sinks]]`.
//!
//! ```toml
//! [[reports]]
//! name = "weekly"                  # names the files and the schedule's state
//! every = "7d"
//! period = "7d"                    # the default: as long as `every`
//! format = "pdf"                   # html (default), pdf, md or json
//! sections = ["coverage", "root", "sign-ins", "changes", "findings"]   # default: all
//! email = "security-team"          # an email sink of [[sinks]]
//! dir = "s3://audit-bucket/trailhound-reports"   # or a folder
//! ```
//!
//! A report is made once per period: the end of the last one delivered is kept in the
//! catalog, so a restart neither repeats nor skips one. It is marked only once every
//! destination took it; a failed delivery is this poll's problem and the next poll tries
//! again (a folder or bucket file is rewritten under the same name).

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Deserialize;
use trailhound_alert::SinkConfig;
use trailhound_lake::Lake;
use trailhound_query::QueryEngine;
use trailhound_report::{Format, Renderer, ReportRequest, Scope, Section};

use crate::PipelineError;

/// One `[[reports]]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSchedule {
    /// The schedule's name: in file names, the email subject and the catalog.
    pub name: String,
    /// How often.
    #[serde(deserialize_with = "crate::config::span")]
    pub every: Duration,
    /// How far back each report looks (`every` by default).
    #[serde(default, deserialize_with = "crate::config::optional_span")]
    pub period: Option<Duration>,
    /// html, pdf, md or json.
    #[serde(default = "html", deserialize_with = "parsed")]
    pub format: Format,
    /// The sections (all by default).
    #[serde(default, deserialize_with = "parsed_list")]
    pub sections: Vec<Section>,
    /// Only these accounts (all by default).
    #[serde(default)]
    pub accounts: Vec<String>,
    /// The title.
    #[serde(default)]
    pub title: Option<String>,
    /// The email sink (of `[[sinks]]`) the report is attached to a message through.
    #[serde(default)]
    pub email: Option<String>,
    /// A folder or `s3://bucket/prefix` the report file is written into.
    #[serde(default)]
    pub dir: Option<String>,
    /// A folder of templates replacing the built-in ones.
    #[serde(default)]
    pub templates: Option<PathBuf>,
    /// The Chromium that prints PDF (found on PATH by default).
    #[serde(default)]
    pub chromium: Option<PathBuf>,
    /// For a bucket: the endpoint of an S3-compatible store.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// For a bucket: the AWS profile whose credentials reach it.
    #[serde(default)]
    pub profile: Option<String>,
}

fn html() -> Format {
    Format::Html
}

fn parsed<'de, D: serde::Deserializer<'de>, T: std::str::FromStr<Err = String>>(
    deserializer: D,
) -> Result<T, D::Error> {
    String::deserialize(deserializer)?
        .parse()
        .map_err(serde::de::Error::custom)
}

fn parsed_list<'de, D: serde::Deserializer<'de>, T: std::str::FromStr<Err = String>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    Vec::<String>::deserialize(deserializer)?
        .iter()
        .map(|s| s.parse().map_err(serde::de::Error::custom))
        .collect()
}

/// A schedule ready to run: its email sink found among the configured sinks.
#[derive(Debug, Clone)]
pub struct ScheduledReport {
    /// The schedule.
    pub schedule: ReportSchedule,
    /// The email sink, when it mails.
    pub email: Option<SinkConfig>,
}

impl ScheduledReport {
    /// Checks `schedule` against the configured `sinks`: it must go somewhere, its email
    /// sink must exist and be one, and PDF needs a Chromium now rather than at the first
    /// report a week later.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Config`] saying what to change.
    pub fn new(
        schedule: ReportSchedule,
        sinks: &[SinkConfig],
    ) -> Result<ScheduledReport, PipelineError> {
        let origin = format!("[[reports]] {:?}", schedule.name);
        if schedule.name.is_empty()
            || !schedule
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(PipelineError::Config(format!(
                "{origin}: a report's name is letters, digits, '-', '_' and '.' (it names its files)"
            )));
        }
        if schedule.email.is_none() && schedule.dir.is_none() {
            return Err(PipelineError::Config(format!(
                "{origin}: say where it goes: email = \"SINK\" (an email sink of [[sinks]]), dir = \"FOLDER\" or dir = \"s3://bucket/prefix\""
            )));
        }
        if schedule.every < Duration::from_secs(3600) {
            return Err(PipelineError::Config(format!(
                "{origin}: every = at least \"1h\""
            )));
        }
        let email = match &schedule.email {
            None => None,
            Some(name) => {
                let sink = sinks.iter().find(|s| &s.name == name).ok_or_else(|| {
                    PipelineError::Config(format!(
                        "{origin}: email = {name:?}, but no [[sinks]] is named so"
                    ))
                })?;
                if !matches!(sink.kind, trailhound_alert::SinkKind::Email { .. }) {
                    return Err(PipelineError::Config(format!(
                        "{origin}: email = {name:?} is not an email sink (type = \"email\")"
                    )));
                }
                Some(sink.clone())
            }
        };
        if schedule.format == Format::Pdf {
            trailhound_report::find_chromium(schedule.chromium.as_deref())
                .map_err(|err| PipelineError::Config(format!("{origin}: {err}")))?;
        }
        Ok(ScheduledReport { schedule, email })
    }

    /// One line saying what it makes and where it goes.
    pub fn describe(&self) -> String {
        let s = &self.schedule;
        let places: Vec<String> = s
            .email
            .iter()
            .map(|e| format!("email through {e:?}"))
            .chain(s.dir.iter().cloned())
            .collect();
        format!(
            "report {:?}: {} over the last {} every {}, to {}",
            s.name,
            s.format,
            describe_span(s.period.unwrap_or(s.every)),
            describe_span(s.every),
            places.join(" and ")
        )
    }

    fn cursor(&self) -> String {
        format!("report:{}", self.schedule.name)
    }

    /// The period due at `now`, if one is: it ends at the last whole hour, and starts
    /// `period` before.
    pub fn due(&self, lake: &Lake, now: DateTime<Utc>) -> Result<Option<Scope>, PipelineError> {
        let until = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now);
        if let Some(last) = lake.catalog().cursor(&self.cursor())? {
            let every = i64::try_from(self.schedule.every.as_secs()).unwrap_or(i64::MAX);
            if until.timestamp() - last < every {
                return Ok(None);
            }
        }
        let period = self.schedule.period.unwrap_or(self.schedule.every);
        let since = until - TimeDelta::from_std(period).unwrap_or(TimeDelta::days(7));
        Ok(Some(Scope {
            since,
            until,
            accounts: self.schedule.accounts.clone(),
        }))
    }

    /// Makes the report over `scope` and delivers it everywhere it goes, then marks it made.
    /// Returns the file name it was delivered as.
    ///
    /// # Errors
    ///
    /// When the report cannot be made or a destination refuses it; nothing is marked then.
    pub fn run(&self, lake: &mut Lake, scope: Scope) -> Result<String, PipelineError> {
        let schedule = &self.schedule;
        let data_dir = lake.root().to_path_buf();
        let lake_name = lake.location();
        let engine = QueryEngine::open(&data_dir)?;
        let request = ReportRequest {
            scope: scope.clone(),
            sections: schedule.sections.clone(),
            title: schedule.title.clone(),
            lake: lake_name,
        };
        let report = engine.block_on(trailhound_report::build(&engine, &request))??;
        drop(engine);
        let renderer = Renderer {
            templates: schedule.templates.clone(),
            chromium: schedule.chromium.clone(),
        };
        let document = renderer.render(&report, schedule.format)?;
        let file_name = format!(
            "{}-{}.{}",
            schedule.name,
            scope.until.format("%Y-%m-%dT%H%MZ"),
            schedule.format.extension()
        );
        if let Some(dir) = &schedule.dir {
            self.write(dir, &file_name, &document)?;
        }
        if let Some(sink) = &self.email {
            let figures = report.figures().count();
            let failed = report.figures().filter(|f| f.error.is_some()).count();
            trailhound_alert::send_mail(
                sink,
                trailhound_alert::Mail {
                    subject: format!("{} · {}", report.title, report.period),
                    body: format!(
                        "{title}\nPeriod: {period}\nLake: {lake}\nSections: {sections}\n\n\
                         The report is attached ({file_name}, {figures} figures{failed}). Every figure \
                         names the SQL that produced it in the appendix.\n\n\
                         Sent by Trailhound's scheduled report {name:?} (every {every}).\n",
                        title = report.title,
                        period = report.period,
                        lake = report.lake,
                        sections = report
                            .sections
                            .iter()
                            .map(|s| s.title.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        failed = if failed > 0 {
                            format!(", {failed} could not be computed")
                        } else {
                            String::new()
                        },
                        name = schedule.name,
                        every = describe_span(schedule.every),
                    ),
                    file_name: file_name.clone(),
                    content_type: schedule.format.content_type().to_owned(),
                    content: document,
                },
            )?;
        }
        lake.catalog_mut()?
            .set_cursor(&self.cursor(), scope.until.timestamp())?;
        Ok(file_name)
    }

    /// Writes the report into a folder (beside, then renamed) or a bucket (one PUT).
    fn write(&self, dir: &str, file_name: &str, document: &[u8]) -> Result<(), PipelineError> {
        if dir.starts_with("s3://") {
            let url = trailhound_source::S3Url::parse(dir)?;
            let settings = trailhound_source::S3Settings {
                endpoint: self.schedule.endpoint_url.clone(),
                profile: self.schedule.profile.clone(),
                downloads: 0,
            };
            let (bucket, prefix) = trailhound_source::S3Bucket::for_url(&url, &settings)?;
            let key = if prefix.is_empty() || prefix.ends_with('/') {
                format!("{prefix}{file_name}")
            } else {
                format!("{prefix}/{file_name}")
            };
            bucket.put(&key, document.to_vec().into())?;
            return Ok(());
        }
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).map_err(PipelineError::io(&dir))?;
        crate::write_atomically(&dir.join(file_name), document)
    }
}

/// `7d`, `12h`: a span as trailhound.toml writes it.
fn describe_span(span: Duration) -> String {
    let seconds = span.as_secs();
    if seconds.is_multiple_of(86_400) {
        format!("{}d", seconds / 86_400)
    } else {
        format!("{}h", seconds / 3_600)
    }
}
