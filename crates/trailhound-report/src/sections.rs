//! The sections of a report and the figures in each: the questions an auditor and a weekly
//! review ask of CloudTrail, each as SQL over the lake (`events`) and the catalog's tables
//! (`findings`, `insights`, `integrity`, `integrity_problems`, `posture`).

use std::fmt;
use std::str::FromStr;

use chrono::DurationRound;
use serde::Serialize;
use trailhound_detect::Rule;
use trailhound_query::{PRINCIPAL_SQL, field_sql, sql_string};

use crate::figure::{Chart, FigureSpec};
use crate::scope::Scope;

/// A section of a report, in the order reports print them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Section {
    /// Accounts and regions covered; hours with no logs; digests missing from a chain.
    Coverage,
    /// Events and failed calls per day, by service, by identity type; top errors.
    Activity,
    /// Use of the root user.
    Root,
    /// Console sign-ins with and without MFA; failed sign-ins by source.
    SignIns,
    /// The CIS AWS Foundations monitoring controls (4.x): the events that would have raised
    /// each alarm.
    Changes,
    /// Findings by level and triage state.
    Findings,
    /// Insights events (unusual call or error rates).
    Insights,
    /// The integrity validation of the delivered files.
    Integrity,
    /// The trail configuration checks of `trailhound posture`.
    Posture,
    /// Top talkers, and principals, regions and addresses first seen in the period.
    Principals,
}

impl Section {
    /// Every section, in report order.
    pub const ALL: [Section; 10] = [
        Section::Coverage,
        Section::Activity,
        Section::Root,
        Section::SignIns,
        Section::Changes,
        Section::Findings,
        Section::Insights,
        Section::Integrity,
        Section::Posture,
        Section::Principals,
    ];

    /// The name `--sections` takes.
    pub fn name(self) -> &'static str {
        match self {
            Section::Coverage => "coverage",
            Section::Activity => "activity",
            Section::Root => "root",
            Section::SignIns => "sign-ins",
            Section::Changes => "changes",
            Section::Findings => "findings",
            Section::Insights => "insights",
            Section::Integrity => "integrity",
            Section::Posture => "posture",
            Section::Principals => "principals",
        }
    }

    /// The heading.
    pub fn title(self) -> &'static str {
        match self {
            Section::Coverage => "Coverage",
            Section::Activity => "Activity",
            Section::Root => "Root user activity",
            Section::SignIns => "Console sign-ins",
            Section::Changes => "Monitored changes (CIS AWS Foundations 4.x)",
            Section::Findings => "Findings",
            Section::Insights => "Insights",
            Section::Integrity => "Log file integrity",
            Section::Posture => "Trail configuration (posture)",
            Section::Principals => "Top talkers and first seen",
        }
    }

    /// What the section is for, printed under its heading.
    pub fn intro(self) -> &'static str {
        match self {
            Section::Coverage => {
                "Where CloudTrail logs were delivered in the period, and where they were not: an hour with no \
                 event from an account and region that has events elsewhere in the period is a gap in delivery \
                 (or an idle hour); a digest file missing from a chain means the proof of integrity is broken \
                 for that hour."
            }
            Section::Activity => {
                "How much was done, where failed calls concentrate, and which kinds of identity did it."
            }
            Section::Root => {
                "CIS AWS Foundations asks that the root user not be used for everyday tasks: every call it made \
                 (other than by an AWS service on its behalf) is listed."
            }
            Section::SignIns => {
                "Console sign-ins by outcome and MFA, and where failed sign-ins came from. Sign-ins through IAM \
                 Identity Center or another identity provider show MFAUsed = No even when the provider required MFA."
            }
            Section::Changes => {
                "For each CIS monitoring control, the events its CloudWatch metric filter (the pattern the benchmark \
                 prescribes, word for word) matches: what would have raised its alarm, with who and when."
            }
            Section::Findings => {
                "What the detection rules found in the period, by level and triage state, with the note of whoever \
                 triaged each."
            }
            Section::Insights => {
                "Unusual API call and error rates, as CloudTrail Insights reports them."
            }
            Section::Integrity => {
                "The newest integrity validation (trailhound validate) of each place CloudTrail delivers to: digest \
                 chains and the RSA signatures and hashes of the log files."
            }
            Section::Posture => {
                "The newest run of trailhound posture: how the trails are configured, against CIS AWS Foundations \
                 and AWS's recommendations."
            }
            Section::Principals => {
                "Who made the most calls and from where, and what is new: principals, regions and source addresses \
                 whose first event in the lake falls in the period."
            }
        }
    }

    /// The figures of this section over `scope`; `rules` gives the CIS controls.
    pub(crate) fn figures(self, scope: &Scope, rules: &[Rule]) -> Vec<FigureSpec> {
        let events = scope.events();
        match self {
            Section::Coverage => coverage(scope, &events),
            Section::Activity => activity(&events),
            Section::Root => root(&events),
            Section::SignIns => sign_ins(&events),
            Section::Changes => changes(&events, rules),
            Section::Findings => findings(scope),
            Section::Insights => insights(scope),
            Section::Integrity => integrity(),
            Section::Posture => posture(),
            Section::Principals => principals(scope, &events),
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Section {
    type Err = String;

    fn from_str(text: &str) -> Result<Section, String> {
        let wanted = text.trim().to_ascii_lowercase().replace('_', "-");
        Section::ALL
            .into_iter()
            .find(|s| s.name() == wanted || (wanted == "signins" && *s == Section::SignIns))
            .ok_or_else(|| {
                let names: Vec<&str> = Section::ALL.iter().map(|s| s.name()).collect();
                format!(
                    "there is no report section {text:?}; the sections are {}",
                    names.join(", ")
                )
            })
    }
}

fn coverage(scope: &Scope, events: &str) -> Vec<FigureSpec> {
    let hour = |t: chrono::DateTime<chrono::Utc>| {
        Scope::timestamp(t.duration_trunc(chrono::TimeDelta::hours(1)).unwrap_or(t))
    };
    // Whole hours of the period: from the one it starts in to the last one it covers.
    let first_hour = hour(scope.since);
    vec![
        FigureSpec::new(
            "coverage.places",
            "Accounts and regions with logs",
            "Each account and region that delivered events in the period, with the hours that have any.",
            format!(
                "SELECT recipientAccountId AS account, awsRegion AS region, count(*) AS events,\n  \
                 count(DISTINCT date_trunc('hour', eventTime)) AS hoursWithEvents,\n  \
                 min(eventTime) AS firstEvent, max(eventTime) AS lastEvent\n\
                 FROM events\nWHERE {events}\nGROUP BY recipientAccountId, awsRegion\nORDER BY account, region"
            ),
        ),
        FigureSpec::new(
            "coverage.gaps",
            "Hours with no delivered logs",
            "Runs of whole hours in which an account and region that is active in most hours of the period \
             has no event, up to the hour of the period's newest event (logs arrive minutes late). Places \
             active in fewer than half the hours are idle rather than missing; their hours are in 1.1. \
             The longest runs first.",
            format!(
                "WITH seen AS (\n  SELECT recipientAccountId AS account, awsRegion AS region, date_trunc('hour', eventTime) AS hour\n  \
                 FROM events\n  WHERE {events}\n  GROUP BY 1, 2, 3\n),\n\
                 marked AS (\n  SELECT account, region, hour,\n    \
                 lag(hour) OVER (PARTITION BY account, region ORDER BY hour) AS previous,\n    \
                 lead(hour) OVER (PARTITION BY account, region ORDER BY hour) AS next,\n    \
                 count(*) OVER (PARTITION BY account, region) AS hoursSeen,\n    \
                 max(hour) OVER () AS lastHour\n  FROM seen\n),\n\
                 gaps AS (\n  \
                 SELECT account, region, hoursSeen, lastHour,\n    \
                 coalesce(previous + INTERVAL '1 hour', {first_hour}) AS gapStart, hour AS gapEnd\n  FROM marked\n  \
                 UNION ALL\n  \
                 SELECT account, region, hoursSeen, lastHour, hour + INTERVAL '1 hour', lastHour + INTERVAL '1 hour'\n  \
                 FROM marked WHERE next IS NULL\n)\n\
                 SELECT account, region, arrow_cast(gapStart, 'Timestamp(Microsecond, Some(\"UTC\"))') AS gapStart,\n  \
                 arrow_cast(gapEnd, 'Timestamp(Microsecond, Some(\"UTC\"))') AS gapEnd,\n  \
                 CAST((to_unixtime(gapEnd) - to_unixtime(gapStart)) / 3600 AS BIGINT) AS hours\n\
                 FROM gaps\nWHERE gapEnd > gapStart\n  \
                 AND hoursSeen * 2 >= (to_unixtime(lastHour) - to_unixtime({first_hour})) / 3600 + 1\n\
                 ORDER BY hours DESC, account, region, gapStart\nLIMIT 200"
            ),
        ),
        FigureSpec::new(
            "coverage.digests",
            "Digest files missing from a chain",
            "Hours of the period whose digest file the newest integrity validation did not find: the log \
             files of that hour cannot be proven unaltered. Empty when no validation has run (see Log file integrity).",
            format!(
                "SELECT date_trunc('day', digestEndTime) AS day, digestEndTime, location, object, reason\n\
                 FROM integrity_problems\n\
                 WHERE subject = 'digest' AND reason = 'not found'\n  \
                 AND digestEndTime > {} AND digestEndTime <= {}\n\
                 ORDER BY digestEndTime, object\nLIMIT 200",
                Scope::timestamp(scope.since),
                Scope::timestamp(scope.until)
            ),
        ),
    ]
}

fn activity(events: &str) -> Vec<FigureSpec> {
    vec![
        FigureSpec::new(
            "activity.totals",
            "Totals",
            "Events, failed calls (with an errorCode) and the distinct principals, accounts, regions and source addresses.",
            format!(
                "SELECT count(*) AS events, count(errorCode) AS failedCalls,\n  \
                 count(DISTINCT {PRINCIPAL_SQL}) AS principals,\n  \
                 count(DISTINCT recipientAccountId) AS accounts, count(DISTINCT awsRegion) AS regions,\n  \
                 count(DISTINCT sourceIPAddress) AS sourceAddresses\nFROM events\nWHERE {events}"
            ),
        ),
        FigureSpec::new(
            "activity.daily",
            "Events and failed calls per day",
            "Each UTC day of the period: all events, and those with an errorCode.",
            format!(
                "SELECT date_trunc('day', eventTime) AS day, count(*) AS events, count(errorCode) AS failedCalls\n\
                 FROM events\nWHERE {events}\nGROUP BY date_trunc('day', eventTime)\nORDER BY day"
            ),
        )
        .chart(Chart::Columns {
            label: "day".into(),
            values: vec!["events".into(), "failedCalls".into()],
        }),
        FigureSpec::new(
            "activity.services",
            "Busiest services",
            "The 15 services with the most events, with their failed calls.",
            format!(
                "SELECT eventSource, count(*) AS events, count(errorCode) AS failedCalls\n\
                 FROM events\nWHERE {events}\nGROUP BY eventSource\nORDER BY events DESC, eventSource\nLIMIT 15"
            ),
        )
        .chart(Chart::Bars {
            label: "eventSource".into(),
            value: "events".into(),
        }),
        FigureSpec::new(
            "activity.identityTypes",
            "Events by identity type",
            "userIdentity.type: IAM users, assumed roles, AWS services, the root user, federated and others.",
            format!(
                "SELECT coalesce(userIdentity.type, '(none)') AS identityType, count(*) AS events,\n  \
                 count(errorCode) AS failedCalls, count(DISTINCT {PRINCIPAL_SQL}) AS principals\n\
                 FROM events\nWHERE {events}\nGROUP BY coalesce(userIdentity.type, '(none)')\n\
                 ORDER BY events DESC, identityType"
            ),
        )
        .chart(Chart::Bars {
            label: "identityType".into(),
            value: "events".into(),
        }),
        FigureSpec::new(
            "activity.errors",
            "Most frequent errors",
            "The 15 most frequent error codes, by service.",
            format!(
                "SELECT errorCode, eventSource, count(*) AS events, count(DISTINCT {PRINCIPAL_SQL}) AS principals\n\
                 FROM events\nWHERE {events} AND errorCode IS NOT NULL\n\
                 GROUP BY errorCode, eventSource\nORDER BY events DESC, errorCode, eventSource\nLIMIT 15"
            ),
        ),
    ]
}

/// The root user's own calls: not those an AWS service made on its behalf.
const ROOT_SQL: &str = "userIdentity.type = 'Root' AND userIdentity.invokedBy IS NULL \
     AND coalesce(eventType, '') <> 'AwsServiceEvent'";

fn root(events: &str) -> Vec<FigureSpec> {
    vec![
        FigureSpec::new(
            "root.accounts",
            "Root user calls by account",
            "How often, from how many addresses, and when.",
            format!(
                "SELECT recipientAccountId AS account, count(*) AS calls, count(errorCode) AS failedCalls,\n  \
                 count(DISTINCT sourceIPAddress) AS sourceAddresses, min(eventTime) AS firstCall, max(eventTime) AS lastCall\n\
                 FROM events\nWHERE {events}\n  AND {ROOT_SQL}\nGROUP BY recipientAccountId\nORDER BY account"
            ),
        ),
        FigureSpec::new(
            "root.calls",
            "Root user calls",
            "Every call, oldest first (at most 200).",
            format!(
                "SELECT eventTime, recipientAccountId AS account, eventSource, eventName, sourceIPAddress,\n  \
                 userAgent, errorCode\nFROM events\nWHERE {events}\n  AND {ROOT_SQL}\n\
                 ORDER BY eventTime, eventID\nLIMIT 200"
            ),
        ),
    ]
}

fn sign_ins(events: &str) -> Vec<FigureSpec> {
    let mfa = "CASE WHEN json_as_text(additionalEventData, 'MFAUsed') = 'Yes' THEN 'with MFA' ELSE 'without MFA' END";
    let outcome = "coalesce(json_as_text(responseElements, 'ConsoleLogin'), \
                   CASE WHEN errorMessage IS NOT NULL THEN 'Failure' END, '(unknown)')";
    vec![
        FigureSpec::new(
            "signIns.outcomes",
            "Console sign-ins by MFA and outcome",
            "ConsoleLogin events: whether MFA was used (additionalEventData.MFAUsed) and the outcome.",
            format!(
                "SELECT {mfa} AS mfa,\n  {outcome} AS outcome,\n  \
                 count(*) AS signIns, count(DISTINCT {PRINCIPAL_SQL}) AS principals\n\
                 FROM events\nWHERE {events} AND eventName = 'ConsoleLogin'\nGROUP BY 1, 2\nORDER BY mfa, outcome"
            ),
        ),
        FigureSpec::new(
            "signIns.withoutMfa",
            "Successful sign-ins without MFA",
            "Who signed in to the console without MFA, how often, and when last.",
            format!(
                "SELECT {PRINCIPAL_SQL} AS principal, userIdentity.type AS identityType,\n  \
                 count(*) AS signIns, count(DISTINCT sourceIPAddress) AS sourceAddresses, max(eventTime) AS lastSignIn\n\
                 FROM events\nWHERE {events} AND eventName = 'ConsoleLogin'\n  \
                 AND json_as_text(responseElements, 'ConsoleLogin') = 'Success'\n  \
                 AND coalesce(json_as_text(additionalEventData, 'MFAUsed'), 'No') <> 'Yes'\n\
                 GROUP BY 1, 2\nORDER BY signIns DESC, principal\nLIMIT 100"
            ),
        ),
        FigureSpec::new(
            "signIns.failures",
            "Failed sign-ins by source address",
            "Where failed console sign-ins came from, and how many identities each address tried.",
            format!(
                "SELECT sourceIPAddress, count(*) AS failures, count(DISTINCT {PRINCIPAL_SQL}) AS principals,\n  \
                 min(eventTime) AS firstFailure, max(eventTime) AS lastFailure\n\
                 FROM events\nWHERE {events} AND eventName = 'ConsoleLogin'\n  AND {outcome} = 'Failure'\n\
                 GROUP BY sourceIPAddress\nORDER BY failures DESC, sourceIPAddress\nLIMIT 50"
            ),
        ),
    ]
}

/// Each CIS control as an SQL condition, in control order; a control whose pattern SQL
/// cannot express is left out (none of the built-in pack's).
pub(crate) fn controls(rules: &[Rule]) -> Vec<(String, String, String)> {
    trailhound_detect::cis_monitoring_rules(rules)
        .into_iter()
        .filter_map(|(number, title, filter, _)| {
            let condition = filter.to_sql(&|path| Some(field_sql(path)))?;
            Some((number.to_owned(), title.to_owned(), condition))
        })
        .collect()
}

/// The events any control matches, each with the controls it matches, in one scan of the
/// period (`hits`: one row per event and control).
fn control_hits(events: &str, controls: &[(String, String, String)]) -> String {
    let any = controls
        .iter()
        .map(|(_, _, condition)| format!("({condition})"))
        .collect::<Vec<_>>()
        .join("\n    OR ");
    let which = controls
        .iter()
        .map(|(number, _, condition)| {
            format!(
                "      CASE WHEN {condition} THEN {} END",
                sql_string(number)
            )
        })
        .collect::<Vec<_>>()
        .join(",\n");
    format!(
        "WITH matched AS (\n  SELECT eventTime, eventID, {PRINCIPAL_SQL} AS principal, eventSource, eventName,\n    \
         errorCode, sourceIPAddress, recipientAccountId AS account, awsRegion AS region,\n    \
         make_array(\n{which}\n    ) AS controls\n  FROM events\n  WHERE {events}\n    AND ({any})\n),\n\
         hits AS (\n  SELECT * FROM (\n    SELECT unnest(controls) AS control, eventTime, eventID, principal, eventSource,\n      \
         eventName, errorCode, sourceIPAddress, account, region\n    FROM matched\n  ) WHERE control IS NOT NULL\n)"
    )
}

fn changes(events: &str, rules: &[Rule]) -> Vec<FigureSpec> {
    let controls = controls(rules);
    let hits = control_hits(events, &controls);
    let list = controls
        .iter()
        .map(|(number, title, _)| format!("  ({}, {})", sql_string(number), sql_string(title)))
        .collect::<Vec<_>>()
        .join(",\n");
    vec![
        FigureSpec::new(
            "changes.controls",
            "Alarms by control",
            "For each control, the events that would have raised its alarm, how many principals made them, \
             and when the first and last were. A control with no events is listed with 0.",
            format!(
                "{hits}\nSELECT c.control, c.title, coalesce(m.events, 0) AS events, coalesce(m.principals, 0) AS principals,\n  \
                 m.firstEvent, m.lastEvent\nFROM (VALUES\n{list}\n) AS c(control, title)\nLEFT JOIN (\n  \
                 SELECT control, count(*) AS events, count(DISTINCT principal) AS principals,\n    \
                 min(eventTime) AS firstEvent, max(eventTime) AS lastEvent\n  FROM hits\n  GROUP BY control\n\
                 ) m ON m.control = c.control\nORDER BY CAST(split_part(c.control, '.', 2) AS INT)"
            ),
        ),
        FigureSpec::new(
            "changes.events",
            "The events behind each alarm",
            "Who did what, when and from where: the first 25 events of each control.",
            format!(
                "{hits}\nSELECT h.control, c.title, h.eventTime, h.principal, h.eventSource, h.eventName, h.errorCode,\n  \
                 h.sourceIPAddress, h.account, h.region\nFROM (\n  \
                 SELECT *, row_number() OVER (PARTITION BY control ORDER BY eventTime, eventID) AS nth FROM hits\n\
                 ) h\nJOIN (VALUES\n{list}\n) AS c(control, title) ON c.control = h.control\n\
                 WHERE h.nth <= 25\nORDER BY CAST(split_part(h.control, '.', 2) AS INT), h.eventTime, h.eventID"
            ),
        ),
    ]
}

/// Findings' levels from the most to the least severe, for ordering.
const LEVEL_ORDER: &str = "CASE level WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 \
     WHEN 'low' THEN 4 ELSE 5 END";

fn findings(scope: &Scope) -> Vec<FigureSpec> {
    let period = scope.condition("time", "recipientAccountId");
    vec![
        FigureSpec::new(
            "findings.levels",
            "Findings by level and triage state",
            "open: not looked at yet; acknowledged: being handled; resolved: closed (see the notes below).",
            format!(
                "SELECT level, status, count(*) AS findings, sum(eventCount) AS events\n\
                 FROM findings\nWHERE {period}\nGROUP BY level, status\nORDER BY {LEVEL_ORDER}, status"
            ),
        ),
        FigureSpec::new(
            "findings.list",
            "Findings",
            "The most severe first, at most 200, with the triage state and the note of whoever triaged it.",
            format!(
                "SELECT id, time, level, ruleTitle, principal, recipientAccountId AS account, eventCount AS events,\n  \
                 status, note, triagedBy, triagedAt\nFROM findings\nWHERE {period}\n\
                 ORDER BY {LEVEL_ORDER}, time, id\nLIMIT 200"
            ),
        ),
    ]
}

fn insights(scope: &Scope) -> Vec<FigureSpec> {
    let period = scope.condition("eventTime", "recipientAccountId");
    vec![FigureSpec::new(
        "insights.list",
        "Insights events",
        "Each unusual stretch: the call (or error) rate in it against the baseline, and how long it lasted (minutes).",
        format!(
            "SELECT eventTime, recipientAccountId AS account, awsRegion AS region, eventSource, eventName,\n  \
             insightType, errorCode, round(baselineAverage, 2) AS baselineAverage,\n  \
             round(insightAverage, 2) AS insightAverage, insightDuration, origin\n\
             FROM insights\nWHERE {period} AND state = 'Start'\nORDER BY eventTime, eventName\nLIMIT 200"
        ),
    )]
}

fn integrity() -> Vec<FigureSpec> {
    vec![
        FigureSpec::new(
            "integrity.checks",
            "Validations",
            "The newest validation of each place: digests and log files proven intact, or not.",
            "SELECT location, checkedAt, valid, validDigests, invalidDigests, unsignedDigests, validLogs,\n  \
             invalidLogs, foundStart, foundEnd\nFROM integrity\nORDER BY location"
                .to_owned(),
        ),
        FigureSpec::new(
            "integrity.problems",
            "What the validations found wrong",
            "Digests or log files missing, altered, unsigned, or added after delivery (at most 200).",
            "SELECT location, subject, status, object, reason\nFROM integrity_problems\n\
             ORDER BY location, digestEndTime, object\nLIMIT 200"
                .to_owned(),
        ),
    ]
}

/// Posture severities from the most severe.
const SEVERITY_ORDER: &str = "CASE severity WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 \
     WHEN 'low' THEN 4 ELSE 5 END";

fn posture() -> Vec<FigureSpec> {
    vec![
        FigureSpec::new(
            "posture.verdicts",
            "Checks by verdict",
            "Empty when trailhound posture has not run on this lake.",
            "SELECT checkedAt, origin, verdict, count(*) AS checks\nFROM posture\n\
             GROUP BY checkedAt, origin, verdict\nORDER BY verdict"
                .to_owned(),
        ),
        FigureSpec::new(
            "posture.failing",
            "Failing checks",
            "What is wrong, where, and how to fix it.",
            format!(
                "SELECT checkId, cis, severity, title, resource, found, fix\nFROM posture\n\
                 WHERE verdict = 'fail'\nORDER BY {SEVERITY_ORDER}, checkId, resource"
            ),
        ),
    ]
}

fn principals(scope: &Scope, events: &str) -> Vec<FigureSpec> {
    // First seen in the whole lake up to the period's end, not only in the period.
    let history = format!(
        "eventTime < {}{}",
        Scope::timestamp(scope.until),
        scope.account_condition("recipientAccountId")
    );
    let since = Scope::timestamp(scope.since);
    vec![
        FigureSpec::new(
            "principals.top",
            "Top talkers",
            "The 20 principals with the most calls.",
            format!(
                "SELECT {PRINCIPAL_SQL} AS principal, count(*) AS calls, count(errorCode) AS failedCalls,\n  \
                 count(DISTINCT sourceIPAddress) AS sourceAddresses, count(DISTINCT awsRegion) AS regions\n\
                 FROM events\nWHERE {events}\nGROUP BY 1\nORDER BY calls DESC, principal\nLIMIT 20"
            ),
        )
        .chart(Chart::Bars {
            label: "principal".into(),
            value: "calls".into(),
        }),
        FigureSpec::new(
            "principals.topAddresses",
            "Busiest source addresses",
            "The 20 source addresses (or AWS services) with the most calls.",
            format!(
                "SELECT sourceIPAddress, count(*) AS calls, count(errorCode) AS failedCalls,\n  \
                 count(DISTINCT {PRINCIPAL_SQL}) AS principals\nFROM events\nWHERE {events}\n\
                 GROUP BY sourceIPAddress\nORDER BY calls DESC, sourceIPAddress\nLIMIT 20"
            ),
        ),
        FigureSpec::new(
            "principals.new",
            "Principals first seen in the period",
            "Principals whose first event in the lake is in the period (at most 100; newPrincipals counts them all).",
            format!(
                "SELECT principal, firstSeen, calls, count(*) OVER () AS newPrincipals\nFROM (\n  \
                 SELECT {PRINCIPAL_SQL} AS principal, min(eventTime) AS firstSeen, count(*) AS calls\n  \
                 FROM events\n  WHERE {history}\n  GROUP BY 1\n)\nWHERE firstSeen >= {since}\n\
                 ORDER BY firstSeen, principal\nLIMIT 100"
            ),
        ),
        FigureSpec::new(
            "principals.newRegions",
            "Regions first used in the period",
            "Account and region pairs whose first event in the lake is in the period.",
            format!(
                "SELECT account, region, firstSeen, calls\nFROM (\n  \
                 SELECT recipientAccountId AS account, awsRegion AS region, min(eventTime) AS firstSeen, count(*) AS calls\n  \
                 FROM events\n  WHERE {history}\n  GROUP BY 1, 2\n)\nWHERE firstSeen >= {since}\n\
                 ORDER BY firstSeen, account, region\nLIMIT 100"
            ),
        ),
        FigureSpec::new(
            "principals.newAddresses",
            "Source addresses first seen in the period",
            "IP addresses (not AWS service names) whose first event in the lake is in the period \
             (at most 100; newAddresses counts them all).",
            format!(
                "SELECT sourceIPAddress, firstSeen, calls, principals, count(*) OVER () AS newAddresses\nFROM (\n  \
                 SELECT sourceIPAddress, min(eventTime) AS firstSeen, count(*) AS calls,\n    \
                 count(DISTINCT {PRINCIPAL_SQL}) AS principals\n  \
                 FROM events\n  WHERE {history} AND sourceIPAddress NOT LIKE '%.amazonaws.com'\n    \
                 AND sourceIPAddress <> 'AWS Internal'\n  GROUP BY sourceIPAddress\n)\nWHERE firstSeen >= {since}\n\
                 ORDER BY firstSeen, sourceIPAddress\nLIMIT 100"
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_names_round_trip_and_a_wrong_one_lists_them() {
        for section in Section::ALL {
            assert_eq!(section.name().parse::<Section>(), Ok(section));
        }
        assert_eq!("SignIns".parse::<Section>(), Ok(Section::SignIns));
        let wrong = "rooot".parse::<Section>();
        assert!(wrong.is_err_and(|e| e.contains("coverage, activity")));
    }
}
