/// The `eventType` of a record: what kind of activity it describes.
///
/// Matching is case-insensitive because AWS itself has written both `AwsConsoleSignIn` and
/// `AwsConsoleSignin` over the years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// An API call made by a principal.
    AwsApiCall,
    /// An event an AWS service emitted on its own (key rotation, scheduled actions, …).
    AwsServiceEvent,
    /// A sign-in to the console, the AWS access portal or similar.
    AwsConsoleSignIn,
    /// A console action that is not an API call.
    AwsConsoleAction,
    /// A network-activity event through a VPC endpoint.
    AwsVpceEvent,
    /// A CloudTrail Insights event (start or end of an unusual rate).
    AwsCloudTrailInsight,
}

impl EventType {
    /// Reads an `eventType` value; `None` for values CloudTrail has not documented.
    pub fn parse(text: &str) -> Option<Self> {
        const ALL: [(&str, EventType); 6] = [
            ("AwsApiCall", EventType::AwsApiCall),
            ("AwsServiceEvent", EventType::AwsServiceEvent),
            ("AwsConsoleSignIn", EventType::AwsConsoleSignIn),
            ("AwsConsoleAction", EventType::AwsConsoleAction),
            ("AwsVpceEvent", EventType::AwsVpceEvent),
            ("AwsCloudTrailInsight", EventType::AwsCloudTrailInsight),
        ];
        ALL.iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
            .map(|(_, kind)| *kind)
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::AwsApiCall => "AwsApiCall",
            EventType::AwsServiceEvent => "AwsServiceEvent",
            EventType::AwsConsoleSignIn => "AwsConsoleSignIn",
            EventType::AwsConsoleAction => "AwsConsoleAction",
            EventType::AwsVpceEvent => "AwsVpceEvent",
            EventType::AwsCloudTrailInsight => "AwsCloudTrailInsight",
        }
    }
}

/// The `eventCategory` of a record (eventVersion 1.07 and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventCategory {
    /// Control-plane operations.
    Management,
    /// Data-plane operations such as S3 object reads or Lambda invocations.
    Data,
    /// CloudTrail Insights events.
    Insight,
    /// Network activity through VPC endpoints.
    NetworkActivity,
}

impl EventCategory {
    /// Reads an `eventCategory` value; `None` for values CloudTrail has not documented.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "management" => Some(EventCategory::Management),
            "data" => Some(EventCategory::Data),
            "insight" => Some(EventCategory::Insight),
            "networkactivity" => Some(EventCategory::NetworkActivity),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_console_sign_in_spellings_are_one_kind() {
        assert_eq!(
            EventType::parse("AwsConsoleSignin"),
            Some(EventType::AwsConsoleSignIn)
        );
        assert_eq!(
            EventType::parse("AwsConsoleSignIn"),
            Some(EventType::AwsConsoleSignIn)
        );
        assert_eq!(EventType::parse("SomethingNew"), None);
        assert_eq!(EventCategory::parse("Data"), Some(EventCategory::Data));
    }
}
