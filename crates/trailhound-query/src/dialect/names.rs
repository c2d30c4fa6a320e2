//! The names a query may use, as CloudTrail spells them: every column of the tables and
//! every field of their nested columns, found whatever case the query writes them in, and
//! which of them hold JSON text or booleans.

use std::collections::{HashMap, HashSet};

use arrow::datatypes::{DataType, Fields, SchemaRef};

/// Columns whose values are JSON text: reached into with dots, `element_at` and the JSON
/// functions.
pub(crate) use trailhound_lake::JSON_TEXT_COLUMNS as JSON_COLUMNS;

/// Fields of a CloudTrail record that the lake keeps no column for, reached in the original
/// record (`eventJson`) when a query names them: CloudTrail Lake's and Athena's tables have
/// them. Paths from the record's top, as CloudTrail spells them.
const RECORD_ONLY_FIELDS: [&str; 11] = [
    "annotation",
    "addendum",
    "edgeDeviceDetails",
    "vpcEndpointAccountId",
    "userIdentity.onBehalfOf",
    "userIdentity.credentialId",
    "userIdentity.inScopeOf",
    "userIdentity.sessionContext.webIdFederationData",
    "userIdentity.sessionContext.ec2RoleDelivery",
    "userIdentity.sessionContext.ec2IssuedInVPC",
    "userIdentity.sessionContext.assumedRoot",
];

/// What a written path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// A column or a field of a struct column: its parts as spelled in the schema.
    Column(Vec<String>),
    /// A path into a JSON column: the column as spelled, then the keys as written (matched
    /// without regard to case when the exact key is absent).
    Json { column: String, keys: Vec<String> },
    /// A field the lake keeps only in the original record: its path as CloudTrail spells it
    /// as far as known, the rest as written.
    Record(Vec<String>),
}

/// Every name of the registered tables.
#[derive(Debug, Default)]
pub(crate) struct Names {
    /// Lower-cased dotted path -> the path as spelled (`useridentity.arn` ->
    /// [`userIdentity`, `arn`]).
    paths: HashMap<String, Vec<String>>,
    /// Lower-cased column -> spelling, for the JSON columns.
    json: HashMap<String, String>,
    /// Lower-cased dotted paths of boolean columns and fields.
    booleans: HashSet<String>,
    /// Lower-cased dotted path -> spelling, for fields only in the original record.
    record: HashMap<String, Vec<String>>,
}

impl Names {
    /// The names of tables with these schemas.
    pub(crate) fn of(schemas: &[SchemaRef]) -> Names {
        let mut names = Names::default();
        for schema in schemas {
            names.add_fields(&[], schema.fields());
        }
        for column in JSON_COLUMNS {
            names.json.insert(column.to_lowercase(), column.to_owned());
        }
        for path in RECORD_ONLY_FIELDS {
            let parts: Vec<String> = path.split('.').map(str::to_owned).collect();
            names.record.insert(path.to_lowercase(), parts);
        }
        names
    }

    fn add_fields(&mut self, prefix: &[String], fields: &Fields) {
        for field in fields {
            let mut path = prefix.to_vec();
            path.push(field.name().clone());
            let key = path.join(".").to_lowercase();
            match field.data_type() {
                DataType::Struct(children) => self.add_fields(&path, children),
                DataType::Boolean => {
                    self.booleans.insert(key.clone());
                }
                _ => {}
            }
            // The first table to name a column spells it (they agree: CloudTrail's names).
            self.paths.entry(key).or_insert(path);
        }
    }

    /// What `parts` (a written dotted path, without a table qualifier) names, if anything
    /// known; `None` for a name that is not CloudTrail's (an alias, a typo), which the
    /// engine then reports with its suggestion.
    pub(crate) fn resolve(&self, parts: &[&str]) -> Option<Resolved> {
        let (first, rest) = parts.split_first()?;
        if let Some(column) = self.json.get(&first.to_lowercase()) {
            return Some(if rest.is_empty() {
                Resolved::Column(vec![column.clone()])
            } else {
                Resolved::Json {
                    column: column.clone(),
                    keys: rest.iter().map(|k| (*k).to_owned()).collect(),
                }
            });
        }
        if let Some(path) = self.paths.get(&parts.join(".").to_lowercase()) {
            return Some(Resolved::Column(path.clone()));
        }
        // The longest known prefix kept only in the record; what follows is taken as written.
        (1..=parts.len()).rev().find_map(|split| {
            let known = self.record.get(&parts[..split].join(".").to_lowercase())?;
            let mut path = known.clone();
            path.extend(parts[split..].iter().map(|p| (*p).to_owned()));
            Some(Resolved::Record(path))
        })
    }

    /// Whether `parts` names a boolean column or field.
    pub(crate) fn is_boolean(&self, parts: &[&str]) -> bool {
        self.booleans.contains(&parts.join(".").to_lowercase())
    }

    /// The spelling of a JSON column written as `name`.
    pub(crate) fn json_column(&self, name: &str) -> Option<&str> {
        self.json.get(&name.to_lowercase()).map(String::as_str)
    }

    /// Whether `name` is a column of any table (any case).
    pub(crate) fn is_column(&self, name: &str) -> bool {
        self.paths.contains_key(&name.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names::of(&[trailhound_lake::file_schema()])
    }

    #[test]
    fn paths_resolve_in_any_case_to_cloudtrails_spelling() {
        let names = names();
        let column = |parts: &[&str]| match names.resolve(parts) {
            Some(Resolved::Column(path)) => path.join("."),
            other => format!("{other:?}"),
        };
        assert_eq!(column(&["eventname"]), "eventName");
        assert_eq!(
            column(&["useridentity", "principalid"]),
            "userIdentity.principalId"
        );
        assert_eq!(
            column(&["userIdentity", "sessioncontext", "sessionissuer", "ARN"]),
            "userIdentity.sessionContext.sessionIssuer.arn"
        );
        assert_eq!(column(&["recipientAccountID"]), "recipientAccountId");
        assert_eq!(names.resolve(&["eventnam"]), None);
    }

    #[test]
    fn json_columns_take_the_rest_as_keys_and_record_fields_come_from_the_record() {
        let names = names();
        assert_eq!(
            names.resolve(&["requestparameters", "bucketName"]),
            Some(Resolved::Json {
                column: "requestParameters".to_owned(),
                keys: vec!["bucketName".to_owned()]
            })
        );
        assert_eq!(
            names.resolve(&[
                "userIdentity",
                "sessionContext",
                "webidfederationData",
                "federatedProvider"
            ]),
            Some(Resolved::Record(vec![
                "userIdentity".to_owned(),
                "sessionContext".to_owned(),
                "webIdFederationData".to_owned(),
                "federatedProvider".to_owned()
            ]))
        );
        assert!(names.is_boolean(&["readonly"]));
        assert!(names.is_boolean(&[
            "userIdentity",
            "sessionContext",
            "attributes",
            "mfaAuthenticated"
        ]));
    }
}
