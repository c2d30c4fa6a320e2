//! Least privilege from what a principal actually did (`trailhound policy`).
//!
//! ```text
//! CloudTrail event ──derive: (eventSource, eventName) → IAM actions (iam-dataset's map);
//!                   resources from resources[] or the request, through the SAR's ARN formats
//!                   ──► Permission { action, resource }
//! the principal's events ──Usage (counts, first and last use; denied calls apart)──►
//!                   PolicyDocument (statements grouped by resources; --resources wildcard)
//! ```
//!
//! The tables come from scripts/iam-action-table: iam-dataset's map of each SDK operation to
//! the actions it needs (S3's renames, calls needing several actions, iam:PassRole, calls
//! needing none) and AWS's Service Authorization Reference (every action that exists, with
//! its resource types' ARN formats). An action not in the reference is never produced.
#![deny(missing_docs)]

pub mod attached;
mod derive;
pub mod document;
mod gather;
mod principal;
mod table;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use derive::{Call, Needed, Permission, permissions};
pub use document::{Effect, OneOrMany, PolicyDocument, Statement};
pub use gather::{COLUMNS_SQL, Gathered, Granted, data_events_sql, events_sql};
pub use principal::Principal;
pub use table::known_action;

/// Error codes of calls IAM refused: attempted, not granted.
pub fn is_denied(error_code: &str) -> bool {
    matches!(
        error_code,
        "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "Client.UnauthorizedOperation"
            | "UnauthorizedAccess"
            | "AuthorizationError"
            | "AuthorizationErrorException"
            | "Forbidden"
            | "ForbiddenException"
            | "NotAuthorized"
    ) || error_code.ends_with("UnauthorizedOperation")
        || error_code.starts_with("AccessDenied")
}

/// How resources are written in the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resources {
    /// The ARNs the calls named (`*` where none was named).
    #[default]
    Exact,
    /// `*` everywhere: actions only.
    Wildcard,
}

/// One action's use.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionUse {
    /// The action.
    pub action: String,
    /// The resources it was used on.
    pub resources: BTreeSet<String>,
    /// Calls that used it.
    pub count: u64,
    /// First use (RFC 3339).
    pub first_used: String,
    /// Last use.
    pub last_used: String,
    /// How a resource was guessed, when one was.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub inferred: BTreeSet<String>,
}

/// A call that was refused, or that no table knows.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallUse {
    /// `eventSource`.
    pub event_source: String,
    /// `eventName`.
    pub event_name: String,
    /// The actions it would have needed (none for a call no table knows).
    pub actions: BTreeSet<String>,
    /// The error code, for refused calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// How often.
    pub count: u64,
    /// Last time.
    pub last_seen: String,
}

/// What a principal did, call by call, folded.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Events read.
    pub events: u64,
    /// The actions used (successful calls), by action.
    pub actions: BTreeMap<String, ActionUse>,
    /// Calls refused: attempted, not granted, not in the policy.
    pub denied: Vec<CallUse>,
    /// Calls that need no permission.
    pub no_permission: Vec<CallUse>,
    /// Calls whose action no table names (left out of the policy, listed for review).
    pub unknown: Vec<CallUse>,
    /// The calls granted, each with the actions it needed: how each action got in.
    pub calls: Vec<CallUse>,
}

fn note(
    list: &mut Vec<CallUse>,
    call: &Call<'_>,
    actions: BTreeSet<String>,
    error: Option<&str>,
    time: &str,
) {
    let found = list.iter_mut().find(|c| {
        c.event_source == call.event_source
            && c.event_name == call.event_name
            && c.error_code.as_deref() == error
    });
    match found {
        Some(c) => {
            c.count += 1;
            if time > c.last_seen.as_str() {
                c.last_seen = time.to_owned();
            }
        }
        None => list.push(CallUse {
            event_source: call.event_source.to_owned(),
            event_name: call.event_name.to_owned(),
            actions,
            error_code: error.map(str::to_owned),
            count: 1,
            last_seen: time.to_owned(),
        }),
    }
}

/// The leading verb of an action's name: `Describe` of `DescribeInstances`.
fn verb(name: &str) -> &str {
    let end = name
        .char_indices()
        .skip(1)
        .find(|(_, c)| c.is_ascii_uppercase())
        .map_or(name.len(), |(i, _)| i);
    &name[..end]
}

impl Usage {
    /// The policy under `max_size` characters, widened only as far as needed and only in the
    /// steps asked for: first every resource `*`, then actions of a service sharing a verb
    /// merged into a wildcard (`ec2:Describe*`). Returns the policy and what was widened.
    pub fn policy_within(
        &self,
        resources: Resources,
        max_size: usize,
    ) -> (PolicyDocument, Vec<String>) {
        let mut widened = Vec::new();
        let policy = self.policy(resources);
        if policy.size() <= max_size {
            return (policy, widened);
        }
        let mut policy = self.policy(Resources::Wildcard);
        if resources == Resources::Exact {
            widened.push("every resource is * (the ARNs did not fit)".to_owned());
        }
        if policy.size() <= max_size {
            return (policy, widened);
        }
        let mut merged: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for action in self.actions.keys() {
            let (service, name) = action.split_once(':').unwrap_or((action, ""));
            merged
                .entry(format!("{service}:{}", verb(name)))
                .or_default()
                .insert(action.clone());
        }
        let actions: Vec<String> = merged
            .into_iter()
            .flat_map(|(prefix, members)| {
                if members.len() > 1 {
                    widened.push(format!(
                        "{prefix}* stands for {}",
                        members.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                    vec![format!("{prefix}*")]
                } else {
                    members.into_iter().collect()
                }
            })
            .collect();
        policy.statement = vec![Statement {
            sid: Some("UsedActions".to_owned()),
            effect: Effect::Allow,
            principal: None,
            not_principal: None,
            action: Some(OneOrMany::of(actions)),
            not_action: None,
            resource: Some(OneOrMany::One("*".to_owned())),
            not_resource: None,
            condition: None,
        }];
        (policy, widened)
    }

    /// Adds one event: `time` is its `eventTime`, `error_code` its `errorCode`.
    pub fn add(&mut self, call: &Call<'_>, time: &str, error_code: Option<&str>) {
        self.add_needed(call, permissions(call), time, error_code);
    }

    /// [`Usage::add`] with what the call needed already worked out (by [`permissions`]): the
    /// same call made again and again is worked out once.
    pub fn add_needed(
        &mut self,
        call: &Call<'_>,
        needed: Needed,
        time: &str,
        error_code: Option<&str>,
    ) {
        self.events += 1;
        match (needed, error_code) {
            (Needed::Unknown, _) => {
                note(&mut self.unknown, call, BTreeSet::new(), error_code, time)
            }
            (Needed::Nothing, _) => {
                note(&mut self.no_permission, call, BTreeSet::new(), None, time)
            }
            (Needed::Permissions(p), Some(code)) if is_denied(code) => {
                let actions = p.into_iter().map(|p| p.action).collect();
                note(&mut self.denied, call, actions, Some(code), time);
            }
            (Needed::Permissions(permissions), _) => {
                // A call that failed for another reason (a missing bucket, throttling) was
                // still authorized: it counts.
                let actions = permissions.iter().map(|p| p.action.clone()).collect();
                note(&mut self.calls, call, actions, None, time);
                for p in permissions {
                    let entry = self
                        .actions
                        .entry(p.action.clone())
                        .or_insert_with(|| ActionUse {
                            action: p.action.clone(),
                            first_used: time.to_owned(),
                            last_used: time.to_owned(),
                            ..ActionUse::default()
                        });
                    entry.count += 1;
                    entry.resources.insert(p.resource);
                    entry.inferred.extend(p.inferred);
                    if time < entry.first_used.as_str() {
                        entry.first_used = time.to_owned();
                    }
                    if time > entry.last_used.as_str() {
                        entry.last_used = time.to_owned();
                    }
                }
            }
        }
    }

    /// The policy allowing exactly the actions used: one statement per service and set of
    /// resources, a resource list of `*` when any call named none.
    pub fn policy(&self, resources: Resources) -> PolicyDocument {
        let mut groups: BTreeMap<(String, Vec<String>), Vec<String>> = BTreeMap::new();
        for (action, used) in &self.actions {
            let service = action.split(':').next().unwrap_or_default().to_owned();
            let set: Vec<String> =
                if resources == Resources::Wildcard || used.resources.contains("*") {
                    vec!["*".to_owned()]
                } else {
                    used.resources.iter().cloned().collect()
                };
            groups
                .entry((service, set))
                .or_default()
                .push(action.clone());
        }
        let mut counters: BTreeMap<String, usize> = BTreeMap::new();
        let statement = groups
            .into_iter()
            .map(|((service, set), actions)| {
                let n = counters.entry(service.clone()).or_default();
                *n += 1;
                let sid: String = service
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .map(|w| {
                        let mut chars = w.chars();
                        chars
                            .next()
                            .map(|f| f.to_ascii_uppercase().to_string() + chars.as_str())
                            .unwrap_or_default()
                    })
                    .collect();
                Statement {
                    sid: Some(if *n == 1 { sid } else { format!("{sid}{n}") }),
                    effect: Effect::Allow,
                    principal: None,
                    not_principal: None,
                    action: Some(OneOrMany::of(actions)),
                    not_action: None,
                    resource: Some(OneOrMany::of(set)),
                    not_resource: None,
                    condition: None,
                }
            })
            .collect();
        PolicyDocument {
            version: document::VERSION.to_owned(),
            id: None,
            statement,
        }
    }
}
