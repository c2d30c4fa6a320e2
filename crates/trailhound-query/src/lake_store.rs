//! The object store behind the `events` table: it lists the files the catalog says are
//! committed, not what the folder holds, and reads them in place or, once a compaction has
//! retired them, where they were retired to.
//!
//! Listing the folder (what a plain `file://` table does) let a query planned during a
//! compaction count the merged file and the ones it replaces both, or fail on a file deleted
//! between planning and reading: 21 to 24 of the 27 queries started during one compaction
//! failed that way. Listing the catalog gives each scan one committed snapshot; a file is read from
//! wherever it is by then (staging, its place, or retired, kept for
//! [`trailhound_lake::RETIRED_GRACE`]).
//!
//! Queries only read: anything that would write answers "not supported".

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use trailhound_lake::{LakeListing, ListedFile, Spot};

/// The lake table this store serves, as the catalog's paths begin.
const TABLE: &str = "events";

/// Name used in this store's errors.
const STORE: &str = "trailhound lake";

/// A read-only view of the lake's `events` files, listed from the catalog. Object paths are
/// relative to the table's folder (`account=…/region=…/date=…/part-….parquet`), which is
/// what Hive partition parsing expects.
#[derive(Debug)]
pub(crate) struct LakeStore {
    listing: LakeListing,
    /// Reads by absolute path, wherever [`LakeListing::spots`] says a file may be on disk.
    files: LocalFileSystem,
    /// The bucket of a lake on S3, for the spots that are objects.
    remote: Option<Arc<dyn ObjectStore>>,
    /// What the queries asked of the bucket and the disk.
    requests: Arc<LakeRequests>,
}

/// What an engine's queries have asked of the lake's files so far: reads of S3 objects (each
/// one GET request) and of local files. Files are listed from the catalog, never from the
/// bucket, so a query makes no LIST request.
#[derive(Debug, Default)]
pub struct LakeRequests {
    remote_gets: AtomicU64,
    remote_bytes: AtomicU64,
    local_reads: AtomicU64,
}

/// A copy of [`LakeRequests`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LakeRequestCounts {
    /// GET requests sent to the S3 lake's bucket.
    pub remote_gets: u64,
    /// Bytes those requests asked for.
    pub remote_bytes: u64,
    /// Reads of local files (a local lake, staging, or local copies).
    pub local_reads: u64,
}

impl LakeRequests {
    /// The counts now.
    pub fn snapshot(&self) -> LakeRequestCounts {
        LakeRequestCounts {
            remote_gets: self.remote_gets.load(Ordering::Relaxed),
            remote_bytes: self.remote_bytes.load(Ordering::Relaxed),
            local_reads: self.local_reads.load(Ordering::Relaxed),
        }
    }
}

impl LakeStore {
    /// A store over the files `listing` lists.
    pub(crate) fn new(listing: LakeListing, requests: Arc<LakeRequests>) -> LakeStore {
        let remote = listing
            .remote()
            .map(|remote| remote.bucket().object_store());
        LakeStore {
            listing,
            files: LocalFileSystem::new(),
            remote,
            requests,
        }
    }

    fn count(&self, spot: &Spot, requests: u64, bytes: u64) {
        match spot {
            Spot::Local(_) => {
                self.requests
                    .local_reads
                    .fetch_add(requests, Ordering::Relaxed);
            }
            Spot::Remote(_) => {
                self.requests
                    .remote_gets
                    .fetch_add(requests, Ordering::Relaxed);
                self.requests
                    .remote_bytes
                    .fetch_add(bytes, Ordering::Relaxed);
            }
        }
    }

    /// Runs `read` on each place the file at `location` may be, in the order the lake gives,
    /// until one is found; when it is nowhere, the first "not found" is reported.
    async fn read<'a, T, F>(
        &'a self,
        location: &Path,
        (requests, bytes): (u64, u64),
        read: impl Fn(&'a dyn ObjectStore, Path) -> F,
    ) -> object_store::Result<T>
    where
        F: Future<Output = object_store::Result<T>>,
    {
        let mut missing = None;
        for spot in self.listing.spots(&format!("{TABLE}/{location}")) {
            let attempt = match &spot {
                Spot::Local(place) => read(&self.files, Path::from_absolute_path(place)?).await,
                Spot::Remote(key) => match &self.remote {
                    Some(remote) => read(remote.as_ref(), Path::from(key.as_str())).await,
                    None => continue,
                },
            };
            match attempt {
                Err(err @ object_store::Error::NotFound { .. }) => {
                    missing.get_or_insert(err);
                }
                other => {
                    self.count(&spot, requests, bytes);
                    return other;
                }
            }
        }
        Err(missing.unwrap_or_else(|| object_store::Error::NotFound {
            path: location.to_string(),
            source: "the lake lists no place for it".into(),
        }))
    }
}

/// Every committed file of the table, in one read of the catalog (on a blocking thread when
/// inside a runtime: a large catalog takes a while to read).
async fn committed(listing: LakeListing) -> object_store::Result<Vec<ObjectMeta>> {
    let files = match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime
            .spawn_blocking(move || listing.files())
            .await
            .map_err(|source| object_store::Error::JoinError { source })?,
        Err(_) => listing.files(),
    }
    .map_err(|err| object_store::Error::Generic {
        store: STORE,
        source: Box::new(err),
    })?;
    Ok(files.into_iter().filter_map(object_meta).collect())
}

/// A listed file as an object of the table, or `None` for a path outside it.
fn object_meta(file: ListedFile) -> Option<ObjectMeta> {
    let relative = file.path.strip_prefix(TABLE)?.strip_prefix('/')?;
    Some(ObjectMeta {
        location: Path::from(relative),
        // Lake files are never rewritten (a new file gets a new name), so the commit time
        // identifies the content as well as a modification time would, for caches keyed on it.
        last_modified: file
            .committed_at
            .map_or(DateTime::<Utc>::UNIX_EPOCH, DateTime::<Utc>::from),
        size: file.bytes,
        e_tag: None,
        version: None,
    })
}

fn read_only() -> object_store::Error {
    object_store::Error::NotSupported {
        source: "queries cannot change the lake; ingest and compact do".into(),
    }
}

impl fmt::Display for LakeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.listing.remote() {
            Some(remote) => write!(f, "LakeStore({}/{TABLE})", remote.url()),
            None => write!(f, "LakeStore({})", self.listing.in_place(TABLE).display()),
        }
    }
}

#[async_trait]
impl ObjectStore for LakeStore {
    async fn put_opts(
        &self,
        _location: &Path,
        _payload: PutPayload,
        _opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        Err(read_only())
    }

    async fn put_multipart_opts(
        &self,
        _location: &Path,
        _opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        Err(read_only())
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let bytes = match &options.range {
            Some(object_store::GetRange::Bounded(range)) => range.end - range.start,
            _ => 0,
        };
        self.read(location, (1, bytes), |files, place| {
            let options = options.clone();
            async move { files.get_opts(&place, options).await }
        })
        .await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        // A store's get_ranges coalesces nearby ranges; count the ranges, an upper bound.
        let bytes = ranges.iter().map(|range| range.end - range.start).sum();
        self.read(
            location,
            (ranges.len() as u64, bytes),
            |files, place| async move { files.get_ranges(&place, ranges).await },
        )
        .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        locations.map(|_| Err(read_only())).boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let prefix = prefix.cloned();
        futures::stream::once(committed(self.listing.clone()))
            .map(move |listed| match listed {
                Ok(objects) => futures::stream::iter(
                    objects
                        .into_iter()
                        .filter(|object| {
                            prefix
                                .as_ref()
                                .is_none_or(|p| object.location.prefix_matches(p))
                        })
                        .map(Ok)
                        .collect::<Vec<_>>(),
                )
                .boxed(),
                Err(err) => futures::stream::once(async { Err(err) }).boxed(),
            })
            .flatten()
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let depth = prefix.map_or(0, |p| p.parts().count());
        let mut result = ListResult {
            common_prefixes: Vec::new(),
            objects: Vec::new(),
        };
        for object in committed(self.listing.clone()).await? {
            if prefix.is_some_and(|p| !object.location.prefix_matches(p)) {
                continue;
            }
            let parts: Vec<_> = object.location.parts().collect();
            if parts.len() == depth + 1 {
                result.objects.push(object);
            } else if parts.len() > depth + 1 {
                let folder = Path::from_iter(parts.into_iter().take(depth + 1));
                if result.common_prefixes.last() != Some(&folder) {
                    result.common_prefixes.push(folder);
                }
            }
        }
        Ok(result)
    }

    async fn copy_opts(
        &self,
        _from: &Path,
        _to: &Path,
        _options: CopyOptions,
    ) -> object_store::Result<()> {
        Err(read_only())
    }
}
