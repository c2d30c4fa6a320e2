//! How a source object is named in the catalog: files by absolute, canonical path, so that the
//! same file is recognised whatever the working directory of the next ingest; objects by their
//! `s3://` URL; anything else (standard input) as named.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// Names sources as [`source_location`] does, remembering each folder's canonical path.
///
/// Canonicalizing a path costs one `readlink` per component; for the tens of thousands of
/// files of a CloudTrail tree, ten folders deep, that was a visible share of ingest. A file
/// that is not itself a link has the canonical path of its folder plus its own name, so once
/// the folder is known a file needs one `lstat`, or none when the walk that found it already
/// knows it is not a link.
#[derive(Debug, Default)]
pub struct SourceLocator {
    folders: HashMap<PathBuf, Option<PathBuf>>,
}

impl SourceLocator {
    /// The catalog's name for the source called `name`. `link` says whether the path is a
    /// symbolic link, if the caller knows (a folder walk does, see
    /// [`trailhound_source::Origin::link`]); otherwise the file is looked at.
    pub fn locate(&mut self, name: &str, link: Option<bool>) -> String {
        if name.starts_with("s3://") {
            return name.to_owned();
        }
        let path = Path::new(name);
        let plain_file = match link {
            Some(link) => !link,
            None => std::fs::symlink_metadata(path).is_ok_and(|m| !m.file_type().is_symlink()),
        };
        let (Some(folder), Some(Component::Normal(file)), true) =
            (path.parent(), path.components().next_back(), plain_file)
        else {
            return canonical(path).map_or_else(|| name.to_owned(), |p| p.display().to_string());
        };
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        let canonical_folder = self
            .folders
            .entry(folder.to_path_buf())
            .or_insert_with(|| canonical(folder));
        match canonical_folder {
            Some(canonical_folder) => canonical_folder.join(file).display().to_string(),
            None => name.to_owned(),
        }
    }
}

fn canonical(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

/// The catalog's name for the source called `name` (see [`SourceLocator`] for many).
pub fn source_location(name: &str) -> String {
    SourceLocator::default().locate(name, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cached answer is the one `canonicalize` gives, for plain files, links, relative
    /// paths with `..`, missing files and objects.
    #[cfg(unix)]
    #[test]
    fn locations_match_canonical_paths() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let logs = dir.path().join("logs/2024/01");
        std::fs::create_dir_all(&logs)?;
        let file = logs.join("a.json.gz");
        std::fs::write(&file, b"x")?;
        let elsewhere = dir.path().join("elsewhere.json");
        std::fs::write(&elsewhere, b"x")?;
        let link = logs.join("link.json");
        std::os::unix::fs::symlink(&elsewhere, &link)?;
        let linked_folder = dir.path().join("linked");
        std::os::unix::fs::symlink(&logs, &linked_folder)?;

        let mut locator = SourceLocator::default();
        let dotted = dir.path().join("logs/2024/../2024/01/a.json.gz");
        let through_link = linked_folder.join("a.json.gz");
        for (path, is_link) in [
            (&file, false),
            (&dotted, false),
            (&link, true),
            (&through_link, false),
        ] {
            let expected = std::fs::canonicalize(path)?.display().to_string();
            let name = path.display().to_string();
            // Twice: the second answer comes from the cache. Then as a folder walk asks,
            // knowing whether the path is a link.
            assert_eq!(locator.locate(&name, None), expected, "{name}");
            assert_eq!(locator.locate(&name, None), expected, "{name}");
            assert_eq!(locator.locate(&name, Some(is_link)), expected, "{name}");
            let mut fresh = SourceLocator::default();
            assert_eq!(fresh.locate(&name, Some(is_link)), expected, "{name}");
        }
        // A link is named by what it points to, as before.
        assert_eq!(
            locator.locate(&link.display().to_string(), None),
            elsewhere.canonicalize()?.display().to_string()
        );
        let missing = logs.join("missing.json").display().to_string();
        assert_eq!(locator.locate(&missing, None), missing);
        assert_eq!(locator.locate("s3://bucket/key", None), "s3://bucket/key");
        assert_eq!(locator.locate("-", None), "-");
        Ok(())
    }
}
