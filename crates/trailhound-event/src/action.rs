/// The IAM action a record's API call needs, `service:Action`, from `eventSource` and
/// `eventName`, as least-privilege tooling writes it.
///
/// Two quirks of CloudTrail are undone here: a few services log under an endpoint name that
/// differs from their IAM prefix (`monitoring` → `cloudwatch`), and some services suffix API
/// versions to event names (`ListFunctions20150331`, `GetFunction20150331v2` → `ListFunctions`,
/// `GetFunction`). Returns `None` when either part is missing or the source is not an AWS
/// service endpoint.
pub fn iam_action(event_source: &str, event_name: &str) -> Option<String> {
    let service = event_source.strip_suffix(".amazonaws.com")?;
    if service.is_empty() || event_name.is_empty() {
        return None;
    }
    let prefix = match service {
        "monitoring" => "cloudwatch",
        "email" => "ses",
        "elasticmapreduce" => "elasticmapreduce",
        "sso-directory" => "sso-directory",
        "signin" => "signin",
        other => other,
    };
    Some(format!("{prefix}:{}", strip_api_version(event_name)))
}

/// Drops a trailing `YYYYMMDD` or `YYYYMMDDvN` API-version suffix.
fn strip_api_version(name: &str) -> &str {
    let bytes = name.as_bytes();
    let mut end = bytes.len();
    // An optional `v<digits>` after the date.
    let mut i = end;
    while i > 0 && bytes[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i < end && i > 0 && bytes[i - 1] == b'v' {
        end = i - 1;
    }
    let date_start = end.saturating_sub(8);
    let looks_like_date = end >= 8
        && date_start > 0
        && bytes[date_start..end].iter().all(u8::is_ascii_digit)
        && bytes[date_start..].starts_with(b"20");
    if looks_like_date {
        &name[..date_start]
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_sources_and_strips_versions() {
        let action = |s, n| iam_action(s, n);
        assert_eq!(
            action("s3.amazonaws.com", "GetObject").as_deref(),
            Some("s3:GetObject")
        );
        assert_eq!(
            action("lambda.amazonaws.com", "ListFunctions20150331").as_deref(),
            Some("lambda:ListFunctions")
        );
        assert_eq!(
            action("lambda.amazonaws.com", "GetFunction20150331v2").as_deref(),
            Some("lambda:GetFunction")
        );
        assert_eq!(
            action("monitoring.amazonaws.com", "PutMetricAlarm").as_deref(),
            Some("cloudwatch:PutMetricAlarm")
        );
        assert_eq!(
            action("ec2.amazonaws.com", "RunInstances").as_deref(),
            Some("ec2:RunInstances")
        );
        assert_eq!(action("example.com", "Thing"), None);
        assert_eq!(action("s3.amazonaws.com", ""), None);
    }
}
