//! The queries people saved under a name (`trailhound query --save`). Like triage, a note
//! beside the lake rather than lake content, so any catalog handle writes it.

use rusqlite::{OptionalExtension, params};

use crate::{Catalog, LakeError};

/// One saved query, as it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedQuery {
    /// The name it is run by.
    pub name: String,
    /// `sql` or `logs-insights`.
    pub language: String,
    /// For SQL, the dialect it is written in (`auto`, `lake`, `athena`, `datafusion`).
    pub dialect: String,
    /// The query.
    pub text: String,
    /// What it is for.
    pub description: Option<String>,
    /// When it was saved (RFC 3339).
    pub saved_at: String,
}

/// The columns of a [`SavedQuery`], in its fields' order.
const COLUMNS: &str = "name, language, dialect, text, description, saved_at";

fn saved_query(row: &rusqlite::Row<'_>) -> rusqlite::Result<SavedQuery> {
    Ok(record_from_row!(
        row,
        SavedQuery {
            name,
            language,
            dialect,
            text,
            description,
            saved_at
        }
    ))
}

impl Catalog {
    /// Saves `query` under its name, replacing the query saved under that name before.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn save_query(&self, query: &SavedQuery) -> Result<(), LakeError> {
        self.connection.execute(
            &format!(
                "INSERT INTO saved_queries ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (name) DO UPDATE SET language = ?2, dialect = ?3, text = ?4,
                 description = ?5, saved_at = ?6"
            ),
            params![
                query.name,
                query.language,
                query.dialect,
                query.text,
                query.description,
                query.saved_at
            ],
        )?;
        Ok(())
    }

    /// The query saved as `name`, if any.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn saved_query(&self, name: &str) -> Result<Option<SavedQuery>, LakeError> {
        Ok(self
            .connection
            .query_row(
                &format!("SELECT {COLUMNS} FROM saved_queries WHERE name = ?1"),
                [name],
                saved_query,
            )
            .optional()?)
    }

    /// Every saved query, by name.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be read.
    pub fn saved_queries(&self) -> Result<Vec<SavedQuery>, LakeError> {
        let mut statement = self.connection.prepare(&format!(
            "SELECT {COLUMNS} FROM saved_queries ORDER BY name"
        ))?;
        let rows = statement.query_map([], saved_query)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes the query saved as `name`; `false` when there was none.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be written.
    pub fn forget_query(&self, name: &str) -> Result<bool, LakeError> {
        Ok(self
            .connection
            .execute("DELETE FROM saved_queries WHERE name = ?1", [name])?
            > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, text: &str) -> SavedQuery {
        SavedQuery {
            name: name.to_owned(),
            language: "sql".to_owned(),
            dialect: "auto".to_owned(),
            text: text.to_owned(),
            description: Some("why".to_owned()),
            saved_at: "2026-12-07T00:00:00Z".to_owned(),
        }
    }

    #[test]
    fn a_query_is_saved_replaced_listed_and_forgotten() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let catalog = Catalog::open(&dir.path().join("catalog.sqlite"))?;
        catalog.save_query(&query("b", "SELECT 1"))?;
        catalog.save_query(&query("a", "SELECT 2"))?;
        catalog.save_query(&query("b", "SELECT 3"))?;
        let names: Vec<_> = catalog
            .saved_queries()?
            .into_iter()
            .map(|q| (q.name, q.text))
            .collect();
        assert_eq!(
            names,
            [
                ("a".into(), "SELECT 2".into()),
                ("b".into(), "SELECT 3".into())
            ]
        );
        assert_eq!(catalog.saved_query("a")?, Some(query("a", "SELECT 2")));
        assert!(catalog.forget_query("a")?);
        assert!(!catalog.forget_query("a")?);
        assert_eq!(catalog.saved_query("a")?, None);
        Ok(())
    }
}
