//! `trailhound policy`: the IAM policy that allows what a principal did in the lake.

use std::io::Write;
use std::ops::ControlFlow;

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use serde::Serialize;
use trailhound_policy::attached::{Verdict, granted_actions, held_policies, is_data_event_action};
use trailhound_policy::{Call, Resources, Usage};
use trailhound_query::{QueryEngine, sql_string};

use crate::cli::{GlobalArgs, PolicyArgs, PolicyFormat, ResourceMode};
use crate::exit;

/// The SQL condition selecting the principal's events, and how the principal reads.
fn principal_condition(principal: &str) -> anyhow::Result<(String, String)> {
    let text = principal.trim();
    let issuer = "userIdentity.sessionContext.sessionIssuer";
    if let Some(rest) = text.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let (service, account, resource) = match parts.as_slice() {
            [_, service, _, account, resource] => (*service, *account, *resource),
            _ => anyhow::bail!("{text} is not an ARN of a role, a user or a role session"),
        };
        return Ok(match (service, resource.split_once('/')) {
            ("iam", Some(("role", _))) => (
                format!("{issuer}.arn = {}", sql_string(text)),
                format!("role {text}"),
            ),
            ("sts", Some(("assumed-role", session))) => {
                let role = session.split('/').next().unwrap_or(session);
                (
                    format!(
                        "{issuer}.userName = {} AND {issuer}.accountId = {}",
                        sql_string(role),
                        sql_string(account)
                    ),
                    format!("role {role} of account {account} (from the session {text})"),
                )
            }
            ("iam", Some(("user", _))) => (
                format!(
                    "userIdentity.arn = {} AND userIdentity.type = 'IAMUser'",
                    sql_string(text)
                ),
                format!("user {text}"),
            ),
            ("iam", None) if resource == "root" => (
                format!(
                    "userIdentity.type = 'Root' AND userIdentity.accountId = {}",
                    sql_string(account)
                ),
                format!("the root user of {account}"),
            ),
            _ => anyhow::bail!(
                "{text}: give a role (arn:aws:iam::ACCOUNT:role/NAME), a user (arn:aws:iam::ACCOUNT:user/NAME) or a role session (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION)"
            ),
        });
    }
    Ok(match text.split_once('/') {
        Some(("role", name)) => (
            format!(
                "{issuer}.userName = {}",
                sql_string(name.rsplit('/').next().unwrap_or(name))
            ),
            format!("role {name}"),
        ),
        Some(("user", name)) => (
            format!(
                "userIdentity.userName = {} AND userIdentity.type = 'IAMUser'",
                sql_string(name)
            ),
            format!("user {name}"),
        ),
        _ => (
            format!(
                "({issuer}.userName = {name} OR (userIdentity.userName = {name} AND userIdentity.type = 'IAMUser'))",
                name = sql_string(text)
            ),
            format!("{text} (a role or a user of that name)"),
        ),
    })
}

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
    let (condition, who) = principal_condition(&args.principal)?;
    let now = chrono::Utc::now();
    let since = args.since.resolve(now);
    let until = args.until.map_or(now, |u| u.resolve(now));
    let stamp =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let sql = format!(
        "SELECT CAST(eventTime AS VARCHAR) AS time, eventSource, eventName, errorCode, requestParameters, \
         resources, recipientAccountId, awsRegion, \
         coalesce(userIdentity.sessionContext.sessionIssuer.arn, userIdentity.arn) AS who FROM events \
         WHERE {condition} AND eventTime >= TIMESTAMP '{}' AND eventTime < TIMESTAMP '{}'",
        stamp(since),
        stamp(until)
    );
    let dir = global.data_dir()?;
    let engine = QueryEngine::open(&dir)
        .with_context(|| format!("cannot open the lake in {}", dir.display()))?;
    let mut usage = Usage::default();
    let mut arns = std::collections::BTreeSet::new();
    engine.sql_for_each(
        &sql,
        |batch: &RecordBatch| -> anyhow::Result<ControlFlow<()>> {
            for row in 0..batch.num_rows() {
                let parse = |column| {
                    text(batch, column, row)
                        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                };
                let (request, resources) = (parse(4), parse(5));
                let (source, name) = (
                    text(batch, 1, row).unwrap_or_default(),
                    text(batch, 2, row).unwrap_or_default(),
                );
                let (account, region) = (
                    text(batch, 6, row).unwrap_or_default(),
                    text(batch, 7, row).unwrap_or_default(),
                );
                let call = Call {
                    event_source: &source,
                    event_name: &name,
                    request: request.as_ref(),
                    resources: resources.as_ref(),
                    account: &account,
                    region: &region,
                };
                let time = text(batch, 0, row).unwrap_or_default().replace(' ', "T");
                if let Some(arn) = text(batch, 8, row) {
                    arns.insert(arn);
                }
                usage.add(&call, &time, text(batch, 3, row).as_deref());
            }
            Ok(ControlFlow::Continue(()))
        },
    )?;
    if usage.events == 0 {
        eprintln!(
            "no events of {who} between {} and {}: check the name (`trailhound stats` lists the principals) and the period",
            stamp(since),
            stamp(until)
        );
        return Ok(exit::FOUND);
    }
    let resources = match args.resources {
        ResourceMode::Exact => Resources::Exact,
        ResourceMode::Wildcard => Resources::Wildcard,
    };
    let policy = usage.policy(resources);
    let granted = match &args.attached {
        Some(path) => Some(granted(
            path,
            &arns,
            &usage,
            &engine,
            &stamp(since),
            &stamp(until),
        )?),
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
                    "since": stamp(since),
                    "until": stamp(until),
                    "events": usage.events,
                    "policy": policy,
                    "policySize": policy.size(),
                    "actions": usage.actions.values().collect::<Vec<_>>(),
                    "denied": usage.denied,
                    "noPermission": usage.no_permission,
                    "unknown": usage.unknown,
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
    Ok(exit::OK)
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
fn granted(
    path: &std::path::Path,
    arns: &std::collections::BTreeSet<String>,
    usage: &Usage,
    engine: &QueryEngine,
    since: &str,
    until: &str,
) -> anyhow::Result<Vec<Granted>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let details: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not JSON: save `aws iam get-account-authorization-details` into it",
            path.display()
        )
    })?;
    let arn = match arns.iter().collect::<Vec<_>>().as_slice() {
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
    // Services whose data events the lake has in the period: there, an unused data action
    // is really unused.
    let mut logged = std::collections::BTreeSet::new();
    engine.sql_for_each(
        &format!(
            "SELECT DISTINCT eventSource FROM events WHERE eventCategory = 'Data' \
             AND eventTime >= TIMESTAMP '{since}' AND eventTime < TIMESTAMP '{until}'"
        ),
        |batch: &RecordBatch| -> anyhow::Result<ControlFlow<()>> {
            for row in 0..batch.num_rows() {
                if let Some(source) = self::text(batch, 0, row) {
                    logged.insert(source.trim_end_matches(".amazonaws.com").to_owned());
                }
            }
            Ok(ControlFlow::Continue(()))
        },
    )?;
    Ok(granted_actions(&held)
        .into_iter()
        .map(|(action, by)| {
            let service = action.split(':').next().unwrap_or_default();
            let verdict = if usage.actions.contains_key(&action) {
                Verdict::Used
            } else if is_data_event_action(&action) && !logged.contains(service) {
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
