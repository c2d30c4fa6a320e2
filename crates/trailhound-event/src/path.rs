use smallvec::SmallVec;
use sonic_rs::{JsonValueTrait, LazyValue};

/// The raw JSON text of every value a path reaches (see [`FieldPath::leaves`]): almost always
/// one, which needs no allocation.
pub type Leaves<'a> = SmallVec<[&'a str; 2]>;

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

impl FieldPath {
    /// The raw JSON text of every value at this path, as rules match fields: a step that
    /// names a key where the value is an array visits every element (`resources.ARN` is the
    /// ARN of each resource), and a final array stands for its elements. `None` when the
    /// path leads nowhere; an empty list when it ends at an empty array.
    pub fn leaves<'a>(&self, json: &'a str) -> Option<Leaves<'a>> {
        self.leaves_from(json.trim_ascii(), &self.steps)
    }

    /// The steps, for walking part of the path elsewhere.
    pub(crate) fn step_list(&self) -> &[String] {
        &self.steps
    }

    /// [`FieldPath::leaves`] for the `steps` left below `value` (the raw JSON text that the
    /// steps before them lead to, as [`crate::CloudTrailEvent::located`] finds it).
    pub(crate) fn leaves_from<'a>(&self, value: &'a str, steps: &[String]) -> Option<Leaves<'a>> {
        let value = value.trim_ascii();
        let mut found = false;
        let mut out = Leaves::new();
        visit(value, steps, &mut found, &mut out);
        found.then_some(out)
    }
}

fn visit<'a>(value: &'a str, steps: &[String], found: &mut bool, out: &mut Leaves<'a>) {
    let Some((step, rest)) = steps.split_first() else {
        *found = true;
        if value.starts_with('[') {
            for_each_element(value, |element| out.push(element));
        } else {
            out.push(value);
        }
        return;
    };
    if value.starts_with('{') {
        if let Some(next) = member(value, step) {
            visit(next, rest, found, out);
        }
    } else if value.starts_with('[') {
        match step.parse::<usize>() {
            Ok(index) => {
                if let Some(next) = sonic_rs::get(value, [index])
                    .ok()
                    .and_then(|v| crate::identity::subslice(value, v.as_raw_str()))
                {
                    visit(next, rest, found, out);
                }
            }
            Err(_) => for_each_element(value, |element| {
                if element.starts_with('{') {
                    visit(element, steps, found, out);
                }
            }),
        }
    }
}

fn member<'a>(object: &'a str, key: &str) -> Option<&'a str> {
    let value = sonic_rs::get(object, [key]).ok()?;
    crate::identity::subslice(object, value.as_raw_str())
}

fn for_each_element<'a>(array: &'a str, mut f: impl FnMut(&'a str)) {
    for element in sonic_rs::to_array_iter(array).flatten() {
        if let Some(text) = crate::identity::subslice(array, element.as_raw_str()) {
            f(text);
        }
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
    fn leaves_fan_out_over_arrays() -> Result<(), EventError> {
        let json = r#"{"resources":[{"ARN":"a"},{"ARN":"b"},{"type":"x"}],"tags":["t1","t2"],"n":null,"e":[]}"#;
        let leaves = |p: &str| FieldPath::parse(p).map(|path| path.leaves(json));
        let leaves = |p: &str| leaves(p).map(|l| l.map(|l| l.to_vec()));
        assert_eq!(leaves("resources.ARN")?, Some(vec!["\"a\"", "\"b\""]));
        assert_eq!(leaves("resources.1.ARN")?, Some(vec!["\"b\""]));
        assert_eq!(leaves("tags")?, Some(vec!["\"t1\"", "\"t2\""]));
        assert_eq!(leaves("n")?, Some(vec!["null"]));
        assert_eq!(leaves("e")?, Some(vec![]));
        assert_eq!(leaves("missing")?, None);
        assert_eq!(leaves("tags.x")?, None);
        Ok(())
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
