//! `trailhound policy`: the IAM policy that allows what a principal did in the lake.

use std::io::Write;
use std::ops::ControlFlow;

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use serde::Serialize;
use trailhound_policy::attached::{Verdict, granted_actions, held_policies, is_data_event_action};
use trailhound_policy::{Call, Principal, Resources, Usage};
use trailhound_query::QueryEngine;

use crate::cli::{GlobalArgs, PolicyArgs, PolicyFormat, ResourceMode};
use crate::exit;

fn text(batch: &RecordBatch, column: usize, row: usize) -> Option<String> {
    let column = batch.column(column);
    if column.is_null(row) {
        return None;
    }
    if let Some(array) = column.as_string_opt::<i32>() {
        return Some(array.value(row).to_owned());
    }
    let view = column.as_string_view_opt()?;
    Some(view.value(row).to_owned())
}

pub(crate) fn run(args: PolicyArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let principal = Principal::parse(&args.principal).map_err(anyhow::Error::msg)?;
    let who = principal.describe();
    let now = chrono::Utc::now();
    let from_files = !args.paths.is_empty();
    let since = match args.since {
        Some(bound) => Some(bound.resolve(now)),
        None if from_files => None,
        None => Some(now - chrono::Duration::days(90)),
    };
    let until = args.until.map(|u| u.resolve(now));
    let stamp =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut seen = Seen::default();
    let read = if from_files {
        seen.read_files(&args.paths, &principal, since, until, global.quiet)?
    } else {
        seen.read_lake(global, &principal, since, until.unwrap_or(now))?
    };
    let usage = &seen.usage;
    let period = format!(
        "{} to {}",
        since.map_or("the first event".to_owned(), stamp),
        until.map_or("now".to_owned(), stamp)
    );
    if usage.events == 0 {
        eprintln!(
            "no events of {who} from {period}: check the name (`trailhound stats` lists the principals) and the period"
        );
        return Ok(exit::FOUND);
    }
    let resources = match args.resources {
        ResourceMode::Exact => Resources::Exact,
        ResourceMode::Wildcard => Resources::Wildcard,
    };
    let policy = usage.policy(resources);
    let granted = match &args.attached {
        Some(path) => Some(granted(path, &seen)?),
        None => None,
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        PolicyFormat::Policy => {
            serde_json::to_writer_pretty(&mut out, &policy)?;
            writeln!(out)?;
        }
        PolicyFormat::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({
                    "principal": who,
                    "since": since.map(stamp),
                    "until": until.map(stamp),
                    "events": usage.events,
                    "policy": policy,
                    "policySize": policy.size(),
                    "actions": usage.actions.values().collect::<Vec<_>>(),
                    "denied": usage.denied,
                    "noPermission": usage.no_permission,
                    "unknown": usage.unknown,
                    "calls": usage.calls,
                    "granted": granted,
                }),
            )?;
            writeln!(out)?;
        }
        PolicyFormat::Table => {
            let width = usage
                .actions
                .keys()
                .map(String::len)
                .max()
                .unwrap_or(6)
                .max(6);
            writeln!(
                out,
                "{:<width$}  {:>7}  {:<20}  {:<20}  resources",
                "action", "calls", "first used", "last used"
            )?;
            for used in usage.actions.values() {
                let resources: Vec<&str> = used.resources.iter().map(String::as_str).collect();
                writeln!(
                    out,
                    "{:<width$}  {:>7}  {:<20}  {:<20}  {}",
                    used.action,
                    used.count,
                    used.first_used,
                    used.last_used,
                    first_of(&resources, 3)
                )?;
            }
            for (title, list) in [
                ("attempted, not granted", &usage.denied),
                ("no action known (left out)", &usage.unknown),
            ] {
                if list.is_empty() {
                    continue;
                }
                writeln!(out, "\n{title}:")?;
                for call in list {
                    writeln!(
                        out,
                        "  {}:{} ×{}{}{}",
                        call.event_source.trim_end_matches(".amazonaws.com"),
                        call.event_name,
                        call.count,
                        call.error_code
                            .as_ref()
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default(),
                        if call.actions.is_empty() {
                            String::new()
                        } else {
                            format!(
                                " → {}",
                                call.actions.iter().cloned().collect::<Vec<_>>().join(", ")
                            )
                        }
                    )?;
                }
            }
        }
    }
    if let (PolicyFormat::Table, Some(granted)) = (args.format, &granted) {
        write_granted(&mut out, granted)?;
    }
    out.flush()?;
    if let (false, Some(granted)) = (global.quiet, &granted) {
        eprintln!(
            "attached policies grant {} actions: {} used, {} unused, {} not visible in CloudTrail (data events not logged)",
            granted.len(),
            granted
                .iter()
                .filter(|g| g.verdict == Verdict::Used)
                .count(),
            granted
                .iter()
                .filter(|g| g.verdict == Verdict::Unused)
                .count(),
            granted
                .iter()
                .filter(|g| g.verdict == Verdict::NotVisible)
                .count(),
        );
    }
    if !global.quiet {
        let inferred: Vec<&String> = usage.actions.values().flat_map(|a| &a.inferred).collect();
        for how in inferred {
            eprintln!("note: {how}");
        }
        eprintln!(
            "{who}: {} events, {} actions; {} call(s) refused and left out, {} of unknown action, {} needing no permission; policy {} characters",
            usage.events,
            usage.actions.len(),
            usage.denied.iter().map(|c| c.count).sum::<u64>(),
            usage.unknown.iter().map(|c| c.count).sum::<u64>(),
            usage.no_permission.iter().map(|c| c.count).sum::<u64>(),
            policy.size()
        );
        if policy.size() > args.max_size {
            eprintln!(
                "warning: the policy has {} characters, more than --max-size {}: a managed policy holds 6144; try --resources wildcard, or split it",
                policy.size(),
                args.max_size
            );
        }
    }
    Ok(read)
}

/// One action the attached policies grant, and what became of it.
#[derive(Debug, Serialize)]
struct Granted {
    action: String,
    verdict: Verdict,
    /// The policies granting it.
    by: Vec<String>,
}

/// The actions the principal's policies in `path` grant, each marked used, unused or not
/// visible; the principal is the one ARN its events name.
fn granted(path: &std::path::Path, seen: &Seen) -> anyhow::Result<Vec<Granted>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let details: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not JSON: save `aws iam get-account-authorization-details` into it",
            path.display()
        )
    })?;
    let arn = match seen.arns.iter().collect::<Vec<_>>().as_slice() {
        [one] => (*one).clone(),
        several => anyhow::bail!(
            "the name matches {} principals ({}): give the full ARN of one with --attached",
            several.len(),
            several
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let held = held_policies(&details, &arn).with_context(|| path.display().to_string())?;
    Ok(granted_actions(&held)
        .into_iter()
        .map(|(action, by)| {
            let service = action.split(':').next().unwrap_or_default();
            let verdict = if seen.usage.actions.contains_key(&action) {
                Verdict::Used
            } else if is_data_event_action(&action) && !seen.data_events.contains(service) {
                Verdict::NotVisible
            } else {
                Verdict::Unused
            };
            Granted {
                action,
                verdict,
                by: by.into_iter().collect(),
            }
        })
        .collect())
}

/// What reading the principal's events found.
#[derive(Default)]
struct Seen {
    usage: Usage,
    /// The principal ARNs the events name (one, unless a bare name matched several).
    arns: std::collections::BTreeSet<String>,
    /// Services with data events in what was read (any principal's): there, an unused data
    /// action is really unused.
    data_events: std::collections::BTreeSet<String>,
    /// What each distinct call needed.
    worked_out: std::collections::HashMap<String, trailhound_policy::Needed>,
}

impl Seen {
    /// The principal's events in the lake; returns the exit code reading warrants.
    fn read_lake(
        &mut self,
        global: &GlobalArgs,
        principal: &Principal,
        since: Option<chrono::DateTime<chrono::Utc>>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<u8> {
        let stamp =
            |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let period = format!(
            "{} eventTime < TIMESTAMP '{}'",
            since
                .map(|s| format!("eventTime >= TIMESTAMP '{}' AND", stamp(s)))
                .unwrap_or_default(),
            stamp(until)
        );
        let dir = global.data_dir()?;
        let engine = QueryEngine::open(&dir)
            .with_context(|| format!("cannot open the lake in {}", dir.display()))?;
        let sql = format!(
            "SELECT CAST(eventTime AS VARCHAR), eventSource, eventName, errorCode, requestParameters, \
             resources, recipientAccountId, awsRegion, \
             coalesce(userIdentity.sessionContext.sessionIssuer.arn, userIdentity.arn) \
             FROM events WHERE {} AND {period}",
            principal.sql()
        );
        engine.sql_for_each(
            &sql,
            |batch: &RecordBatch| -> anyhow::Result<ControlFlow<()>> {
                for row in 0..batch.num_rows() {
                    let column = |n| text(batch, n, row);
                    if let Some(arn) = column(8) {
                        self.arns.insert(arn);
                    }
                    let json = |n| {
                        column(n).and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    };
                    self.add_fields(&CallFields {
                        time: column(0).unwrap_or_default().replace(' ', "T"),
                        event_source: column(1).unwrap_or_default(),
                        event_name: column(2).unwrap_or_default(),
                        error_code: column(3),
                        request: json(4),
                        resources: json(5),
                        account: column(6).unwrap_or_default(),
                        region: column(7).unwrap_or_default(),
                    });
                }
                Ok(ControlFlow::Continue(()))
            },
        )?;
        engine.sql_for_each(
            &format!(
                "SELECT DISTINCT eventSource FROM events WHERE eventCategory = 'Data' AND {period}"
            ),
            |batch: &RecordBatch| -> anyhow::Result<ControlFlow<()>> {
                for row in 0..batch.num_rows() {
                    if let Some(source) = text(batch, 0, row) {
                        self.data_events
                            .insert(source.trim_end_matches(".amazonaws.com").to_owned());
                    }
                }
                Ok(ControlFlow::Continue(()))
            },
        )?;
        Ok(exit::OK)
    }

    /// The principal's events in files; returns the exit code reading warrants (2 when a
    /// file had to be skipped).
    fn read_files(
        &mut self,
        paths: &[String],
        principal: &Principal,
        since: Option<chrono::DateTime<chrono::Utc>>,
        until: Option<chrono::DateTime<chrono::Utc>>,
        quiet: bool,
    ) -> anyhow::Result<u8> {
        let started = std::time::Instant::now();
        let inputs = crate::cli::input_specs(paths)?;
        let options = trailhound_source::ReadOptions {
            selection: trailhound_source::Selection {
                since,
                until,
                ..trailhound_source::Selection::default()
            },
            ..trailhound_source::ReadOptions::default()
        };
        let mut reporter = crate::read_report::ReadReporter::new(quiet);
        trailhound_source::read(inputs, &options, |message| {
            reporter.observe(&message);
            if let trailhound_source::ReadMessage::Batch(batch) = &message {
                for record in batch.records() {
                    self.add(record, principal);
                }
            }
            ControlFlow::Continue(())
        });
        Ok(if reporter.finish(started.elapsed()).anything_skipped() {
            exit::INPUT_ERROR
        } else {
            exit::OK
        })
    }

    /// One record, if it is the principal's.
    fn add(&mut self, record: &str, principal: &Principal) {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(record) else {
            return;
        };
        let field = |name: &str| event[name].as_str().unwrap_or_default();
        if field("eventCategory") == "Data" {
            self.data_events.insert(
                field("eventSource")
                    .trim_end_matches(".amazonaws.com")
                    .to_owned(),
            );
        }
        if !principal.matches(&event) {
            return;
        }
        if let Some(arn) = Principal::arn_in(&event) {
            self.arns.insert(arn.to_owned());
        }
        let fields = CallFields {
            time: field("eventTime").to_owned(),
            event_source: field("eventSource").to_owned(),
            event_name: field("eventName").to_owned(),
            error_code: event["errorCode"].as_str().map(str::to_owned),
            request: event
                .get("requestParameters")
                .filter(|v| !v.is_null())
                .cloned(),
            resources: event.get("resources").filter(|v| !v.is_null()).cloned(),
            account: field("recipientAccountId").to_owned(),
            region: field("awsRegion").to_owned(),
        };
        self.add_fields(&fields);
    }

    /// One of the principal's calls. A role repeats the same calls with the same parameters
    /// all day: each distinct call is worked out once.
    fn add_fields(&mut self, fields: &CallFields) {
        let call = Call {
            event_source: &fields.event_source,
            event_name: &fields.event_name,
            request: fields.request.as_ref(),
            resources: fields.resources.as_ref(),
            account: &fields.account,
            region: &fields.region,
        };
        let key = format!(
            "{}\0{}\0{}\0{}\0{}\0{}",
            fields.event_source,
            fields.event_name,
            fields
                .request
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            fields
                .resources
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            fields.account,
            fields.region
        );
        let needed = self
            .worked_out
            .entry(key)
            .or_insert_with(|| trailhound_policy::permissions(&call))
            .clone();
        self.usage
            .add_needed(&call, needed, &fields.time, fields.error_code.as_deref());
    }
}

/// The parts of a record a policy needs.
struct CallFields {
    time: String,
    event_source: String,
    event_name: String,
    error_code: Option<String>,
    request: Option<serde_json::Value>,
    resources: Option<serde_json::Value>,
    account: String,
    region: String,
}

/// The granted actions by verdict, the unused ones counted per service.
fn write_granted(out: &mut dyn Write, granted: &[Granted]) -> std::io::Result<()> {
    writeln!(out, "\ngranted by the attached policies:")?;
    for verdict in [Verdict::Used, Verdict::NotVisible, Verdict::Unused] {
        let of: Vec<&Granted> = granted.iter().filter(|g| g.verdict == verdict).collect();
        let label = match verdict {
            Verdict::Used => "used",
            Verdict::NotVisible => "not visible in CloudTrail (data events not logged)",
            Verdict::Unused => "unused",
        };
        writeln!(out, "  {label}: {}", of.len())?;
        let mut per_service: std::collections::BTreeMap<&str, Vec<&str>> =
            std::collections::BTreeMap::new();
        for g in of {
            let (service, name) = g.action.split_once(':').unwrap_or((&g.action, ""));
            per_service.entry(service).or_default().push(name);
        }
        for (service, names) in per_service {
            writeln!(out, "    {service}: {}", first_of(&names, 8))?;
        }
    }
    Ok(())
}

/// The first `n` items, and how many more there are.
fn first_of(items: &[&str], n: usize) -> String {
    let shown = items.iter().take(n).copied().collect::<Vec<_>>().join(", ");
    match items.len().saturating_sub(n) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}
