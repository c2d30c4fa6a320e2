//! Where the lake's files live, recorded once: a data directory whose lake was put on S3 keeps
//! it there, whichever command opens it next.

use rusqlite::{OptionalExtension, params};

use super::Catalog;
use crate::LakeError;
use crate::place::RemoteSpec;

impl Catalog {
    /// The S3 lake this data directory writes to, or `None` for a lake in the data directory.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn lake_place(&self) -> Result<Option<RemoteSpec>, LakeError> {
        Ok(self
            .connection
            .query_row(
                "SELECT url, endpoint, profile FROM lake_place WHERE only_row = 1",
                [],
                |row| {
                    Ok(RemoteSpec {
                        url: row.get(0)?,
                        endpoint: row.get(1)?,
                        profile: row.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Records that the lake lives at `spec` from now on.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub(crate) fn record_lake_place(&self, spec: &RemoteSpec) -> Result<(), LakeError> {
        self.connection.execute(
            "INSERT INTO lake_place (only_row, url, endpoint, profile) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (only_row) DO UPDATE SET url = excluded.url,
                 endpoint = excluded.endpoint, profile = excluded.profile",
            params![spec.url, spec.endpoint, spec.profile],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_place_is_remembered() -> Result<(), LakeError> {
        let dir = tempfile::tempdir().map_err(|e| LakeError::Internal(e.to_string()))?;
        let catalog = Catalog::open(&dir.path().join("catalog.sqlite"))?;
        assert_eq!(catalog.lake_place()?, None);
        let spec = RemoteSpec::new(
            "s3://bucket/lake/",
            Some("http://127.0.0.1:9000".into()),
            None,
        )?;
        assert_eq!(spec.url, "s3://bucket/lake");
        catalog.record_lake_place(&spec)?;
        assert_eq!(catalog.lake_place()?, Some(spec));
        Ok(())
    }
}
