//! The data directory: where the lake and the catalog live, who may write, and recovery after
//! a crash.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::LakeError;
use crate::catalog::Catalog;
use crate::listing::{LakeListing, purge_retired, retire};
use crate::place::{FileCache, RETIRED, RemoteLake, RemoteSpec, cache_limit};

/// Folder names under the data directory.
const LAKE: &str = "lake";
const EVENTS: &str = "events";
const STAGING: &str = ".staging";
const CACHE: &str = ".cache";
pub(crate) const CATALOG: &str = "catalog.sqlite";
pub(crate) const LOCK: &str = ".write.lock";

/// The data directory to use: `given` (a flag or `TRAILHOUND_DATA_DIR`), else
/// `$XDG_DATA_HOME/trailhound`, else `~/.local/share/trailhound`.
///
/// # Errors
///
/// [`LakeError::Config`] for a URL (`s3://bucket/lake`): the data directory is a local
/// folder, and taking the URL for a path would make a folder named `s3:`.
pub fn data_dir(given: Option<&Path>) -> Result<PathBuf, LakeError> {
    if let Some(dir) = given {
        let text = dir.to_string_lossy();
        if let Some((scheme, _)) = text.split_once("://")
            && !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+')
        {
            return Err(LakeError::Config(format!(
                "--data-dir {text} is a URL, but the data directory is a local folder (its \
                 catalog is a SQLite file); give a path, e.g. --data-dir /var/lib/trailhound. \
                 To read logs from S3, name the bucket as an input: `trailhound ingest \
                 s3://bucket/AWSLogs`"
            )));
        }
        return Ok(dir.to_path_buf());
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")));
    Ok(base.map_or_else(
        || PathBuf::from("trailhound-data"),
        |base| base.join("trailhound"),
    ))
}

/// A Trailhound data directory: `catalog.sqlite` and `lake/events/account=…/region=…/date=…/`,
/// or the same `events/…` under an S3 prefix (see [`crate::place`]).
pub struct Lake {
    root: PathBuf,
    pub(crate) catalog: Catalog,
    /// Where the files live when not in the data directory.
    remote: Option<RemoteLake>,
    /// Held while this handle may write; released on drop.
    _lock: Option<File>,
    /// Told of each file an ingest writes (see [`Lake::observe_written_files`]).
    pub(crate) written_files: Option<std::sync::Arc<dyn crate::WrittenFiles>>,
}

/// How a lake is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Queries only. Does not wait for or block writers; the lake must exist.
    Read,
    /// Ingest and compaction. One writer at a time; opening repairs what a crash left behind.
    Write,
}

impl Lake {
    /// Opens the data directory at `root`; for writing, creates it if needed.
    ///
    /// # Errors
    ///
    /// [`LakeError::Busy`] if `access` is [`Access::Write`] and another process writes;
    /// [`LakeError::Io`] / [`LakeError::Catalog`] if the directory or catalog cannot be used.
    pub fn open(root: &Path, access: Access) -> Result<Lake, LakeError> {
        Lake::open_at(root, access, None)
    }

    /// Opens the data directory at `root` as [`Lake::open`] does, with its lake's files on S3
    /// at `wanted`. The first write records the place in the catalog; later opens (with
    /// `wanted` or without) use the recorded one.
    ///
    /// # Errors
    ///
    /// As [`Lake::open`]; [`LakeError::Config`] when `wanted` is not where this data
    /// directory's lake is (another S3 prefix, or a local lake that already holds files).
    pub fn open_at(
        root: &Path,
        access: Access,
        wanted: Option<&RemoteSpec>,
    ) -> Result<Lake, LakeError> {
        if access == Access::Read && !root.join(CATALOG).is_file() {
            return Err(LakeError::Config(format!(
                "there is no lake in {}: ingest some CloudTrail first (`trailhound ingest PATH`), \
                 or point --data-dir / TRAILHOUND_DATA_DIR at an existing one",
                root.display()
            )));
        }
        let staging = root.join(LAKE).join(STAGING);
        std::fs::create_dir_all(&staging).map_err(LakeError::io(&staging))?;
        let lock = match access {
            Access::Read => None,
            Access::Write => {
                let path = root.join(LOCK);
                let file = File::create(&path).map_err(LakeError::io(&path))?;
                match file.try_lock() {
                    Ok(()) => Some(file),
                    Err(std::fs::TryLockError::WouldBlock) => {
                        return Err(LakeError::Busy(root.to_path_buf()));
                    }
                    Err(std::fs::TryLockError::Error(source)) => {
                        return Err(LakeError::Io { path, source });
                    }
                }
            }
        };
        let catalog = Catalog::open(&root.join(CATALOG))?;
        let spec = place_to_use(&catalog, access, wanted, root)?;
        let remote = spec.as_ref().map(RemoteLake::connect).transpose()?;
        if remote.is_none() {
            // An S3 lake has no files in place here: only staging and local copies.
            let events = root.join(LAKE).join(EVENTS);
            let retired = root.join(LAKE).join(RETIRED).join(EVENTS);
            for dir in [&events, &retired] {
                std::fs::create_dir_all(dir).map_err(LakeError::io(dir.as_path()))?;
            }
        }
        let mut lake = Lake {
            root: root.to_path_buf(),
            catalog,
            remote,
            _lock: lock,
            written_files: None,
        };
        if access == Access::Write {
            lake.recover()?;
        }
        Ok(lake)
    }

    /// Makes `spec` the place of the lake of the data directory at `root` (created if need
    /// be), or checks that it already is: see [`Lake::open_at`]. Takes no lock, so it can run
    /// beside a writer.
    ///
    /// # Errors
    ///
    /// [`LakeError::Config`] when the lake already lives elsewhere or holds local files.
    pub fn adopt_place(root: &Path, spec: &RemoteSpec) -> Result<(), LakeError> {
        std::fs::create_dir_all(root).map_err(LakeError::io(root))?;
        let catalog = Catalog::open(&root.join(CATALOG))?;
        place_to_use(&catalog, Access::Write, Some(spec), root)?;
        Ok(())
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the lake's files are, as people name it: the bucket's URL for a lake on S3, else
    /// the data directory.
    pub fn location(&self) -> String {
        match self.remote() {
            Some(remote) => remote.url().to_owned(),
            None => self.root.display().to_string(),
        }
    }

    /// The `events` table's folder in the data directory, the root of its Hive partitions
    /// (for a lake on S3, see [`Lake::events_location`]).
    pub fn events_dir(&self) -> PathBuf {
        self.root.join(LAKE).join(EVENTS)
    }

    /// Where other engines find the `events` table: `s3://bucket/prefix/events` for a lake
    /// on S3, else the absolute path of [`Lake::events_dir`].
    pub fn events_location(&self) -> String {
        match &self.remote {
            Some(remote) => format!("{}/{EVENTS}", remote.url()),
            None => {
                let dir = self.events_dir();
                std::fs::canonicalize(&dir)
                    .or_else(|_| std::path::absolute(&dir))
                    .unwrap_or(dir)
                    .display()
                    .to_string()
            }
        }
    }

    /// The S3 lake this data directory writes to, if its files are not local.
    pub fn remote(&self) -> Option<&RemoteLake> {
        self.remote.as_ref()
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The catalog, for recording what is computed from the lake (insights, first-seen
    /// findings). Only a lake opened for writing may be changed.
    pub fn catalog_mut(&mut self) -> Result<&mut Catalog, LakeError> {
        if self._lock.is_some() {
            Ok(&mut self.catalog)
        } else {
            Err(LakeError::Internal(
                "the lake was opened read-only".to_owned(),
            ))
        }
    }

    pub(crate) fn lake_dir(&self) -> PathBuf {
        self.root.join(LAKE)
    }

    pub(crate) fn catalog_path(&self) -> PathBuf {
        self.root.join(CATALOG)
    }

    /// Where the lake file the catalog records as `path` lies in a local lake.
    pub fn file_path(&self, path: &str) -> PathBuf {
        self.lake_dir().join(path)
    }

    /// A local file holding the lake file the catalog records as `path`: the file itself in
    /// a local lake, a copy (downloaded now if needed) for a lake on S3.
    ///
    /// # Errors
    ///
    /// [`LakeError::Store`] when the copy cannot be downloaded.
    pub fn readable(&self, path: &str) -> Result<PathBuf, LakeError> {
        match &self.remote {
            Some(remote) => self.cache().readable(remote, &self.staging_dir(), path),
            None => Ok(self.lake_dir().join(path)),
        }
    }

    pub(crate) fn staging_dir(&self) -> PathBuf {
        self.root.join(LAKE).join(STAGING)
    }

    pub(crate) fn cache(&self) -> FileCache {
        FileCache::new(self.root.join(LAKE).join(CACHE))
    }

    /// Puts committed files from staging in place, then marks them in place in one catalog
    /// transaction. A crash before the mark loses nothing: recovery finds them and marks them.
    pub(crate) fn put_in_place(&self, files: &[crate::LakeFileRecord]) -> Result<(), LakeError> {
        let mut moved = Vec::with_capacity(files.len());
        for file in files {
            let Some(staged) = &file.staged_as else {
                continue;
            };
            self.settle(&self.staging_dir().join(staged), &file.path)?;
            moved.push(file.path.as_str());
        }
        self.catalog.mark_in_place(&moved)?;
        if self.remote.is_some() && !moved.is_empty() {
            self.cache().trim(cache_limit())?;
        }
        Ok(())
    }

    /// Moves one committed staged file to its place: a rename, or an upload to S3 after which
    /// the staged file becomes the local copy.
    fn settle(&self, source: &Path, path: &str) -> Result<(), LakeError> {
        match &self.remote {
            Some(remote) => {
                remote.upload(source, path)?;
                self.cache().keep(source, path)
            }
            None => {
                let target = self.lake_dir().join(path);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(LakeError::io(parent))?;
                }
                std::fs::rename(source, &target).map_err(LakeError::io(source))
            }
        }
    }

    /// The committed files as readers see them (see [`LakeListing`]). Its paths are absolute
    /// even for a data directory given as a relative one, as object stores require.
    pub fn listing(&self) -> LakeListing {
        let absolute = |path: PathBuf| std::path::absolute(&path).unwrap_or(path);
        LakeListing::new(
            absolute(self.catalog_path()),
            absolute(self.lake_dir()),
            absolute(self.staging_dir()),
        )
        .with_remote(
            self.remote.clone(),
            FileCache::new(absolute(self.cache().dir().to_path_buf())),
        )
    }

    /// Takes a file a commit has retired out of the folder. It stays readable to readers
    /// that listed it before the commit (see [`LakeListing::open`]) until a later writer
    /// purges it.
    pub(crate) fn retire(&self, path: &str) {
        // A leftover is harmless to our readers (the catalog no longer lists it); the next
        // writer's recovery retires it.
        let retired = match &self.remote {
            Some(remote) => remote.retire(path),
            None => retire(&self.lake_dir(), path),
        };
        if let Err(err) = retired {
            tracing::warn!(file = path, %err, "could not retire a compacted file");
        }
    }

    /// Deletes retired files whose grace has run out.
    pub(crate) fn purge_retired(&self) -> Result<(), LakeError> {
        let now = std::time::SystemTime::now();
        if let Some(remote) = &self.remote {
            remote.purge_retired(now)?;
        }
        let dir = self.lake_dir().join(RETIRED).join(EVENTS);
        purge_retired(&dir, now)?;
        Ok(())
    }

    /// Moves committed files into place and takes what no commit covers out of the folder.
    ///
    /// The write protocol is: write a file to staging, commit its catalog row, then move it into
    /// place. A crash can therefore leave (a) committed files still in staging, which are moved
    /// now; (b) staged files never committed, which are deleted now; (c) files retired by a
    /// committed compaction but still in place, which are retired now. Afterwards the folder
    /// holds exactly what the catalog lists, which is what other engines reading the folder see.
    /// Retired files past their grace are deleted too.
    fn recover(&mut self) -> Result<(), LakeError> {
        let files = self.catalog.lake_files(None)?;
        let mut keep_staged = HashSet::new();
        let mut settled = Vec::new();
        for file in &files {
            if let Some(staged) = &file.staged_as {
                let source = self.staging_dir().join(staged);
                if source.exists() {
                    self.settle(&source, &file.path)?;
                    tracing::info!(file = %file.path, "recovery: moved a committed file into place");
                } else if !self.is_in_place(&file.path)? {
                    keep_staged.insert(staged.clone());
                    tracing::error!(file = %file.path, "recovery: a committed lake file is missing");
                }
                settled.push(file.path.as_str());
            }
        }
        self.catalog.mark_in_place(&settled)?;
        let staging = self.staging_dir();
        for entry in std::fs::read_dir(&staging).map_err(LakeError::io(&staging))? {
            let entry = entry.map_err(LakeError::io(&staging))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !keep_staged.contains(&name) {
                std::fs::remove_file(entry.path()).map_err(LakeError::io(entry.path()))?;
                tracing::info!(file = %name, "recovery: removed an uncommitted staged file");
            }
        }
        if let Some(remote) = &self.remote {
            let listed: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
            for path in remote.files_in_place(EVENTS)? {
                if !listed.contains(path.as_str()) {
                    remote.retire(&path)?;
                    tracing::info!(file = %path, "recovery: retired an object no longer in the catalog");
                }
            }
            self.cache().trim(cache_limit())?;
        } else {
            let listed: HashSet<PathBuf> = files
                .iter()
                .map(|f| self.lake_dir().join(&f.path))
                .collect();
            self.retire_unlisted(&self.events_dir(), &listed)?;
        }
        self.purge_retired()
    }

    /// Whether the lake file `path` is in its place.
    pub(crate) fn is_in_place(&self, path: &str) -> Result<bool, LakeError> {
        match &self.remote {
            Some(remote) => remote.exists(path),
            None => Ok(self.lake_dir().join(path).exists()),
        }
    }

    /// Retires Parquet files under `dir` that the catalog does not list (leftovers of a crash
    /// between a compaction's commit and its clean-up), and removes folders left empty.
    fn retire_unlisted(&self, dir: &Path, listed: &HashSet<PathBuf>) -> Result<bool, LakeError> {
        let mut empty = true;
        for entry in std::fs::read_dir(dir).map_err(LakeError::io(dir))? {
            let path = entry.map_err(LakeError::io(dir))?.path();
            if path.is_dir() {
                if self.retire_unlisted(&path, listed)? {
                    std::fs::remove_dir(&path).map_err(LakeError::io(&path))?;
                } else {
                    empty = false;
                }
            } else if path.extension().is_some_and(|e| e == "parquet") && !listed.contains(&path) {
                let relative = path
                    .strip_prefix(self.lake_dir())
                    .map_err(|_| {
                        LakeError::Internal(format!("{} is outside the lake", path.display()))
                    })?
                    .to_string_lossy()
                    .into_owned();
                retire(&self.lake_dir(), &relative)?;
                tracing::info!(file = %path.display(), "recovery: retired a file no longer in the catalog");
            } else {
                empty = false;
            }
        }
        Ok(empty)
    }
}

/// Where the lake of the data directory at `root` lives: where it was recorded, else where
/// `wanted` says (recorded now, when writing a lake that holds no file yet).
fn place_to_use(
    catalog: &Catalog,
    access: Access,
    wanted: Option<&RemoteSpec>,
    root: &Path,
) -> Result<Option<RemoteSpec>, LakeError> {
    let recorded = catalog.lake_place()?;
    let Some(wanted) = wanted else {
        return Ok(recorded);
    };
    match recorded {
        Some(recorded) if recorded.url != wanted.url => Err(LakeError::Config(format!(
            "the lake of {} is at {}, not {}: give another --data-dir for another lake",
            root.display(),
            recorded.url,
            wanted.url
        ))),
        Some(recorded) => {
            // The same lake, perhaps through another endpoint or profile this time.
            let spec = RemoteSpec {
                url: recorded.url,
                endpoint: wanted.endpoint.clone().or(recorded.endpoint),
                profile: wanted.profile.clone().or(recorded.profile),
            };
            if access == Access::Write {
                catalog.record_lake_place(&spec)?;
            }
            Ok(Some(spec))
        }
        None => {
            let held = catalog.lake_files(None)?.len();
            if held > 0 {
                return Err(LakeError::Config(format!(
                    "the lake of {} is local and holds {held} files; an S3 lake needs a data \
                     directory of its own: give another --data-dir with --lake {}",
                    root.display(),
                    wanted.url
                )));
            }
            if access == Access::Read {
                return Err(LakeError::Config(format!(
                    "no lake at {} has been written from {}: ingest into it first \
                     (trailhound ingest --lake {} …)",
                    wanted.url,
                    root.display(),
                    wanted.url
                )));
            }
            catalog.record_lake_place(wanted)?;
            Ok(Some(wanted.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_refused_as_a_data_directory_with_the_way_to_read_s3() {
        for url in [
            "s3://bucket/lake",
            "file:///var/lib/trailhound",
            "https://x/y",
        ] {
            let refused = data_dir(Some(Path::new(url)));
            assert!(
                matches!(&refused, Err(LakeError::Config(text)) if text.contains("trailhound ingest s3://")),
                "{url}: {refused:?}"
            );
        }
        for path in ["./data", "/var/lib/trailhound", "s3:", "logs/a://b"] {
            assert_eq!(
                data_dir(Some(Path::new(path))).ok(),
                Some(PathBuf::from(path))
            );
        }
    }
}
