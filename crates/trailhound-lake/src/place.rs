//! Where committed lake files lie: the data directory's `lake/` folder, or a prefix of an S3
//! (or S3-compatible) bucket.
//!
//! ```text
//! local:  <data-dir>/lake/events/account=…/region=…/date=…/part-….parquet
//! S3:     s3://bucket/prefix/events/account=…/region=…/date=…/part-….parquet
//!         s3://bucket/prefix/.retired/events/…   files a compaction replaced, kept an hour
//!         <data-dir>/lake/.cache/events/…        local copies, for the readers that need a file
//! ```
//!
//! Either way the catalog and staging stay in the local data directory, and the write protocol
//! is the same: a file is written to staging, its catalog row committed, and only then is it
//! put in place, which on S3 is one PUT (or a multipart upload completed at once), so an
//! object under `events/` is always complete and always committed. Engines that list the
//! prefix (Athena, Trino, Spark) therefore never see a file that a crash could make them count
//! twice; after a compaction they may see a merged file beside the files it replaces until
//! those are retired, a moment later (the catalog's readers never do).
//!
//! The lake's place is chosen when the data directory is first written (`--lake s3://…`) and
//! recorded in the catalog, so every later command on that data directory finds it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use trailhound_source::{S3Bucket, S3Settings, S3Url};

use crate::LakeError;

/// An S3 lake as the user names it and the catalog records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSpec {
    /// `s3://bucket/prefix`, without a trailing `/`.
    pub url: String,
    /// A custom endpoint (an S3-compatible store), if any.
    pub endpoint: Option<String>,
    /// A named AWS profile for its credentials, if any.
    pub profile: Option<String>,
}

impl RemoteSpec {
    /// Checks `url` and builds the spec.
    ///
    /// # Errors
    ///
    /// [`LakeError::Config`] for anything but an `s3://bucket[/prefix]` URL.
    pub fn new(
        url: &str,
        endpoint: Option<String>,
        profile: Option<String>,
    ) -> Result<RemoteSpec, LakeError> {
        let parsed = S3Url::parse(url).map_err(|err| {
            LakeError::Config(format!(
                "--lake {url}: {err}; the lake is a folder of the data directory unless it is \
                 named as s3://bucket/prefix"
            ))
        })?;
        let url = if parsed.prefix.is_empty() {
            format!("s3://{}", parsed.bucket)
        } else {
            format!("s3://{}/{}", parsed.bucket, parsed.prefix)
        };
        Ok(RemoteSpec {
            url,
            endpoint,
            profile,
        })
    }
}

/// A lake on S3: its bucket connection and the prefix its files live under.
#[derive(Clone)]
pub struct RemoteLake {
    bucket: Arc<S3Bucket>,
    prefix: String,
    spec: RemoteSpec,
}

impl std::fmt::Debug for RemoteLake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteLake")
            .field("url", &self.spec.url)
            .finish_non_exhaustive()
    }
}

/// The folder (or key prefix) under the lake root where retired files go.
pub(crate) const RETIRED: &str = ".retired";

impl RemoteLake {
    /// Sets up the connection (nothing is sent yet).
    pub(crate) fn connect(spec: &RemoteSpec) -> Result<RemoteLake, LakeError> {
        let url = S3Url::parse(&spec.url).map_err(|err| LakeError::Config(err.to_string()))?;
        let settings = S3Settings {
            endpoint: spec.endpoint.clone(),
            profile: spec.profile.clone(),
            downloads: 0,
        };
        let (bucket, prefix) = S3Bucket::for_url(&url, &settings)
            .map_err(|err| LakeError::Config(format!("the lake at {}: {err}", spec.url)))?;
        Ok(RemoteLake {
            bucket,
            prefix,
            spec: spec.clone(),
        })
    }

    /// How the lake was named.
    pub fn spec(&self) -> &RemoteSpec {
        &self.spec
    }

    /// `s3://bucket/prefix`.
    pub fn url(&self) -> &str {
        &self.spec.url
    }

    /// The connection, for readers that drive the store themselves (the query engine).
    pub fn bucket(&self) -> &Arc<S3Bucket> {
        &self.bucket
    }

    /// The key of the lake file the catalog records as `path` (`events/account=…/…`).
    pub fn key(&self, path: &str) -> String {
        if self.prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{}/{path}", self.prefix)
        }
    }

    /// The key `path` has once a compaction or retention retired it.
    pub fn retired_key(&self, path: &str) -> String {
        self.key(&format!("{RETIRED}/{path}"))
    }

    /// The path relative to the lake root of an object listed under [`RemoteLake::key`].
    fn path_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        if self.prefix.is_empty() {
            Some(key)
        } else {
            key.strip_prefix(&self.prefix)?.strip_prefix('/')
        }
    }

    fn failed(&self, err: trailhound_source::SourceError) -> LakeError {
        let text = err.to_string();
        // The store's own answer is long XML; say first what to do about the usual ones.
        let hint = if text.contains("NoSuchBucket") {
            "the bucket does not exist: create it first (`aws s3 mb s3://BUCKET`), or check the \
             name and --lake-endpoint-url. "
        } else if text.contains("AccessDenied") {
            "the credentials may not use this prefix: the lake needs s3:ListBucket, \
             s3:GetObject, s3:PutObject and s3:DeleteObject on it. "
        } else {
            ""
        };
        LakeError::Store {
            lake: self.spec.url.clone(),
            reason: format!("{hint}{text}"),
        }
    }

    /// Puts the local file `from` in place as `path`.
    pub(crate) fn upload(&self, from: &Path, path: &str) -> Result<(), LakeError> {
        self.bucket
            .upload_file(from, &self.key(path))
            .map_err(|err| self.failed(err))
    }

    /// Downloads `path` (in place, else retired) to the local file `to`; `Ok(false)` when it
    /// is in neither.
    pub(crate) fn download(&self, path: &str, to: &Path) -> Result<bool, LakeError> {
        for key in [self.key(path), self.retired_key(path)] {
            if self
                .bucket
                .download_file(&key, to)
                .map_err(|err| self.failed(err))?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether `path` is in place.
    pub(crate) fn exists(&self, path: &str) -> Result<bool, LakeError> {
        Ok(self
            .bucket
            .head(&self.key(path))
            .map_err(|err| self.failed(err))?
            .is_some())
    }

    /// Moves `path` to the retired prefix, where its grace starts now (a copy is new).
    pub(crate) fn retire(&self, path: &str) -> Result<(), LakeError> {
        self.bucket
            .copy(&self.key(path), &self.retired_key(path))
            .map_err(|err| self.failed(err))?;
        self.bucket
            .delete(&self.key(path))
            .map_err(|err| self.failed(err))
    }

    /// The lake files in place under `events/`, as paths relative to the lake root.
    pub(crate) fn files_in_place(&self, table: &str) -> Result<Vec<String>, LakeError> {
        Ok(self
            .bucket
            .list_all(&self.key(table))
            .map_err(|err| self.failed(err))?
            .into_iter()
            .filter_map(|object| self.path_of(&object.key).map(str::to_owned))
            .filter(|path| path.ends_with(".parquet"))
            .collect())
    }

    /// Deletes retired objects whose grace has run out at `now`.
    pub(crate) fn purge_retired(&self, now: SystemTime) -> Result<(), LakeError> {
        let listed = self
            .bucket
            .list_all(&self.key(RETIRED))
            .map_err(|err| self.failed(err))?;
        for object in listed {
            let retired_at = SystemTime::UNIX_EPOCH
                + std::time::Duration::from_nanos(u64::try_from(object.modified_ns).unwrap_or(0));
            let expired = now
                .duration_since(retired_at)
                .is_ok_and(|age| age >= crate::RETIRED_GRACE);
            if expired {
                self.bucket
                    .delete(&object.key)
                    .map_err(|err| self.failed(err))?;
                tracing::debug!(key = %object.key, "removed a retired object past its grace");
            }
        }
        Ok(())
    }
}

/// Local copies of an S3 lake's files, for the readers that read a file whole (dedup at
/// ingest, compaction, retention, hunting, Insights). Lake files are never rewritten (a new
/// file gets a new name), so a copy is valid for as long as it is kept. The cache is trimmed
/// to [`CACHE_BYTES`], oldest first.
#[derive(Debug, Clone)]
pub(crate) struct FileCache {
    dir: PathBuf,
}

/// How much the local copies of an S3 lake may take on disk, unless
/// `TRAILHOUND_LAKE_CACHE_MB` says otherwise.
pub const CACHE_BYTES: u64 = 2 << 30;

impl FileCache {
    pub(crate) fn new(dir: PathBuf) -> FileCache {
        FileCache { dir }
    }

    /// The cache's folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the copy of `path` lies.
    pub(crate) fn path(&self, path: &str) -> PathBuf {
        self.dir.join(path)
    }

    /// The local copy of `path`, downloaded first when there is none.
    pub(crate) fn fetch(&self, remote: &RemoteLake, path: &str) -> Result<PathBuf, LakeError> {
        let local = self.path(path);
        if local.is_file() {
            return Ok(local);
        }
        let parent = local
            .parent()
            .ok_or_else(|| LakeError::Internal(format!("{path} names no file")))?;
        std::fs::create_dir_all(parent).map_err(LakeError::io(parent))?;
        // Another process may fetch the same file: each writes its own and the rename is atomic.
        let partial = parent.join(format!(".{}.partial", uuid::Uuid::new_v4().simple()));
        let found = remote.download(path, &partial);
        match found {
            Ok(true) => {
                std::fs::rename(&partial, &local).map_err(LakeError::io(&partial))?;
                Ok(local)
            }
            Ok(false) => {
                let _ = std::fs::remove_file(&partial);
                Err(LakeError::Store {
                    lake: remote.url().to_owned(),
                    reason: format!("{path}: the catalog lists it, but it is not in the bucket"),
                })
            }
            Err(err) => {
                let _ = std::fs::remove_file(&partial);
                Err(err)
            }
        }
    }

    /// A local file holding `path`: the committed file still in `staging` (not uploaded
    /// yet), else its copy, downloaded now if there is none.
    pub(crate) fn readable(
        &self,
        remote: &RemoteLake,
        staging: &Path,
        path: &str,
    ) -> Result<PathBuf, LakeError> {
        let name = Path::new(path)
            .file_name()
            .ok_or_else(|| LakeError::Internal(format!("{path} names no file")))?;
        let staged = staging.join(name);
        if staged.is_file() {
            return Ok(staged);
        }
        self.fetch(remote, path)
    }

    /// Keeps a file just put in place as its own copy (it is what the next ingest's dedup and
    /// Insights read).
    pub(crate) fn keep(&self, from: &Path, path: &str) -> Result<(), LakeError> {
        let local = self.path(path);
        if let Some(parent) = local.parent() {
            std::fs::create_dir_all(parent).map_err(LakeError::io(parent))?;
        }
        std::fs::rename(from, &local).map_err(LakeError::io(from))
    }

    /// Deletes the oldest copies until the cache holds at most `limit` bytes.
    pub(crate) fn trim(&self, limit: u64) -> Result<(), LakeError> {
        let mut files = Vec::new();
        collect(&self.dir, &mut files)?;
        let mut total: u64 = files.iter().map(|(_, bytes, _)| bytes).sum();
        if total <= limit {
            return Ok(());
        }
        files.sort_by_key(|(_, _, modified)| *modified);
        for (path, bytes, _) in files {
            if total <= limit {
                break;
            }
            std::fs::remove_file(&path).map_err(LakeError::io(&path))?;
            total = total.saturating_sub(bytes);
        }
        Ok(())
    }
}

/// The cache's limit: [`CACHE_BYTES`] or `TRAILHOUND_LAKE_CACHE_MB`.
pub(crate) fn cache_limit() -> u64 {
    std::env::var("TRAILHOUND_LAKE_CACHE_MB")
        .ok()
        .and_then(|mb| mb.trim().parse::<u64>().ok())
        .map_or(CACHE_BYTES, |mb| mb.saturating_mul(1 << 20))
}

fn collect(dir: &Path, into: &mut Vec<(PathBuf, u64, SystemTime)>) -> Result<(), LakeError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(LakeError::io(dir)(err)),
    };
    for entry in entries {
        let entry = entry.map_err(LakeError::io(dir))?;
        let metadata = entry.metadata().map_err(LakeError::io(entry.path()))?;
        if metadata.is_dir() {
            collect(&entry.path(), into)?;
        } else {
            let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            into.push((entry.path(), metadata.len(), modified));
        }
    }
    Ok(())
}
