//! Microsoft Teams workflow webhooks: a message holding one Adaptive Card.

use serde_json::{Value, json};

use crate::Alert;

pub(crate) fn body(alert: &Alert) -> Value {
    let mut blocks = vec![json!({
        "type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true,
        "text": alert.title,
    })];
    let facts: Vec<Value> = alert
        .findings
        .iter()
        .take(10)
        .map(|f| json!({"title": f.finding.rule_title, "value": f.finding.summary}))
        .collect();
    blocks.push(json!({"type": "FactSet", "facts": facts}));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": blocks,
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::tests::sample_alert;

    #[test]
    fn one_adaptive_card_in_a_message() {
        let body = body(&sample_alert());
        assert_eq!(body["type"], "message");
        let card = &body["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert!(
            card["content"]["body"][0]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("[HIGH]"))
        );
        assert_eq!(
            card["content"]["body"][1]["facts"][0]["title"],
            "CloudTrail logging stopped"
        );
    }
}
