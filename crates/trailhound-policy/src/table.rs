//! The generated tables (scripts/iam-action-table), read once: which IAM actions each
//! CloudTrail event needs, with the request parameters that name their resources, and every
//! action of the Service Authorization Reference with its resource types' ARN formats.

use std::collections::HashMap;
use std::io::Read;
use std::sync::LazyLock;

/// One action an operation needs, with how its resource is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// `s3:GetObject`.
    pub(crate) action: String,
    /// ARN variable (or `ARN` for the whole ARN) → template over the request parameters.
    pub(crate) templates: Vec<(String, String)>,
}

/// What an operation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Needs {
    /// No permission at all (sts:GetCallerIdentity).
    Nothing,
    /// These actions.
    Actions(Vec<Grant>),
}

pub(crate) struct Tables {
    /// (eventSource, eventName) → what it needs.
    pub(crate) operations: HashMap<(String, String), Needs>,
    /// Action → (resource type, ARN format).
    pub(crate) actions: HashMap<String, Vec<(String, String)>>,
    /// Lower-cased action → the action as the SAR writes it.
    pub(crate) by_lower: HashMap<String, String>,
}

fn inflate(bytes: &[u8]) -> String {
    let mut text = String::new();
    // The tables are ours, compiled in: failing to read them is caught by the tests.
    let _ = flate2::read::GzDecoder::new(bytes).read_to_string(&mut text);
    text
}

fn grant(field: &str) -> Grant {
    let (action, spec) = match field.split_once('{') {
        Some((action, rest)) => (action, rest.strip_suffix('}').unwrap_or(rest)),
        None => (field, ""),
    };
    let templates = spec
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .map(|(var, template)| (var.to_owned(), template.to_owned()))
        .collect();
    Grant {
        action: action.to_owned(),
        templates,
    }
}

pub(crate) static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let mut operations = HashMap::new();
    for line in inflate(include_bytes!("../data/operations.tsv.gz")).lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut fields = line.split('\t');
        let (Some(source), Some(name)) = (fields.next(), fields.next()) else {
            continue;
        };
        let rest: Vec<&str> = fields.collect();
        let needs = if rest == ["-"] {
            Needs::Nothing
        } else {
            Needs::Actions(rest.iter().map(|f| grant(f)).collect())
        };
        operations.insert((source.to_owned(), name.to_owned()), needs);
    }
    let mut actions = HashMap::new();
    for line in inflate(include_bytes!("../data/actions.tsv.gz")).lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut fields = line.split('\t');
        let Some(action) = fields.next() else {
            continue;
        };
        let types = fields
            .filter_map(|f| f.split_once('='))
            .map(|(t, arn)| (t.to_owned(), arn.to_owned()))
            .collect();
        actions.insert(action.to_owned(), types);
    }
    let by_lower = actions
        .keys()
        .map(|a| (a.to_lowercase(), a.clone()))
        .collect();
    Tables {
        operations,
        actions,
        by_lower,
    }
});

/// Whether `action` (`s3:GetObject`, any case) exists, as the SAR writes it.
pub fn known_action(action: &str) -> Option<&'static str> {
    TABLES
        .by_lower
        .get(&action.to_lowercase())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_are_read() {
        assert!(TABLES.operations.len() > 10_000);
        assert!(TABLES.actions.len() > 15_000);
        assert_eq!(known_action("S3:getobject"), Some("s3:GetObject"));
        assert_eq!(known_action("s3:ListObjectsV2"), None);
        assert_eq!(
            TABLES
                .operations
                .get(&("sts.amazonaws.com".into(), "GetCallerIdentity".into())),
            Some(&Needs::Nothing)
        );
    }
}
