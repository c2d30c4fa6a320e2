//! Copies of the catalog, so that another machine can take over a lake: above all one on S3,
//! whose files are already shared and whose catalog is the only thing the first machine holds.
//!
//! A backup is a consistent snapshot (`VACUUM INTO`, taken while writers go on) in which every
//! file is recorded as in place: a file committed but not yet put in place when the snapshot
//! was taken is waited for, so the snapshot never lists a file that only the old machine's
//! staging holds. A restore replaces the catalog of a data directory no process is writing
//! to; the next writer's recovery then retires whatever the lake holds that the restored
//! catalog does not list (files committed after the backup), and their sources, unknown to
//! the restored catalog, are read again by the next ingest: every event once.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::catalog::Catalog;
use crate::store::{CATALOG, LOCK};
use crate::{Lake, LakeError};

/// How long a backup waits for files committed just before its snapshot to be put in place.
const SETTLE_WAIT: Duration = Duration::from_secs(60);

/// What a backup holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// Lake files listed.
    pub files: u64,
    /// Where the lake's files are: `s3://…`, or `None` for the data directory's own folder.
    pub lake: Option<String>,
    /// Size of the snapshot in bytes.
    pub bytes: u64,
}

impl Lake {
    /// Writes a consistent copy of the catalog of the data directory at `root` to the new
    /// file `to`, every file in it recorded as in place. Takes no lock: writers go on.
    ///
    /// # Errors
    ///
    /// [`LakeError::Config`] when there is no catalog or `to` exists; [`LakeError::Store`]
    /// when a committed file is still not in place after a minute.
    pub fn backup_catalog(root: &Path, to: &Path) -> Result<BackupReport, LakeError> {
        if !root.join(CATALOG).is_file() {
            return Err(LakeError::Config(format!(
                "there is no catalog in {} to back up",
                root.display()
            )));
        }
        if to.exists() {
            return Err(LakeError::Config(format!(
                "{} exists; a backup is written to a new file",
                to.display()
            )));
        }
        let lake = Lake::open(root, crate::Access::Read)?;
        lake.catalog
            .connection
            .execute("VACUUM INTO ?1", [to.to_string_lossy().as_ref()])?;
        let snapshot = Connection::open(to)?;
        let result = settle_snapshot(&lake, &snapshot);
        drop(snapshot);
        if result.is_err() {
            let _ = std::fs::remove_file(to);
        }
        let files = result?;
        let bytes = std::fs::metadata(to).map_err(LakeError::io(to))?.len();
        Ok(BackupReport {
            files,
            lake: lake.remote().map(|remote| remote.url().to_owned()),
            bytes,
        })
    }

    /// Makes the catalog file `from` (a [`Lake::backup_catalog`]) the catalog of the data
    /// directory at `root`. An existing catalog is only replaced with `replace`, and is kept
    /// beside it as `catalog.sqlite.before-restore-<time>`. Run it only once the machine that
    /// wrote to the lake has stopped: the next writer retires the files the restored catalog
    /// does not list.
    ///
    /// # Errors
    ///
    /// [`LakeError::Config`] when `from` is not a Trailhound catalog (or one of a newer
    /// version), a catalog exists and `replace` is not given, or a process writes to `root`.
    pub fn restore_catalog(
        root: &Path,
        from: &Path,
        replace: bool,
    ) -> Result<BackupReport, LakeError> {
        let report = check_backup(from)?;
        std::fs::create_dir_all(root).map_err(LakeError::io(root))?;
        let lock_path = root.join(LOCK);
        let lock = std::fs::File::create(&lock_path).map_err(LakeError::io(&lock_path))?;
        if lock.try_lock().is_err() {
            return Err(LakeError::Busy(root.to_path_buf()));
        }
        let catalog = root.join(CATALOG);
        if catalog.exists() {
            if !replace {
                return Err(LakeError::Config(format!(
                    "{} already has a catalog; add --replace to replace it (it is kept beside it)",
                    root.display()
                )));
            }
            let kept = root.join(format!(
                "{CATALOG}.before-restore-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
            ));
            // Checkpoint the old catalog's WAL into it, so the kept copy is whole.
            Connection::open(&catalog)?.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
            std::fs::rename(&catalog, &kept).map_err(LakeError::io(&catalog))?;
        }
        for suffix in ["-wal", "-shm"] {
            let side = sidecar(&catalog, suffix);
            if side.exists() {
                std::fs::remove_file(&side).map_err(LakeError::io(&side))?;
            }
        }
        let incoming = root.join(format!("{CATALOG}.restoring"));
        std::fs::copy(from, &incoming).map_err(LakeError::io(from))?;
        std::fs::File::open(&incoming)
            .and_then(|file| file.sync_all())
            .map_err(LakeError::io(&incoming))?;
        std::fs::rename(&incoming, &catalog).map_err(LakeError::io(&incoming))?;
        drop(lock);
        Ok(report)
    }
}

fn sidecar(catalog: &Path, suffix: &str) -> PathBuf {
    let mut name = catalog.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Records as in place every file of the snapshot that is in place by now, waiting up to
/// [`SETTLE_WAIT`] for the writer to put the last ones there. Returns how many files it lists.
fn settle_snapshot(lake: &Lake, snapshot: &Connection) -> Result<u64, LakeError> {
    let started = Instant::now();
    loop {
        let pending: Vec<String> = snapshot
            .prepare("SELECT path FROM lake_files WHERE staged_as IS NOT NULL")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let mut waiting = Vec::new();
        for path in pending {
            if lake.is_in_place(&path)? {
                snapshot.execute(
                    "UPDATE lake_files SET staged_as = NULL WHERE path = ?1",
                    [&path],
                )?;
            } else {
                waiting.push(path);
            }
        }
        if waiting.is_empty() {
            return Ok(
                snapshot.query_row("SELECT count(*) FROM lake_files", [], |row| {
                    row.get::<_, i64>(0)
                })? as u64,
            );
        }
        if started.elapsed() > SETTLE_WAIT {
            return Err(LakeError::Config(format!(
                "{} committed files are still not in place after {} s (the first: {}); is the \
                 writer stuck? Try the backup again once it has moved them",
                waiting.len(),
                SETTLE_WAIT.as_secs(),
                waiting[0]
            )));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Checks that `from` is a Trailhound catalog this version can open, and says what it holds.
fn check_backup(from: &Path) -> Result<BackupReport, LakeError> {
    let not_a_catalog = |reason: String| {
        LakeError::Config(format!(
            "{} is not a Trailhound catalog backup ({reason})",
            from.display()
        ))
    };
    let connection = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|err| not_a_catalog(err.to_string()))?;
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|err| not_a_catalog(err.to_string()))?;
    if version > Catalog::SCHEMA_VERSION {
        return Err(LakeError::Config(format!(
            "{} was written by a newer Trailhound (catalog version {version}; this one reads up \
             to {}): restore it with that version",
            from.display(),
            Catalog::SCHEMA_VERSION
        )));
    }
    let files: i64 = connection
        .query_row("SELECT count(*) FROM lake_files", [], |row| row.get(0))
        .map_err(|err| not_a_catalog(err.to_string()))?;
    let lake: Option<String> = if version >= 5 {
        connection
            .query_row("SELECT url FROM lake_place", [], |row| row.get(0))
            .ok()
    } else {
        None
    };
    let bytes = std::fs::metadata(from).map_err(LakeError::io(from))?.len();
    Ok(BackupReport {
        files: files as u64,
        lake,
        bytes,
    })
}
