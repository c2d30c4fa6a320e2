//! The identity index: every credential CloudTrail saw handed out (an `AssumeRole`'s temporary
//! key, a console role switch, a federation, a sign-in) and, per lake file, how each access key
//! and principal was used (calls and errors by account, service and source address).
//!
//! Grants are keyed by the `eventID` that handed them out, so recording one twice changes
//! nothing. Usage is counted per lake file and a file is marked folded in the same transaction
//! as its counts; when a compaction or retention retires a file its counts go with it (see
//! `files::commit`), so the index always counts exactly the calls the lake holds.

use rusqlite::{Row, params};
use trailhound_event::Finding;

use super::findings::insert_findings;
use crate::{Catalog, LakeError};

/// A credential handed out, as one event recorded it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialGrant {
    /// The `eventID` of the event that handed it out.
    pub event_id: String,
    /// When (µs since the epoch).
    pub issued_us: i64,
    /// The API or sign-in that handed it out: `AssumeRole`, `AssumeRoleWithSAML`,
    /// `AssumeRoleWithWebIdentity`, `GetSessionToken`, `GetFederationToken`, `SwitchRole`,
    /// `ConsoleLogin`, …
    pub method: String,
    /// The event's `recipientAccountId`.
    pub account: Option<String>,
    /// Who asked: `userIdentity.type`.
    pub caller_type: Option<String>,
    /// `userIdentity.arn` of the caller; for a caller of another account (`AWSAccount`),
    /// that account's id.
    pub caller_arn: Option<String>,
    /// `userIdentity.accessKeyId` of the caller.
    pub caller_key: Option<String>,
    /// The role whose session the caller was (`sessionContext.sessionIssuer.arn`).
    pub caller_issuer: Option<String>,
    /// The AWS service that asked on the caller's behalf (`userIdentity.invokedBy`).
    pub caller_service: Option<String>,
    /// The role asked for.
    pub role_arn: Option<String>,
    /// The session (or, for a sign-in, the principal) the credential acts as.
    pub session_arn: Option<String>,
    /// The temporary access key handed out.
    pub access_key_id: Option<String>,
    /// When it expires, as the response wrote it.
    pub expires: Option<String>,
    /// The source identity set on the session.
    pub source_identity: Option<String>,
    /// The federated subject (SAML subject, web identity token's `sub`).
    pub federated_subject: Option<String>,
    /// The identity provider of a federation.
    pub federated_provider: Option<String>,
    /// `sourceIPAddress` of the call.
    pub source_ip: Option<String>,
    /// `userAgent` of the call.
    pub user_agent: Option<String>,
    /// `errorCode` when the call was refused (nothing was handed out then).
    pub error_code: Option<String>,
    /// `sharedEventID`: the same call as recorded in the other account.
    pub shared_event_id: Option<String>,
}

/// How one access key (or principal, for calls made without a key) was used: the calls with
/// one account, service and source address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialUsage {
    /// The lake file the calls are in (empty in sums over files).
    pub file: String,
    /// `userIdentity.accessKeyId` (empty when the calls carried none).
    pub access_key_id: String,
    /// `userIdentity.arn`, else `userIdentity.invokedBy`, else the principal id.
    pub arn: String,
    /// `userIdentity.type`.
    pub kind: Option<String>,
    /// `sessionContext.sessionIssuer.arn`.
    pub issuer_arn: Option<String>,
    /// `sessionContext.sourceIdentity`.
    pub source_identity: Option<String>,
    /// `recipientAccountId`.
    pub account: String,
    /// `eventSource`.
    pub event_source: String,
    /// `sourceIPAddress` (empty when missing).
    pub source_ip: String,
    /// Calls.
    pub calls: u64,
    /// Calls with an `errorCode`.
    pub errors: u64,
    /// The first and last call (µs since the epoch).
    pub first_us: i64,
    /// See `first_us`.
    pub last_us: i64,
    /// The `eventID` of the first call.
    pub first_event_id: Option<String>,
}

/// One access key (or key-less principal) over the whole lake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionUsage {
    /// `userIdentity.accessKeyId` (empty when the calls carried none).
    pub access_key_id: String,
    /// `userIdentity.arn`.
    pub arn: String,
    /// `userIdentity.type`.
    pub kind: Option<String>,
    /// `sessionContext.sessionIssuer.arn`.
    pub issuer_arn: Option<String>,
    /// `sessionContext.sourceIdentity`.
    pub source_identity: Option<String>,
    /// First and last call (µs).
    pub first_us: i64,
    /// See `first_us`.
    pub last_us: i64,
    /// Calls and errors.
    pub calls: u64,
    /// See `calls`.
    pub errors: u64,
    /// The distinct source addresses, sorted.
    pub source_ips: Vec<String>,
    /// The distinct accounts called, sorted.
    pub accounts: Vec<String>,
    /// How many services were called.
    pub services: u64,
}

/// What one identity update learned, recorded in one transaction.
#[derive(Debug, Default)]
pub struct IdentityChanges<'a> {
    /// Credentials handed out.
    pub grants: &'a [CredentialGrant],
    /// Usage, per lake file.
    pub usage: &'a [CredentialUsage],
    /// The lake files whose usage this is (all of it: a file folded with no calls has none).
    pub folded: &'a [String],
    /// Findings the update concluded (chain signals).
    pub findings: &'a [Finding],
}

/// Which grants to look up.
#[derive(Debug, Clone, Copy)]
pub enum GrantLookup<'a> {
    /// The grant that handed out this access key.
    Key(&'a str),
    /// Grants of this session (or, for sign-ins, this principal).
    Session(&'a str),
    /// Grants asked for with this access key.
    CallerKey(&'a str),
    /// Grants asked for by this principal.
    CallerArn(&'a str),
    /// Grants recorded by this event.
    Event(&'a str),
}

/// The page cache an identity update may fill (KiB); see [`Catalog::record_identity`].
const UPDATE_CACHE_KIB: i64 = 256 * 1024;

/// SQLite's own page cache size (KiB), restored after an identity update.
const DEFAULT_CACHE_KIB: i64 = 2000;

const GRANT_COLUMNS: &str =
    "SELECT event_id, issued_us, method, account, caller_type, caller_arn, caller_key,
    caller_issuer, caller_service, role_arn, session_arn, access_key_id, expires, source_identity,
    federated_subject, federated_provider, source_ip, user_agent, error_code, shared_event_id
    FROM credential_grants";

fn grant_row(row: &Row<'_>) -> rusqlite::Result<CredentialGrant> {
    Ok(record_from_row!(
        row,
        CredentialGrant {
            event_id,
            issued_us,
            method,
            account,
            caller_type,
            caller_arn,
            caller_key,
            caller_issuer,
            caller_service,
            role_arn,
            session_arn,
            access_key_id,
            expires,
            source_identity,
            federated_subject,
            federated_provider,
            source_ip,
            user_agent,
            error_code,
            shared_event_id,
        }
    ))
}

/// A count as SQLite keeps it (its integers are signed).
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// The values of a `group_concat`: addresses, account ids and service names hold no comma.
fn list(joined: Option<String>) -> Vec<String> {
    let mut items: Vec<String> = joined
        .unwrap_or_default()
        .split(',')
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect();
    items.sort();
    items
}

impl Catalog {
    /// Lake files whose calls the identity index does not count yet, with their rows, by
    /// partition date (roughly in time order, as the chain signals learn best).
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn identity_pending(&self) -> Result<Vec<(String, u64)>, LakeError> {
        let mut statement = self.connection.prepare(
            "SELECT path, rows FROM lake_files WHERE identity_folded = 0 ORDER BY date, path",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get(0)?,
                u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records grants, usage and findings, and marks the files folded, in one transaction:
    /// a crash never leaves a file marked without its counts, or counted twice. Files
    /// retired since they were read (a compaction ran meanwhile) are not counted. Returns how
    /// many findings were new.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn record_identity(&mut self, changes: &IdentityChanges<'_>) -> Result<u64, LakeError> {
        // An update of a large ingest writes hundreds of thousands of rows into five
        // B-trees in random order; with SQLite's 2 MB page cache their pages were spilled and
        // read back all along (measured: 4.1 s instead of 2.5 s for 166k grants). The pages
        // are only cached up to this bound, for this transaction.
        self.connection
            .pragma_update(None, "cache_size", -UPDATE_CACHE_KIB)?;
        let recorded = self.record_identity_in_transaction(changes);
        let restored = self
            .connection
            .pragma_update(None, "cache_size", -DEFAULT_CACHE_KIB);
        let inserted = recorded?;
        restored?;
        Ok(inserted)
    }

    fn record_identity_in_transaction(
        &mut self,
        changes: &IdentityChanges<'_>,
    ) -> Result<u64, LakeError> {
        let now = chrono::Utc::now().to_rfc3339();
        let transaction = self.connection.transaction()?;
        let inserted;
        {
            let mut grant = transaction.prepare(
                "INSERT OR IGNORE INTO credential_grants (event_id, issued_us, method, account,
                   caller_type, caller_arn, caller_key, caller_issuer, caller_service, role_arn,
                   session_arn, access_key_id, expires, source_identity, federated_subject,
                   federated_provider, source_ip, user_agent, error_code, shared_event_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                   ?17, ?18, ?19, ?20)",
            )?;
            for g in changes.grants {
                grant.execute(params![
                    g.event_id,
                    g.issued_us,
                    g.method,
                    g.account,
                    g.caller_type,
                    g.caller_arn,
                    g.caller_key,
                    g.caller_issuer,
                    g.caller_service,
                    g.role_arn,
                    g.session_arn,
                    g.access_key_id,
                    g.expires,
                    g.source_identity,
                    g.federated_subject,
                    g.federated_provider,
                    g.source_ip,
                    g.user_agent,
                    g.error_code,
                    g.shared_event_id
                ])?;
            }
            // Only files still in the lake, and not folded by a concurrent update, count.
            let mut mark = transaction.prepare(
                "UPDATE lake_files SET identity_folded = 1 WHERE path = ?1 AND identity_folded = 0",
            )?;
            let mut counted = std::collections::HashSet::new();
            for path in changes.folded {
                if mark.execute([path])? > 0 {
                    counted.insert(path.as_str());
                }
            }
            let mut usage = transaction.prepare(
                "INSERT INTO credential_usage (file, access_key_id, arn, type, issuer_arn,
                   source_identity, account, event_source, source_ip, calls, errors, first_us, last_us,
                   first_event_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT (file, access_key_id, arn, account, event_source, source_ip) DO UPDATE SET
                   first_event_id = CASE WHEN excluded.first_us < first_us
                     THEN excluded.first_event_id ELSE first_event_id END,
                   calls = calls + excluded.calls, errors = errors + excluded.errors,
                   first_us = min(first_us, excluded.first_us), last_us = max(last_us, excluded.last_us)",
            )?;
            for u in changes
                .usage
                .iter()
                .filter(|u| counted.contains(u.file.as_str()))
            {
                usage.execute(params![
                    u.file,
                    u.access_key_id,
                    u.arn,
                    u.kind,
                    u.issuer_arn,
                    u.source_identity,
                    u.account,
                    u.event_source,
                    u.source_ip,
                    i64::try_from(u.calls).unwrap_or(i64::MAX),
                    i64::try_from(u.errors).unwrap_or(i64::MAX),
                    u.first_us,
                    u.last_us,
                    u.first_event_id
                ])?;
            }
            inserted = insert_findings(&transaction, changes.findings, &now)?;
        }
        transaction.commit()?;
        Ok(inserted)
    }

    /// The grants `lookup` names, oldest first.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn credential_grants(
        &self,
        lookup: GrantLookup<'_>,
    ) -> Result<Vec<CredentialGrant>, LakeError> {
        let (column, value) = match lookup {
            GrantLookup::Key(key) => ("access_key_id", key),
            GrantLookup::Session(arn) => ("session_arn", arn),
            GrantLookup::CallerKey(key) => ("caller_key", key),
            GrantLookup::CallerArn(arn) => ("caller_arn", arn),
            GrantLookup::Event(id) => ("event_id", id),
        };
        let mut statement = self.connection.prepare_cached(&format!(
            "{GRANT_COLUMNS} WHERE {column} = ?1 ORDER BY issued_us, event_id"
        ))?;
        let rows = statement.query_map([value], grant_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every grant, oldest first.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn all_credential_grants(&self) -> Result<Vec<CredentialGrant>, LakeError> {
        let mut statement = self
            .connection
            .prepare(&format!("{GRANT_COLUMNS} ORDER BY issued_us, event_id"))?;
        let rows = statement.query_map([], grant_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The usage of access key `key` (`None`: every key of principal `arn`; an empty key:
    /// the calls made without one), of principal `arn` only when given, summed over the
    /// lake's files by account, service and source address.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read, or neither a key nor a principal is given.
    pub fn credential_usage(
        &self,
        key: Option<&str>,
        arn: Option<&str>,
    ) -> Result<Vec<CredentialUsage>, LakeError> {
        const SUMS: &str = "SELECT '', access_key_id, arn, max(type), max(issuer_arn),
                    max(source_identity), account, event_source, source_ip, sum(calls),
                    sum(errors), min(first_us), max(last_us), min(first_event_id)
             FROM credential_usage";
        const GROUPS: &str = "GROUP BY access_key_id, arn, account, event_source, source_ip
             ORDER BY event_source, account, source_ip";
        let (mut statement, values) = match (key, arn) {
            (Some(key), arn) => (
                self.connection.prepare_cached(&format!(
                    "{SUMS} WHERE access_key_id = ?1 AND (?2 IS NULL OR arn = ?2) {GROUPS}"
                ))?,
                vec![Some(key.to_owned()), arn.map(str::to_owned)],
            ),
            (None, Some(arn)) => (
                self.connection
                    .prepare_cached(&format!("{SUMS} WHERE arn = ?1 {GROUPS}"))?,
                vec![Some(arn.to_owned())],
            ),
            (None, None) => {
                return Err(LakeError::Internal(
                    "usage of neither a key nor a principal".to_owned(),
                ));
            }
        };
        let rows = statement.query_map(rusqlite::params_from_iter(values), |row| {
            Ok(CredentialUsage {
                file: row.get(0)?,
                access_key_id: row.get(1)?,
                arn: row.get(2)?,
                kind: row.get(3)?,
                issuer_arn: row.get(4)?,
                source_identity: row.get(5)?,
                account: row.get(6)?,
                event_source: row.get(7)?,
                source_ip: row.get(8)?,
                calls: count(row.get(9)?),
                errors: count(row.get(10)?),
                first_us: row.get(11)?,
                last_us: row.get(12)?,
                first_event_id: row.get(13)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The access keys of sessions of role `role_arn`, the most recently used first, at most
    /// `limit`.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn access_keys_of_role(
        &self,
        role_arn: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, LakeError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT access_key_id, arn FROM credential_usage WHERE issuer_arn = ?1
             GROUP BY access_key_id, arn ORDER BY max(last_us) DESC LIMIT ?2",
        )?;
        let rows = statement.query_map(
            params![role_arn, i64::try_from(limit).unwrap_or(i64::MAX)],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The source addresses of access key `key` whose first call came before `before_us`.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn addresses_before(&self, key: &str, before_us: i64) -> Result<Vec<String>, LakeError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT DISTINCT source_ip FROM credential_usage
             WHERE access_key_id = ?1 AND first_us < ?2",
        )?;
        let rows = statement.query_map(params![key, before_us], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many sessions of role `role_arn` were handed out before `before_us`, and how many
    /// of them carried a source identity.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn role_sessions_before(
        &self,
        role_arn: &str,
        before_us: i64,
    ) -> Result<(u64, u64), LakeError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT count(*), count(source_identity) FROM credential_grants
             WHERE role_arn = ?1 AND issued_us < ?2 AND method LIKE 'AssumeRole%'",
        )?;
        let (all, with): (i64, i64) = statement.query_row(params![role_arn, before_us], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
        Ok((count(all), count(with)))
    }

    /// Whether a session of role `from_role` assumed role `to_role` before `before_us`.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn role_edge_before(
        &self,
        from_role: &str,
        to_role: &str,
        before_us: i64,
    ) -> Result<bool, LakeError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM credential_grants
             WHERE role_arn = ?2 AND caller_issuer = ?1 AND issued_us < ?3)",
        )?;
        Ok(statement.query_row(params![from_role, to_role, before_us], |row| row.get(0))?)
    }

    /// The access keys principal `arn` used (an empty key for its calls without one).
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn access_keys_of(&self, arn: &str) -> Result<Vec<String>, LakeError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT access_key_id FROM credential_usage WHERE arn = ?1
             GROUP BY access_key_id ORDER BY min(first_us)",
        )?;
        let rows = statement.query_map([arn], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every access key (and key-less principal) with its usage over the whole lake.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn session_usage(&self) -> Result<Vec<SessionUsage>, LakeError> {
        let mut statement = self.connection.prepare(
            "SELECT access_key_id, arn, max(type), max(issuer_arn), max(source_identity),
                    min(first_us), max(last_us), sum(calls), sum(errors),
                    group_concat(DISTINCT source_ip), group_concat(DISTINCT account),
                    count(DISTINCT event_source)
             FROM credential_usage
             GROUP BY access_key_id, arn ORDER BY min(first_us), access_key_id, arn",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(SessionUsage {
                access_key_id: row.get(0)?,
                arn: row.get(1)?,
                kind: row.get(2)?,
                issuer_arn: row.get(3)?,
                source_identity: row.get(4)?,
                first_us: row.get(5)?,
                last_us: row.get(6)?,
                calls: count(row.get(7)?),
                errors: count(row.get(8)?),
                source_ips: list(row.get(9)?),
                accounts: list(row.get(10)?),
                services: count(row.get(11)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
