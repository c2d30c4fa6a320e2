//! SQS queues that announce new objects (S3 event notifications, CloudTrail's SNS
//! notifications), for a monitor that reacts within seconds instead of polling a bucket.
//!
//! Messages are received with a visibility timeout and deleted only after the objects they
//! announce are in the lake; a crash in between makes them visible again, and the catalog
//! then skips what was already taken. Requests use SQS's JSON protocol, signed with the
//! credential chain of [`crate::aws`].

mod notification;

pub use notification::{Announced, announced};
use serde_json::{Value, json};

use crate::aws::AwsClient;
use crate::{S3Settings, SourceError};

/// A queue.
#[derive(Debug)]
pub struct SqsQueue {
    client: AwsClient,
    url: String,
    endpoint: String,
}

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// Its id: the same each time it is received.
    pub id: String,
    /// What deleting it takes.
    pub receipt: String,
    /// Its body.
    pub body: String,
}

impl SqsQueue {
    /// The queue at `url` (`https://sqs.<region>.amazonaws.com/<account>/<name>`, or a local
    /// server's equivalent). Requests go to the URL's host; the region is taken from it when
    /// it names one.
    ///
    /// # Errors
    ///
    /// [`SourceError::S3Config`] for a URL that is not a queue URL or unusable credentials.
    pub fn new(url: &str, settings: &S3Settings) -> Result<SqsQueue, SourceError> {
        let parsed = reqwest::Url::parse(url).map_err(|err| {
            SourceError::S3Config(format!(
                "{url:?} is not a queue URL ({err}); copy it from `aws sqs get-queue-url`"
            ))
        })?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.path_segments().is_none_or(|s| s.count() < 2)
        {
            return Err(SourceError::S3Config(format!(
                "{url:?} is not a queue URL: expected https://sqs.<region>.amazonaws.com/<account>/<queue>"
            )));
        }
        let region = host
            .strip_prefix("sqs.")
            .and_then(|rest| rest.split('.').next())
            .filter(|r| r.contains('-'));
        let endpoint = format!(
            "{}://{}{}/",
            parsed.scheme(),
            host,
            parsed.port().map(|p| format!(":{p}")).unwrap_or_default()
        );
        Ok(SqsQueue {
            client: AwsClient::new(settings, region)?,
            url: url.to_owned(),
            endpoint,
        })
    }

    /// The queue URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn call(&self, action: &str, request: &Value) -> Result<Value, SourceError> {
        let target = format!("AmazonSQS.{action}");
        let body =
            serde_json::to_vec(request).map_err(|err| SourceError::Internal(err.to_string()))?;
        let answer = self.client.post(
            "sqs",
            &self.endpoint,
            &[
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amz-target", &target),
            ],
            body,
        )?;
        if answer.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&answer).map_err(|err| SourceError::Remote {
            location: self.url.clone(),
            reason: format!("{action}: unreadable answer: {err}"),
        })
    }

    /// Asks the queue how many messages wait: proves at start-up that the URL, the endpoint
    /// and the credentials work.
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when the queue cannot be reached or refuses.
    pub fn waiting(&self) -> Result<u64, SourceError> {
        let answer = self.call(
            "GetQueueAttributes",
            &json!({"QueueUrl": self.url, "AttributeNames": ["ApproximateNumberOfMessages"]}),
        )?;
        Ok(answer
            .pointer("/Attributes/ApproximateNumberOfMessages")
            .and_then(Value::as_str)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }

    /// Up to ten messages, waiting up to `wait_seconds` (0–20) for the first; each stays
    /// hidden from other receivers for `visibility_seconds` while it is handled.
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when the queue cannot be reached or refuses.
    pub fn receive(
        &self,
        wait_seconds: u64,
        visibility_seconds: u64,
    ) -> Result<Vec<QueueMessage>, SourceError> {
        let answer = self.call(
            "ReceiveMessage",
            &json!({
                "QueueUrl": self.url,
                "MaxNumberOfMessages": 10,
                "WaitTimeSeconds": wait_seconds.min(20),
                "VisibilityTimeout": visibility_seconds,
            }),
        )?;
        let messages = answer
            .get("Messages")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Ok(messages
            .iter()
            .filter_map(|m| {
                Some(QueueMessage {
                    id: m.get("MessageId")?.as_str()?.to_owned(),
                    receipt: m.get("ReceiptHandle")?.as_str()?.to_owned(),
                    body: m.get("Body")?.as_str()?.to_owned(),
                })
            })
            .collect())
    }

    /// Deletes handled messages (in batches of ten, as SQS allows).
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when the queue refuses; the messages then come back after
    /// their visibility timeout, which the catalog makes harmless.
    pub fn delete(&self, receipts: &[String]) -> Result<(), SourceError> {
        for chunk in receipts.chunks(10) {
            let entries: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, receipt)| json!({"Id": i.to_string(), "ReceiptHandle": receipt}))
                .collect();
            let answer = self.call(
                "DeleteMessageBatch",
                &json!({"QueueUrl": self.url, "Entries": entries}),
            )?;
            if let Some(failed) = answer.get("Failed").and_then(Value::as_array)
                && !failed.is_empty()
            {
                return Err(SourceError::Remote {
                    location: self.url.clone(),
                    reason: format!(
                        "{} messages could not be deleted: {}",
                        failed.len(),
                        Value::Array(failed.clone())
                    ),
                });
            }
        }
        Ok(())
    }
}
