//! The `sessions` table: every access key (and key-less principal) the lake saw, with the
//! origin of its chain and how many role hops away from it the session is, so that the
//! self-join recipes ("who was behind this session?") become one-line queries.

use std::collections::{HashMap, HashSet};

use trailhound_lake::{Catalog, CredentialGrant};

use crate::IdentityError;
use crate::trace::{Session, caller_of, is_better_copy, origin_of_grant, origin_of_session};

/// One row of `sessions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The principal (session ARN, user, service).
    pub session: String,
    /// `userIdentity.accessKeyId` (none for key-less calls).
    pub access_key_id: Option<String>,
    /// `userIdentity.type`.
    pub kind: Option<String>,
    /// The role of a role session.
    pub role: Option<String>,
    /// The source identity of the session.
    pub source_identity: Option<String>,
    /// How the chain began (see [`crate::trace::Origin::kind`]).
    pub origin_kind: String,
    /// Who began it.
    pub origin: String,
    /// Role hops from the origin (0: the origin's own credentials).
    pub depth: u64,
    /// The call that handed the session out, and when (µs).
    pub granted_by: Option<String>,
    /// See `granted_by`.
    pub granted_us: Option<i64>,
    /// First and last call (µs).
    pub first_us: i64,
    /// See `first_us`.
    pub last_us: i64,
    /// Calls and errors.
    pub calls: u64,
    /// See `calls`.
    pub errors: u64,
    /// Services called.
    pub services: u64,
    /// Source addresses.
    pub source_ips: Vec<String>,
    /// Accounts called.
    pub accounts: Vec<String>,
}

/// Every session of the identity index with its chain's origin and depth.
///
/// # Errors
///
/// When the catalog cannot be read.
pub fn sessions(catalog: &Catalog) -> Result<Vec<SessionRow>, IdentityError> {
    let grants = catalog.all_credential_grants()?;
    let chains = Chains::of(&grants);
    let mut rows = Vec::new();
    for usage in catalog.session_usage()? {
        let session = Session {
            key: Some(usage.access_key_id.clone()).filter(|k| !k.is_empty()),
            principal: usage.arn.clone(),
        };
        let (grant, origin, depth) = chains.walk(&session, usage.first_us);
        rows.push(SessionRow {
            session: usage.arn,
            access_key_id: session.key,
            kind: usage.kind,
            role: usage.issuer_arn,
            source_identity: usage.source_identity,
            origin_kind: origin.kind,
            origin: origin.who,
            depth,
            granted_by: grant.map(|g| g.method.clone()),
            granted_us: grant.map(|g| g.issued_us),
            first_us: usage.first_us,
            last_us: usage.last_us,
            calls: usage.calls,
            errors: usage.errors,
            services: usage.services,
            source_ips: usage.source_ips,
            accounts: usage.accounts,
        });
    }
    Ok(rows)
}

/// The grants, found by key and by session, in memory.
struct Chains<'g> {
    by_key: HashMap<&'g str, &'g CredentialGrant>,
    by_session: HashMap<&'g str, Vec<&'g CredentialGrant>>,
}

impl<'g> Chains<'g> {
    fn of(grants: &'g [CredentialGrant]) -> Chains<'g> {
        let mut by_key: HashMap<&str, &CredentialGrant> = HashMap::new();
        let mut by_session: HashMap<&str, Vec<&CredentialGrant>> = HashMap::new();
        for grant in grants {
            if let Some(key) = grant.access_key_id.as_deref() {
                let better = by_key
                    .get(key)
                    .is_none_or(|kept| is_better_copy(grant, kept));
                if better {
                    by_key.insert(key, grant);
                }
            }
            if let Some(session) = grant.session_arn.as_deref() {
                by_session.entry(session).or_default().push(grant);
            }
        }
        Chains { by_key, by_session }
    }

    /// As the trace's `grant_of`, over memory.
    fn grant_of(&self, session: &Session, first_us: Option<i64>) -> Option<&'g CredentialGrant> {
        if let Some(grant) = session.key.as_deref().and_then(|k| self.by_key.get(k)) {
            return Some(grant);
        }
        if !session.principal.contains(":assumed-role/") && session.key.is_some() {
            return None;
        }
        self.by_session
            .get(session.principal.as_str())?
            .iter()
            .rfind(|g| {
                g.method != "ConsoleLogin"
                    && first_us.is_none_or(|first| g.issued_us <= first)
                    && (g.access_key_id.is_none() || g.access_key_id == session.key)
            })
            .copied()
    }

    /// The grant of `session`, the origin of its chain, and its role hops from it.
    fn walk(
        &self,
        session: &Session,
        first_us: i64,
    ) -> (Option<&'g CredentialGrant>, crate::trace::Origin, u64) {
        let first = self.grant_of(session, Some(first_us));
        let mut current = session.clone();
        let mut grant = first;
        let mut depth = 0;
        let mut seen = HashSet::new();
        loop {
            let Some(g) = grant else {
                let sign_in = self
                    .by_session
                    .get(current.principal.as_str())
                    .and_then(|all| all.iter().rev().find(|g| g.method == "ConsoleLogin"))
                    .copied();
                let origin = origin_of_session(&current.principal, current.key.as_deref(), sign_in);
                return (first, origin, depth);
            };
            if g.method.starts_with("AssumeRole") || g.method == "SwitchRole" {
                depth += 1;
            }
            let Some(parent) = caller_of(g) else {
                return (first, origin_of_grant(g), depth);
            };
            if !seen.insert(parent.clone()) || depth > 64 {
                return (
                    first,
                    crate::trace::Origin {
                        kind: "loop".to_owned(),
                        who: parent.principal.clone(),
                        detail: format!("{} handed credentials back to itself", parent.principal),
                    },
                    depth,
                );
            }
            grant = self.grant_of(&parent, Some(g.issued_us));
            current = parent;
        }
    }
}
