//! Turning what the user named (files, folders, globs, `-`) into a stream of objects to read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::s3::{S3Settings, S3Url};
use crate::{LogKey, LogKind, Selection, SourceError};

/// One input as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    /// `-`: standard input.
    Stdin,
    /// A file, or a folder read recursively.
    Path(PathBuf),
    /// A glob pattern such as `logs/**/*.json.gz`, for shells that do not expand it.
    Glob(String),
    /// A bucket or a prefix in it (`s3://bucket/AWSLogs/…`), read like a folder.
    S3(S3Url),
    /// Objects of a bucket already listed (new objects a watch found), read in this order.
    S3Objects(S3Url, Vec<crate::s3::ListedObject>),
}

impl InputSpec {
    /// Reads every command-line input (see [`InputSpec::parse`]).
    ///
    /// # Errors
    ///
    /// As [`InputSpec::parse`], and [`SourceError::Inputs`] when stdin is named twice (it
    /// can be read only once).
    pub fn parse_all(args: &[String]) -> Result<Vec<InputSpec>, SourceError> {
        let inputs = args
            .iter()
            .map(|arg| InputSpec::parse(arg))
            .collect::<Result<Vec<_>, _>>()?;
        if inputs.iter().filter(|i| **i == InputSpec::Stdin).count() > 1 {
            return Err(SourceError::Inputs(
                "stdin (-) can be read only once; name it a single time".to_owned(),
            ));
        }
        Ok(inputs)
    }

    /// Reads a command-line argument: `-` is stdin; `s3://…` is a bucket; an existing path is
    /// a path; text with glob characters that is not an existing path is a pattern.
    ///
    /// # Errors
    ///
    /// [`SourceError::S3Config`] for a malformed `s3://` URL.
    pub fn parse(arg: &str) -> Result<InputSpec, SourceError> {
        Ok(if arg == "-" {
            InputSpec::Stdin
        } else if arg.starts_with("s3://") {
            InputSpec::S3(S3Url::parse(arg)?)
        } else if !Path::new(arg).exists() && arg.contains(['*', '?', '[']) {
            InputSpec::Glob(arg.to_owned())
        } else {
            InputSpec::Path(PathBuf::from(arg))
        })
    }

    /// Whether reading it goes over the network.
    pub fn is_remote(&self) -> bool {
        matches!(self, InputSpec::S3(_) | InputSpec::S3Objects(..))
    }
}

/// Where an object came from, carried with everything read from it so that every report can
/// name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The path as the user would recognise it (`<stdin>` for standard input).
    pub name: String,
    /// What the path says under the `AWSLogs/` layout.
    pub key: LogKey,
    /// Size and modification time, where the object has them (files do, stdin does not).
    pub facts: Option<ObjectFacts>,
    /// Whether the path is itself a symbolic link, where the folder walk that found it read
    /// that from the directory listing; `None` where nothing read it (paths given one by one,
    /// objects in a bucket). Naming a file in the catalog needs it (see `trailhound-lake`'s
    /// `SourceLocator`), and a walk knows it without another system call per file.
    pub link: Option<bool>,
}

/// What is known about an object before it is opened, to tell whether it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectFacts {
    /// Size in bytes, as stored (compressed).
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub modified_ns: i64,
}

/// How to open an object's bytes.
#[derive(Debug, Clone)]
pub(crate) enum Location {
    File(PathBuf),
    Stdin,
    /// An object not downloaded yet.
    S3 {
        bucket: Arc<crate::s3::S3Bucket>,
        key: String,
        size: u64,
    },
    /// An object downloaded ahead of its reader.
    Memory(bytes::Bytes),
}

/// One object to read.
#[derive(Debug, Clone)]
pub struct SourceObject {
    /// Where it came from.
    pub origin: Arc<Origin>,
    pub(crate) location: Location,
}

/// What discovery yields, in a stable order (paths sorted by name within each folder).
#[derive(Debug)]
pub enum Discovered {
    /// An object to read.
    Object(SourceObject),
    /// A file or a whole folder that the selection excludes by its key, never opened.
    Pruned(Arc<Origin>),
    /// A digest file, recognised by its key and not opened: digests hold no events.
    Digest(Arc<Origin>),
    /// An input that could not be expanded (missing path, bad pattern, empty folder).
    Failed(SourceError),
}

/// Expands inputs lazily, pruning folders and files by key before anything is opened (on S3,
/// before they are listed).
pub fn discover(
    inputs: Vec<InputSpec>,
    selection: Selection,
    s3: S3Settings,
) -> impl Iterator<Item = Discovered> {
    inputs
        .into_iter()
        .flat_map(move |spec| expand(spec, selection.clone(), &s3))
}

fn expand(
    spec: InputSpec,
    selection: Selection,
    s3: &S3Settings,
) -> Box<dyn Iterator<Item = Discovered>> {
    match spec {
        InputSpec::S3(url) => Box::new(crate::s3::walk(url, s3.clone(), selection)),
        InputSpec::S3Objects(url, objects) => crate::s3::listed(&url, s3, &selection, objects),
        InputSpec::Stdin => Box::new(std::iter::once(Discovered::Object(SourceObject {
            origin: Arc::new(Origin {
                name: "<stdin>".to_owned(),
                key: LogKey::default(),
                facts: None,
                link: None,
            }),
            location: Location::Stdin,
        }))),
        InputSpec::Path(path) => {
            if path.is_dir() {
                let what = path.display().to_string();
                Box::new(require_some(walk(path, selection), what))
            } else if path.exists() {
                Box::new(std::iter::once(classify_file(path, None, &selection)))
            } else {
                Box::new(std::iter::once(Discovered::Failed(SourceError::NotFound {
                    path,
                })))
            }
        }
        InputSpec::Glob(pattern) => match glob::glob(&pattern) {
            Err(err) => Box::new(std::iter::once(Discovered::Failed(
                SourceError::InvalidGlob {
                    pattern,
                    message: err.msg.to_owned(),
                },
            ))),
            Ok(paths) => {
                let selection_for_paths = selection.clone();
                let found = paths.flat_map(move |entry| -> Box<dyn Iterator<Item = Discovered>> {
                    match entry {
                        Ok(path) if path.is_dir() => {
                            Box::new(walk(path, selection_for_paths.clone()))
                        }
                        Ok(path) => Box::new(std::iter::once(classify_file(
                            path,
                            None,
                            &selection_for_paths,
                        ))),
                        Err(err) => Box::new(std::iter::once(Discovered::Failed(SourceError::Io(
                            err.into(),
                        )))),
                    }
                });
                Box::new(require_some(found, pattern))
            }
        },
    }
}

/// Passes items through, and adds a [`SourceError::NothingFound`] if there were none: a
/// folder or pattern with no files is almost always a mistake the user wants to hear about.
fn require_some(
    items: impl Iterator<Item = Discovered>,
    what: String,
) -> impl Iterator<Item = Discovered> {
    let mut seen = false;
    let mut what = Some(what);
    items
        .map(Some)
        .chain(std::iter::once(None))
        .filter_map(move |item| match item {
            Some(item) => {
                seen = true;
                Some(item)
            }
            None if !seen => what
                .take()
                .map(|what| Discovered::Failed(SourceError::NothingFound { what })),
            None => None,
        })
}

fn walk(root: PathBuf, selection: Selection) -> impl Iterator<Item = Discovered> {
    FolderWalk {
        entries: walkdir::WalkDir::new(&root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter(),
        root,
        selection,
    }
}

/// A recursive walk that prunes folders by key. Pruned folders are reported rather than
/// silently dropped, so that a folder whose logs all fall outside the selection is not
/// mistaken for one with no logs at all.
struct FolderWalk {
    entries: walkdir::IntoIter,
    root: PathBuf,
    selection: Selection,
}

impl Iterator for FolderWalk {
    type Item = Discovered;

    fn next(&mut self) -> Option<Discovered> {
        loop {
            let entry = match self.entries.next()? {
                Ok(entry) => entry,
                Err(err) => {
                    return Some(Discovered::Failed(SourceError::Io(std::io::Error::other(
                        err.to_string(),
                    ))));
                }
            };
            let is_dir = entry.file_type().is_dir();
            if entry.path() == self.root {
                continue;
            }
            // Hidden files and folders (.git, .DS_Store, .trailhound) are never logs.
            if entry.file_name().to_string_lossy().starts_with('.') {
                if is_dir {
                    self.entries.skip_current_dir();
                }
                continue;
            }
            if !is_dir {
                let link = Some(entry.path_is_symlink());
                return Some(classify_file(entry.into_path(), link, &self.selection));
            }
            // Folders of other services that share the bucket (AWS Config, load balancer
            // logs) are not CloudTrail; folders outside the selection are not listed.
            let name = entry.path().display().to_string();
            let key = LogKey::parse(&name);
            if key.foreign {
                self.entries.skip_current_dir();
            } else if !self.selection.admits_key(&key) {
                self.entries.skip_current_dir();
                let facts = None;
                return Some(Discovered::Pruned(Arc::new(Origin {
                    name,
                    key,
                    facts,
                    link: Some(entry.path_is_symlink()),
                })));
            }
        }
    }
}

/// A file found at `path`; `link` says whether the path is a symbolic link, if known.
fn classify_file(path: PathBuf, link: Option<bool>, selection: &Selection) -> Discovered {
    let name = path.display().to_string();
    let key = LogKey::parse(&name);
    let facts = std::fs::metadata(&path).ok().map(|meta| ObjectFacts {
        size: meta.len(),
        modified_ns: meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_nanos()).ok())
            .unwrap_or(0),
    });
    let origin = Arc::new(Origin {
        name,
        key,
        facts,
        link,
    });
    if !selection.admits_key(&origin.key) {
        Discovered::Pruned(origin)
    } else if origin.key.kind == Some(LogKind::Digest) {
        Discovered::Digest(origin)
    } else {
        Discovered::Object(SourceObject {
            origin,
            location: Location::File(path),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(found: impl Iterator<Item = Discovered>) -> Vec<String> {
        found
            .map(|d| match d {
                Discovered::Object(o) => format!("object {}", file_name(&o.origin.name)),
                Discovered::Pruned(o) => format!("pruned {}", file_name(&o.name)),
                Discovered::Digest(o) => format!("digest {}", file_name(&o.name)),
                Discovered::Failed(e) => format!("failed {e}"),
            })
            .collect()
    }

    fn file_name(path: &str) -> String {
        Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    #[test]
    fn walks_folders_in_order_skipping_hidden_and_pruning_by_key() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let day = |d: &str| {
            dir.path().join(format!(
                "AWSLogs/111122223333/CloudTrail/us-east-1/2024/07/{d}"
            ))
        };
        std::fs::create_dir_all(day("30"))?;
        std::fs::create_dir_all(day("31"))?;
        std::fs::create_dir_all(dir.path().join(".git"))?;
        std::fs::write(dir.path().join(".git/HEAD"), "x")?;
        std::fs::write(
            day("30").join("111122223333_CloudTrail_us-east-1_20240730T1200Z_a.json.gz"),
            "x",
        )?;
        std::fs::write(
            day("31").join("111122223333_CloudTrail_us-east-1_20240731T1200Z_b.json.gz"),
            "x",
        )?;
        std::fs::write(
            day("31").join("111122223333_CloudTrail_us-east-1_20240731T0900Z_c.json.gz"),
            "x",
        )?;
        let digest_dir = dir
            .path()
            .join("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/07/31");
        std::fs::create_dir_all(&digest_dir)?;
        std::fs::write(
            digest_dir.join(
                "111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240731T120000Z.json.gz",
            ),
            "x",
        )?;

        let selection = Selection {
            since: chrono::DateTime::parse_from_rfc3339("2024-07-31T10:00:00Z")
                .ok()
                .map(|t| t.to_utc()),
            ..Selection::default()
        };
        let found = names(discover(
            vec![InputSpec::Path(dir.path().to_path_buf())],
            selection,
            S3Settings::default(),
        ));
        assert_eq!(
            found,
            vec![
                // The whole day folder is pruned without being listed.
                "pruned 30",
                "pruned 111122223333_CloudTrail_us-east-1_20240731T0900Z_c.json.gz",
                "object 111122223333_CloudTrail_us-east-1_20240731T1200Z_b.json.gz",
                "digest 111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240731T120000Z.json.gz",
            ]
        );
        Ok(())
    }

    #[test]
    fn reports_missing_paths_empty_folders_and_unmatched_globs()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty)?;
        let missing = dir.path().join("missing.json");
        let pattern = format!("{}/*.nothing", dir.path().display());
        let found = names(discover(
            vec![
                InputSpec::Path(missing.clone()),
                InputSpec::Path(empty.clone()),
                InputSpec::parse(&pattern)?,
            ],
            Selection::default(),
            S3Settings::default(),
        ));
        assert_eq!(
            found,
            vec![
                format!("failed {}: no such file or directory", missing.display()),
                format!("failed {}: no CloudTrail log files found", empty.display()),
                format!("failed {pattern}: no CloudTrail log files found"),
            ]
        );
        Ok(())
    }

    /// The walk tells which files are links, from the listing; a path given on its own says
    /// nothing.
    #[cfg(unix)]
    #[test]
    fn a_walk_tells_links_from_files() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs)?;
        std::fs::write(logs.join("a.json"), "{}")?;
        let elsewhere = dir.path().join("elsewhere.json");
        std::fs::write(&elsewhere, "{}")?;
        std::os::unix::fs::symlink(&elsewhere, logs.join("b.json"))?;
        let links = |spec: InputSpec| -> Vec<(String, Option<bool>)> {
            discover(vec![spec], Selection::default(), S3Settings::default())
                .filter_map(|found| match found {
                    Discovered::Object(o) => Some((file_name(&o.origin.name), o.origin.link)),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(
            links(InputSpec::Path(logs.clone())),
            [
                ("a.json".to_owned(), Some(false)),
                ("b.json".to_owned(), Some(true))
            ]
        );
        assert_eq!(
            links(InputSpec::Path(logs.join("b.json"))),
            [("b.json".to_owned(), None)]
        );
        Ok(())
    }

    #[test]
    fn globs_expand_to_files_and_folders() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("a.json"), "{}")?;
        std::fs::write(dir.path().join("b.json"), "{}")?;
        std::fs::write(dir.path().join("c.txt"), "{}")?;
        let spec = InputSpec::parse(&format!("{}/*.json", dir.path().display()))?;
        assert!(matches!(spec, InputSpec::Glob(_)));
        assert_eq!(
            names(discover(
                vec![spec],
                Selection::default(),
                S3Settings::default()
            )),
            vec!["object a.json", "object b.json"]
        );
        assert_eq!(InputSpec::parse("-")?, InputSpec::Stdin);
        assert!(matches!(
            InputSpec::parse("s3://bucket/AWSLogs")?,
            InputSpec::S3(_)
        ));
        assert!(InputSpec::parse("s3://").is_err());
        Ok(())
    }
}
