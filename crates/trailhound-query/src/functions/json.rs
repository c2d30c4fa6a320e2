//! Reaching into the JSON text columns the way CloudTrail Lake and Athena (Trino) do:
//! `element_at` (a map's value, 1-based array elements), `json_extract_scalar`,
//! `json_extract` and `json_array_get`, and `json_field`, what the dialect layer turns dotted
//! paths (`requestParameters.bucketName`, `resources[1].arn`) into.
//!
//! Keys are matched exactly, and without regard to case when no key matches exactly: Athena's
//! CloudTrail table declares `resources` as `array<struct<arn, accountid, type>>` over JSON
//! whose keys are `ARN` and `accountId`, and its users write the declared names.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListBuilder, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use sonic_rs::{JsonContainerTrait, JsonValueTrait, Value};

/// One step of a path into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// An object's member.
    Key(String),
    /// An array's element, 0-based; negative counts from the end.
    Index(i64),
}

/// The value at `steps` below `value`.
fn walk<'v>(value: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    let mut at = value;
    for step in steps {
        at = match step {
            Step::Key(key) => {
                let object = at.as_object()?;
                object.get(key).or_else(|| {
                    object
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(key))
                        .map(|(_, v)| v)
                })?
            }
            Step::Index(index) => {
                let array = at.as_array()?;
                let len = i64::try_from(array.len()).ok()?;
                let index = if *index < 0 { len + index } else { *index };
                array.get(usize::try_from(index).ok()?)?
            }
        };
    }
    Some(at)
}

/// How a found value becomes text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Render {
    /// A string as its text, other scalars as written, objects and arrays as JSON text:
    /// CloudTrail Lake's maps hold values this way.
    Text,
    /// Scalars only, as `Text`; objects and arrays are NULL (`json_extract_scalar`).
    Scalar,
    /// JSON text, strings quoted (`json_extract`, `json_array_get`).
    Json,
}

fn render(value: &Value, how: Render) -> Option<String> {
    if value.is_null() {
        return None;
    }
    if let Some(text) = value.as_str() {
        return Some(match how {
            Render::Json => sonic_rs::to_string(value).ok()?,
            Render::Text | Render::Scalar => text.to_owned(),
        });
    }
    if (value.is_object() || value.is_array()) && how == Render::Scalar {
        return None;
    }
    sonic_rs::to_string(value).ok()
}

/// Evaluates `steps_of(row)` in the JSON of every row of `json`.
fn per_row(
    json: &ArrayRef,
    how: Render,
    mut steps_of: impl FnMut(usize) -> Option<Vec<Step>>,
) -> Result<ArrayRef> {
    let mut out = StringBuilder::with_capacity(json.len(), json.len() * 16);
    let text = text_values(json)?;
    for row in 0..json.len() {
        let found = text(row).and_then(|doc| {
            let steps = steps_of(row)?;
            let value: Value = sonic_rs::from_str(doc).ok()?;
            render(walk(&value, &steps)?, how)
        });
        out.append_option(found);
    }
    Ok(Arc::new(out.finish()))
}

/// Row access to a text array of any of Arrow's string types.
fn text_values<'a>(array: &'a ArrayRef) -> Result<impl Fn(usize) -> Option<&'a str> + 'a> {
    enum Strings<'a> {
        Utf8(&'a arrow::array::StringArray),
        Large(&'a arrow::array::LargeStringArray),
        View(&'a arrow::array::StringViewArray),
        Null,
    }
    let strings = match array.data_type() {
        DataType::Utf8 => Strings::Utf8(array.as_string::<i32>()),
        DataType::LargeUtf8 => Strings::Large(array.as_string::<i64>()),
        DataType::Utf8View => Strings::View(array.as_string_view()),
        DataType::Null => Strings::Null,
        other => return exec_err!("expected JSON text, got {other}"),
    };
    Ok(move |row: usize| match &strings {
        Strings::Utf8(a) => (!a.is_null(row)).then(|| a.value(row)),
        Strings::Large(a) => (!a.is_null(row)).then(|| a.value(row)),
        Strings::View(a) => (!a.is_null(row)).then(|| a.value(row)),
        Strings::Null => None,
    })
}

fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

fn is_integer(data_type: &DataType) -> bool {
    data_type.is_integer() || matches!(data_type, DataType::Null)
}

/// Integers of any width as `i64`, per row.
fn integers(array: &ArrayRef) -> Result<Int64Array> {
    let cast = arrow::compute::cast(array, &DataType::Int64)?;
    Ok(cast.as_primitive::<arrow::datatypes::Int64Type>().clone())
}

/// Parses a JSONPath as Trino takes it: `$`, `.key`, `["key"]` or `['key']`, `[n]`.
pub(crate) fn json_path(path: &str) -> std::result::Result<Vec<Step>, String> {
    let bad = |why: &str| {
        format!(
            "{path:?} is not a JSONPath this engine reads ({why}): write $.key, $.key[0] or $[\"key\"]"
        )
    };
    let rest = path.trim();
    let mut rest = rest
        .strip_prefix('$')
        .ok_or_else(|| bad("it must start with $"))?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            if key.is_empty() || key == "*" {
                return Err(bad("empty keys and wildcards are not supported"));
            }
            steps.push(Step::Key(key.to_owned()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(|| bad("a [ is never closed"))?;
            let inside = after[..end].trim();
            let quoted = inside
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .or_else(|| inside.strip_prefix('\'').and_then(|q| q.strip_suffix('\'')));
            steps.push(match quoted {
                Some(key) => Step::Key(key.to_owned()),
                None => Step::Index(
                    inside
                        .parse()
                        .map_err(|_| bad("an index must be a number"))?,
                ),
            });
            rest = &after[end + 1..];
        } else {
            return Err(bad("expected . or ["));
        }
    }
    Ok(steps)
}

/// `json_extract_scalar(json, path)` (scalars as text, else NULL) and `json_extract(json,
/// path)` (JSON text), with a JSONPath.
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonExtract {
    signature: Signature,
    scalar: bool,
}

impl ScalarUDFImpl for JsonExtract {
    fn name(&self) -> &str {
        if self.scalar {
            "json_extract_scalar"
        } else {
            "json_extract"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [json, path] if is_text(json) && is_text(path) => Ok(DataType::Utf8),
            _ => plan_err!(
                "{}(json, path) takes JSON text and a JSONPath such as '$.key'",
                self.name()
            ),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [json, paths] = arrays.as_slice() else {
            return exec_err!("{} takes two arguments", self.name());
        };
        let paths_text = text_values(paths)?;
        let mut parsed: Option<(String, Vec<Step>)> = None;
        let mut failure = None;
        let how = if self.scalar {
            Render::Scalar
        } else {
            Render::Json
        };
        let result = per_row(json, how, |row| {
            let path = paths_text(row)?;
            if parsed.as_ref().is_none_or(|(p, _)| p != path) {
                match json_path(path) {
                    Ok(steps) => parsed = Some((path.to_owned(), steps)),
                    Err(err) => {
                        failure = Some(err);
                        return None;
                    }
                }
            }
            parsed.as_ref().map(|(_, steps)| steps.clone())
        })?;
        if let Some(err) = failure {
            return exec_err!("{err}");
        }
        Ok(ColumnarValue::Array(result))
    }
}

/// `json_array_get(json_array, index)`: the element as JSON text, 0-based, negative from
/// the end.
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonArrayGet {
    signature: Signature,
}

impl ScalarUDFImpl for JsonArrayGet {
    udf_boilerplate!("json_array_get");

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [json, index] if is_text(json) && is_integer(index) => Ok(DataType::Utf8),
            _ => plan_err!("json_array_get(json_array, index) takes JSON text and a whole number"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [json, index] = arrays.as_slice() else {
            return exec_err!("json_array_get takes two arguments");
        };
        let index = integers(index)?;
        let result = per_row(json, Render::Json, |row| {
            (!index.is_null(row)).then(|| vec![Step::Index(index.value(row))])
        })?;
        Ok(ColumnarValue::Array(result))
    }
}

/// `json_field(json, key_or_index, …)`: the value at a path of keys and 0-based indexes, as
/// text (see [`Render::Text`]).
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonField {
    signature: Signature,
}

impl ScalarUDFImpl for JsonField {
    udf_boilerplate!("json_field");

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.split_first() {
            Some((json, steps))
                if is_text(json) && steps.iter().all(|s| is_text(s) || is_integer(s)) =>
            {
                Ok(DataType::Utf8)
            }
            _ => plan_err!(
                "json_field(json, key_or_index, …) takes JSON text, then keys and whole numbers"
            ),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some((json, steps)) = arrays.split_first() else {
            return exec_err!("json_field takes the JSON and a path");
        };
        let readers = steps
            .iter()
            .map(StepReader::of)
            .collect::<Result<Vec<_>>>()?;
        let result = per_row(json, Render::Text, |row| {
            readers.iter().map(|r| r.step(row)).collect()
        })?;
        Ok(ColumnarValue::Array(result))
    }
}

/// A path step's column: keys (text) or 0-based indexes (integers).
enum StepReader {
    Keys(ArrayRef),
    Indexes(Int64Array),
}

impl StepReader {
    fn of(array: &ArrayRef) -> Result<StepReader> {
        Ok(if is_text(array.data_type()) {
            StepReader::Keys(Arc::clone(array))
        } else {
            StepReader::Indexes(integers(array)?)
        })
    }

    fn step(&self, row: usize) -> Option<Step> {
        match self {
            StepReader::Keys(keys) => {
                let text = text_values(keys).ok()?;
                text(row).map(|k| Step::Key(k.to_owned()))
            }
            StepReader::Indexes(indexes) => {
                (!indexes.is_null(row)).then(|| Step::Index(indexes.value(row)))
            }
        }
    }
}

/// `element_at(value, key_or_index)`: on JSON text (CloudTrail Lake's maps, arrays), the
/// member's value as text, or the 1-based element (negative from the end); on arrays,
/// DataFusion's own `array_element` (also 1-based).
#[derive(Debug, PartialEq, Eq, Hash)]
struct ElementAt {
    signature: Signature,
}

impl ElementAt {
    fn arrays() -> Arc<ScalarUDF> {
        datafusion::functions_nested::extract::array_element_udf()
    }
}

impl ScalarUDFImpl for ElementAt {
    udf_boilerplate!("element_at");

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [value, key] if is_text(value) && (is_text(key) || is_integer(key)) => {
                Ok(DataType::Utf8)
            }
            [value, _] if value.is_nested() => Self::arrays().return_type(arg_types),
            _ => plan_err!(
                "element_at(value, key) takes a JSON column (requestParameters, …) with a key, or an array with a 1-based index"
            ),
        }
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            // `array_element` declares its types rather than coercing them: a list and a
            // 64-bit index.
            [value, index] if value.is_nested() && is_integer(index) => {
                Ok(vec![value.clone(), DataType::Int64])
            }
            _ => Ok(arg_types.to_vec()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(first) = args.arg_fields.first() else {
            return exec_err!("element_at takes two arguments");
        };
        if !is_text(first.data_type()) {
            return Self::arrays().invoke_with_args(args);
        }
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [json, key] = arrays.as_slice() else {
            return exec_err!("element_at takes two arguments");
        };
        let result = if is_text(key.data_type()) {
            let keys = text_values(key)?;
            per_row(json, Render::Text, |row| {
                Some(vec![Step::Key(keys(row)?.to_owned())])
            })?
        } else {
            let indexes = integers(key)?;
            per_row(json, Render::Text, |row| {
                let n = (!indexes.is_null(row)).then(|| indexes.value(row))?;
                // 1-based; 0 names nothing.
                let index = match n {
                    0 => return None,
                    n if n > 0 => n - 1,
                    n => n,
                };
                Some(vec![Step::Index(index)])
            })?
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// `json_elements(json_array)`: the elements of a JSON array as a list (strings as their
/// text, objects and arrays as JSON text), for `UNNEST`: `CROSS JOIN UNNEST(resources)` reads
/// each resource. Anything but an array has no elements, so its row is not repeated.
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonElements {
    signature: Signature,
}

impl ScalarUDFImpl for JsonElements {
    udf_boilerplate!("json_elements");

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [json] if is_text(json) => Ok(element_list_type()),
            _ => plan_err!("json_elements(json_array) takes JSON text"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [json] = arrays.as_slice() else {
            return exec_err!("json_elements takes one argument");
        };
        let text = text_values(json)?;
        let mut out = ListBuilder::new(StringBuilder::new());
        for row in 0..json.len() {
            if let Some(value) = text(row).and_then(|doc| sonic_rs::from_str::<Value>(doc).ok())
                && let Some(elements) = value.as_array()
            {
                for element in elements.iter() {
                    out.values().append_option(render(element, Render::Text));
                }
            }
            out.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

fn element_list_type() -> DataType {
    DataType::List(Arc::new(arrow::datatypes::Field::new(
        "item",
        DataType::Utf8,
        true,
    )))
}

/// The JSON functions, to register with a session.
pub(crate) fn udfs() -> Vec<ScalarUDF> {
    let any = |arity: usize| Signature::any(arity, Volatility::Immutable);
    vec![
        ScalarUDF::from(ElementAt {
            signature: Signature::user_defined(Volatility::Immutable),
        }),
        ScalarUDF::from(JsonExtract {
            signature: any(2),
            scalar: true,
        }),
        ScalarUDF::from(JsonExtract {
            signature: any(2),
            scalar: false,
        }),
        ScalarUDF::from(JsonArrayGet { signature: any(2) }),
        ScalarUDF::from(JsonField {
            signature: Signature::variadic_any(Volatility::Immutable),
        }),
        ScalarUDF::from(JsonElements { signature: any(1) }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_walk_keys_in_any_case_and_indexes_from_either_end() -> std::result::Result<(), String>
    {
        let value: Value = sonic_rs::from_str(
            r#"{"ipPermissions":{"items":[{"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]},"ARN":"a","n":5,"o":{"x":1}}"#,
        )
        .map_err(|e| e.to_string())?;
        let at = |path: &str, how| {
            json_path(path).map(|steps| walk(&value, &steps).and_then(|v| render(v, how)))
        };
        assert_eq!(
            at(
                "$.ipPermissions.items[0].ipRanges.items[-1].cidrIp",
                Render::Scalar
            )?,
            Some("0.0.0.0/0".to_owned())
        );
        assert_eq!(at("$.arn", Render::Text)?, Some("a".to_owned()));
        assert_eq!(at("$[\"n\"]", Render::Text)?, Some("5".to_owned()));
        assert_eq!(at("$.o", Render::Scalar)?, None);
        assert_eq!(at("$.o", Render::Json)?, Some(r#"{"x":1}"#.to_owned()));
        assert_eq!(at("$.ARN", Render::Json)?, Some("\"a\"".to_owned()));
        assert!(json_path("bucketName").is_err());
        assert!(json_path("$.a[x]").is_err());
        Ok(())
    }
}
