//! What readers of the lake see: the files the catalog lists as committed.
//!
//! Readers never walk the `events` folder. During a compaction it briefly holds both a merged
//! file and the files it replaces, and after a crash it may hold leftovers that no commit
//! covers; a walk would count their events twice. The catalog's list is one consistent
//! snapshot instead.
//!
//! A committed file moves twice: from staging into place just after its commit, and, once a
//! compaction replaces it, from its place to `lake/.retired/`, where it stays for
//! [`RETIRED_GRACE`]. A reader looks for a listed file along that way
//! ([`LakeListing::locations`]), so a file listed the moment its commit made it visible, or
//! just before a compaction retired it, is still found instead of failing the query halfway.
//! Engines that read the folder itself (DuckDB, Athena) never see staging or `.retired`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::Connection;

use crate::LakeError;
use crate::place::{FileCache, RETIRED, RemoteLake};

/// How long a retired file stays readable before a writer deletes it: longer than any query
/// or hunt is expected to run.
pub const RETIRED_GRACE: Duration = Duration::from_secs(60 * 60);

/// A committed lake file as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    /// Path relative to the lake root (`events/account=…/region=…/date=…/part-….parquet`).
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// When its commit happened, if the catalog's record of it can be read.
    pub committed_at: Option<SystemTime>,
}

/// The lake's files for readers: cheap to clone and to send between threads, and holding no
/// connection (each [`LakeListing::files`] opens its own read-only one, so it can run on any
/// thread while a writer commits).
#[derive(Debug, Clone)]
pub struct LakeListing {
    catalog: PathBuf,
    lake_dir: PathBuf,
    staging_dir: PathBuf,
    /// For a lake on S3: where its files are, and their local copies.
    remote: Option<(RemoteLake, FileCache)>,
}

/// One place a listed file may be: a local file, or an object of the S3 lake's bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spot {
    /// A file on the local disk.
    Local(PathBuf),
    /// An object of [`LakeListing::remote`]'s bucket, by key.
    Remote(String),
}

impl LakeListing {
    pub(crate) fn new(catalog: PathBuf, lake_dir: PathBuf, staging_dir: PathBuf) -> LakeListing {
        LakeListing {
            catalog,
            lake_dir,
            staging_dir,
            remote: None,
        }
    }

    pub(crate) fn with_remote(mut self, remote: Option<RemoteLake>, cache: FileCache) -> Self {
        self.remote = remote.map(|remote| (remote, cache));
        self
    }

    /// The S3 lake the files are in, if they are not local.
    pub fn remote(&self) -> Option<&RemoteLake> {
        self.remote.as_ref().map(|(remote, _)| remote)
    }

    /// Where a listed file may be, in the order a reader should look (see
    /// [`LakeListing::locations`]): for a lake on S3, its local copy if one is kept, then in
    /// place, in staging, in place again, retired.
    pub fn spots(&self, path: &str) -> Vec<Spot> {
        match &self.remote {
            Some((remote, cache)) => {
                let name = Path::new(path).file_name().unwrap_or_default();
                vec![
                    Spot::Local(cache.path(path)),
                    Spot::Remote(remote.key(path)),
                    Spot::Local(self.staging_dir.join(name)),
                    Spot::Remote(remote.key(path)),
                    Spot::Remote(remote.retired_key(path)),
                ]
            }
            None => self.locations(path).into_iter().map(Spot::Local).collect(),
        }
    }

    /// The committed files, in one read of the catalog, ordered by path.
    pub fn files(&self) -> Result<Vec<ListedFile>, LakeError> {
        let connection = Connection::open_with_flags(
            &self.catalog,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(30))?;
        let mut statement =
            connection.prepare("SELECT path, bytes, created_at FROM lake_files ORDER BY path")?;
        let rows = statement.query_map([], |row| {
            let committed_at: String = row.get(2)?;
            Ok(ListedFile {
                path: row.get(0)?,
                bytes: row.get::<_, i64>(1)? as u64,
                committed_at: chrono::DateTime::parse_from_rfc3339(&committed_at)
                    .ok()
                    .map(SystemTime::from),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Where a listed file (`path` relative to the lake root) lies while in place.
    pub fn in_place(&self, path: &str) -> PathBuf {
        self.lake_dir.join(path)
    }

    /// Where a listed file lies once a compaction has retired it.
    pub fn retired(&self, path: &str) -> PathBuf {
        self.lake_dir.join(RETIRED).join(path)
    }

    /// Where a listed file may lie, in the order a reader should look: in place (where it
    /// almost always is), in staging (committed but not yet moved), in place again (moved
    /// meanwhile), retired (replaced by a compaction since it was listed). A file only ever
    /// moves along this order, so looking along it finds one that moves while it is looked for.
    pub fn locations(&self, path: &str) -> [PathBuf; 4] {
        let name = Path::new(path).file_name().unwrap_or_default();
        [
            self.in_place(path),
            self.staging_dir.join(name),
            self.in_place(path),
            self.retired(path),
        ]
    }

    /// Opens a listed file wherever it is now (see [`LakeListing::locations`]); when it is
    /// nowhere, the error names its place in the lake.
    pub fn open(&self, path: &str) -> Result<File, LakeError> {
        if let Some((remote, cache)) = &self.remote {
            let local = cache.readable(remote, &self.staging_dir, path)?;
            return File::open(&local).map_err(LakeError::io(local));
        }
        let [in_place, rest @ ..] = self.locations(path);
        let missing = match File::open(&in_place) {
            Ok(file) => return Ok(file),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => err,
            Err(err) => return Err(LakeError::io(in_place)(err)),
        };
        rest.iter()
            .find_map(|location| File::open(location).ok())
            .ok_or_else(|| LakeError::io(in_place)(missing))
    }
}

/// Moves a file a commit has retired from `lake_dir/path` to the retired folder and stamps it
/// with the time of retirement, from which its grace period runs.
pub(crate) fn retire(lake_dir: &Path, path: &str) -> Result<(), LakeError> {
    let from = lake_dir.join(path);
    let to = lake_dir.join(RETIRED).join(path);
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(LakeError::io(parent))?;
    }
    std::fs::rename(&from, &to).map_err(LakeError::io(&from))?;
    // The file keeps the time it was written; its grace runs from now. Should stamping fail,
    // it is only deleted sooner, which is what happened to every retired file before.
    let stamped = File::options()
        .write(true)
        .open(&to)
        .and_then(|file| file.set_modified(SystemTime::now()));
    if let Err(err) = stamped {
        tracing::warn!(file = %to.display(), %err, "could not stamp a retired file's time");
    }
    Ok(())
}

/// Deletes retired files whose grace has run out at `now`, and folders left empty (but not
/// `dir` itself). Returns whether `dir` is left empty.
pub(crate) fn purge_retired(dir: &Path, now: SystemTime) -> Result<bool, LakeError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(err) => return Err(LakeError::io(dir)(err)),
    };
    let mut empty = true;
    for entry in entries {
        let entry = entry.map_err(LakeError::io(dir))?;
        let path = entry.path();
        let metadata = entry.metadata().map_err(LakeError::io(&path))?;
        if metadata.is_dir() {
            if purge_retired(&path, now)? {
                std::fs::remove_dir(&path).map_err(LakeError::io(&path))?;
            } else {
                empty = false;
            }
            continue;
        }
        // Kept within its grace, and when stamped in the future (a clock set back).
        let keep =
            metadata
                .modified()
                .is_ok_and(|retired_at| match now.duration_since(retired_at) {
                    Ok(age) => age < RETIRED_GRACE,
                    Err(_) => true,
                });
        if keep {
            empty = false;
        } else {
            std::fs::remove_file(&path).map_err(LakeError::io(&path))?;
            tracing::debug!(file = %path.display(), "removed a retired file past its grace");
        }
    }
    Ok(empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_file_stays_readable_until_its_grace_runs_out()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let lake_dir = dir.path().join("lake");
        let path = "events/account=1/region=r/date=2024-07-01/part-a.parquet";
        let in_place = lake_dir.join(path);
        std::fs::create_dir_all(in_place.parent().ok_or("no parent")?)?;
        std::fs::write(&in_place, b"old")?;
        let listing = LakeListing::new(
            dir.path().join("catalog.sqlite"),
            lake_dir.clone(),
            lake_dir.join(".staging"),
        );

        retire(&lake_dir, path)?;
        assert!(!in_place.exists(), "the folder no longer holds it");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut listing.open(path)?, &mut text)?;
        assert_eq!(text, "old", "a reader that listed it still reads it");

        let retired_dir = lake_dir.join(RETIRED).join("events");
        assert_eq!(listing.locations(path)[3], listing.retired(path));
        assert!(!purge_retired(&retired_dir, SystemTime::now())?);
        assert!(listing.retired(path).exists(), "kept within its grace");
        let later = SystemTime::now() + RETIRED_GRACE + Duration::from_secs(1);
        assert!(purge_retired(&retired_dir, later)?);
        assert!(!listing.retired(path).exists(), "deleted after it");
        assert!(
            !retired_dir.join("account=1").exists(),
            "emptied folders go too"
        );
        let Err(LakeError::Io { path: reported, .. }) = listing.open(path) else {
            panic!("a file gone from both places is an I/O error");
        };
        assert_eq!(reported, in_place, "reported where the catalog says it is");
        Ok(())
    }

    #[test]
    fn a_file_is_listed_from_its_commit_and_found_in_staging_until_moved()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let lake = crate::Lake::open(dir.path(), crate::Access::Write)?;
        let listing = lake.listing();
        let path = "events/account=1/region=r/date=2024-07-01/part-b.parquet";
        let mut catalog = crate::Catalog::open(&dir.path().join("catalog.sqlite"))?;
        std::fs::write(lake.staging_dir().join("part-b.parquet"), b"staged")?;
        catalog.commit(
            &[crate::LakeFileRecord {
                path: path.to_owned(),
                account: "1".to_owned(),
                region: "r".to_owned(),
                date: "2024-07-01".to_owned(),
                rows: 1,
                bytes: 6,
                min_time_us: None,
                max_time_us: None,
                staged_as: Some("part-b.parquet".to_owned()),
            }],
            &[],
            &[],
            &[],
        )?;
        let files = listing.files()?;
        assert_eq!(files.len(), 1, "visible from its commit, before the move");
        assert_eq!((files[0].path.as_str(), files[0].bytes), (path, 6));
        assert!(files[0].committed_at.is_some());
        let mut text = String::new();
        std::io::Read::read_to_string(&mut listing.open(path)?, &mut text)?;
        assert_eq!(text, "staged");
        assert_eq!(
            listing.locations(path)[1],
            lake.staging_dir().join("part-b.parquet")
        );
        Ok(())
    }
}
