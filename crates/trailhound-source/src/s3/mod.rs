//! S3 and S3-compatible stores as a source, through `object_store`.
//!
//! ```text
//! s3://bucket/prefix ──S3Bucket::connect (credential chain, region, endpoint)──► S3Bucket
//!     ──walk (one LIST per folder the Selection admits)──► SourceObject (Location::S3)
//!     ──fetch stage (ReadOptions::downloads GETs at once)──► bytes ──► the usual workers
//! ```
//!
//! Credentials follow the AWS chain (see [`crate::aws`]): a profile named with `--profile`; else the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`); else the profile in
//! `AWS_PROFILE` or `[default]` of `~/.aws/credentials` and `~/.aws/config`; else web identity,
//! the container role or the instance role. The region comes from `AWS_REGION`, the profile,
//! or the bucket itself (one HEAD request to AWS).

mod follow;
mod transfer;
mod walk;

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, ClientOptions, ObjectMeta, ObjectStore, ObjectStoreExt, RetryConfig,
};

use crate::SourceError;

pub use follow::RELIST_MARGIN;
pub use walk::Listed;
pub(crate) use walk::{listed, walk};

/// Downloads in flight at once per read, unless [`S3Settings::downloads`] says otherwise.
/// CloudTrail objects are small, so throughput is bound by round trips, not bandwidth.
pub const DEFAULT_DOWNLOADS: usize = 16;

/// Objects up to this size are downloaded ahead of the workers; larger ones are streamed by
/// the worker that reads them, so memory stays bounded whatever is in the bucket.
pub(crate) const PREFETCH_MAX_BYTES: u64 = 16 << 20;

/// `s3://bucket[/prefix]`, as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct S3Url {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix without leading or trailing `/` (may be empty).
    pub prefix: String,
}

impl S3Url {
    /// Parses `s3://bucket[/prefix]`.
    ///
    /// # Errors
    ///
    /// [`SourceError::S3Config`] when it is not such a URL.
    pub fn parse(url: &str) -> Result<S3Url, SourceError> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            SourceError::S3Config(format!("{url:?} is not an s3://bucket/prefix URL"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(SourceError::S3Config(format!(
                "{url:?} names no bucket; write s3://bucket/prefix"
            )));
        }
        Ok(S3Url {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    /// `s3://bucket/key` for a key of this bucket.
    pub fn display_key(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// How to reach S3: what the command line adds to the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// A custom endpoint for S3-compatible stores (`http://127.0.0.1:9000`); else
    /// `AWS_ENDPOINT_URL`, the profile's `endpoint_url`, or AWS.
    pub endpoint: Option<String>,
    /// A named profile from the AWS shared configuration files.
    pub profile: Option<String>,
    /// Downloads in flight at once; 0 means [`DEFAULT_DOWNLOADS`].
    pub downloads: usize,
}

impl S3Settings {
    /// Downloads in flight at once.
    pub fn downloads(&self) -> usize {
        if self.downloads == 0 {
            DEFAULT_DOWNLOADS
        } else {
            self.downloads
        }
    }
}

/// A connected bucket. Blocking methods drive the bucket's own I/O runtime, so it can be
/// used from any number of plain threads at once.
pub struct S3Bucket {
    store: AmazonS3,
    url: S3Url,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for S3Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Bucket")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// An object's bytes and its user metadata (`x-amz-meta-*`).
#[derive(Debug, Clone)]
pub struct FetchedObject {
    /// The bytes as stored.
    pub bytes: Bytes,
    /// User metadata, names without the `x-amz-meta-` prefix.
    pub metadata: Vec<(String, String)>,
    /// Size and modification time as the store reports them with the object.
    pub listed: ListedObject,
}

impl FetchedObject {
    /// The user metadata `name` (`signature` for `x-amz-meta-signature`), if present.
    pub fn metadata(&self, name: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// An object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Its key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, nanoseconds since the Unix epoch; 0 when not known yet (an
    /// object announced by a notification), in which case the download supplies it.
    pub modified_ns: i64,
}

impl ListedObject {
    fn from_meta(meta: &ObjectMeta) -> ListedObject {
        ListedObject {
            key: meta.location.to_string(),
            size: meta.size,
            modified_ns: meta.last_modified.timestamp_nanos_opt().unwrap_or(0),
        }
    }
}

/// Connections made so far, by URL and settings: a long-running watch and every input naming
/// the same bucket share one client and its connection pool.
type Connections = std::sync::Mutex<Vec<((S3Url, S3Settings), std::sync::Arc<S3Bucket>)>>;
static CONNECTIONS: std::sync::OnceLock<Connections> = std::sync::OnceLock::new();

impl S3Bucket {
    /// The connection for `url` and `settings`, made on first use and shared after.
    ///
    /// # Errors
    ///
    /// As [`S3Bucket::connect`].
    pub fn shared(
        url: &S3Url,
        settings: &S3Settings,
    ) -> Result<std::sync::Arc<S3Bucket>, SourceError> {
        let connections = CONNECTIONS.get_or_init(Default::default);
        let wanted = (url.clone(), settings.clone());
        if let Ok(known) = connections.lock()
            && let Some((_, bucket)) = known.iter().find(|(key, _)| *key == wanted)
        {
            return Ok(std::sync::Arc::clone(bucket));
        }
        let bucket = std::sync::Arc::new(S3Bucket::connect(url, settings)?);
        if let Ok(mut known) = connections.lock() {
            known.push((wanted, std::sync::Arc::clone(&bucket)));
        }
        Ok(bucket)
    }

    /// Sets up the client (nothing is sent yet, except one HEAD request to AWS to learn the
    /// bucket's region when no region is configured).
    ///
    /// # Errors
    ///
    /// [`SourceError::S3Config`] when the configuration is unusable.
    pub fn connect(url: &S3Url, settings: &S3Settings) -> Result<S3Bucket, SourceError> {
        let fail = |reason: String| SourceError::S3Config(format!("{url}: {reason}"));
        // A few quick retries: a store that is down should be reported in seconds, not after
        // object_store's default three minutes of backoff.
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(20),
            ..RetryConfig::default()
        };
        let (builder, endpoint) =
            crate::aws::configured_builder(settings).map_err(|reason| fail(reason.to_string()))?;
        let mut builder = builder.with_bucket_name(&url.bucket).with_retry(retry);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|err| fail(format!("cannot start the I/O runtime: {err}")))?;
        if builder
            .get_config_value(&AmazonS3ConfigKey::Region)
            .is_none()
            && endpoint.is_none()
        {
            // AWS answers a request in the wrong region with a redirect object_store does
            // not follow; ask the bucket where it lives.
            let found = runtime.block_on(object_store::aws::resolve_bucket_region(
                &url.bucket,
                &ClientOptions::default(),
            ));
            match found {
                Ok(region) => builder = builder.with_region(region),
                Err(err) => tracing::debug!("{url}: cannot look up the bucket's region: {err}"),
            }
        }
        let store = builder.build().map_err(|err| fail(err.to_string()))?;
        Ok(S3Bucket {
            store,
            url: url.clone(),
            runtime,
        })
    }

    /// The URL this bucket was opened with.
    pub fn url(&self) -> &S3Url {
        &self.url
    }

    /// `s3://bucket/key`.
    pub fn display(&self, key: &str) -> String {
        self.url.display_key(key)
    }

    fn error(&self, key: &str, err: &object_store::Error) -> SourceError {
        let text = err.to_string();
        // object_store reports many refusals as generic errors; S3's own codes say who is at
        // fault.
        let credentials = matches!(err, object_store::Error::Unauthenticated { .. })
            || [
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "ExpiredToken",
                "InvalidToken",
            ]
            .iter()
            .any(|code| text.contains(code));
        let permission = matches!(err, object_store::Error::PermissionDenied { .. })
            || text.contains("AccessDenied");
        let hint = if credentials {
            " (the credentials were refused: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, --profile or AWS_PROFILE)"
        } else if permission {
            " (the credentials need s3:ListBucket and s3:GetObject on this bucket)"
        } else {
            ""
        };
        SourceError::Remote {
            location: self.display(key),
            reason: format!("{text}{hint}"),
        }
    }

    /// The objects and sub-folders directly under `prefix` (`""` for the bucket's root): one
    /// LIST request (more for folders of over 1,000 entries).
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when the store cannot be listed.
    pub fn list_folder(
        &self,
        prefix: &str,
    ) -> Result<(Vec<ListedObject>, Vec<String>), SourceError> {
        let path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let listed = self
            .runtime
            .block_on(self.store.list_with_delimiter(path.as_ref()))
            .map_err(|err| self.error(prefix, &err))?;
        let objects = listed.objects.iter().map(ListedObject::from_meta).collect();
        let folders = listed
            .common_prefixes
            .iter()
            .map(ToString::to_string)
            .collect();
        Ok((objects, folders))
    }

    /// Every object under `prefix` whose key sorts after `start_after` (all when `None`), in
    /// key order: the way to follow a CloudTrail prefix, whose keys sort by time.
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when the store cannot be listed.
    pub fn list_after(
        &self,
        prefix: &str,
        start_after: Option<&str>,
    ) -> Result<Vec<ListedObject>, SourceError> {
        let path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let mut listed: Vec<ListedObject> = self.runtime.block_on(async {
            let mut stream = match start_after {
                Some(after) => self
                    .store
                    .list_with_offset(path.as_ref(), &ObjectPath::from(after)),
                None => self.store.list(path.as_ref()),
            };
            let mut found = Vec::new();
            while let Some(meta) = stream.next().await {
                let meta = meta.map_err(|err| self.error(prefix, &err))?;
                found.push(ListedObject::from_meta(&meta));
            }
            Ok::<_, SourceError>(found)
        })?;
        listed.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(listed)
    }

    /// An object's size and modification time; `Ok(None)` when there is none.
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when the store cannot be asked.
    pub fn head(&self, key: &str) -> Result<Option<ListedObject>, SourceError> {
        match self
            .runtime
            .block_on(self.store.head(&ObjectPath::from(key)))
        {
            Ok(meta) => Ok(Some(ListedObject::from_meta(&meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(self.error(key, &err)),
        }
    }

    /// An object's bytes and user metadata; `Ok(None)` when there is none.
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when it exists but cannot be read.
    pub fn fetch(&self, key: &str) -> Result<Option<FetchedObject>, SourceError> {
        self.runtime.block_on(async {
            let result = match self.store.get(&ObjectPath::from(key)).await {
                Ok(result) => result,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(err) => return Err(self.error(key, &err)),
            };
            let metadata = result
                .attributes
                .iter()
                .filter_map(|(attribute, value)| match attribute {
                    Attribute::Metadata(name) => {
                        Some((name.to_string(), value.as_ref().to_owned()))
                    }
                    _ => None,
                })
                .collect();
            let listed = ListedObject::from_meta(&result.meta);
            let bytes = result.bytes().await.map_err(|err| self.error(key, &err))?;
            Ok(Some(FetchedObject {
                bytes,
                metadata,
                listed,
            }))
        })
    }

    /// An object's bytes as a blocking reader that downloads as it is read, for objects too
    /// large to hold in memory.
    pub(crate) fn stream(&self, key: &str) -> Result<StreamingObject, SourceError> {
        let result = self
            .runtime
            .block_on(self.store.get(&ObjectPath::from(key)))
            .map_err(|err| self.error(key, &err))?;
        Ok(StreamingObject {
            runtime: self.runtime.handle().clone(),
            stream: result.into_stream(),
            current: Bytes::new(),
        })
    }

    /// Stores `bytes` under `key` (used to seed test buckets and by exports).
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when the store refuses it.
    pub fn put(&self, key: &str, bytes: Bytes) -> Result<(), SourceError> {
        self.runtime
            .block_on(self.store.put(&ObjectPath::from(key), bytes.into()))
            .map(|_| ())
            .map_err(|err| self.error(key, &err))
    }
}

/// A download read as a plain [`std::io::Read`].
pub(crate) struct StreamingObject {
    runtime: tokio::runtime::Handle,
    stream: futures::stream::BoxStream<'static, object_store::Result<Bytes>>,
    current: Bytes,
}

impl std::io::Read for StreamingObject {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.runtime.block_on(self.stream.next()) {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(err)) => return Err(std::io::Error::other(err)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_urls() -> Result<(), SourceError> {
        let url = S3Url::parse("s3://trail-bucket/org/prefix/")?;
        assert_eq!(url.bucket, "trail-bucket");
        assert_eq!(url.prefix, "org/prefix");
        assert_eq!(url.to_string(), "s3://trail-bucket/org/prefix");
        assert_eq!(
            url.display_key("k/x.json.gz"),
            "s3://trail-bucket/k/x.json.gz"
        );
        assert_eq!(S3Url::parse("s3://b")?.prefix, "");
        assert!(S3Url::parse("s3:///x").is_err());
        assert!(S3Url::parse("/local").is_err());
        Ok(())
    }
}
