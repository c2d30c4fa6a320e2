//! IAM policy documents as the IAM grammar writes them
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>): a
//! `Version` and `Statement`s, each with an `Effect`, `Action` or `NotAction`, `Resource` or
//! `NotResource`, and optional `Sid`, `Principal` and `Condition`; a single value or a list
//! wherever the grammar allows both.

use serde::{Deserialize, Serialize};

/// The policy language version every policy written today uses.
pub const VERSION: &str = "2012-10-17";

/// The largest managed policy IAM accepts, in characters of its JSON without whitespace.
pub const MANAGED_POLICY_LIMIT: usize = 6_144;

/// A value or a list of values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// `"s3:GetObject"`.
    One(String),
    /// `["s3:GetObject", "s3:PutObject"]`.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values.
    pub fn values(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(v) => vec![v.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }

    /// One value written as itself, several as a list.
    pub fn of(mut values: Vec<String>) -> OneOrMany {
        if values.len() == 1 {
            OneOrMany::One(values.remove(0))
        } else {
            OneOrMany::Many(values)
        }
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// Allow.
    Allow,
    /// Deny.
    Deny,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// An optional name.
    #[serde(rename = "Sid", default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Allow or deny.
    #[serde(rename = "Effect")]
    pub effect: Effect,
    /// Who (resource-based policies only).
    #[serde(rename = "Principal", default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<serde_json::Value>,
    /// Who not.
    #[serde(
        rename = "NotPrincipal",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub not_principal: Option<serde_json::Value>,
    /// The actions.
    #[serde(rename = "Action", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<OneOrMany>,
    /// Every action but these.
    #[serde(rename = "NotAction", default, skip_serializing_if = "Option::is_none")]
    pub not_action: Option<OneOrMany>,
    /// The resources.
    #[serde(rename = "Resource", default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany>,
    /// Every resource but these.
    #[serde(
        rename = "NotResource",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub not_resource: Option<OneOrMany>,
    /// Conditions.
    #[serde(rename = "Condition", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<serde_json::Value>,
}

/// A policy document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// `2012-10-17`.
    #[serde(rename = "Version")]
    pub version: String,
    /// An optional identifier.
    #[serde(rename = "Id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The statements (a single statement object is accepted when read).
    #[serde(rename = "Statement", deserialize_with = "statements")]
    pub statement: Vec<Statement>,
}

fn statements<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Statement>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(Box<Statement>),
        Many(Vec<Statement>),
    }
    Ok(match Either::deserialize(d)? {
        Either::One(s) => vec![*s],
        Either::Many(v) => v,
    })
}

impl PolicyDocument {
    /// Its size as IAM counts it: the JSON without whitespace.
    pub fn size(&self) -> usize {
        serde_json::to_string(self).map_or(0, |s| s.len())
    }

    /// Checks what the grammar requires beyond the shape: a version, and in each statement
    /// either `Action` or `NotAction` and either `Resource` or `NotResource`.
    ///
    /// # Errors
    ///
    /// What is wrong, naming the statement.
    pub fn validate(&self) -> Result<(), String> {
        if self.version != VERSION && self.version != "2008-10-17" {
            return Err(format!(
                "Version {:?} is not a policy language version",
                self.version
            ));
        }
        for (n, s) in self.statement.iter().enumerate() {
            let name = s
                .sid
                .clone()
                .unwrap_or_else(|| format!("statement {}", n + 1));
            if s.action.is_some() == s.not_action.is_some() {
                return Err(format!("{name}: needs exactly one of Action and NotAction"));
            }
            if s.principal.is_none()
                && s.not_principal.is_none()
                && s.resource.is_some() == s.not_resource.is_some()
            {
                return Err(format!(
                    "{name}: needs exactly one of Resource and NotResource"
                ));
            }
            for action in s
                .action
                .iter()
                .chain(&s.not_action)
                .flat_map(OneOrMany::values)
            {
                if action != "*" && !action.contains(':') {
                    return Err(format!("{name}: {action:?} is not service:action"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_read_and_write_as_iam_writes_them() -> Result<(), serde_json::Error> {
        let text = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::b/*"]}}"#;
        let document: PolicyDocument = serde_json::from_str(text)?;
        assert_eq!(document.statement.len(), 1);
        assert_eq!(document.validate(), Ok(()));
        assert_eq!(
            serde_json::to_string(&document)?,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::b/*"]}]}"#
        );
        let wrong: PolicyDocument = serde_json::from_str(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}"#,
        )?;
        assert!(wrong.validate().is_err());
        assert!(
            serde_json::from_str::<PolicyDocument>(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Acton":"s3:*"}]}"#
            )
            .is_err()
        );
        Ok(())
    }
}
