//! Slack incoming webhooks: `text` for notifications, blocks for the details.

use serde_json::{Value, json};

use crate::Alert;

pub(crate) fn body(alert: &Alert) -> Value {
    let mut lines = Vec::new();
    for alerted in alert.findings.iter().take(10) {
        let f = &alerted.finding;
        let mut line = format!("• *{}* ({}) {}", f.rule_title, f.level.as_str(), f.summary);
        if let Some(time) = &f.time {
            line.push_str(&format!(" _at {time}_"));
        }
        lines.push(line);
    }
    if alert.findings.len() > 10 {
        lines.push(format!("…and {} more", alert.findings.len() - 10));
    }
    let mut context = Vec::new();
    if let Some(principal) = &alert.principal {
        context.push(format!("principal `{principal}`"));
    }
    if let Some(account) = &alert.account {
        context.push(format!("account `{account}`"));
    }
    json!({
        "text": alert.title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": truncate(&alert.title, 150)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": lines.join("\n")}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": if context.is_empty() { "Trailhound".to_owned() } else { context.join(" · ") }}]},
        ],
    })
}

/// Slack refuses header blocks over 150 characters.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}
