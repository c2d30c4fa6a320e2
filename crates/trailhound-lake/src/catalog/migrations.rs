//! How the catalog's schema changes: a numbered list of migrations, each applied once, in
//! order, in a transaction of its own, and recorded in SQLite's `user_version`.
//!
//! To change the schema, append a migration; never edit one that a release has shipped,
//! because catalogs in the field have already run it. Releases before this list existed
//! created every table with `CREATE TABLE IF NOT EXISTS` on each open, so the first two
//! migrations are written to be harmless on whatever subset of their tables such a catalog
//! already has.

use std::path::Path;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::LakeError;

/// One step of the schema.
struct Migration {
    /// What it brings, for the log.
    what: &'static str,
    apply: fn(&Transaction<'_>) -> rusqlite::Result<()>,
}

/// The migrations; the one at index `i` takes a catalog from version `i` to `i + 1`.
const MIGRATIONS: &[Migration] = &[
    Migration {
        what: "sources, lake files, findings and computed insights",
        apply: |t| t.execute_batch(VERSION_1),
    },
    Migration {
        what: "watch checkpoints, the alert outbox, triage, integrity checks and first-seen memory",
        apply: version_2,
    },
    Migration {
        what: "saved queries",
        apply: |t| t.execute_batch(VERSION_3),
    },
    Migration {
        what: "posture checks",
        apply: |t| t.execute_batch(VERSION_4),
    },
    Migration {
        what: "where the lake's files live",
        apply: |t| t.execute_batch(VERSION_5),
    },
    Migration {
        what: "which lake files the OCSF export has written",
        apply: version_6,
    },
    Migration {
        what: "the identity index: credentials handed out and how each was used",
        apply: version_7,
    },
    Migration {
        what: "the identity index: grants found by role, for the chain signals' history",
        apply: |t| t.execute_batch(VERSION_8),
    },
];

/// The version a catalog has once every migration ran.
pub(super) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Applies the migrations `connection` has not had yet.
///
/// Two processes may open an old catalog at once (`serve` and `watch`): each migration runs
/// in an immediate transaction that reads the version again, so only one applies it.
pub(super) fn bring_up_to_date(connection: &mut Connection, path: &Path) -> Result<(), LakeError> {
    // Reading the version first keeps an up-to-date catalog's open free of writes: a write
    // tells every reader (the server's snapshot check) that the catalog changed.
    if version(connection)? == LATEST {
        return Ok(());
    }
    loop {
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = version(&transaction)?;
        if current > LATEST {
            return Err(LakeError::Config(format!(
                "the catalog at {} was written by a newer Trailhound (schema {current}, this one \
                 knows {LATEST}); upgrade Trailhound to use it",
                path.display()
            )));
        }
        let Some(migration) = usize::try_from(current)
            .ok()
            .and_then(|index| MIGRATIONS.get(index))
        else {
            return Ok(());
        };
        (migration.apply)(&transaction)?;
        transaction.pragma_update(None, "user_version", current + 1)?;
        transaction.commit()?;
        tracing::info!(
            catalog = %path.display(),
            version = current + 1,
            "catalog upgraded: {}",
            migration.what
        );
    }
}

fn version(connection: &Connection) -> rusqlite::Result<i64> {
    connection.pragma_query_value(None, "user_version", |row| row.get(0))
}

const VERSION_1: &str = "
CREATE TABLE IF NOT EXISTS sources (
    location      TEXT PRIMARY KEY,
    size          INTEGER,
    modified_ns   INTEGER,
    content_hash  TEXT,
    events_read   INTEGER NOT NULL,
    events_new    INTEGER NOT NULL,
    rejected      INTEGER NOT NULL,
    outcome       TEXT NOT NULL,  -- ok | failed | digest
    error         TEXT,
    ingested_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lake_files (
    path          TEXT PRIMARY KEY,  -- relative to the lake root
    account       TEXT NOT NULL,
    region        TEXT NOT NULL,
    date          TEXT NOT NULL,
    rows          INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    min_time_us   INTEGER,
    max_time_us   INTEGER,
    staged_as     TEXT,              -- staging name until moved into place
    created_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lake_files_partition ON lake_files (account, region, date);
CREATE TABLE IF NOT EXISTS findings (
    id              INTEGER PRIMARY KEY,
    rule_id         TEXT NOT NULL,
    rule_title      TEXT NOT NULL,
    level           TEXT NOT NULL,
    tags            TEXT NOT NULL,   -- comma-separated
    time            TEXT,            -- of the last event behind it
    first_time      TEXT,
    event_count     INTEGER NOT NULL,
    event_ids       TEXT NOT NULL,   -- JSON array
    first_event_id  TEXT NOT NULL,   -- '' when the events have no ids
    event_source    TEXT,
    event_name      TEXT,
    principal       TEXT,
    account         TEXT,
    region          TEXT,
    source_ip       TEXT,
    summary         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open',  -- open | acknowledged | resolved | suppressed
    found_at        TEXT NOT NULL,
    -- The same conclusion about the same events is recorded once, however often it is found.
    UNIQUE (rule_id, first_event_id, time)
);
CREATE INDEX IF NOT EXISTS findings_time ON findings (time);
CREATE TABLE IF NOT EXISTS insights (
    event_id          TEXT PRIMARY KEY,
    shared_event_id   TEXT NOT NULL,
    state             TEXT NOT NULL,   -- Start | End
    event_time        TEXT NOT NULL,   -- as in the record
    start_us          INTEGER NOT NULL, -- the insight's first minute, for replacing a range
    account           TEXT NOT NULL,
    region            TEXT NOT NULL,
    event_source      TEXT NOT NULL,
    event_name        TEXT NOT NULL,
    insight_type      TEXT NOT NULL,
    error_code        TEXT,
    baseline_average  REAL NOT NULL,
    insight_average   REAL NOT NULL,
    insight_duration  INTEGER,
    baseline_duration INTEGER NOT NULL,
    record            TEXT NOT NULL,   -- the Insights event, in CloudTrail's format
    computed_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS insights_start ON insights (start_us);
CREATE INDEX IF NOT EXISTS insights_shared ON insights (shared_event_id);
";

const VERSION_2: &str = "
CREATE TABLE IF NOT EXISTS checkpoints (
    source       TEXT PRIMARY KEY,  -- s3://bucket/<trail folder>/, or a local folder
    position     TEXT,              -- key of the newest object taken (S3)
    polled_at    TEXT,              -- the last poll, whatever its outcome
    advanced_at  TEXT,              -- the last poll that took new objects
    objects      INTEGER NOT NULL DEFAULT 0,  -- objects taken in all
    error        TEXT               -- why the last poll failed; NULL when it went well
);
CREATE TABLE IF NOT EXISTS outbox (
    id               INTEGER PRIMARY KEY,
    sink             TEXT NOT NULL,
    dedup_key        TEXT NOT NULL,     -- what throttling compares (rule, principal, …)
    finding_ids      TEXT NOT NULL,     -- JSON array of findings.id
    payload          TEXT NOT NULL,     -- the alert, as the alerting crate serialises it
    state            TEXT NOT NULL,     -- pending | sent | suppressed
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_us  INTEGER NOT NULL,
    last_error       TEXT,
    created_us       INTEGER NOT NULL,
    sent_us          INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (state, sink, id);
CREATE INDEX IF NOT EXISTS outbox_dedup ON outbox (sink, dedup_key, created_us);
-- Named positions, such as the newest finding already routed to the outbox.
CREATE TABLE IF NOT EXISTS cursors (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS finding_triage (
    id          INTEGER PRIMARY KEY,
    finding_id  INTEGER NOT NULL,
    status      TEXT NOT NULL,
    note        TEXT,
    by_whom     TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS finding_triage_finding ON finding_triage (finding_id);
CREATE TABLE IF NOT EXISTS integrity_checks (
    id          INTEGER PRIMARY KEY,
    location    TEXT NOT NULL,
    checked_at  TEXT NOT NULL,
    valid       INTEGER NOT NULL,  -- 1 when nothing was invalid
    report      TEXT NOT NULL      -- the validation summary, JSON
);
CREATE TABLE IF NOT EXISTS first_seen_entities (
    kind      TEXT NOT NULL,     -- principal | access_key | account
    entity    TEXT NOT NULL,
    since_us  INTEGER NOT NULL,  -- its first event's time
    PRIMARY KEY (kind, entity)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS first_seen_pairs (
    rule_id       TEXT NOT NULL,  -- the detection comparing them
    entity        TEXT NOT NULL,
    value         TEXT NOT NULL,
    time_us       INTEGER NOT NULL,
    event_id      TEXT,
    event_source  TEXT,
    event_name    TEXT,
    account       TEXT,
    region        TEXT,
    source_ip     TEXT,
    PRIMARY KEY (rule_id, entity, value)
) WITHOUT ROWID;
";

/// Version 2: the monitor's and the dashboard's tables, and a flag on each lake file saying
/// whether first-seen has read it. No file of an older lake is in the first-seen tables yet,
/// so the next run reads them all once.
const VERSION_3: &str = "
CREATE TABLE IF NOT EXISTS saved_queries (
    name         TEXT PRIMARY KEY,
    language     TEXT NOT NULL,   -- sql | logs-insights
    dialect      TEXT NOT NULL,   -- for SQL: auto | lake | athena | datafusion
    text         TEXT NOT NULL,
    description  TEXT,
    saved_at     TEXT NOT NULL
);
";

/// Version 6: a flag on each lake file saying whether `watch`'s OCSF export has written its
/// events (a merged file is exported exactly when the files it replaces were). Added only
/// where missing, like version 2's column, so a catalog rebuilt by hand upgrades too.
fn version_6(transaction: &Transaction<'_>) -> rusqlite::Result<()> {
    add_flag_if_missing(transaction, "exported")
}

/// Version 5: where the lake's files live when not in the data directory (`--lake s3://…`),
/// one row at most.
const VERSION_5: &str = "
CREATE TABLE IF NOT EXISTS lake_place (
    only_row  INTEGER PRIMARY KEY CHECK (only_row = 1),
    url       TEXT NOT NULL,   -- s3://bucket/prefix
    endpoint  TEXT,
    profile   TEXT
);
";

/// Version 4: the verdicts of each `posture` run.
const VERSION_4: &str = "
CREATE TABLE IF NOT EXISTS posture_runs (
    id          INTEGER PRIMARY KEY,
    checked_at  TEXT NOT NULL,
    origin      TEXT NOT NULL,   -- live | lake
    account     TEXT
);
CREATE TABLE IF NOT EXISTS posture_checks (
    run_id      INTEGER NOT NULL REFERENCES posture_runs (id),
    check_id    TEXT NOT NULL,
    resource    TEXT NOT NULL,
    verdict     TEXT NOT NULL,   -- pass | fail | unknown | not-applicable
    severity    TEXT NOT NULL,
    title       TEXT NOT NULL,
    cis         TEXT NOT NULL,   -- comma-separated
    found       TEXT NOT NULL,
    fix         TEXT,
    PRIMARY KEY (run_id, check_id, resource)
);
";

/// The identity index (see `catalog::identity`). Every lake file starts unfolded, so the
/// first update after the upgrade indexes the lake's history.
fn version_7(transaction: &Transaction<'_>) -> rusqlite::Result<()> {
    transaction.execute_batch(VERSION_7)?;
    add_flag_if_missing(transaction, "identity_folded")
}

const VERSION_7: &str = "
CREATE TABLE IF NOT EXISTS credential_grants (
    event_id           TEXT PRIMARY KEY,
    issued_us          INTEGER NOT NULL,
    method             TEXT NOT NULL,   -- AssumeRole, AssumeRoleWithSAML, SwitchRole, ConsoleLogin, …
    account            TEXT,            -- recipientAccountId of the event
    caller_type        TEXT,
    caller_arn         TEXT,
    caller_key         TEXT,
    caller_issuer      TEXT,            -- the caller's role, when the caller is a role session
    caller_service     TEXT,            -- userIdentity.invokedBy
    role_arn           TEXT,
    session_arn        TEXT,
    access_key_id      TEXT,
    expires            TEXT,
    source_identity    TEXT,
    federated_subject  TEXT,
    federated_provider TEXT,
    source_ip          TEXT,
    user_agent         TEXT,
    error_code         TEXT,
    shared_event_id    TEXT
);
CREATE INDEX IF NOT EXISTS credential_grants_key ON credential_grants (access_key_id);
CREATE INDEX IF NOT EXISTS credential_grants_session ON credential_grants (session_arn);
CREATE INDEX IF NOT EXISTS credential_grants_caller_key ON credential_grants (caller_key);
CREATE INDEX IF NOT EXISTS credential_grants_caller_arn ON credential_grants (caller_arn);
CREATE TABLE IF NOT EXISTS credential_usage (
    file             TEXT NOT NULL,   -- the lake file the calls are in
    access_key_id    TEXT NOT NULL,   -- '' for calls without one (services)
    arn              TEXT NOT NULL,
    type             TEXT,
    issuer_arn       TEXT,
    source_identity  TEXT,
    account          TEXT NOT NULL,
    event_source     TEXT NOT NULL,
    source_ip        TEXT NOT NULL,
    calls            INTEGER NOT NULL,
    errors           INTEGER NOT NULL,
    first_us         INTEGER NOT NULL,
    last_us          INTEGER NOT NULL,
    first_event_id   TEXT,
    PRIMARY KEY (file, access_key_id, arn, account, event_source, source_ip)
);
CREATE INDEX IF NOT EXISTS credential_usage_key ON credential_usage (access_key_id);
CREATE INDEX IF NOT EXISTS credential_usage_arn ON credential_usage (arn);
CREATE INDEX IF NOT EXISTS credential_usage_issuer ON credential_usage (issuer_arn);
";

// The chain signals ask, at every update, whether a role pair was seen before and how a
// role's earlier sessions carried a source identity; without this index each question scanned
// every grant ever recorded (about 50 ms per question at 166k grants, dozens per update).
const VERSION_8: &str = "
CREATE INDEX IF NOT EXISTS credential_grants_role
    ON credential_grants (role_arn, caller_issuer, issued_us);
";

fn version_2(transaction: &Transaction<'_>) -> rusqlite::Result<()> {
    transaction.execute_batch(VERSION_2)?;
    add_flag_if_missing(transaction, "history_folded")
}

/// Adds the integer flag `column` (0 by default) to `lake_files` unless it is there.
fn add_flag_if_missing(transaction: &Transaction<'_>, column: &str) -> rusqlite::Result<()> {
    let known: bool = transaction.query_row(
        "SELECT count(*) > 0 FROM pragma_table_info('lake_files') WHERE name = ?1",
        [column],
        |row| row.get(0),
    )?;
    if !known {
        transaction.execute_batch(&format!(
            "ALTER TABLE lake_files ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0"
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Outcome = Result<(), Box<dyn std::error::Error>>;

    fn tables(connection: &Connection) -> rusqlite::Result<Vec<String>> {
        let mut statement = connection
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?;
        let names = statement.query_map([], |row| row.get(0))?;
        names.collect()
    }

    #[test]
    fn a_new_catalog_gets_every_migration_and_a_second_open_changes_nothing() -> Outcome {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("catalog.sqlite");
        let mut connection = Connection::open(&path)?;
        bring_up_to_date(&mut connection, &path)?;
        assert_eq!(version(&connection)?, LATEST);
        let made = tables(&connection)?;
        assert!(made.len() >= 11, "{made:?}");
        let changes = connection.total_changes();
        bring_up_to_date(&mut connection, &path)?;
        assert_eq!(connection.total_changes(), changes);
        Ok(())
    }

    #[test]
    fn a_catalog_of_a_newer_trailhound_is_refused() -> Outcome {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("catalog.sqlite");
        let mut connection = Connection::open(&path)?;
        connection.pragma_update(None, "user_version", LATEST + 1)?;
        let refused = bring_up_to_date(&mut connection, &path);
        assert!(
            matches!(&refused, Err(LakeError::Config(text)) if text.contains("newer Trailhound")),
            "{refused:?}"
        );
        Ok(())
    }

    /// What releases before the list wrote at version 1: the first tables and, depending on
    /// the release, some of the later ones.
    #[test]
    fn a_version_1_catalog_with_some_later_tables_gets_the_rest() -> Outcome {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("catalog.sqlite");
        let mut connection = Connection::open(&path)?;
        connection.execute_batch(VERSION_1)?;
        connection.execute_batch(
            "CREATE TABLE cursors (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
             INSERT INTO cursors VALUES ('findings', 7);
             INSERT INTO lake_files VALUES ('events/a.parquet', 'a', 'r', 'd', 1, 1, 0, 0, NULL, 'now');
             PRAGMA user_version = 1;",
        )?;
        bring_up_to_date(&mut connection, &path)?;
        assert_eq!(version(&connection)?, LATEST);
        let (cursor, folded): (i64, i64) = connection.query_row(
            "SELECT (SELECT value FROM cursors), (SELECT history_folded FROM lake_files)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        assert_eq!((cursor, folded), (7, 0));
        assert!(tables(&connection)?.contains(&"first_seen_pairs".to_owned()));
        Ok(())
    }
}
