//! Where digests and logs are read from: a downloaded folder, or (with the S3 source) a
//! bucket. Validation needs little: a listing, each object's bytes, and a digest's signature.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use trailhound_source::Selection;

use crate::IntegrityError;

/// A tree of CloudTrail objects in the `AWSLogs/` layout.
///
/// Keys are `/`-separated and relative to the store's root; they end in the `AWSLogs/…` key
/// CloudTrail wrote, after whatever prefix or folder the tree adds.
pub trait TrailStore: Sync {
    /// Every object key under the root.
    ///
    /// `wanted` says which accounts, regions and times validation needs; a store may leave
    /// out keys it excludes (a bucket does, to avoid listing years of logs), or list them all.
    ///
    /// # Errors
    ///
    /// When the tree cannot be listed at all.
    fn list(&self, wanted: &Selection) -> Result<Vec<String>, IntegrityError>;

    /// An object's bytes as stored (gzipped or not); `Ok(None)` when it does not exist.
    ///
    /// # Errors
    ///
    /// When it exists but cannot be read.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, IntegrityError>;

    /// A digest's own signature, hex: the `x-amz-meta-signature` metadata on S3, a sidecar
    /// file locally; `Ok(None)` when there is none.
    ///
    /// # Errors
    ///
    /// When it exists but cannot be read.
    fn signature(&self, key: &str) -> Result<Option<String>, IntegrityError>;

    /// How to show a key to the user (`s3://bucket/key`, or a local path).
    fn display(&self, key: &str) -> String;

    /// The bucket, when keys are the bucket's own: then a digest must name exactly its bucket
    /// and key. A local copy keeps only the part from `AWSLogs/` on.
    fn bucket(&self) -> Option<&str>;
}

/// File name suffix of a digest's signature sidecar: `<digest>.json.gz.sig`.
pub const SIGNATURE_SIDECAR_SUFFIX: &str = ".sig";

/// The sidecar of a local digest: `aws s3api head-object --query Metadata` output
/// (`{"signature": "…", "signature-algorithm": "SHA256withRSA"}`), or the hex signature alone.
pub fn sidecar_path(digest: &Path) -> PathBuf {
    let mut name = digest.as_os_str().to_owned();
    name.push(SIGNATURE_SIDECAR_SUFFIX);
    PathBuf::from(name)
}

/// The content of a sidecar for `signature`, in head-object's `Metadata` shape.
pub fn sidecar_content(signature_hex: &str) -> String {
    serde_json::json!({
        "signature": signature_hex,
        "signature-algorithm": "SHA256withRSA",
    })
    .to_string()
}

/// A downloaded copy on the local disk.
#[derive(Debug, Clone)]
pub struct LocalTree {
    /// The folder keys are relative to: the parent of `AWSLogs/` when the user named a
    /// folder inside it, so that keys still start at `AWSLogs/`.
    root: PathBuf,
    /// The folder to list.
    scope: PathBuf,
}

impl LocalTree {
    /// A folder holding (somewhere below it) an `AWSLogs/` tree, or a folder inside one
    /// (`…/AWSLogs/111122223333/`), which limits validation to that part.
    ///
    /// # Errors
    ///
    /// [`IntegrityError::Input`] if it is not a folder.
    pub fn new(path: &Path) -> Result<LocalTree, IntegrityError> {
        if !path.is_dir() {
            return Err(IntegrityError::Input(format!(
                "{} is not a folder; give the folder you downloaded the trail's bucket (or its AWSLogs/ tree) to",
                path.display()
            )));
        }
        let inside_awslogs = path
            .ancestors()
            .find(|a| a.file_name().is_some_and(|n| n == "AWSLogs"))
            .and_then(Path::parent);
        Ok(LocalTree {
            root: inside_awslogs.unwrap_or(path).to_path_buf(),
            scope: path.to_path_buf(),
        })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }
}

impl TrailStore for LocalTree {
    fn list(&self, _wanted: &Selection) -> Result<Vec<String>, IntegrityError> {
        let mut keys = Vec::new();
        for entry in walkdir::WalkDir::new(&self.scope).sort_by_file_name() {
            let entry = entry.map_err(|err| {
                IntegrityError::Input(format!("cannot list {}: {err}", self.scope.display()))
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(relative) = entry.path().strip_prefix(&self.root) else {
                continue;
            };
            let key: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            keys.push(key.join("/"));
        }
        Ok(keys)
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, IntegrityError> {
        let path = self.path(key);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(IntegrityError::Io { path, source }),
        }
    }

    fn signature(&self, key: &str) -> Result<Option<String>, IntegrityError> {
        let path = sidecar_path(&self.path(key));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(IntegrityError::Io { path, source }),
        };
        let text = text.trim();
        if text.starts_with('{') {
            let value: serde_json::Value = serde_json::from_str(text).map_err(|err| {
                IntegrityError::Input(format!(
                    "{}: not a signature sidecar ({err})",
                    path.display()
                ))
            })?;
            return Ok(value
                .get("signature")
                .and_then(|s| s.as_str())
                .map(str::to_owned));
        }
        Ok(Some(text.to_owned()))
    }

    fn display(&self, key: &str) -> String {
        self.path(key).display().to_string()
    }

    fn bucket(&self) -> Option<&str> {
        None
    }
}

/// The content CloudTrail hashes: the object inflated if it is gzip, as is otherwise.
pub(crate) fn inflate(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 8);
        MultiGzDecoder::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(bytes.to_vec())
    }
}

/// Hex SHA-256 of the inflated content and its length, streamed so that a large log never
/// sits in memory whole after inflation.
pub(crate) fn content_sha256(bytes: &[u8]) -> std::io::Result<(String, u64)> {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut length = 0u64;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut decoder = MultiGzDecoder::new(bytes);
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let read = match decoder.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            context.update(&buffer[..read]);
            length += read as u64;
        }
    } else {
        context.update(bytes);
        length = bytes.len() as u64;
    }
    Ok((hex::encode(context.finish()), length))
}
