//! SQL text that the CLI, the HTTP API and the analyses share, so that they ask the lake the
//! same questions the same way.

use arrow::array::{Array, AsArray, RecordBatch};

/// `text` as an SQL string literal, quotes doubled: the one way text from a user or a
/// record enters SQL that Trailhound writes.
pub fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The statement that finds one event's original record by its `eventID` (the bloom filters
/// make it skip every file that lacks the id).
pub fn event_by_id(event_id: &str) -> String {
    format!(
        "SELECT eventJson FROM events WHERE eventID = {} LIMIT 1",
        sql_string(event_id)
    )
}

/// The first row's first column as text, if the result has a row and that column is text.
pub fn first_text(batches: &[RecordBatch]) -> Option<String> {
    let batch = batches.iter().find(|b| b.num_rows() > 0)?;
    let column = batch.column(0).as_string_opt::<i32>()?;
    (!column.is_null(0)).then(|| column.value(0).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled_inside_the_literal() {
        assert_eq!(sql_string("it's"), "'it''s'");
        assert_eq!(
            event_by_id("x' OR '1'='1"),
            "SELECT eventJson FROM events WHERE eventID = 'x'' OR ''1''=''1' LIMIT 1"
        );
    }
}
