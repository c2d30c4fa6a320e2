//! Signals on credential chains, concluded while the index is updated: what only the chain
//! (or AWS's address ranges) shows, beside the pack's per-event rules (a role assuming
//! itself).
//!
//! | rule | fires when |
//! |---|---|
//! | `trailhound-chain-instance-credentials-outside-aws` | an EC2 instance role's temporary key is used from a public address outside AWS's ranges (first use from each address) |
//! | `trailhound-chain-session-address-changed` | a temporary key (one session) is used from a public address outside AWS after another address (first use from each); an instance role's key is left to the rule above |
//! | `trailhound-chain-new-role-edge` | a role's session assumes a role no session of it assumed before (after the learning period) |
//! | `trailhound-chain-too-long` | a session is handed out more role hops away from its origin than allowed |
//! | `trailhound-chain-source-identity-missing` | a role whose sessions so far all carried a source identity gets one without |

use std::collections::{HashMap, HashSet};

use trailhound_event::{Finding, Level};
use trailhound_lake::{Catalog, CredentialGrant, GrantLookup};

use crate::IdentityError;
use crate::grant::Call;
use crate::trace::format_us;

/// How the index is updated and the chain signals judge.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Rows whose counts and grants one step of an update holds in memory and records in one
    /// transaction (see [`crate::ROWS_PER_UPDATE`]).
    pub rows_per_update: u64,
    /// Most role hops from an origin before `trailhound-chain-too-long` fires.
    pub max_chain: usize,
    /// How much history the lake must hold before a role-to-role edge counts as new (µs).
    pub learning_us: i64,
    /// Whether to conclude the signals at all (`ingest --no-detect` indexes without them).
    pub enabled: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rows_per_update: crate::ROWS_PER_UPDATE,
            max_chain: 3,
            learning_us: 7 * 86_400_000_000,
            enabled: true,
        }
    }
}

struct Rule {
    id: &'static str,
    title: &'static str,
    level: Level,
    tags: &'static [&'static str],
}

impl Rule {
    /// A finding of this rule on one event at `time_us`; the caller fills in the event.
    fn finding(&self, time_us: i64, event_id: Option<String>, summary: String) -> Finding {
        let time = format_us(time_us);
        Finding {
            rule_id: self.id.to_owned(),
            rule_title: self.title.to_owned(),
            level: self.level,
            tags: self.tags.iter().map(|t| (*t).to_owned()).collect(),
            time: Some(time.clone()),
            first_time: Some(time),
            event_count: 1,
            event_ids: event_id.into_iter().collect(),
            event_source: None,
            event_name: None,
            principal: None,
            account: None,
            region: None,
            source_ip: None,
            summary,
        }
    }
}

const OUTSIDE: Rule = Rule {
    id: "trailhound-chain-instance-credentials-outside-aws",
    title: "EC2 instance credentials used from outside AWS",
    level: Level::High,
    tags: &[
        "attack.credential-access",
        "attack.t1552.005",
        "attack.t1078.004",
    ],
};

const MOVED: Rule = Rule {
    id: "trailhound-chain-session-address-changed",
    title: "Temporary credentials used from a second address",
    level: Level::Medium,
    tags: &[
        "attack.credential-access",
        "attack.t1550.001",
        "attack.t1078.004",
    ],
};

const NEW_EDGE: Rule = Rule {
    id: "trailhound-chain-new-role-edge",
    title: "A role assumed another role for the first time",
    level: Level::Low,
    tags: &[
        "attack.lateral-movement",
        "attack.privilege-escalation",
        "attack.t1550.001",
    ],
};

const TOO_LONG: Rule = Rule {
    id: "trailhound-chain-too-long",
    title: "Long role chain",
    level: Level::Medium,
    tags: &[
        "attack.lateral-movement",
        "attack.defense-evasion",
        "attack.t1550.001",
    ],
};

const NO_SOURCE_IDENTITY: Rule = Rule {
    id: "trailhound-chain-source-identity-missing",
    title: "Role session without the source identity its sessions carry",
    level: Level::Medium,
    tags: &["attack.defense-evasion", "attack.t1550.001"],
};

/// Whether `call` was made with an EC2 instance role's temporary credentials: an assumed
/// role whose session is named after the instance (`AROA…:i-0abc…`).
pub fn is_instance_session(call: &Call<'_>) -> bool {
    call.kind == Some("AssumedRole")
        && call.access_key_id.is_some_and(|k| k.starts_with("ASIA"))
        && call
            .principal_id
            .and_then(|id| id.rsplit_once(':'))
            .is_some_and(|(_, session)| is_instance_id(session))
}

fn is_instance_id(name: &str) -> bool {
    name.strip_prefix("i-").is_some_and(|hex| {
        (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The first call of one instance key from one outside address.
#[derive(Debug, Clone)]
pub struct UseFromOutside {
    pub(crate) key: String,
    pub(crate) arn: Option<String>,
    pub(crate) account: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) ip: String,
    pub(crate) time_us: i64,
    pub(crate) event_id: Option<String>,
    pub(crate) event_source: Option<String>,
    pub(crate) event_name: Option<String>,
    pub(crate) user_agent: Option<String>,
    /// Whether the key is an EC2 instance role's.
    pub(crate) instance: bool,
}

impl UseFromOutside {
    pub(crate) fn of(call: &Call<'_>, region: Option<&str>) -> UseFromOutside {
        let own = |v: Option<&str>| v.map(str::to_owned);
        UseFromOutside {
            key: call.access_key_id.unwrap_or_default().to_owned(),
            arn: own(call.arn),
            account: own(call.account),
            region: own(region),
            ip: call.source_ip.unwrap_or_default().to_owned(),
            time_us: call.time_us,
            event_id: own(call.event_id),
            event_source: own(call.event_source),
            event_name: own(call.event_name),
            user_agent: own(call.user_agent),
            instance: is_instance_session(call),
        }
    }
}

fn finding(rule: &Rule, grant: &CredentialGrant, summary: String) -> Finding {
    Finding {
        event_source: Some("sts.amazonaws.com".to_owned()),
        event_name: Some(grant.method.clone()),
        principal: grant.caller_arn.clone(),
        account: grant.account.clone(),
        source_ip: grant.source_ip.clone(),
        ..rule.finding(grant.issued_us, Some(grant.event_id.clone()), summary)
    }
}

/// Concludes the signals of one index update against what the catalog already holds.
pub(crate) struct Signals<'c> {
    catalog: &'c Catalog,
    settings: &'c Settings,
}

impl<'c> Signals<'c> {
    pub(crate) fn new(catalog: &'c Catalog, settings: &'c Settings) -> Self {
        Signals { catalog, settings }
    }

    /// The findings of `grants` (this update's, oldest first) and of the uses from outside.
    pub(crate) fn conclude(
        &self,
        grants: &[CredentialGrant],
        outside: Vec<UseFromOutside>,
    ) -> Result<Vec<Finding>, IdentityError> {
        let mut findings = Vec::new();
        if !self.settings.enabled {
            return Ok(findings);
        }
        self.outside(outside, &mut findings)?;
        let by_key: HashMap<&str, &CredentialGrant> = grants
            .iter()
            .filter_map(|g| Some((g.access_key_id.as_deref()?, g)))
            .collect();
        let (lake_from, _) = self.catalog.event_span_us()?;
        // What the catalog says is asked once per role, pair and key, not once per grant: an
        // update can hold a hundred thousand grants of a few dozen roles.
        let mut edges_here: HashSet<(&str, &str)> = HashSet::new();
        let mut roles_here: HashMap<&str, (u64, u64)> = HashMap::new();
        let mut roles_before: HashMap<&str, (u64, u64)> = HashMap::new();
        let mut parents: HashMap<String, Option<CredentialGrant>> = HashMap::new();
        for grant in grants {
            let Some(role) = grant.role_arn.as_deref() else {
                continue;
            };
            if !grant.method.starts_with("AssumeRole") {
                continue;
            }
            let hops = self.hops(grant, &by_key, &mut parents)?;
            if hops > self.settings.max_chain {
                findings.push(finding(
                    &TOO_LONG,
                    grant,
                    format!(
                        "{} assumed {role}: {hops} role hops from its origin (more than {})",
                        grant.caller_arn.as_deref().unwrap_or("a session"),
                        self.settings.max_chain
                    ),
                ));
            }
            if let Some(from) = grant.caller_issuer.as_deref() {
                let learned = lake_from
                    .is_some_and(|from| grant.issued_us - from >= self.settings.learning_us);
                let new = !edges_here.contains(&(from, role))
                    && !self.catalog.role_edge_before(from, role, grant.issued_us)?;
                if learned && new {
                    findings.push(finding(
                        &NEW_EDGE,
                        grant,
                        format!("a session of {from} assumed {role}, which no session of it assumed before"),
                    ));
                }
                edges_here.insert((from, role));
            }
            // The role's sessions recorded before this update's first grant of it, plus this
            // update's (a backfill interleaving older grants is counted from its start).
            let (before, with) = match roles_before.get(role) {
                Some(known) => *known,
                None => {
                    let known = self.catalog.role_sessions_before(role, grant.issued_us)?;
                    roles_before.insert(role, known);
                    known
                }
            };
            let here = roles_here.entry(role).or_default();
            let (all, carried) = (before + here.0, with + here.1);
            if grant.source_identity.is_none() && all > 0 && carried == all {
                findings.push(finding(
                    &NO_SOURCE_IDENTITY,
                    grant,
                    format!(
                        "{} assumed {role} without a source identity; its {all} earlier sessions all carried one",
                        grant.caller_arn.as_deref().unwrap_or("a session")
                    ),
                ));
            }
            here.0 += 1;
            here.1 += u64::from(grant.source_identity.is_some());
        }
        Ok(findings)
    }

    /// Role hops from the origin to the session `grant` hands out (1 for a session asked
    /// for by a user or a service).
    fn hops(
        &self,
        grant: &CredentialGrant,
        here: &HashMap<&str, &CredentialGrant>,
        recorded: &mut HashMap<String, Option<CredentialGrant>>,
    ) -> Result<usize, IdentityError> {
        let mut hops = 1;
        let mut seen = HashSet::new();
        let mut caller = grant.caller_key.clone();
        while let Some(key) = caller.take() {
            if !seen.insert(key.clone()) || hops > 64 {
                break;
            }
            let parent = match here.get(key.as_str()) {
                Some(parent) => Some((*parent).clone()),
                None => match recorded.get(&key) {
                    Some(known) => known.clone(),
                    None => {
                        let found = self
                            .catalog
                            .credential_grants(GrantLookup::Key(&key))?
                            .into_iter()
                            .next();
                        recorded.insert(key.clone(), found.clone());
                        found
                    }
                },
            };
            let Some(parent) = parent else { break };
            if parent.method.starts_with("AssumeRole") || parent.method == "SwitchRole" {
                hops += 1;
            }
            caller = parent.caller_key;
        }
        Ok(hops)
    }

    /// The first use of each (temporary key, outside address) of this update: from an
    /// instance role's key, always a finding; from another session's key, when the session
    /// was used from another address before.
    fn outside(
        &self,
        mut uses: Vec<UseFromOutside>,
        findings: &mut Vec<Finding>,
    ) -> Result<(), IdentityError> {
        // The same key and address in several files of one update: the first use counts.
        uses.sort_by(|a, b| {
            (&a.key, &a.ip, a.time_us, &a.event_id).cmp(&(&b.key, &b.ip, b.time_us, &b.event_id))
        });
        uses.dedup_by(|later, first| later.key == first.key && later.ip == first.ip);
        uses.sort_by(|a, b| (a.time_us, &a.event_id).cmp(&(b.time_us, &b.event_id)));
        let mut here: HashMap<&str, Vec<(i64, &str)>> = HashMap::new();
        for used in &uses {
            here.entry(used.key.as_str())
                .or_default()
                .push((used.time_us, used.ip.as_str()));
        }
        for used in &uses {
            let before = self.catalog.addresses_before(&used.key, used.time_us)?;
            if before.contains(&used.ip) {
                continue;
            }
            if !used.instance {
                let other = before
                    .iter()
                    .map(String::as_str)
                    .chain(
                        here.get(used.key.as_str())
                            .into_iter()
                            .flatten()
                            .filter(|(time, _)| *time < used.time_us)
                            .map(|(_, ip)| *ip),
                    )
                    .filter(|ip| *ip != used.ip && ip.parse::<std::net::IpAddr>().is_ok())
                    .min();
                if let Some(other) = other {
                    findings.push(moved(used, other));
                }
                continue;
            }
            findings.push(use_finding(
                &OUTSIDE,
                used,
                format!(
                    "instance credentials {} of {} used from {}, outside AWS's address ranges{}",
                    used.key,
                    used.arn.as_deref().unwrap_or("an instance role"),
                    used.ip,
                    used.user_agent
                        .as_deref()
                        .map(|agent| format!(" (client {agent})"))
                        .unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }
}

/// The finding of a session's key used from `used.ip` after `other`.
fn moved(used: &UseFromOutside, other: &str) -> Finding {
    let session = used.arn.as_deref().unwrap_or("a session");
    use_finding(
        &MOVED,
        used,
        format!(
            "temporary credentials {} of {session} used from {}, outside AWS, after {other}: \
             one session on two networks (`trailhound trace {}`)",
            used.key, used.ip, used.key
        ),
    )
}

/// The finding of `rule` on one use of a key from an address.
fn use_finding(rule: &Rule, used: &UseFromOutside, summary: String) -> Finding {
    Finding {
        event_source: used.event_source.clone(),
        event_name: used.event_name.clone(),
        principal: used.arn.clone(),
        account: used.account.clone(),
        region: used.region.clone(),
        source_ip: Some(used.ip.clone()),
        ..rule.finding(used.time_us, used.event_id.clone(), summary)
    }
}
