//! Listing a bucket the way the local folder walk reads a disk: one folder at a time, in key
//! order, never listing a folder whose `AWSLogs/` key the selection excludes. For a day of logs
//! in a bucket holding years, that is a handful of LIST requests instead of millions of keys.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{ListedObject, S3Bucket, S3Settings, S3Url};
use crate::input::{Discovered, Location, ObjectFacts, Origin, SourceObject};
use crate::{LogKey, LogKind, Selection, SourceError};

/// What a selective listing finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    /// An object the selection may need.
    Object(ListedObject),
    /// A folder (ending in `/`) or an object the selection excludes by its key; never listed
    /// or downloaded.
    Pruned(String),
}

/// The state of a walk, independent of who owns the bucket.
struct KeyWalk {
    selection: Selection,
    root: String,
    /// Folders still to list, the next one last.
    folders: Vec<String>,
    /// Items found and not yet handed out.
    ready: VecDeque<Listed>,
    found_any: bool,
    failed: bool,
}

impl KeyWalk {
    fn new(root: &str, selection: Selection) -> KeyWalk {
        KeyWalk {
            selection,
            root: root.to_owned(),
            folders: vec![root.to_owned()],
            ready: VecDeque::new(),
            found_any: false,
            failed: false,
        }
    }

    fn next(&mut self, bucket: &S3Bucket) -> Option<Result<Listed, SourceError>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(Ok(item));
            }
            if self.failed {
                return None;
            }
            let Some(folder) = self.folders.pop() else {
                if !self.found_any {
                    self.failed = true;
                    return Some(Err(SourceError::NothingFound {
                        what: bucket.display(&self.root),
                    }));
                }
                return None;
            };
            if let Err(err) = self.list(bucket, &folder) {
                // The rest of the bucket is unlikely to answer better; report once.
                self.failed = true;
                return Some(Err(err));
            }
        }
    }

    fn list(&mut self, bucket: &S3Bucket, folder: &str) -> Result<(), SourceError> {
        let (objects, subfolders) = bucket.list_folder(folder)?;
        if folder == self.root && objects.is_empty() && subfolders.is_empty() && !folder.is_empty()
        {
            // The URL may name one object rather than a folder.
            if let Some(object) = bucket.head(folder)? {
                self.found_any = true;
                self.ready.push_back(self.classify(object));
            }
            return Ok(());
        }
        for object in objects {
            // Folder placeholders some tools create (`day/`) are not objects to read.
            if object.key.ends_with('/') {
                continue;
            }
            self.found_any = true;
            let listed = self.classify(object);
            self.ready.push_back(listed);
        }
        let mut admitted = Vec::new();
        for subfolder in subfolders {
            let key = LogKey::parse(&subfolder);
            let hidden = subfolder
                .rsplit('/')
                .next()
                .is_some_and(|name| name.starts_with('.'));
            if key.foreign || hidden {
                continue;
            }
            self.found_any = true;
            if self.selection.admits_key(&key) {
                admitted.push(subfolder);
            } else {
                self.ready
                    .push_back(Listed::Pruned(format!("{subfolder}/")));
            }
        }
        // A stack: the first folder is listed next.
        self.folders.extend(admitted.into_iter().rev());
        Ok(())
    }

    fn classify(&self, object: ListedObject) -> Listed {
        if self.selection.admits_key(&LogKey::parse(&object.key)) {
            Listed::Object(object)
        } else {
            Listed::Pruned(object.key)
        }
    }
}

impl S3Bucket {
    /// The folders CloudTrail delivers one account's logs of one region to
    /// (`…/<account>/CloudTrail/<region>/`, and `CloudTrail-Insight/<region>/`) under the URL's
    /// prefix, pruned by the selection's accounts and regions. Keys inside each sort by
    /// delivery time, which is what following a trail relies on. A URL that already names
    /// such a folder, or one below it, is its own single folder.
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when the store cannot be listed.
    pub fn trail_folders(&self, selection: &Selection) -> Result<Vec<String>, SourceError> {
        let root = LogKey::parse(&self.url.prefix);
        if root.region.is_some() {
            return Ok(vec![format!("{}/", self.url.prefix)]);
        }
        let mut found = Vec::new();
        let mut folders = vec![self.url.prefix.clone()];
        while let Some(folder) = folders.pop() {
            let (_, subfolders) = self.list_folder(&folder)?;
            for subfolder in subfolders.into_iter().rev() {
                let key = LogKey::parse(&subfolder);
                let hidden = subfolder
                    .rsplit('/')
                    .next()
                    .is_some_and(|name| name.starts_with('.'));
                if key.foreign
                    || hidden
                    || key.kind == Some(LogKind::Digest)
                    || !selection.admits_key(&key)
                {
                    continue;
                }
                if key.region.is_some() {
                    found.push(format!("{subfolder}/"));
                } else {
                    folders.push(subfolder);
                }
            }
        }
        found.sort();
        Ok(found)
    }

    /// The objects under the URL's prefix that `selection` may need, listing only the folders
    /// it admits. Ends after the first error.
    pub fn walk_selected(
        &self,
        selection: Selection,
    ) -> impl Iterator<Item = Result<Listed, SourceError>> + '_ {
        let mut walk = KeyWalk::new(&self.url.prefix, selection);
        std::iter::from_fn(move || walk.next(self))
    }
}

/// The objects under `url` that `selection` may need, as discovery items. The connection is
/// made on the first item, so a bad configuration is reported like any unreadable input.
pub(crate) fn walk(
    url: S3Url,
    settings: S3Settings,
    selection: Selection,
) -> impl Iterator<Item = Discovered> {
    let mut bucket: Option<Arc<S3Bucket>> = None;
    let mut keys = Some((url, settings));
    let mut walk = KeyWalk::new("", selection);
    std::iter::from_fn(move || {
        if let Some((url, settings)) = keys.take() {
            match S3Bucket::shared(&url, &settings) {
                Ok(connected) => {
                    walk = KeyWalk::new(&url.prefix, walk.selection.clone());
                    bucket = Some(connected);
                }
                Err(err) => return Some(Discovered::Failed(err)),
            }
        }
        let bucket = bucket.as_ref()?;
        Some(match walk.next(bucket)? {
            Err(err) => Discovered::Failed(err),
            Ok(listed) => discovered(bucket, listed),
        })
    })
}

/// Objects already listed (by a watch following a trail), as discovery items.
pub(crate) fn listed(
    url: &S3Url,
    settings: &S3Settings,
    selection: &Selection,
    objects: Vec<ListedObject>,
) -> Box<dyn Iterator<Item = Discovered>> {
    let bucket = match S3Bucket::shared(url, settings) {
        Ok(bucket) => bucket,
        Err(err) => return Box::new(std::iter::once(Discovered::Failed(err))),
    };
    let selection = selection.clone();
    Box::new(objects.into_iter().map(move |object| {
        let listed = if selection.admits_key(&LogKey::parse(&object.key)) {
            Listed::Object(object)
        } else {
            Listed::Pruned(object.key)
        };
        discovered(&bucket, listed)
    }))
}

fn discovered(bucket: &Arc<S3Bucket>, listed: Listed) -> Discovered {
    match listed {
        Listed::Pruned(key) => Discovered::Pruned(Arc::new(Origin {
            name: bucket.display(&key),
            key: LogKey::parse(&key),
            facts: None,
            link: None,
        })),
        Listed::Object(object) => {
            let origin = Arc::new(Origin {
                name: bucket.display(&object.key),
                key: LogKey::parse(&object.key),
                facts: Some(ObjectFacts {
                    size: object.size,
                    modified_ns: object.modified_ns,
                }),
                link: None,
            });
            if origin.key.kind == Some(LogKind::Digest) {
                Discovered::Digest(origin)
            } else {
                Discovered::Object(SourceObject {
                    origin,
                    location: Location::S3 {
                        bucket: Arc::clone(bucket),
                        key: object.key,
                        size: object.size,
                    },
                })
            }
        }
    }
}
