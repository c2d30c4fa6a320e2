//! Gathering a principal's calls from the lake's rows or from records, and marking the
//! actions its current policies grant: what the CLI and the API share.

use std::collections::{BTreeSet, HashMap};

use arrow::array::{Array, AsArray, RecordBatch};
use serde::Serialize;
use serde_json::Value;

use crate::attached::{
    AttachedError, Verdict, granted_actions, held_policies, is_data_event_action,
};
use crate::{Call, Needed, Principal, Usage, permissions};

/// The columns of `events` [`Gathered::add_rows`] reads, in order, for a `SELECT`.
pub const COLUMNS_SQL: &str = "CAST(eventTime AS VARCHAR), eventSource, eventName, errorCode, \
     requestParameters, resources, recipientAccountId, awsRegion, \
     coalesce(userIdentity.sessionContext.sessionIssuer.arn, userIdentity.arn)";

/// The SQL selecting `principal`'s events in `period` (an SQL condition on `eventTime`).
pub fn events_sql(principal: &Principal, period: &str) -> String {
    format!(
        "SELECT {COLUMNS_SQL} FROM events WHERE {} AND {period}",
        principal.sql()
    )
}

/// The SQL listing the services that have data events in `period`.
pub fn data_events_sql(period: &str) -> String {
    format!("SELECT DISTINCT eventSource FROM events WHERE eventCategory = 'Data' AND {period}")
}

/// One action the attached policies grant, and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct Granted {
    /// The action.
    pub action: String,
    /// Used, unused or not visible.
    pub verdict: Verdict,
    /// The policies granting it.
    pub by: Vec<String>,
}

/// What reading a principal's events found.
#[derive(Default)]
pub struct Gathered {
    /// The calls, folded.
    pub usage: Usage,
    /// The principal ARNs the events name (one, unless a bare name matched several).
    pub arns: BTreeSet<String>,
    /// Services with data events in what was read: there, an unused data action is really
    /// unused.
    pub data_events: BTreeSet<String>,
    /// What each distinct call needed: a role repeats the same calls all day.
    worked_out: HashMap<String, Needed>,
    /// Each principal's calls apart (`--group-by principal`), when asked for.
    pub by_principal: Option<std::collections::BTreeMap<String, Usage>>,
}

/// The parts of a record a policy needs.
struct Fields {
    time: String,
    event_source: String,
    event_name: String,
    error_code: Option<String>,
    request: Option<Value>,
    resources: Option<Value>,
    account: String,
    region: String,
}

fn text(batch: &RecordBatch, column: usize, row: usize) -> Option<String> {
    let column = batch.columns().get(column)?;
    if column.is_null(row) {
        return None;
    }
    if let Some(array) = column.as_string_opt::<i32>() {
        return Some(array.value(row).to_owned());
    }
    Some(column.as_string_view_opt()?.value(row).to_owned())
}

impl Gathered {
    /// Rows of [`events_sql`].
    pub fn add_rows(&mut self, batch: &RecordBatch) {
        for row in 0..batch.num_rows() {
            let column = |n| text(batch, n, row);
            let arn = column(8);
            if let Some(arn) = &arn {
                self.arns.insert(arn.clone());
            }
            let json = |n| column(n).and_then(|t| serde_json::from_str::<Value>(&t).ok());
            self.add_fields(
                arn.as_deref(),
                &Fields {
                    time: column(0).unwrap_or_default().replace(' ', "T"),
                    event_source: column(1).unwrap_or_default(),
                    event_name: column(2).unwrap_or_default(),
                    error_code: column(3),
                    request: json(4),
                    resources: json(5),
                    account: column(6).unwrap_or_default(),
                    region: column(7).unwrap_or_default(),
                },
            );
        }
    }

    /// Rows of [`data_events_sql`].
    pub fn add_data_event_sources(&mut self, batch: &RecordBatch) {
        for row in 0..batch.num_rows() {
            if let Some(source) = text(batch, 0, row) {
                self.data_events
                    .insert(source.trim_end_matches(".amazonaws.com").to_owned());
            }
        }
    }

    /// One record (its JSON text), if it is `principal`'s.
    pub fn add_record(&mut self, record: &str, principal: &Principal) {
        let Ok(event) = serde_json::from_str::<Value>(record) else {
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
        let arn = Principal::arn_in(&event);
        if let Some(arn) = arn {
            self.arns.insert(arn.to_owned());
        }
        self.add_fields(
            arn,
            &Fields {
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
            },
        );
    }

    fn add_fields(&mut self, arn: Option<&str>, fields: &Fields) {
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
            .or_insert_with(|| permissions(&call))
            .clone();
        if let Some(groups) = &mut self.by_principal {
            groups
                .entry(arn.unwrap_or("(no principal)").to_owned())
                .or_default()
                .add_needed(
                    &call,
                    needed.clone(),
                    &fields.time,
                    fields.error_code.as_deref(),
                );
        }
        self.usage
            .add_needed(&call, needed, &fields.time, fields.error_code.as_deref());
    }

    /// Everything, for tooling (`--format json`, the API): the policy, each action's use, the
    /// calls refused, needing nothing or unknown, each distinct call's actions, and the
    /// granted actions when the principal's policies were given.
    pub fn summary(
        &self,
        principal: &str,
        period: (Option<String>, Option<String>),
        resources: crate::Resources,
        granted: Option<&[Granted]>,
    ) -> Value {
        let policy = self.usage.policy(resources);
        serde_json::json!({
            "principal": principal,
            "since": period.0,
            "until": period.1,
            "events": self.usage.events,
            "policy": policy,
            // In IAM's own order (Version first), to show and copy as it is.
            "policyText": serde_json::to_string_pretty(&policy).unwrap_or_default(),
            "policySize": policy.size(),
            "actions": self.usage.actions.values().collect::<Vec<_>>(),
            "denied": self.usage.denied,
            "noPermission": self.usage.no_permission,
            "unknown": self.usage.unknown,
            "calls": self.usage.calls,
            "granted": granted,
        })
    }

    /// The actions the principal's policies in `details` (the output of `aws iam
    /// get-account-authorization-details`) grant, each marked used, unused or not visible;
    /// the principal is the one ARN its events named.
    ///
    /// # Errors
    ///
    /// When the events named several principals (a bare name in two accounts), or the file
    /// does not hold this one.
    pub fn granted(&self, details: &Value) -> Result<Vec<Granted>, AttachedError> {
        let arn = match self.arns.iter().collect::<Vec<_>>().as_slice() {
            [one] => (*one).clone(),
            several => {
                return Err(AttachedError::Shape(format!(
                    "the name matches {} principals ({}): give the full ARN of one",
                    several.len(),
                    several
                        .iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        };
        let held = held_policies(details, &arn)?;
        Ok(granted_actions(&held)
            .into_iter()
            .map(|(action, by)| {
                let service = action.split(':').next().unwrap_or_default();
                let verdict = if self.usage.actions.contains_key(&action) {
                    Verdict::Used
                } else if is_data_event_action(&action) && !self.data_events.contains(service) {
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
}
