//! The catalog: a SQLite database beside the lake that records what the lake holds and what
//! was concluded from it. A lake file is visible only once its row is committed here.
//!
//! One [`Catalog`] handle is one connection; each concern has its own module and tables:
//!
//! | module | tables | what |
//! |---|---|---|
//! | [`files`] | `lake_files` | the committed Parquet files, and the commit that makes files, sources and findings visible together |
//! | [`sources`] | `sources` | every source object read, with its [`SourceOutcome`] |
//! | [`findings`] | `findings` | what the rules concluded, with its [`FindingStatus`] |
//! | [`triage`] | `finding_triage` | who moved a finding to which status, and why |
//! | [`insights`] | `insights` | the Insights events Trailhound computed |
//! | [`first_seen`] | `first_seen_entities`, `first_seen_pairs` | what first-seen detections remember between runs |
//! | [`identity`] | `credential_grants`, `credential_usage`, `lake_files.identity_folded` | the identity index: credentials handed out, and each key's calls per lake file |
//! | [`checkpoints`] | `checkpoints` | where each followed source stands |
//! | [`outbox`] | `outbox`, `cursors` | alerts waiting for or taken by their sinks |
//! | [`integrity`] | `integrity_checks` | the record of `validate` runs |
//! | [`saved_queries`] | `saved_queries` | the queries people saved under a name |
//! | [`lake_place`] | `lake_place` | where the lake's files live when it is on S3 |
//! | [`exports`] | `lake_files.exported` | which files `watch`'s OCSF export has written |
//!
//! The schema changes only through [`migrations`], a numbered list applied in order when a
//! catalog is opened.

/// A record whose fields are the row's columns, in order, each read as its field's type.
macro_rules! record_from_row {
    ($row:expr, $record:ident { $($field:ident),* $(,)? }) => {{
        let mut column = 0_usize..;
        $record {
            $($field: $row.get(column.next().unwrap_or_default())?,)*
        }
    }};
}

pub mod checkpoints;
pub mod exports;
pub mod files;
pub mod findings;
pub mod first_seen;
pub mod identity;
pub mod insights;
pub mod integrity;
pub mod lake_place;
mod migrations;
pub mod outbox;
pub mod posture;
pub mod saved_queries;
pub mod sources;
pub mod triage;

use std::path::Path;

use rusqlite::Connection;

pub use findings::FindingStatus;
pub use sources::SourceOutcome;

use crate::LakeError;

/// The catalog connection.
pub struct Catalog {
    pub(crate) connection: Connection,
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `path`, bringing an older one up to date.
    ///
    /// # Errors
    ///
    /// [`LakeError::Config`] for a catalog written by a newer Trailhound;
    /// [`LakeError::Catalog`] when SQLite cannot open or upgrade it.
    pub fn open(path: &Path) -> Result<Catalog, LakeError> {
        let mut connection = Connection::open(path)?;
        // WAL lets queries read while an ingest writes; FULL sync makes a commit durable
        // before its files are moved into place.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(std::time::Duration::from_secs(30))?;
        migrations::bring_up_to_date(&mut connection, path)?;
        Ok(Catalog { connection })
    }

    /// The schema version this Trailhound writes.
    pub const SCHEMA_VERSION: i64 = migrations::LATEST;
}
