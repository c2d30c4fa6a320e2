//! Reading query results: whatever Arrow type DataFusion chose for a column (views,
//! dictionaries, 32-bit counts), the engine reads it as one plain type.

use arrow::array::{AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Int64Type};

use crate::InsightsError;

fn cast(
    batch: &RecordBatch,
    column: usize,
    to: &DataType,
) -> Result<arrow::array::ArrayRef, InsightsError> {
    arrow::compute::cast(batch.column(column), to)
        .map_err(|err| InsightsError::Internal(format!("column {column}: {err}")))
}

/// A column as UTF-8 text.
pub(crate) fn text(batch: &RecordBatch, column: usize) -> Result<StringArray, InsightsError> {
    Ok(cast(batch, column, &DataType::Utf8)?
        .as_string::<i32>()
        .clone())
}

/// A column as 64-bit integers.
pub(crate) fn integers(batch: &RecordBatch, column: usize) -> Result<Int64Array, InsightsError> {
    Ok(cast(batch, column, &DataType::Int64)?
        .as_primitive::<Int64Type>()
        .clone())
}
