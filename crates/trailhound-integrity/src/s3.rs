//! A trail's bucket on S3 or an S3-compatible store, through `object_store`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, ObjectStore, ObjectStoreExt, RetryConfig};

use crate::IntegrityError;
use crate::store::TrailStore;

/// Where and how to reach the bucket.
#[derive(Debug, Clone, Default)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix to list under (may be empty).
    pub prefix: String,
    /// A custom endpoint for S3-compatible stores (`http://127.0.0.1:9000`).
    pub endpoint: Option<String>,
}

impl S3Location {
    /// Parses `s3://bucket[/prefix]`.
    ///
    /// # Errors
    ///
    /// [`IntegrityError::Input`] when it is not such a URL.
    pub fn parse(url: &str) -> Result<S3Location, IntegrityError> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            IntegrityError::Input(format!("{url:?} is not an s3://bucket/prefix URL"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(IntegrityError::Input(format!("{url:?} names no bucket")));
        }
        Ok(S3Location {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            endpoint: None,
        })
    }
}

/// A bucket read through the standard AWS environment: `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`, and the
/// instance or container role when those are absent.
pub struct S3Tree {
    store: AmazonS3,
    location: S3Location,
    runtime: tokio::runtime::Runtime,
    /// Signatures seen on digests already fetched, so that each digest is read once.
    signatures: Mutex<HashMap<String, Option<String>>>,
}

impl std::fmt::Debug for S3Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Tree")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl S3Tree {
    /// Connects (lazily: nothing is sent until the first listing).
    ///
    /// # Errors
    ///
    /// [`IntegrityError::Store`] when the configuration is unusable.
    pub fn new(location: S3Location) -> Result<S3Tree, IntegrityError> {
        let fail = |reason: String| IntegrityError::Store {
            location: format!("s3://{}", location.bucket),
            reason,
        };
        // A few quick retries: a store that is down should be reported in seconds, not after
        // object_store's default three minutes of backoff.
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(20),
            ..RetryConfig::default()
        };
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&location.bucket)
            .with_retry(retry);
        if let Some(endpoint) = &location.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(|err| fail(err.to_string()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|err| fail(format!("cannot start the I/O runtime: {err}")))?;
        Ok(S3Tree {
            store,
            location,
            runtime,
            signatures: Mutex::new(HashMap::new()),
        })
    }

    fn error(&self, key: &str, err: impl std::fmt::Display) -> IntegrityError {
        IntegrityError::Store {
            location: self.display(key),
            reason: err.to_string(),
        }
    }

    fn fetch(&self, key: &str) -> Result<Option<Fetched>, IntegrityError> {
        self.runtime.block_on(async {
            let result = match self.store.get(&ObjectPath::from(key)).await {
                Ok(result) => result,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(err) => return Err(self.error(key, err)),
            };
            let signature = result
                .attributes
                .get(&Attribute::Metadata("signature".into()))
                .map(|value| value.as_ref().to_owned());
            let bytes = result.bytes().await.map_err(|err| self.error(key, err))?;
            Ok(Some(Fetched {
                bytes: bytes.to_vec(),
                signature,
            }))
        })
    }
}

/// An object's bytes and the signature in its metadata.
struct Fetched {
    bytes: Vec<u8>,
    signature: Option<String>,
}

impl TrailStore for S3Tree {
    fn list(&self) -> Result<Vec<String>, IntegrityError> {
        let prefix = (!self.location.prefix.is_empty())
            .then(|| ObjectPath::from(self.location.prefix.as_str()));
        self.runtime.block_on(async {
            let mut keys: Vec<String> = self
                .store
                .list(prefix.as_ref())
                .map_ok(|meta| meta.location.to_string())
                .try_collect()
                .await
                .map_err(|err| self.error(&self.location.prefix, err))?;
            keys.sort();
            Ok(keys)
        })
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, IntegrityError> {
        let fetched = self.fetch(key)?;
        if let Ok(mut signatures) = self.signatures.lock() {
            signatures.insert(
                key.to_owned(),
                fetched.as_ref().and_then(|f| f.signature.clone()),
            );
        }
        Ok(fetched.map(|f| f.bytes))
    }

    fn signature(&self, key: &str) -> Result<Option<String>, IntegrityError> {
        let known = self
            .signatures
            .lock()
            .ok()
            .and_then(|signatures| signatures.get(key).cloned());
        match known {
            Some(signature) => Ok(signature),
            None => Ok(self.fetch(key)?.and_then(|f| f.signature)),
        }
    }

    fn display(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.location.bucket)
    }

    fn bucket(&self) -> Option<&str> {
        Some(&self.location.bucket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_urls() -> Result<(), IntegrityError> {
        let location = S3Location::parse("s3://trail-bucket/org/prefix/")?;
        assert_eq!(location.bucket, "trail-bucket");
        assert_eq!(location.prefix, "org/prefix");
        assert_eq!(S3Location::parse("s3://b")?.prefix, "");
        assert!(S3Location::parse("s3:///x").is_err());
        assert!(S3Location::parse("/local").is_err());
        Ok(())
    }
}
