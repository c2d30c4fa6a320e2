//! Files in and out of a bucket, and the few changes a lake on S3 makes to its objects:
//! upload a local file, download one to a local file, copy, delete.
//!
//! Both transfers stream: a file is sent in parts of [`PART_BYTES`] with at most
//! [`PARTS_IN_FLIGHT`] of them held at once, and a download is written as it arrives, so
//! memory stays bounded whatever the size of a lake file.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

use super::{ListedObject, S3Bucket, S3Settings, S3Url};
use crate::SourceError;

/// Files up to this size go up in one PUT; larger ones as a multipart upload of parts this
/// size (S3's parts are at least 5 MiB).
const PART_BYTES: usize = 16 << 20;

/// Parts of one upload held in memory or in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

impl S3Bucket {
    /// The bucket `url` names, its connection shared with every other use of that bucket
    /// and settings, and the key prefix the URL adds (`""` for none): how an `s3://bucket/key`
    /// given as a place to write is reached.
    ///
    /// # Errors
    ///
    /// As [`S3Bucket::connect`].
    pub fn for_url(
        url: &S3Url,
        settings: &S3Settings,
    ) -> Result<(Arc<S3Bucket>, String), SourceError> {
        let bucket = S3Bucket::shared(
            &S3Url {
                bucket: url.bucket.clone(),
                prefix: String::new(),
            },
            settings,
        )?;
        Ok((bucket, url.prefix.clone()))
    }

    /// The store itself, for readers that drive their own runtime (the query engine).
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        Arc::new(self.store.clone())
    }

    /// Uploads the local file `from` as `key`. The object appears whole or not at all: a
    /// single PUT, or a multipart upload that only becomes visible when completed (and is
    /// aborted on failure).
    ///
    /// # Errors
    ///
    /// [`SourceError::File`] when the file cannot be read, [`SourceError::Remote`] when the
    /// store refuses the upload.
    pub fn upload_file(&self, from: &Path, key: &str) -> Result<(), SourceError> {
        let io = |err| SourceError::File {
            path: from.to_path_buf(),
            source: err,
        };
        let mut file = std::fs::File::open(from).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let path = ObjectPath::from(key);
        if size <= PART_BYTES as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            file.read_to_end(&mut bytes).map_err(io)?;
            return self
                .runtime
                .block_on(self.store.put(&path, bytes.into()))
                .map(|_| ())
                .map_err(|err| self.error(key, &err));
        }
        self.runtime.block_on(async {
            let upload = self
                .store
                .put_multipart(&path)
                .await
                .map_err(|err| self.error(key, &err))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
            let mut buffer = vec![0u8; PART_BYTES];
            loop {
                let read = match file.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(read) => read,
                    Err(err) => {
                        let _ = writer.abort().await;
                        return Err(io(err));
                    }
                };
                if let Err(err) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                    let _ = writer.abort().await;
                    return Err(self.error(key, &err));
                }
                writer.write(&buffer[..read]);
            }
            writer
                .finish()
                .await
                .map(|_| ())
                .map_err(|err| self.error(key, &err))
        })
    }

    /// Uploads each of `files`, which lie under the local folder `root`, as
    /// `prefix/<its path below root>` (keys as the folder lays them out), each whole.
    ///
    /// # Errors
    ///
    /// As [`S3Bucket::upload_file`]; [`SourceError::Inputs`] for a file outside `root`.
    pub fn upload_below(
        &self,
        root: &Path,
        files: &[std::path::PathBuf],
        prefix: &str,
    ) -> Result<(), SourceError> {
        for file in files {
            let relative = file
                .strip_prefix(root)
                .map_err(|_| {
                    SourceError::Inputs(format!(
                        "{} is not under {}",
                        file.display(),
                        root.display()
                    ))
                })?
                .to_string_lossy()
                .into_owned();
            let prefix = prefix.trim_end_matches('/');
            let key = if prefix.is_empty() {
                relative
            } else {
                format!("{prefix}/{relative}")
            };
            self.upload_file(file, &key)?;
        }
        Ok(())
    }

    /// Downloads `key` into the local file `to` (created or truncated); `Ok(false)` when
    /// there is no such object.
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when the object cannot be read, [`SourceError::File`] when the
    /// file cannot be written.
    pub fn download_file(&self, key: &str, to: &Path) -> Result<bool, SourceError> {
        let io = |err| SourceError::File {
            path: to.to_path_buf(),
            source: err,
        };
        self.runtime.block_on(async {
            let result = match self.store.get(&ObjectPath::from(key)).await {
                Ok(result) => result,
                Err(object_store::Error::NotFound { .. }) => return Ok(false),
                Err(err) => return Err(self.error(key, &err)),
            };
            let mut file = std::io::BufWriter::new(std::fs::File::create(to).map_err(io)?);
            let mut stream = result.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|err| self.error(key, &err))?;
                file.write_all(&chunk).map_err(io)?;
            }
            file.into_inner()
                .map_err(|err| io(err.into_error()))?
                .sync_all()
                .map_err(io)?;
            Ok(true)
        })
    }

    /// Copies `from` to `to` inside the bucket (the copy is new: its modification time is now).
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when the store refuses it, `from` missing included.
    pub fn copy(&self, from: &str, to: &str) -> Result<(), SourceError> {
        self.runtime
            .block_on(
                self.store
                    .copy(&ObjectPath::from(from), &ObjectPath::from(to)),
            )
            .map_err(|err| self.error(from, &err))
    }

    /// Deletes `key`; deleting what is not there is not an error.
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when the store refuses it.
    pub fn delete(&self, key: &str) -> Result<(), SourceError> {
        match self
            .runtime
            .block_on(self.store.delete(&ObjectPath::from(key)))
        {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(self.error(key, &err)),
        }
    }

    /// Every object under `prefix`, in key order.
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when the store cannot be listed.
    pub fn list_all(&self, prefix: &str) -> Result<Vec<ListedObject>, SourceError> {
        self.list_after(prefix, None)
    }
}
