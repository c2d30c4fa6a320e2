//! Posture as part of the pipeline: a run's verdicts recorded in the catalog, and a finding
//! for each check that starts failing, so that alerts route it like any other; run on a
//! schedule by the monitor (`watch --posture-every`).

use std::time::Duration;

use trailhound_detect::Rule;
use trailhound_event::Finding;
use trailhound_lake::Catalog;
use trailhound_lake::catalog::posture::PostureCheck;
use trailhound_posture::facts::Origin;
use trailhound_posture::{AccountFacts, Aws, Convention, Outcome, Verdict};
use trailhound_source::S3Settings;

use crate::PipelineError;

/// The rule ID prefix of posture findings (`posture.TH-CT-02`).
pub const RULE_PREFIX: &str = "posture.";

/// What a recorded run brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostureRecord {
    /// Checks that failed in this run and not in the one before.
    pub newly_failing: Vec<PostureCheck>,
    /// Findings added for them (live runs only).
    pub findings: u64,
}

/// How to run posture on a schedule.
#[derive(Debug, Clone)]
pub struct PostureSchedule {
    /// How often.
    pub every: Duration,
    /// How to reach AWS.
    pub settings: S3Settings,
    /// The regions to look at (empty: the configured one).
    pub regions: Vec<String>,
    /// The user's conventions.
    pub convention: Convention,
    /// The CIS monitoring rules the alarm checks compare filters with.
    pub rules: Vec<Rule>,
}

fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Unknown => "unknown",
        Verdict::NotApplicable => "not-applicable",
    }
}

/// Records `outcomes` of `facts` in the catalog; for a live run, each check that starts
/// failing becomes a finding (level: the check's severity) for alerting to route.
///
/// # Errors
///
/// When the catalog cannot be written.
pub fn record(
    catalog: &mut Catalog,
    facts: &AccountFacts,
    outcomes: &[Outcome],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PostureRecord, PipelineError> {
    let checks: Vec<PostureCheck> = outcomes
        .iter()
        .map(|o| PostureCheck {
            check_id: o.check.id.clone(),
            resource: o.resource.clone(),
            verdict: verdict_name(o.verdict).to_owned(),
            severity: o.check.severity.as_str().to_owned(),
            title: o.check.title.clone(),
            cis: o.check.cis.join(","),
            found: o.found.clone(),
            fix: o.fix.clone(),
        })
        .collect();
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (origin, live) = match facts.origin {
        Origin::Live => ("live", true),
        Origin::Lake => ("lake", false),
    };
    let account = facts.account.known().cloned();
    let newly_failing = catalog.record_posture(&at, origin, account.as_deref(), &checks)?;
    let mut findings = 0;
    if live && !newly_failing.is_empty() {
        let new: Vec<Finding> = newly_failing
            .iter()
            .filter_map(|check| {
                let outcome = outcomes
                    .iter()
                    .find(|o| o.check.id == check.check_id && o.resource == check.resource)?;
                Some(finding(outcome, account.as_deref(), &at))
            })
            .collect();
        findings = catalog.add_findings(&new)?;
    }
    Ok(PostureRecord {
        newly_failing,
        findings,
    })
}

fn finding(outcome: &Outcome, account: Option<&str>, at: &str) -> Finding {
    let mut tags = vec!["posture".to_owned()];
    tags.extend(
        outcome
            .check
            .cis
            .iter()
            .map(|c| c.to_ascii_lowercase().replace(' ', ".")),
    );
    Finding {
        rule_id: format!("{RULE_PREFIX}{}", outcome.check.id),
        rule_title: format!("Posture: {}", outcome.check.title),
        level: outcome.check.severity,
        tags,
        time: Some(at.to_owned()),
        first_time: Some(at.to_owned()),
        event_count: 0,
        event_ids: Vec::new(),
        event_source: None,
        event_name: None,
        principal: None,
        account: account.map(str::to_owned),
        region: None,
        source_ip: None,
        summary: format!("{} fails: {}", outcome.resource, outcome.found),
    }
}

/// Reads the facts live, checks them and records the run.
///
/// # Errors
///
/// When AWS cannot be reached at all, or the catalog cannot be written.
pub fn run_live(
    catalog: &mut Catalog,
    schedule: &PostureSchedule,
) -> Result<PostureRecord, PipelineError> {
    let region = schedule.regions.first().map(String::as_str);
    let aws = Aws::connect(&schedule.settings, region)?;
    let facts = trailhound_posture::gather(&aws, &schedule.regions)?;
    let now = chrono::Utc::now();
    let outcomes = trailhound_posture::evaluate(&facts, &schedule.convention, &schedule.rules, now);
    record(catalog, &facts, &outcomes, now)
}

/// Whether a live run is due: none recorded, or the last is `every` old.
///
/// # Errors
///
/// When the catalog cannot be read.
pub fn due(catalog: &Catalog, every: Duration) -> Result<bool, PipelineError> {
    let Some(last) = catalog.posture_checked_at("live")? else {
        return Ok(true);
    };
    let Ok(last) = chrono::DateTime::parse_from_rfc3339(&last) else {
        return Ok(true);
    };
    let age = chrono::Utc::now().signed_duration_since(last.with_timezone(&chrono::Utc));
    Ok(age.to_std().is_ok_and(|age| age >= every))
}
