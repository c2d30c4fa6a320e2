//! A field of a CloudTrail record, named by its JSON path (`userIdentity.type`,
//! `additionalEventData.MFAUsed`, `resources.0.ARN`), as an SQL expression over `events`
//! giving its value as text: the column or nested column where the lake keeps it, a JSON
//! function into a free-form column, else into the whole record. This is what lets a
//! pattern written for the JSON record (a CloudWatch metric filter, for instance) be asked
//! as SQL.

use arrow::datatypes::{DataType, Fields};
use trailhound_event::FieldPath;
use trailhound_lake::{JSON_TEXT_COLUMNS, file_schema};

/// `path`'s value as SQL text, `NULL` where the record has no such field.
pub fn field_sql(path: &FieldPath) -> String {
    let steps: Vec<&str> = path.steps().collect();
    let Some((first, rest)) = steps.split_first() else {
        return "NULL".to_owned();
    };
    let schema = file_schema();
    if JSON_TEXT_COLUMNS.contains(first) && *first != "eventJson" {
        return json_text(first, rest);
    }
    if let Ok(field) = schema.field_with_name(first)
        && let Some(sql) = nested(first, field.data_type(), rest)
    {
        return sql;
    }
    json_text("eventJson", &steps)
}

/// A column's (or its nested fields') value as text; `None` when the path leaves the
/// columns the lake keeps.
fn nested(prefix: &str, data_type: &DataType, rest: &[&str]) -> Option<String> {
    match (data_type, rest.split_first()) {
        (DataType::Struct(fields), Some((step, more))) => {
            let field = find(fields, step)?;
            nested(&format!("{prefix}.{step}"), field.data_type(), more)
        }
        (DataType::Utf8, None) => Some(prefix.to_owned()),
        (DataType::Boolean, None) => Some(format!("CAST({prefix} AS VARCHAR)")),
        _ => None,
    }
}

fn find<'f>(fields: &'f Fields, name: &str) -> Option<&'f arrow::datatypes::Field> {
    fields.iter().find(|f| f.name() == name).map(AsRef::as_ref)
}

/// `json_as_text(column, 'a', 0, 'b')`: array positions as numbers, keys as strings.
fn json_text(column: &str, steps: &[&str]) -> String {
    let mut sql = format!("json_as_text({column}");
    for step in steps {
        if step.parse::<u32>().is_ok() {
            sql.push_str(&format!(", {step}"));
        } else {
            sql.push_str(&format!(", {}", crate::sql_string(step)));
        }
    }
    sql.push(')');
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(path: &str) -> String {
        match FieldPath::parse(path) {
            Ok(p) => field_sql(&p),
            Err(err) => panic!("{path}: {err}"),
        }
    }

    #[test]
    fn fields_are_read_where_the_lake_keeps_them() {
        assert_eq!(sql("eventName"), "eventName");
        assert_eq!(sql("userIdentity.type"), "userIdentity.type");
        assert_eq!(
            sql("userIdentity.sessionContext.attributes.mfaAuthenticated"),
            "CAST(userIdentity.sessionContext.attributes.mfaAuthenticated AS VARCHAR)"
        );
        assert_eq!(
            sql("additionalEventData.MFAUsed"),
            "json_as_text(additionalEventData, 'MFAUsed')"
        );
        assert_eq!(sql("resources.0.ARN"), "json_as_text(resources, 0, 'ARN')");
        // Not a column of the lake: read from the whole record.
        assert_eq!(
            sql("userIdentity.webIdFederationData.federatedProvider"),
            "json_as_text(eventJson, 'userIdentity', 'webIdFederationData', 'federatedProvider')"
        );
        assert_eq!(
            sql("userIdentity"),
            "json_as_text(eventJson, 'userIdentity')"
        );
    }
}
