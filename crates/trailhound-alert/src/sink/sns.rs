//! Amazon SNS Publish: the alert's JSON as the message, its title as the subject (what email
//! subscribers see), sent with the query protocol SNS speaks.

use crate::{Alert, AlertError};

/// The form body of a Publish call.
pub(crate) fn body(alert: &Alert, delivery: i64, topic_arn: &str) -> Result<Vec<u8>, AlertError> {
    let message = serde_json::to_string(&super::webhook::body(alert, delivery))
        .map_err(|err| AlertError::Internal(err.to_string()))?;
    Ok(form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "Publish")
        .append_pair("Version", "2010-03-31")
        .append_pair("TopicArn", topic_arn)
        .append_pair("Subject", &subject(&alert.title))
        .append_pair("Message", &message)
        .finish()
        .into_bytes())
}

/// SNS subjects: printable ASCII, no line breaks, under 100 characters.
fn subject(title: &str) -> String {
    let clean: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if clean.len() <= 99 {
        clean
    } else {
        format!("{}...", &clean[..96])
    }
}

/// Where to send: the configured endpoint, else the standard environment, else AWS.
pub(crate) fn endpoint(configured: Option<&str>, region: &str) -> String {
    configured
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_SNS").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| format!("https://sns.{region}.amazonaws.com/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_fit_what_sns_accepts() {
        assert_eq!(
            subject("[HIGH] StopLogging — by alice"),
            "[HIGH] StopLogging ? by alice"
        );
        let long = subject(&"x".repeat(300));
        assert_eq!(long.len(), 99);
        assert!(!subject("a\nb").contains('\n'));
    }
}
