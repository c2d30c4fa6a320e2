//! Routing: which findings go to which sinks, grouped by principal, throttled per rule and
//! principal and per sink. The result is recorded in the outbox in one transaction with the
//! position of the newest finding routed, so each finding is routed exactly once.

use std::collections::HashMap;

use trailhound_event::Level;
use trailhound_lake::{Catalog, NewAlert, StoredFinding};

use crate::config::{AlertConfig, RouteConfig};
use crate::{Alert, AlertError, AlertedFinding};

/// The catalog cursor holding the newest finding routed.
pub(crate) const CURSOR: &str = "alerts.findings";

/// Findings routed per pass, so that a backlog is worked through in bounded steps.
const BATCH: usize = 1000;

/// Sets the cursor to the newest finding if it was never set.
pub(crate) fn begin(catalog: &mut Catalog, now_us: i64) -> Result<(), AlertError> {
    if catalog.cursor(CURSOR)?.is_none() {
        let newest = catalog.last_finding_id()?;
        catalog.enqueue_alerts(&[], CURSOR, newest, now_us)?;
    }
    Ok(())
}

/// Whether the lake has never alerted (the cursor was never set).
pub(crate) fn is_new(catalog: &Catalog) -> Result<bool, AlertError> {
    Ok(catalog.cursor(CURSOR)?.is_none())
}

/// Starts alerting at the lake's first finding: its whole history is routed.
pub(crate) fn begin_with_history(catalog: &mut Catalog, now_us: i64) -> Result<(), AlertError> {
    if catalog.cursor(CURSOR)?.is_none() {
        catalog.enqueue_alerts(&[], CURSOR, 0, now_us)?;
    }
    Ok(())
}

/// Routes what is new; returns the alerts recorded to be sent.
pub(crate) fn route_new(
    config: &AlertConfig,
    catalog: &mut Catalog,
    now_us: i64,
) -> Result<u64, AlertError> {
    // A first start alerts on what is found from now on, not on the lake's whole history.
    let Some(cursor) = catalog.cursor(CURSOR)? else {
        begin(catalog, now_us)?;
        return Ok(0);
    };
    let mut queued = 0;
    let mut position = cursor;
    loop {
        let findings = catalog.findings_after(position, BATCH)?;
        let Some(last) = findings.last().map(|f| f.id) else {
            return Ok(queued);
        };
        let alerts = plan(config, catalog, &findings, now_us)?;
        queued += alerts.iter().filter(|a| !a.suppressed).count() as u64;
        catalog.enqueue_alerts(&alerts, CURSOR, last, now_us)?;
        position = last;
    }
}

/// The alerts for `findings`, throttled against what the outbox already holds.
fn plan(
    config: &AlertConfig,
    catalog: &Catalog,
    findings: &[StoredFinding],
    now_us: i64,
) -> Result<Vec<NewAlert>, AlertError> {
    let default_route = RouteConfig {
        sinks: config.sinks.iter().map(|s| s.name.clone()).collect(),
        min_level: Level::Medium,
        rules: Vec::new(),
        tags: Vec::new(),
        accounts: Vec::new(),
    };
    let routes = if config.routes.is_empty() {
        std::slice::from_ref(&default_route)
    } else {
        &config.routes[..]
    };
    // Per sink, the findings it gets, in order, each once however many routes send it.
    let mut per_sink: Vec<(String, Vec<&StoredFinding>)> = Vec::new();
    for finding in findings {
        // Triage has the last word: a suppressed finding is not alerted.
        if finding.status == trailhound_lake::FindingStatus::Suppressed {
            continue;
        }
        for route in routes.iter().filter(|r| matches(r, finding)) {
            for sink in &route.sinks {
                let slot = match per_sink.iter().position(|(name, _)| name == sink) {
                    Some(slot) => slot,
                    None => {
                        per_sink.push((sink.clone(), Vec::new()));
                        per_sink.len() - 1
                    }
                };
                let list = &mut per_sink[slot].1;
                if !list.iter().any(|f| f.id == finding.id) {
                    list.push(finding);
                }
            }
        }
    }
    let window_start =
        now_us - i64::try_from(config.alerts.dedup_window.as_micros()).unwrap_or(i64::MAX);
    let hour_start = now_us - 3_600_000_000;
    let mut alerts = Vec::new();
    for (sink, findings) in per_sink {
        let mut sent_this_hour = catalog.recent_alerts(&sink, None, hour_start)?;
        let mut seen_keys: Vec<String> = Vec::new();
        for group in groups(&findings, config.alerts.group_by_principal) {
            let mut fresh = Vec::new();
            let mut repeated = Vec::new();
            for finding in group {
                let key = dedup_key(finding);
                let recent = !config.alerts.dedup_window.is_zero()
                    && (seen_keys.contains(&key)
                        || catalog.recent_alerts(&sink, Some(&key), window_start)? > 0);
                seen_keys.push(key);
                if recent {
                    repeated.push(finding);
                } else {
                    fresh.push(finding);
                }
            }
            let over_rate = sent_this_hour >= config.alerts.max_per_hour;
            if !fresh.is_empty() {
                if !over_rate {
                    sent_this_hour += 1;
                }
                alerts.push(new_alert(&sink, &fresh, over_rate)?);
            }
            if !repeated.is_empty() {
                alerts.push(new_alert(&sink, &repeated, true)?);
            }
        }
    }
    Ok(alerts)
}

fn matches(route: &RouteConfig, stored: &StoredFinding) -> bool {
    let finding = &stored.finding;
    let any = |patterns: &[String], values: &mut dyn Iterator<Item = &str>| {
        let values: Vec<&str> = values.collect();
        patterns.is_empty()
            || patterns.iter().any(|p| {
                glob::Pattern::new(p).is_ok_and(|pattern| values.iter().any(|v| pattern.matches(v)))
            })
    };
    finding.level >= route.min_level
        && any(&route.rules, &mut std::iter::once(finding.rule_id.as_str()))
        && any(&route.tags, &mut finding.tags.iter().map(String::as_str))
        && any(
            &route.accounts,
            &mut finding.account.iter().map(String::as_str),
        )
}

/// Findings on one principal together (in order of first appearance), or each alone.
fn groups<'f>(findings: &[&'f StoredFinding], by_principal: bool) -> Vec<Vec<&'f StoredFinding>> {
    if !by_principal {
        return findings.iter().map(|f| vec![*f]).collect();
    }
    let mut order: Vec<Option<&str>> = Vec::new();
    let mut grouped: HashMap<Option<&str>, Vec<&StoredFinding>> = HashMap::new();
    for finding in findings {
        let principal = finding.finding.principal.as_deref();
        if !grouped.contains_key(&principal) {
            order.push(principal);
        }
        grouped.entry(principal).or_default().push(finding);
    }
    order
        .into_iter()
        .filter_map(|p| grouped.remove(&p))
        .collect()
}

/// Rule, principal and account: "the same thing again".
fn dedup_key(finding: &StoredFinding) -> String {
    let f = &finding.finding;
    format!(
        "{}|{}|{}",
        f.rule_id,
        f.principal.as_deref().unwrap_or("-"),
        f.account.as_deref().unwrap_or("-")
    )
}

fn new_alert(
    sink: &str,
    findings: &[&StoredFinding],
    suppressed: bool,
) -> Result<NewAlert, AlertError> {
    let alert = Alert::new(
        findings
            .iter()
            .map(|f| AlertedFinding {
                id: f.id,
                finding: f.finding.clone(),
            })
            .collect(),
    );
    let mut keys: Vec<String> = findings.iter().map(|f| dedup_key(f)).collect();
    keys.dedup();
    Ok(NewAlert {
        sink: sink.to_owned(),
        dedup_key: keys.join("\n"),
        finding_ids: findings.iter().map(|f| f.id).collect(),
        payload: serde_json::to_string(&alert)
            .map_err(|err| AlertError::Internal(err.to_string()))?,
        suppressed,
    })
}

#[cfg(test)]
mod tests {
    use trailhound_event::Finding;

    use super::*;

    fn finding(rule: &str, level: Level, principal: &str, tags: &[&str], time: &str) -> Finding {
        Finding {
            rule_id: rule.to_owned(),
            rule_title: rule.to_owned(),
            level,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            time: Some(time.to_owned()),
            first_time: None,
            event_count: 1,
            event_ids: vec![format!("{rule}-{principal}-{time}")],
            event_source: None,
            event_name: None,
            principal: Some(principal.to_owned()),
            account: Some("111122223333".to_owned()),
            region: None,
            source_ip: None,
            summary: format!("{rule} by {principal}"),
        }
    }

    fn config(text: &str) -> Result<AlertConfig, AlertError> {
        AlertConfig::parse(text, "test")
    }

    #[test]
    fn routes_group_by_principal_and_throttle_repeats() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut catalog = Catalog::open(&dir.path().join("catalog.sqlite"))?;
        let config = config(
            r#"
            [[sinks]]
            name = "pager"
            type = "stdout"
            [[sinks]]
            name = "log"
            type = "stdout"
            [[routes]]
            sinks = ["pager"]
            min_level = "high"
            tags = ["attack.defense*"]
            [[routes]]
            sinks = ["log"]
            min_level = "low"
            "#,
        )?;
        // Findings before the first start are history, not alerts.
        catalog.add_findings(&[finding(
            "old",
            Level::Critical,
            "eve",
            &[],
            "2024-07-01T00:00:00Z",
        )])?;
        assert_eq!(route_new(&config, &mut catalog, 1_000_000)?, 0);

        catalog.add_findings(&[
            finding(
                "stop-logging",
                Level::High,
                "alice",
                &["attack.defense_evasion"],
                "2024-07-02T00:00:01Z",
            ),
            finding(
                "delete-trail",
                Level::High,
                "alice",
                &["attack.defense_evasion"],
                "2024-07-02T00:00:02Z",
            ),
            finding(
                "recon",
                Level::Low,
                "bob",
                &["attack.discovery"],
                "2024-07-02T00:00:03Z",
            ),
            finding(
                "noise",
                Level::Informational,
                "bob",
                &[],
                "2024-07-02T00:00:04Z",
            ),
        ])?;
        assert_eq!(route_new(&config, &mut catalog, 2_000_000)?, 3);
        let pending = catalog.pending_alerts()?;
        let summary: Vec<(String, Vec<i64>)> = pending
            .iter()
            .map(|a| (a.sink.clone(), a.finding_ids.clone()))
            .collect();
        // alice's two findings are one alert on each sink; bob's low one only goes to the log.
        assert_eq!(
            summary,
            vec![
                ("pager".to_owned(), vec![2, 3]),
                ("log".to_owned(), vec![2, 3]),
                ("log".to_owned(), vec![4]),
            ]
        );
        let alert: Alert = serde_json::from_str(&pending[0].payload)?;
        assert_eq!(alert.principal.as_deref(), Some("alice"));
        assert!(alert.title.starts_with("[HIGH] "), "{}", alert.title);
        assert!(
            alert.title.ends_with("(+1 more findings on alice)"),
            "{}",
            alert.title
        );

        // Nothing new: nothing routed again.
        assert_eq!(route_new(&config, &mut catalog, 3_000_000)?, 0);

        // The same rule on the same principal within the window is recorded, not sent.
        catalog.add_findings(&[finding(
            "stop-logging",
            Level::High,
            "alice",
            &["attack.defense_evasion"],
            "2024-07-02T01:00:00Z",
        )])?;
        assert_eq!(route_new(&config, &mut catalog, 4_000_000)?, 0);
        assert_eq!(catalog.outbox_counts()?.suppressed, 2);
        Ok(())
    }

    #[test]
    fn the_hourly_cap_records_the_excess_as_suppressed() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut catalog = Catalog::open(&dir.path().join("catalog.sqlite"))?;
        let config = config(
            "[alerts]\nmax_per_hour = 2\ngroup_by_principal = false\n[[sinks]]\nname = \"s\"\ntype = \"stdout\"\n",
        )?;
        route_new(&config, &mut catalog, 0)?;
        let many: Vec<Finding> = (0..5)
            .map(|i| {
                finding(
                    &format!("rule-{i}"),
                    Level::High,
                    "carol",
                    &[],
                    "2024-07-02T00:00:00Z",
                )
            })
            .collect();
        catalog.add_findings(&many)?;
        assert_eq!(route_new(&config, &mut catalog, 1_000_000)?, 2);
        let counts = catalog.outbox_counts()?;
        assert_eq!((counts.pending, counts.suppressed), (2, 3));
        Ok(())
    }
}
