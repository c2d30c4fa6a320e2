//! A trail's bucket on S3 or an S3-compatible store, through the source crate's connection
//! (the same credential chain, region lookup and endpoint handling as every other command).

use std::collections::HashMap;
use std::sync::Mutex;

use trailhound_source::{FetchedObject, Listed, S3Bucket, S3Settings, S3Url, Selection};

use crate::IntegrityError;
use crate::store::TrailStore;

/// A bucket read for validation.
pub struct S3Tree {
    bucket: S3Bucket,
    /// Signatures seen on digests already fetched, so that each digest is read once.
    signatures: Mutex<HashMap<String, Option<String>>>,
}

impl std::fmt::Debug for S3Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Tree")
            .field("url", self.bucket.url())
            .finish_non_exhaustive()
    }
}

impl S3Tree {
    /// Connects (nothing is listed until validation asks).
    ///
    /// # Errors
    ///
    /// [`IntegrityError::Store`] when the configuration is unusable.
    pub fn new(url: &S3Url, settings: &S3Settings) -> Result<S3Tree, IntegrityError> {
        let bucket = S3Bucket::connect(url, settings).map_err(|err| IntegrityError::Store {
            location: url.to_string(),
            reason: err.to_string(),
        })?;
        Ok(S3Tree {
            bucket,
            signatures: Mutex::new(HashMap::new()),
        })
    }

    fn fetch(&self, key: &str) -> Result<Option<FetchedObject>, IntegrityError> {
        self.bucket.fetch(key).map_err(|err| IntegrityError::Store {
            location: self.display(key),
            reason: err.to_string(),
        })
    }
}

/// The digest signature CloudTrail puts in an object's `x-amz-meta-signature`.
fn signature_of(object: &FetchedObject) -> Option<String> {
    object.metadata("signature").map(str::to_owned)
}

impl TrailStore for S3Tree {
    fn list(&self, wanted: &Selection) -> Result<Vec<String>, IntegrityError> {
        let mut keys = Vec::new();
        for listed in self.bucket.walk_selected(wanted.clone()) {
            match listed {
                Ok(Listed::Object(object)) => keys.push(object.key),
                Ok(Listed::Pruned(_)) => {}
                Err(err) => {
                    return Err(IntegrityError::Store {
                        location: self.bucket.url().to_string(),
                        reason: err.to_string(),
                    });
                }
            }
        }
        Ok(keys)
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, IntegrityError> {
        let fetched = self.fetch(key)?;
        if let Ok(mut signatures) = self.signatures.lock() {
            signatures.insert(key.to_owned(), fetched.as_ref().and_then(signature_of));
        }
        Ok(fetched.map(|f| f.bytes.to_vec()))
    }

    fn signature(&self, key: &str) -> Result<Option<String>, IntegrityError> {
        let known = self
            .signatures
            .lock()
            .ok()
            .and_then(|signatures| signatures.get(key).cloned());
        match known {
            Some(signature) => Ok(signature),
            None => Ok(self.fetch(key)?.as_ref().and_then(signature_of)),
        }
    }

    fn display(&self, key: &str) -> String {
        self.bucket.display(key)
    }

    fn bucket(&self) -> Option<&str> {
        Some(&self.bucket.url().bucket)
    }
}
