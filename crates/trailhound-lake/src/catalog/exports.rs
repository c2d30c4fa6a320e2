//! Which lake files `watch`'s OCSF export has written, so that every event is exported once:
//! a file is marked after its events are written (under names taken from the file, so writing
//! it again replaces them). Once a lake is exported, a compaction merges only files already
//! marked: a file written but not marked (a crash between the two) keeps its name until the
//! next export writes it again.

use std::collections::HashSet;

use super::Catalog;
use crate::LakeError;

impl Catalog {
    /// The lake files whose events the OCSF export has not written yet, oldest first.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn unexported_files(&self) -> Result<Vec<String>, LakeError> {
        let mut statement = self
            .connection
            .prepare("SELECT path FROM lake_files WHERE exported = 0 ORDER BY created_at, path")?;
        let paths = statement.query_map([], |row| row.get(0))?;
        Ok(paths.collect::<Result<_, _>>()?)
    }

    /// The lake files the OCSF export has written.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn exported_files(&self) -> Result<HashSet<String>, LakeError> {
        let mut statement = self
            .connection
            .prepare("SELECT path FROM lake_files WHERE exported = 1")?;
        let paths = statement.query_map([], |row| row.get(0))?;
        Ok(paths.collect::<Result<_, _>>()?)
    }

    /// Records that the OCSF export has written the events of `path`.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn mark_exported(&self, path: &str) -> Result<(), LakeError> {
        self.connection
            .execute("UPDATE lake_files SET exported = 1 WHERE path = ?1", [path])?;
        Ok(())
    }

    /// Whether an OCSF export has ever started on this lake.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn export_started(&self) -> Result<bool, LakeError> {
        Ok(self.cursor(EXPORT_STARTED)?.is_some())
    }

    /// Records that an OCSF export starts (before it writes anything).
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn start_export(&self) -> Result<(), LakeError> {
        if !self.export_started()? {
            self.set_cursor(EXPORT_STARTED, chrono::Utc::now().timestamp())?;
        }
        Ok(())
    }
}

/// The cursor whose presence says the lake is exported.
const EXPORT_STARTED: &str = "ocsf-export-started";
