use sonic_rs::{JsonValueTrait, LazyValue};

use crate::EventError;

/// A dotted field path into a record, as rules and filters name fields:
/// `userIdentity.sessionContext.sessionIssuer.arn`, `requestParameters.bucketName`,
/// `resources.0.ARN`.
///
/// A numeric step indexes an array when the value at that point is an array, and names an
/// object key otherwise, so keys that happen to be digits still work.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    text: String,
    steps: Vec<String>,
}

impl FieldPath {
    /// Parses a dotted path.
    ///
    /// # Errors
    ///
    /// [`EventError::InvalidPath`] for an empty path or an empty step (`a..b`, `.a`, `a.`).
    pub fn parse(text: &str) -> Result<Self, EventError> {
        let invalid = |reason| EventError::InvalidPath {
            path: text.to_owned(),
            reason,
        };
        if text.is_empty() {
            return Err(invalid("the path is empty"));
        }
        let steps: Vec<String> = text.split('.').map(str::to_owned).collect();
        if steps.iter().any(String::is_empty) {
            return Err(invalid("a step between dots is empty"));
        }
        Ok(FieldPath {
            text: text.to_owned(),
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The steps of the path.
    pub fn steps(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().map(String::as_str)
    }

    /// Finds the value at this path in a JSON object's text.
    pub(crate) fn lookup<'a>(&self, json: &'a str) -> Option<LazyValue<'a>> {
        let mut current: Option<LazyValue<'a>> = None;
        for step in &self.steps {
            let next = match &current {
                None => sonic_rs::get(json, [step.as_str()]).ok()?,
                Some(value) => {
                    let text = crate::identity::subslice(json, value.as_raw_str())?;
                    match step.parse::<usize>() {
                        Ok(index) if value.is_array() => sonic_rs::get(text, [index]).ok()?,
                        _ if value.is_object() => sonic_rs::get(text, [step.as_str()]).ok()?,
                        _ => return None,
                    }
                }
            };
            current = Some(next);
        }
        current
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for FieldPath {
    type Err = EventError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        FieldPath::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_steps() {
        assert!(FieldPath::parse("").is_err());
        assert!(FieldPath::parse("a..b").is_err());
        assert!(FieldPath::parse(".a").is_err());
        assert!(FieldPath::parse("a.b").is_ok());
    }

    #[test]
    fn digit_keys_work_on_objects() -> Result<(), EventError> {
        let path = FieldPath::parse("m.0")?;
        let value = path
            .lookup(r#"{"m":{"0":"zero"}}"#)
            .map(|v| v.as_raw_str().to_owned());
        assert_eq!(value.as_deref(), Some("\"zero\""));
        Ok(())
    }
}
